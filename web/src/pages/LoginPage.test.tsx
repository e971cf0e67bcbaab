import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { ApiError, makeApi, makeUser, problem, renderApp } from "../test/utils";

async function submit(email = "ada@example.com", password = "secret-password") {
  const user = userEvent.setup();
  await user.type(screen.getByLabelText("Email"), email);
  await user.type(screen.getByLabelText("Password"), password);
  await user.click(screen.getByRole("button", { name: "Log in" }));
}

describe("the login page", () => {
  it("says the email or password is wrong on 401, without saying which", async () => {
    const api = makeApi({ logIn: vi.fn(() => Promise.reject(new ApiError(401, problem(401, "No."), null, "No."))) });
    renderApp("/login", api);
    await submit();
    expect(await screen.findByRole("alert")).toHaveTextContent("Incorrect email or password");
    expect(screen.getByLabelText("Password")).toHaveValue("");
    expect(screen.getByLabelText("Password")).toHaveFocus();
  });

  it("says the account is deactivated on 403", async () => {
    const api = makeApi({ logIn: vi.fn(() => Promise.reject(new ApiError(403, problem(403, "Inactive."), null, "Inactive."))) });
    renderApp("/login", api);
    await submit();
    expect(await screen.findByRole("alert")).toHaveTextContent("This account has been deactivated");
  });

  it("on 429 gives the wait from Retry-After and blocks the button until then", async () => {
    const api = makeApi({ logIn: vi.fn(() => Promise.reject(new ApiError(429, problem(429, "Locked."), 90, "Locked."))) });
    renderApp("/login", api);
    await submit();
    expect(await screen.findByRole("alert")).toHaveTextContent("Try again in 2 minutes");
    expect(screen.getByRole("button", { name: /Try again in/ })).toBeDisabled();
  });

  it("shows field errors from the problem next to their fields", async () => {
    const api = makeApi({
      logIn: vi.fn(() => Promise.reject(new ApiError(400, problem(400, "Invalid.", { email: ["Enter a valid email address."] }), null, "Invalid."))),
    });
    renderApp("/login", api);
    await submit("not-an-email");
    await waitFor(() => expect(screen.getByLabelText("Email")).toHaveAccessibleDescription("Enter a valid email address."));
    expect(screen.getByLabelText("Email")).toHaveAttribute("aria-invalid", "true");
  });

  it("sends a signed-out visitor to log in, then back to the page they asked for", async () => {
    const me = makeUser();
    const api = makeApi({
      logIn: vi.fn(() => Promise.resolve({ access: "a", refresh: "r", user: me })),
      listSessions: vi.fn(() => Promise.resolve([])),
    });
    renderApp("/profile/sessions", api);
    expect(await screen.findByRole("heading", { level: 1, name: "Log in" })).toBeInTheDocument();
    expect(screen.getByText("Log in to continue to that page.")).toBeInTheDocument();
    await submit();
    expect(await screen.findByRole("heading", { level: 1, name: "Your sessions" })).toBeInTheDocument();
    expect(api.logIn).toHaveBeenCalledWith({ email: "ada@example.com", password: "secret-password" });
  });
});
