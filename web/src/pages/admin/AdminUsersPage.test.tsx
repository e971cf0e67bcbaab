import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import type { User, UserListQuery, UserPage } from "../../api/types";
import { makeUser, renderApp, signedInApi } from "../../test/utils";

const admin = makeUser({ id: "admin-id", role: "admin", full_name: "Grace Admin", email: "grace@example.com" });
const people: User[] = [
  admin,
  ...Array.from({ length: 24 }, (_, index) =>
    makeUser({ id: `user-${index + 1}`, full_name: `Person ${index + 1}`, email: `person${index + 1}@example.com` }),
  ),
];

function listUsers(query: UserListQuery): Promise<UserPage> {
  const matching = people.filter(
    (user) => !query.search || user.email.includes(query.search) || user.full_name.toLowerCase().includes(query.search.toLowerCase()),
  );
  const page = query.page ?? 1;
  const results = matching.slice((page - 1) * 10, page * 10);
  return Promise.resolve({ count: matching.length, next: null, previous: null, results, next_cursor: null });
}

describe("the admin users table", () => {
  it("pages through users with the total count", async () => {
    const api = signedInApi(admin, { listUsers: vi.fn(listUsers) });
    renderApp("/admin/users", api);
    expect(await screen.findByText(/Showing/)).toHaveTextContent("Showing 1–10 of 25 users");
    const user = userEvent.setup();
    await user.click(screen.getByRole("button", { name: "Next page" }));
    await waitFor(() => expect(screen.getByText(/Showing/)).toHaveTextContent("Showing 11–20 of 25 users"));
    expect(api.listUsers).toHaveBeenLastCalledWith(expect.objectContaining({ page: 2, page_size: 10, ordering: "-date_joined" }));
    await user.click(screen.getByRole("button", { name: "Last page" }));
    await waitFor(() => expect(screen.getByText(/Showing/)).toHaveTextContent("Showing 21–25 of 25 users"));
    expect(screen.getByRole("button", { name: "Next page" })).toBeDisabled();
  });

  it("searches as the admin types", async () => {
    const api = signedInApi(admin, { listUsers: vi.fn(listUsers) });
    renderApp("/admin/users", api);
    await screen.findByText(/Showing/);
    await userEvent.setup().type(screen.getByRole("searchbox", { name: "Search" }), "person7");
    await waitFor(() => expect(screen.getByText(/Showing/)).toHaveTextContent("Showing 1–1 of 1 user"));
    expect(api.listUsers).toHaveBeenLastCalledWith(expect.objectContaining({ search: "person7", page: 1 }));
  });

  it("disables the toggle on the admin's own row", async () => {
    renderApp("/admin/users", signedInApi(admin, { listUsers: vi.fn(listUsers) }));
    expect(await screen.findByRole("button", { name: "Deactivate Grace Admin" })).toBeDisabled();
    expect(screen.getByRole("button", { name: "Deactivate Person 1" })).toBeEnabled();
  });

  it("asks for confirmation before deactivating, and Escape cancels", async () => {
    const toggleUser = vi.fn((id: string) => Promise.resolve({ ...people.find((person) => person.id === id)!, is_active: false }));
    renderApp("/admin/users", signedInApi(admin, { listUsers: vi.fn(listUsers), toggleUser }));
    const user = userEvent.setup();
    const trigger = await screen.findByRole("button", { name: "Deactivate Person 1" });
    await user.click(trigger);
    let dialog = screen.getByRole("alertdialog", { name: "Deactivate Person 1?" });
    expect(within(dialog).getByRole("button", { name: "Cancel" })).toHaveFocus();
    await user.keyboard("{Escape}");
    expect(screen.queryByRole("alertdialog")).not.toBeInTheDocument();
    expect(trigger).toHaveFocus();
    expect(toggleUser).not.toHaveBeenCalled();

    await user.click(trigger);
    dialog = screen.getByRole("alertdialog", { name: "Deactivate Person 1?" });
    await user.click(within(dialog).getByRole("button", { name: "Deactivate" }));
    expect(toggleUser).toHaveBeenCalledWith("user-1");
    expect(await screen.findByText("Person 1 was deactivated.")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Reactivate Person 1" })).toBeInTheDocument();
  });
});
