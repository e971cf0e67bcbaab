import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { ApiError, makeUser, problem, renderApp, signedInApi } from "../test/utils";

async function fill(current: string, next: string, confirm: string) {
  const user = userEvent.setup();
  await user.type(await screen.findByLabelText("Current password"), current);
  await user.type(screen.getByLabelText("New password"), next);
  await user.type(screen.getByLabelText("Confirm new password"), confirm);
  await user.click(screen.getByRole("button", { name: "Change password" }));
}

describe("the change-password page", () => {
  it("refuses two different new passwords before asking the server", async () => {
    const api = signedInApi(makeUser());
    renderApp("/profile/password", api);
    await fill("old-password", "vivid-otter-cabinet-91", "vivid-otter-cabinet-92");
    expect(await screen.findByText("The two new passwords don't match.")).toBeInTheDocument();
    expect(api.changePassword).not.toHaveBeenCalled();
  });

  it("shows a wrong current password next to its field", async () => {
    const changePassword = vi.fn(() =>
      Promise.reject(new ApiError(400, problem(400, "Invalid.", { old_password: ["Your old password was entered incorrectly."] }), null, "x")),
    );
    renderApp("/profile/password", signedInApi(makeUser(), { changePassword }));
    await fill("wrong", "vivid-otter-cabinet-91", "vivid-otter-cabinet-91");
    expect(await screen.findByText("Your old password was entered incorrectly.")).toBeInTheDocument();
    await waitFor(() => expect(screen.getByLabelText("Current password")).toHaveFocus());
  });

  it("confirms success and clears the form", async () => {
    const changePassword = vi.fn(() => Promise.resolve());
    renderApp("/profile/password", signedInApi(makeUser(), { changePassword }));
    await fill("old-password", "vivid-otter-cabinet-91", "vivid-otter-cabinet-91");
    expect(await screen.findByText("Password changed")).toBeInTheDocument();
    expect(changePassword).toHaveBeenCalledWith({ old_password: "old-password", new_password: "vivid-otter-cabinet-91" });
    expect(screen.getByLabelText("New password")).toHaveValue("");
  });
});
