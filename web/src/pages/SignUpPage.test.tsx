import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { ApiError, makeApi, problem, renderApp } from "../test/utils";

async function fill(password: string) {
  const user = userEvent.setup();
  await user.type(screen.getByLabelText("Full name"), "Ada Lovelace");
  await user.type(screen.getByLabelText("Email"), "ada@example.com");
  await user.type(screen.getByLabelText("Password"), password);
  return user;
}

describe("the sign-up page", () => {
  it("shows the server's field errors next to their fields", async () => {
    const api = makeApi({
      signUp: vi.fn(() =>
        Promise.reject(
          new ApiError(
            400,
            problem(400, "Invalid.", { email: ["Enter a valid email address."], password: ["This password is too common."] }),
            null,
            "Invalid.",
          ),
        ),
      ),
    });
    renderApp("/signup", api);
    const user = await fill("vivid-otter-cabinet-91");
    await user.click(screen.getByRole("button", { name: "Create account" }));
    await waitFor(() => expect(screen.getByLabelText("Email")).toHaveAttribute("aria-invalid", "true"));
    expect(screen.getByText("Enter a valid email address.")).toBeInTheDocument();
    expect(screen.getByText("This password is too common.")).toBeInTheDocument();
    await waitFor(() => expect(screen.getByLabelText("Email")).toHaveFocus());
  });

  it("puts a 409 on the email field", async () => {
    const api = makeApi({
      signUp: vi.fn(() => Promise.reject(new ApiError(409, problem(409, "A user with this email already exists."), null, "x"))),
    });
    renderApp("/signup", api);
    const user = await fill("vivid-otter-cabinet-91");
    await user.click(screen.getByRole("button", { name: "Create account" }));
    expect(await screen.findByText("A user with this email already exists.")).toBeInTheDocument();
    expect(screen.getByLabelText("Email")).toHaveAttribute("aria-invalid", "true");
  });

  it("rates the password live and blocks rules it can decide for certain", async () => {
    const api = makeApi();
    renderApp("/signup", api);
    const user = await fill("12345");
    expect(screen.getByText(/Estimated strength/)).toHaveTextContent("Very weak");
    await user.click(screen.getByRole("button", { name: "Create account" }));
    expect(await screen.findByText("This password is entirely numeric.")).toBeInTheDocument();
    expect(api.signUp).not.toHaveBeenCalled();
    await user.clear(screen.getByLabelText("Password"));
    await user.type(screen.getByLabelText("Password"), "vivid-otter-cabinet-91");
    expect(screen.getByText(/Estimated strength/)).toHaveTextContent(/Strong|Very strong/);
  });
});
