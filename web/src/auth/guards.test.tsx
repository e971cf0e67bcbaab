import { screen, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { makeApi, makeUser, renderApp, signedInApi } from "../test/utils";

describe("the route guards", () => {
  it("never shows admin links or pages to a plain user", async () => {
    const api = signedInApi(makeUser({ role: "user" }));
    renderApp("/admin/users", api);
    expect(await screen.findByRole("heading", { level: 1, name: "Page not found" })).toBeInTheDocument();
    const nav = screen.getByRole("navigation", { name: "Main" });
    expect(within(nav).queryByRole("link", { name: "Users" })).not.toBeInTheDocument();
    expect(within(nav).queryByRole("link", { name: "Audit log" })).not.toBeInTheDocument();
    expect(within(nav).queryByRole("link", { name: "Mail" })).not.toBeInTheDocument();
    expect(api.listUsers).not.toHaveBeenCalled();
  });

  it("shows the admin links to an admin", async () => {
    const api = signedInApi(makeUser({ role: "admin" }), { getMe: vi.fn(() => Promise.resolve(makeUser({ role: "admin" }))), listSessions: vi.fn(() => Promise.resolve([])) });
    renderApp("/profile/sessions", api);
    const nav = await screen.findByRole("navigation", { name: "Main" });
    expect(within(nav).getByRole("link", { name: "Users" })).toHaveAttribute("href", "/admin/users");
    expect(within(nav).getByRole("link", { name: "Audit log" })).toHaveAttribute("href", "/admin/audit");
    expect(within(nav).getByRole("link", { name: "Mail" })).toHaveAttribute("href", "/admin/mail");
  });

  it("sends the user to log in when the session expires", async () => {
    let expire: () => void = () => {};
    const api = signedInApi(makeUser(), {
      listSessions: vi.fn(() => new Promise<never>(() => {})),
      onSessionExpired: (listener) => {
        expire = listener;
        return () => {};
      },
    });
    renderApp("/profile/sessions", api);
    await screen.findByRole("heading", { level: 1, name: "Your sessions" });
    expire();
    expect(await screen.findByRole("heading", { level: 1, name: "Log in" })).toBeInTheDocument();
    expect(screen.getByText("Your session has ended. Log in again to continue.")).toBeInTheDocument();
  });

  it("shows the not-found page for unknown paths", async () => {
    renderApp("/no/such/page", makeApi());
    expect(await screen.findByRole("heading", { level: 1, name: "Page not found" })).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Go to log in" })).toHaveAttribute("href", "/login");
  });
});
