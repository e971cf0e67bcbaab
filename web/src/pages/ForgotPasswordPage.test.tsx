import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import type { AcceptedResponse } from "../api/types";
import { ApiError, makeApi, problem, renderApp } from "../test/utils";

const accepted: AcceptedResponse = { detail: "If an active account has this email, a link to reset its password is on its way." };

async function ask(email: string) {
  const user = userEvent.setup();
  const field = await screen.findByLabelText("Email");
  await user.clear(field);
  if (email !== "") await user.type(field, email);
  await user.click(screen.getByRole("button", { name: "Send reset link" }));
  return user;
}

describe("the forgot-password page", () => {
  it("is linked from the login page, which hands over the email typed so far", async () => {
    renderApp("/login", makeApi());
    const user = userEvent.setup();
    await user.type(await screen.findByLabelText("Email"), "ada@example.com");
    await user.click(screen.getByRole("link", { name: "Forgot your password?" }));
    expect(await screen.findByRole("heading", { level: 1, name: "Forgot your password?" })).toBeInTheDocument();
    const email = screen.getByLabelText("Email");
    expect(email).toHaveValue("ada@example.com");
    expect(email).toHaveAttribute("autocomplete", "email");
    expect(screen.getByRole("link", { name: "Back to log in" })).toHaveAttribute("href", "/login");
  });

  it("refuses an empty or malformed address before asking the server", async () => {
    const api = makeApi();
    renderApp("/forgot-password", api);
    await ask("");
    expect(await screen.findByText("Enter your email address.")).toBeInTheDocument();
    await waitFor(() => expect(screen.getByLabelText("Email")).toHaveFocus());
    await ask("not-an-email");
    expect(await screen.findByText("Enter a valid email address.")).toBeInTheDocument();
    expect(api.requestPasswordReset).not.toHaveBeenCalled();
  });

  it("shows a busy button while the request runs, then a calm confirmation with its heading focused", async () => {
    let answer: (value: AcceptedResponse) => void = () => {};
    const requestPasswordReset = vi.fn(() => new Promise<AcceptedResponse>((resolve) => (answer = resolve)));
    renderApp("/forgot-password", makeApi({ requestPasswordReset }));
    await ask("  ada@example.com ");
    expect(screen.getByRole("button", { name: "Sending…" })).toBeDisabled();
    answer(accepted);

    const heading = await screen.findByRole("heading", { level: 1, name: "Check your email" });
    await waitFor(() => expect(heading).toHaveFocus());
    expect(requestPasswordReset).toHaveBeenCalledWith({ email: "ada@example.com" });
    const main = screen.getByRole("main");
    // It never says whether the account exists.
    expect(main).toHaveTextContent("If an account uses ada@example.com, a link to choose a new password is on its way.");
    expect(main).toHaveTextContent("30 minutes");
    expect(main).toHaveTextContent(/spam/);
    expect(screen.getByRole("link", { name: "Back to log in" })).toBeInTheDocument();

    // Another link: back to the form, the address kept.
    await userEvent.setup().click(screen.getByRole("button", { name: "Send another link" }));
    expect(await screen.findByLabelText("Email")).toHaveValue("ada@example.com");
  });

  it("shows the server's field error under the email field and focuses it", async () => {
    const requestPasswordReset = vi.fn(() =>
      Promise.reject(new ApiError(400, problem(400, "Invalid.", { email: ["Enter a valid email address."] }), null, "Invalid.")),
    );
    renderApp("/forgot-password", makeApi({ requestPasswordReset }));
    await ask("ada@localhost");
    const field = screen.getByLabelText("Email");
    await waitFor(() => expect(field).toHaveAccessibleDescription("Enter a valid email address."));
    expect(field).toHaveAttribute("aria-invalid", "true");
    await waitFor(() => expect(field).toHaveFocus());
  });

  it("on 429 says how long to wait, holds the button, and moves focus to the message", async () => {
    const requestPasswordReset = vi.fn(() => Promise.reject(new ApiError(429, problem(429, "Too many requests."), 45, "Too many requests.")));
    renderApp("/forgot-password", makeApi({ requestPasswordReset }));
    await ask("ada@example.com");
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Too many requests");
    expect(alert).toHaveTextContent("Try again in 45 seconds.");
    expect(screen.getByRole("button", { name: /Try again in/ })).toBeDisabled();
    await waitFor(() => expect(alert.parentElement).toHaveFocus());
  });

  it("says so when the server cannot be reached", async () => {
    const requestPasswordReset = vi.fn(() =>
      Promise.reject(new ApiError(0, null, null, "Can't reach the server. Check your connection and try again.")),
    );
    renderApp("/forgot-password", makeApi({ requestPasswordReset }));
    await ask("ada@example.com");
    expect(await screen.findByRole("alert")).toHaveTextContent("Can't reach the server.");
    expect(screen.getByRole("button", { name: "Send reset link" })).toBeEnabled();
  });
});
