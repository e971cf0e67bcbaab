import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import type { Session } from "../api/types";
import { makeUser, renderApp, signedInApi } from "../test/utils";

const session = (overrides: Partial<Session>): Session => ({
  id: "s",
  created_at: "2025-03-01T10:00:00Z",
  last_used_at: "2025-03-01T11:00:00Z",
  expires_at: "2025-03-08T10:00:00Z",
  user_agent: "Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0",
  ip: "127.0.0.1",
  current: false,
  ...overrides,
});

describe("the sessions page", () => {
  it("marks the current session and revokes another", async () => {
    const listSessions = vi.fn(() =>
      Promise.resolve([session({ id: "other", user_agent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Safari/604.1" }), session({ id: "this", current: true })]),
    );
    const revokeSession = vi.fn(() => Promise.resolve());
    renderApp("/profile/sessions", signedInApi(makeUser(), { listSessions, revokeSession }));
    const list = await screen.findByRole("list", { name: "Active sessions" });
    const items = within(list).getAllByRole("listitem");
    expect(items[0]).toHaveTextContent("This device");
    await userEvent.setup().click(screen.getByRole("button", { name: /^Sign out Safari on iOS/ }));
    expect(revokeSession).toHaveBeenCalledWith("other");
    expect(await screen.findByText("Safari on iOS was signed out.")).toBeInTheDocument();
    expect(within(list).getAllByRole("listitem")).toHaveLength(1);
  });

  it("logs out everywhere after confirmation", async () => {
    const api = signedInApi(makeUser(), { listSessions: vi.fn(() => Promise.resolve([session({ current: true })])) });
    renderApp("/profile/sessions", api);
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Log out everywhere" }));
    await user.click(within(screen.getByRole("alertdialog")).getByRole("button", { name: "Log out everywhere" }));
    expect(api.logOutEverywhere).toHaveBeenCalled();
    expect(await screen.findByRole("heading", { level: 1, name: "Log in" })).toBeInTheDocument();
  });
});
