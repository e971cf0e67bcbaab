import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from "vitest";
import type { PasswordResetConfirmResponse } from "../api/types";
import { ApiError, makeApi, makeUser, problem, renderApp } from "../test/utils";

const TOKEN = "3q2-7wQ8a1b2c3d4e5f6g7h8i9j0kLmNoPqRsTuVwXy";
const STRONG = "vivid-otter-cabinet-91";
const ada = makeUser();

const invalidLink = () =>
  new ApiError(
    400,
    { type: "/problems/reset-token-invalid", title: "Invalid reset link", status: 400, detail: "This reset link is invalid, expired or already used." },
    null,
    "x",
  );

async function choose(password: string, confirm = password) {
  const user = userEvent.setup();
  await user.type(await screen.findByLabelText("New password"), password);
  await user.type(screen.getByLabelText("Confirm new password"), confirm);
  await user.click(screen.getByRole("button", { name: "Set new password" }));
  return user;
}

/** Every console method, so a test can prove the token was never written to any of them. */
let consoleSpies: MockInstance[] = [];
beforeEach(() => {
  consoleSpies = (["log", "info", "warn", "error", "debug", "trace"] as const).map((method) => vi.spyOn(console, method));
});
afterEach(() => {
  const written = consoleSpies.flatMap((spy) => spy.mock.calls.map((call) => call.map((arg) => String(arg)).join(" ")));
  expect(written.filter((line) => line.includes(TOKEN))).toEqual([]);
});

describe("the reset-password page", () => {
  it("takes the token out of the address bar on arrival, and offers the password guidance", async () => {
    const view = renderApp(`/reset-password?token=${TOKEN}`, makeApi());
    expect(await screen.findByRole("heading", { level: 1, name: "Choose a new password" })).toBeInTheDocument();
    await waitFor(() => expect(view.location().search).toBe(""));
    expect(view.location().pathname).toBe("/reset-password");
    for (const label of ["New password", "Confirm new password"]) {
      expect(screen.getByLabelText(label)).toHaveAttribute("autocomplete", "new-password");
    }
    await userEvent.setup().type(screen.getByLabelText("New password"), "12345678");
    expect(screen.getByText("Estimated strength:")).toHaveTextContent("Very weak");
    expect(screen.getByRole("list", { name: "Password requirements" })).toBeInTheDocument();
  });

  it("shows the invalid-link state at once when the link has no token", async () => {
    renderApp("/reset-password", makeApi());
    expect(await screen.findByRole("heading", { level: 1, name: "This reset link can't be used" })).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Ask for a new link" })).toHaveAttribute("href", "/forgot-password");
    expect(screen.queryByLabelText("New password")).not.toBeInTheDocument();
  });

  it("refuses a weak password or two different ones before asking the server", async () => {
    const api = makeApi();
    renderApp(`/reset-password?token=${TOKEN}`, api);
    await choose("1234", "1234");
    expect(await screen.findByText("This password is entirely numeric.")).toBeInTheDocument();
    await waitFor(() => expect(screen.getByLabelText("New password")).toHaveFocus());
    const user = userEvent.setup();
    await user.clear(screen.getByLabelText("New password"));
    await user.type(screen.getByLabelText("New password"), STRONG);
    await user.click(screen.getByRole("button", { name: "Set new password" }));
    expect(await screen.findByText("The two new passwords don't match.")).toBeInTheDocument();
    expect(api.confirmPasswordReset).not.toHaveBeenCalled();
  });

  it("signs the person in as a login does, goes to the profile with a notice, and forgets the token", async () => {
    const confirmPasswordReset = vi.fn(() =>
      Promise.resolve<PasswordResetConfirmResponse>({ access: "access-new", refresh: "refresh-new", user: ada }),
    );
    const api = makeApi({ confirmPasswordReset, getMe: vi.fn(() => Promise.resolve(ada)) });
    const view = renderApp(`/reset-password?token=${TOKEN}`, api);
    await choose(STRONG);

    expect(await screen.findByRole("heading", { level: 1, name: "Your profile" })).toBeInTheDocument();
    expect(confirmPasswordReset).toHaveBeenCalledWith({ token: TOKEN, new_password: STRONG });
    expect(
      screen.getByText("Your password was changed, and every other device signed in to your account was signed out."),
    ).toBeInTheDocument();
    // Signed in: the header shows the person.
    expect(screen.getByRole("banner")).toHaveTextContent("Ada Lovelace");
    expect(view.location().pathname).toBe("/profile");
    expect(JSON.stringify(view.location())).not.toContain(TOKEN);
  });

  it("on an unknown, used or expired link shows the invalid-link state, focused, with a way to ask again", async () => {
    const confirmPasswordReset = vi.fn(() => Promise.reject(invalidLink()));
    const view = renderApp(`/reset-password?token=${TOKEN}`, makeApi({ confirmPasswordReset }));
    await waitFor(() => expect(view.location().state).toEqual({ resetToken: TOKEN }));
    await choose(STRONG);
    const heading = await screen.findByRole("heading", { level: 1, name: "This reset link can't be used" });
    await waitFor(() => expect(heading).toHaveFocus());
    // The dead token is dropped from the history entry too.
    expect(view.location().state).toBeNull();
    await userEvent.setup().click(screen.getByRole("link", { name: "Ask for a new link" }));
    expect(await screen.findByRole("heading", { level: 1, name: "Forgot your password?" })).toBeInTheDocument();
  });

  it("lists every rule the server found broken under the field", async () => {
    const rules = ["This password is too common.", "The password is too similar to the email."];
    const confirmPasswordReset = vi.fn(() =>
      Promise.reject(new ApiError(400, { ...problem(400, "Invalid.", { new_password: rules }), type: "/problems/validation" }, null, "x")),
    );
    renderApp(`/reset-password?token=${TOKEN}`, makeApi({ confirmPasswordReset }));
    await choose("ada-lovelace-password");
    const field = screen.getByLabelText("New password");
    for (const rule of rules) expect(await screen.findByText(rule)).toBeInTheDocument();
    expect(field).toHaveAttribute("aria-invalid", "true");
    await waitFor(() => expect(field).toHaveFocus());
    expect(field).toHaveAccessibleDescription(expect.stringContaining(rules.join(" ")));
    // The form stays, with the link still usable for a second try.
    expect(screen.getByRole("button", { name: "Set new password" })).toBeEnabled();
  });

  it("says so when the account is deactivated", async () => {
    const confirmPasswordReset = vi.fn(() => Promise.reject(new ApiError(403, problem(403, "This account has been deactivated."), null, "x")));
    renderApp(`/reset-password?token=${TOKEN}`, makeApi({ confirmPasswordReset }));
    await choose(STRONG);
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("This account has been deactivated");
    await waitFor(() => expect(alert.parentElement).toHaveFocus());
  });
});
