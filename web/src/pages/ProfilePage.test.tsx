import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { ApiError, makeUser, problem, renderApp, signedInApi } from "../test/utils";

describe("the profile page", () => {
  it("saves name and email", async () => {
    const me = makeUser();
    const updateMe = vi.fn((body: { full_name: string; email: string }) => Promise.resolve({ ...me, ...body }));
    renderApp("/profile", signedInApi(me, { updateMe }));
    const name = await screen.findByLabelText("Full name");
    const user = userEvent.setup();
    await user.clear(name);
    await user.type(name, "Ada King");
    await user.click(screen.getByRole("button", { name: "Save changes" }));
    expect(await screen.findByText("Your profile was saved.")).toBeInTheDocument();
    expect(updateMe).toHaveBeenCalledWith({ full_name: "Ada King", email: "ada@example.com" });
  });

  it("says so next to the email when it is taken (409)", async () => {
    const me = makeUser();
    const updateMe = vi.fn(() => Promise.reject(new ApiError(409, problem(409, "Email taken."), null, "Email taken.")));
    renderApp("/profile", signedInApi(me, { updateMe }));
    const email = await screen.findByLabelText("Email");
    const user = userEvent.setup();
    await user.clear(email);
    await user.type(email, "taken@example.com");
    await user.click(screen.getByRole("button", { name: "Save changes" }));
    await waitFor(() => expect(email).toHaveAttribute("aria-invalid", "true"));
    expect(screen.getByText("This email is already used by another account.")).toBeInTheDocument();
  });

  it("offers a retry when the profile cannot be loaded", async () => {
    const me = makeUser();
    let calls = 0;
    const getMe = vi.fn(() => {
      calls += 1;
      // The first call resumes the session; the page's own load then fails once.
      return calls === 2 ? Promise.reject(new ApiError(503, null, null, "down")) : Promise.resolve(me);
    });
    renderApp("/profile", signedInApi(me, { getMe }));
    await userEvent.setup().click(await screen.findByRole("button", { name: "Try again" }));
    expect(await screen.findByLabelText("Full name")).toHaveValue("Ada Lovelace");
  });
});
