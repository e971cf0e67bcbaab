import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import type { AcceptedResponse, User } from "../../api/types";
import { ApiError, makeUser, problem, renderApp, signedInApi } from "../../test/utils";

const admin = makeUser({ id: "admin-id", role: "admin", full_name: "Grace Admin", email: "grace@example.com" });
const ada = makeUser({ id: "user-1", full_name: "Ada Lovelace", email: "ada@example.com" });
const accepted: AcceptedResponse = { detail: "The link is queued for delivery." };

function openDetail(target: User, sendPasswordReset: () => Promise<AcceptedResponse>, getUser = vi.fn(() => Promise.resolve(target))) {
  const api = signedInApi(admin, { getUser, sendPasswordReset: vi.fn(sendPasswordReset) });
  renderApp(`/admin/users/${target.id}`, api);
  return api;
}

async function sendAndConfirm() {
  const user = userEvent.setup();
  await user.click(await screen.findByRole("button", { name: "Send password reset link" }));
  const dialog = screen.getByRole("alertdialog", { name: "Send a password reset link to Ada Lovelace?" });
  await user.click(within(dialog).getByRole("button", { name: "Send link" }));
  return user;
}

describe("the admin's password reset button", () => {
  it("asks first; Cancel sends nothing, confirming sends the link and says so", async () => {
    const api = openDetail(ada, () => Promise.resolve(accepted));
    const user = userEvent.setup();
    const trigger = await screen.findByRole("button", { name: "Send password reset link" });
    await user.click(trigger);
    const dialog = screen.getByRole("alertdialog", { name: "Send a password reset link to Ada Lovelace?" });
    expect(dialog).toHaveAccessibleDescription(expect.stringContaining("ada@example.com"));
    expect(within(dialog).getByRole("button", { name: "Cancel" })).toHaveFocus();
    await user.click(within(dialog).getByRole("button", { name: "Cancel" }));
    expect(screen.queryByRole("alertdialog")).not.toBeInTheDocument();
    expect(trigger).toHaveFocus();
    expect(api.sendPasswordReset).not.toHaveBeenCalled();

    await sendAndConfirm();
    expect(api.sendPasswordReset).toHaveBeenCalledWith("user-1");
    expect(await screen.findByText("Reset link sent")).toBeInTheDocument();
    expect(screen.getByText(/A link to choose a new password is on its way to ada@example\.com/)).toBeInTheDocument();
    expect(screen.queryByRole("alertdialog")).not.toBeInTheDocument();
  });

  it("on 409 says the account is deactivated and reloads the user", async () => {
    const getUser = vi.fn(() => Promise.resolve(ada));
    openDetail(ada, () => Promise.reject(new ApiError(409, problem(409, "This account is deactivated."), null, "x")), getUser);
    await sendAndConfirm();
    expect(await screen.findByRole("alert")).toHaveTextContent("This account is deactivated. Reactivate it before sending a reset link.");
    await waitFor(() => expect(getUser).toHaveBeenCalledTimes(2));
  });

  it("on 404 says the user no longer exists", async () => {
    openDetail(ada, () => Promise.reject(new ApiError(404, problem(404, "No such user."), null, "x")));
    await sendAndConfirm();
    expect(await screen.findByRole("alert")).toHaveTextContent("This user no longer exists.");
  });

  it("is disabled, with the reason, for a deactivated account", async () => {
    const api = openDetail({ ...ada, is_active: false }, () => Promise.resolve(accepted));
    expect(await screen.findByRole("button", { name: "Send password reset link" })).toBeDisabled();
    expect(screen.getByText("Reactivate this account to send it a reset link.")).toBeInTheDocument();
    expect(api.sendPasswordReset).not.toHaveBeenCalled();
  });
});
