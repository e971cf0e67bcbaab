/**
 * The audit log, newest first, filterable by action, actor and target (user ids). Filters and
 * page live in the URL, like the users table.
 */
import { useEffect, useState, type FormEvent } from "react";
import { useSearchParams } from "react-router";
import { useApi } from "../../api/ApiContext";
import type { AuditAction, AuditEvent } from "../../api/types";
import { useSession } from "../../auth/SessionContext";
import { SelectField, TextField } from "../../components/Field";
import { Pagination } from "../../components/Pagination";
import { EmptyState, ErrorState, LoadingState } from "../../components/States";
import { Badge, Button, Card, PageHeader, TextLink } from "../../components/ui";
import { formatDateTime } from "../../lib/format";
import { useResource } from "../../lib/useResource";

/** The actions the server records (AuditEventResponse.action in crates/api-http). */
const ACTIONS: { value: AuditAction; label: string }[] = [
  { value: "signup", label: "Sign-up" },
  { value: "login", label: "Login" },
  { value: "login_failed", label: "Failed login" },
  { value: "lockout", label: "Lockout" },
  { value: "refresh_reuse", label: "Refresh-token reuse" },
  { value: "logout", label: "Logout" },
  { value: "logout_all", label: "Logout everywhere" },
  { value: "password_change", label: "Password change" },
  { value: "password_reset_request", label: "Reset link sent" },
  { value: "password_reset", label: "Password reset by link" },
  { value: "profile_update", label: "Profile update" },
  { value: "session_revoke", label: "Session revoked" },
  { value: "admin_user_update", label: "Admin: user updated" },
  { value: "admin_toggle_active", label: "Admin: activation toggled" },
  { value: "admin_create", label: "Admin created" },
];

/** The server pages the audit log 10 at a time by default, like the users list. */
const AUDIT_PAGE_SIZE = 10;

interface AuditFilters {
  page: number;
  action: AuditAction | "";
  actor: string;
  target: string;
}

/** `value` if it names an action, else "" (no filter). */
function toAction(value: string | null): AuditAction | "" {
  return ACTIONS.find((option) => option.value === value)?.value ?? "";
}

function readFilters(params: URLSearchParams): AuditFilters {
  const page = Number.parseInt(params.get("page") ?? "1", 10);
  return {
    page: Number.isFinite(page) && page > 0 ? page : 1,
    action: toAction(params.get("action")),
    actor: params.get("actor") ?? "",
    target: params.get("target") ?? "",
  };
}

export function AdminAuditPage() {
  const api = useApi();
  const { user: me } = useSession();
  const [params, setParams] = useSearchParams();
  const filters = readFilters(params);
  const [draft, setDraft] = useState(filters);

  useEffect(() => setDraft(filters), [filters.action, filters.actor, filters.target]); // follow Back/Forward

  const events = useResource(
    () =>
      api.listAudit({
        page: filters.page,
        action: filters.action || undefined,
        actor: filters.actor || undefined,
        target: filters.target || undefined,
      }),
    [api, filters.page, filters.action, filters.actor, filters.target],
  );

  function apply(next: AuditFilters, push = false) {
    const search = new URLSearchParams();
    if (next.page > 1) search.set("page", String(next.page));
    for (const key of ["action", "actor", "target"] as const) if (next[key].trim()) search.set(key, next[key].trim());
    setParams(search, { replace: !push });
  }

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    apply({ ...draft, page: 1 });
  }

  const page = events.data;
  const pageCount = page ? Math.max(1, Math.ceil(page.count / AUDIT_PAGE_SIZE)) : 1;
  const filtered = filters.action !== "" || filters.actor !== "" || filters.target !== "";

  return (
    <>
      <PageHeader title="Audit log" description="Sign-ups, logins, password changes and every admin action, newest first." />
      <Card className="mb-6">
        <form role="search" aria-label="Filter audit events" onSubmit={onSubmit} className="grid gap-4 sm:grid-cols-2 lg:grid-cols-4 lg:items-end">
          <SelectField label="Action" name="action" value={draft.action} onChange={(event) => setDraft({ ...draft, action: toAction(event.target.value) })}>
            <option value="">Any action</option>
            {ACTIONS.map((action) => (
              <option key={action.value} value={action.value}>
                {action.label}
              </option>
            ))}
          </SelectField>
          <TextField label="Actor id" name="actor" placeholder="User id" value={draft.actor} onChange={(event) => setDraft({ ...draft, actor: event.target.value })} />
          <TextField label="Target id" name="target" placeholder="User id" value={draft.target} onChange={(event) => setDraft({ ...draft, target: event.target.value })} />
          <div className="flex gap-2">
            <Button type="submit">Apply</Button>
            {filtered && (
              <Button variant="ghost" onClick={() => apply({ page: 1, action: "", actor: "", target: "" })}>
                Clear
              </Button>
            )}
          </div>
        </form>
      </Card>
      {events.error && !page ? (
        <ErrorState error={events.error} onRetry={events.reload} title={events.error.status === 400 ? "These filters are not valid" : undefined} />
      ) : !page ? (
        <LoadingState label="Loading audit events…" />
      ) : page.count === 0 ? (
        <EmptyState title={filtered ? "No events match these filters" : "No events yet"} />
      ) : (
        <div className="space-y-4">
          <p className="text-sm text-slate-700" aria-live="polite">
            {events.loading ? "Loading… " : ""}
            <span className="font-semibold">{page.count}</span> {page.count === 1 ? "event" : "events"}
          </p>
          <div className="relative overflow-x-auto rounded-xl bg-white shadow-sm ring-1 ring-slate-200">
            <table className="min-w-full divide-y divide-slate-200 text-left text-sm" aria-busy={events.loading}>
              <caption className="sr-only">Audit events, page {filters.page} of {pageCount}</caption>
              <thead className="bg-slate-50 text-xs font-semibold uppercase tracking-wide text-slate-600">
                <tr>
                  <th scope="col" className="px-4 py-3">When</th>
                  <th scope="col" className="px-4 py-3">Action</th>
                  <th scope="col" className="px-4 py-3">Actor</th>
                  <th scope="col" className="px-4 py-3">Target</th>
                  <th scope="col" className="hidden px-4 py-3 md:table-cell">IP</th>
                  <th scope="col" className="hidden px-4 py-3 lg:table-cell">Details</th>
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-100">
                {page.results.map((event) => (
                  <AuditRow key={event.id} event={event} meId={me?.id} />
                ))}
              </tbody>
            </table>
          </div>
          <Pagination page={filters.page} pageCount={pageCount} onPageChange={(target) => apply({ ...filters, page: target }, true)} disabled={events.loading} />
        </div>
      )}
    </>
  );
}

/** A user id, shortened to its random tail: UUIDv7s created close together share their
 * leading (timestamp) digits, so the head would not tell them apart. */
function UserRef({ id, meId }: { id: string | null | undefined; meId: string | undefined }) {
  if (!id) return <span className="text-slate-500">—</span>;
  return (
    <TextLink to={`/admin/users/${id}`} className="font-mono text-xs whitespace-nowrap" title={id}>
      {id === meId ? (
        "You"
      ) : (
        <>
          <span aria-hidden="true">…</span>
          {id.slice(-8)}
          <span className="sr-only">, user {id}</span>
        </>
      )}
    </TextLink>
  );
}

/** `{"is_active": "false"}` as `is_active: false`. */
function describeDetails(details: Record<string, string> | null | undefined): string {
  return Object.entries(details ?? {})
    .map(([key, value]) => `${key}: ${value}`)
    .join(", ");
}

function AuditRow({ event, meId }: { event: AuditEvent; meId: string | undefined }) {
  const details = describeDetails(event.details);
  const failed = /fail|reuse|lock/i.test(event.action);
  return (
    <tr>
      <td className="px-4 py-3 whitespace-nowrap text-slate-700">
        <time dateTime={event.at}>{formatDateTime(event.at)}</time>
      </td>
      <td className="px-4 py-3 whitespace-nowrap">
        <Badge tone={failed ? "amber" : "neutral"}>{ACTIONS.find((action) => action.value === event.action)?.label ?? event.action}</Badge>
      </td>
      <td className="px-4 py-3">
        <UserRef id={event.actor_id} meId={meId} />
      </td>
      <td className="px-4 py-3">
        <UserRef id={event.target_id} meId={meId} />
      </td>
      <td className="hidden px-4 py-3 whitespace-nowrap text-slate-700 md:table-cell">{event.ip ?? "—"}</td>
      <td className="hidden max-w-80 px-4 py-3 lg:table-cell">
        {details ? <code className="block truncate text-xs text-slate-700" title={details}>{details}</code> : <span className="text-slate-500">—</span>}
      </td>
    </tr>
  );
}
