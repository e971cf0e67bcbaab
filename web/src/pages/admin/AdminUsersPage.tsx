/**
 * The users table for administrators: 10 per page, search, role and status filters, ordering.
 * Every choice lives in the URL's query string, so Back, reload and shared links all show the
 * same page.
 */
import { useEffect, useId, useState } from "react";
import { useSearchParams } from "react-router";
import { useApi } from "../../api/ApiContext";
import type { Role, User, UserOrdering } from "../../api/types";
import { useSession } from "../../auth/SessionContext";
import { SelectField, TextField } from "../../components/Field";
import { Pagination } from "../../components/Pagination";
import { EmptyState, ErrorState, LoadingState } from "../../components/States";
import { Alert, Button, Card, PageHeader, RoleBadge, StatusBadge, TextLink } from "../../components/ui";
import { formatDate, formatDateTime } from "../../lib/format";
import { useResource } from "../../lib/useResource";
import { useToggleActivation, type ToggleOutcome } from "./useToggleActivation";

export const PAGE_SIZE = 10;
const ORDERINGS: { value: UserOrdering; label: string }[] = [
  { value: "-date_joined", label: "Newest first" },
  { value: "date_joined", label: "Oldest first" },
  { value: "email", label: "Email A–Z" },
  { value: "-email", label: "Email Z–A" },
];

interface Filters {
  page: number;
  search: string;
  role: Role | "";
  status: "active" | "inactive" | "";
  ordering: UserOrdering;
}

function readFilters(params: URLSearchParams): Filters {
  const page = Number.parseInt(params.get("page") ?? "1", 10);
  const role = params.get("role");
  const status = params.get("status");
  const ordering = params.get("ordering");
  return {
    page: Number.isFinite(page) && page > 0 ? page : 1,
    search: params.get("search") ?? "",
    role: role === "admin" || role === "user" ? role : "",
    status: status === "active" || status === "inactive" ? status : "",
    ordering: ORDERINGS.some((option) => option.value === ordering) ? (ordering as UserOrdering) : "-date_joined",
  };
}

function writeFilters(filters: Filters): URLSearchParams {
  const params = new URLSearchParams();
  if (filters.page > 1) params.set("page", String(filters.page));
  if (filters.search) params.set("search", filters.search);
  if (filters.role) params.set("role", filters.role);
  if (filters.status) params.set("status", filters.status);
  if (filters.ordering !== "-date_joined") params.set("ordering", filters.ordering);
  return params;
}

export function AdminUsersPage() {
  const api = useApi();
  const { user: me } = useSession();
  const [params, setParams] = useSearchParams();
  const filters = readFilters(params);
  const [searchText, setSearchText] = useState(filters.search);
  const [outcome, setOutcome] = useState<ToggleOutcome | null>(null);
  const countId = useId();

  const users = useResource(
    () =>
      api.listUsers({
        page: filters.page,
        page_size: PAGE_SIZE,
        search: filters.search || undefined,
        role: filters.role || undefined,
        is_active: filters.status === "" ? undefined : filters.status === "active",
        ordering: filters.ordering,
      }),
    [api, filters.page, filters.search, filters.role, filters.status, filters.ordering],
  );

  function update(change: Partial<Filters>) {
    // Any change but the page itself starts again at page 1.
    const next = { ...filters, page: 1, ...change };
    setParams(writeFilters(next), { replace: change.page === undefined });
  }

  // Search as the user types, once they pause: one request per pause, not per key.
  useEffect(() => {
    if (searchText.trim() === filters.search) return;
    const timer = window.setTimeout(() => update({ search: searchText.trim() }), 300);
    return () => window.clearTimeout(timer);
    // Keyed on the text alone: `update` reads the current filters, and re-running on them
    // would re-arm the timer needlessly.
  }, [searchText]);

  // Back/Forward changes the URL under the search box: follow it.
  useEffect(() => {
    setSearchText((text) => (text.trim() === filters.search ? text : filters.search));
  }, [filters.search]);

  // A page past the end is a 404 (e.g. the last user of the last page was filtered away).
  useEffect(() => {
    if (users.error?.status === 404 && filters.page > 1) update({ page: 1 });
  }, [users.error]);

  const { ask, dialog } = useToggleActivation(
    (updated) => users.setData((page) => page && { ...page, results: page.results.map((row) => (row.id === updated.id ? updated : row)) }),
    setOutcome,
  );

  const page = users.data;
  const pageCount = page ? Math.max(1, Math.ceil(page.count / PAGE_SIZE)) : 1;
  const first = page && page.count > 0 ? (filters.page - 1) * PAGE_SIZE + 1 : 0;
  const last = page ? first + page.results.length - 1 : 0;
  const filtered = filters.search !== "" || filters.role !== "" || filters.status !== "";

  return (
    <>
      <PageHeader title="Users" description="Everyone with an account. Deactivating someone signs them out at once." />
      <Card className="mb-6">
        <form role="search" aria-label="Filter users" className="grid gap-4 sm:grid-cols-2 lg:grid-cols-4" onSubmit={(event) => {
          event.preventDefault();
          update({ search: searchText.trim() });
        }}>
          <TextField
            label="Search"
            type="search"
            name="search"
            placeholder="Name or email"
            value={searchText}
            onChange={(event) => setSearchText(event.target.value)}
          />
          <SelectField label="Role" name="role" value={filters.role} onChange={(event) => update({ role: event.target.value as Filters["role"] })}>
            <option value="">All roles</option>
            <option value="admin">Admins</option>
            <option value="user">Users</option>
          </SelectField>
          <SelectField label="Status" name="status" value={filters.status} onChange={(event) => update({ status: event.target.value as Filters["status"] })}>
            <option value="">Any status</option>
            <option value="active">Active</option>
            <option value="inactive">Deactivated</option>
          </SelectField>
          <SelectField label="Order" name="ordering" value={filters.ordering} onChange={(event) => update({ ordering: event.target.value as UserOrdering })}>
            {ORDERINGS.map((option) => (
              <option key={option.value} value={option.value}>
                {option.label}
              </option>
            ))}
          </SelectField>
        </form>
      </Card>

      <div aria-live="polite" className="mb-4 empty:hidden">
        {outcome && <Alert tone={outcome.tone}>{outcome.text}</Alert>}
      </div>

      {users.error && !(users.error.status === 404 && filters.page > 1) ? (
        <ErrorState error={users.error} onRetry={users.reload} />
      ) : !page ? (
        <LoadingState label="Loading users…" />
      ) : page.count === 0 ? (
        <EmptyState title={filtered ? "No users match these filters" : "No users yet"}>
          {filtered && (
            <Button variant="secondary" className="mt-3" onClick={() => {
              setSearchText("");
              setParams(new URLSearchParams());
            }}>
              Clear filters
            </Button>
          )}
        </EmptyState>
      ) : (
        <div className="space-y-4">
          <p id={countId} className="text-sm text-slate-700" aria-live="polite">
            {users.loading ? "Loading… " : ""}
            Showing <span className="font-semibold">{first}</span>–<span className="font-semibold">{last}</span> of{" "}
            <span className="font-semibold">{page.count}</span> {page.count === 1 ? "user" : "users"}
          </p>
          <div className="relative overflow-x-auto rounded-xl bg-white shadow-sm ring-1 ring-slate-200">
            <table className="min-w-full divide-y divide-slate-200 text-left text-sm" aria-describedby={countId} aria-busy={users.loading}>
              <caption className="sr-only">Users, page {filters.page} of {pageCount}</caption>
              <thead className="bg-slate-50 text-xs font-semibold uppercase tracking-wide text-slate-600">
                <tr>
                  <th scope="col" className="px-4 py-3">User</th>
                  <th scope="col" className="hidden px-4 py-3 sm:table-cell">Role</th>
                  <th scope="col" className="hidden px-4 py-3 sm:table-cell">Status</th>
                  <th scope="col" className="hidden px-4 py-3 md:table-cell">Joined</th>
                  <th scope="col" className="hidden px-4 py-3 lg:table-cell">Last login</th>
                  <th scope="col" className="px-4 py-3 text-right">
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-100">
                {page.results.map((row) => (
                  <UserRow key={row.id} user={row} isSelf={row.id === me?.id} onToggle={() => ask(row)} />
                ))}
              </tbody>
            </table>
          </div>
          <Pagination page={filters.page} pageCount={pageCount} onPageChange={(target) => update({ page: target })} disabled={users.loading} />
        </div>
      )}
      {dialog}
    </>
  );
}

function UserRow({ user, isSelf, onToggle }: { user: User; isSelf: boolean; onToggle: () => void }) {
  const selfNoteId = useId();
  return (
    <tr className="align-middle">
      <td className="max-w-48 px-4 py-3 sm:max-w-64">
        <TextLink to={`/admin/users/${user.id}`} className="block truncate">
          {user.full_name}
        </TextLink>
        <span className="block truncate text-slate-600">{user.email}</span>
        {/* Narrow screens fold the role and status columns into this cell. */}
        <span className="mt-1 flex gap-1.5 sm:hidden">
          <RoleBadge role={user.role} />
          <StatusBadge active={user.is_active} />
        </span>
      </td>
      <td className="hidden px-4 py-3 sm:table-cell">
        <RoleBadge role={user.role} />
      </td>
      <td className="hidden px-4 py-3 sm:table-cell">
        <StatusBadge active={user.is_active} />
      </td>
      <td className="hidden px-4 py-3 whitespace-nowrap text-slate-700 md:table-cell">{formatDate(user.date_joined)}</td>
      <td className="hidden px-4 py-3 whitespace-nowrap text-slate-700 lg:table-cell">{formatDateTime(user.last_login)}</td>
      <td className="px-4 py-3 text-right whitespace-nowrap">
        <Button
          variant={user.is_active ? "secondary" : "primary"}
          className="px-3 py-1.5"
          onClick={onToggle}
          disabled={isSelf}
          aria-label={`${user.is_active ? "Deactivate" : "Reactivate"} ${user.full_name}`}
          aria-describedby={isSelf ? selfNoteId : undefined}
        >
          {user.is_active ? "Deactivate" : "Reactivate"}
        </Button>
        {isSelf && (
          <span id={selfNoteId} className="mt-1 block text-xs text-slate-500">
            This is you
          </span>
        )}
      </td>
    </tr>
  );
}
