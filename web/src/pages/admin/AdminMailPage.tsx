/**
 * The outbox: every message the service queued (today only password reset links), newest
 * first, where each one stands and why its last attempt failed. The status filter and the page
 * live in the URL, like the audit log and the users table. Below the `xl` breakpoint the table
 * keeps two columns (recipient, status) and folds the rest into the recipient's cell, so it
 * stays readable at 375 px without scrolling sideways.
 */
import { useEffect, useId, useState, type ReactNode } from "react";
import { useSearchParams } from "react-router";
import { useApi } from "../../api/ApiContext";
import type { MailMessage, MailStatus } from "../../api/types";
import { Pagination } from "../../components/Pagination";
import { EmptyState, ErrorState, LoadingState } from "../../components/States";
import { Badge, Button, Card, PageHeader } from "../../components/ui";
import { formatDateTime } from "../../lib/format";
import { useResource } from "../../lib/useResource";

/** Messages per page; the pages are counted from it, so it is sent rather than left to the
 * server's default. */
export const MAIL_PAGE_SIZE = 10;

const STATUSES: { value: MailStatus | ""; label: string }[] = [
  { value: "", label: "All" },
  { value: "pending", label: "Pending" },
  { value: "sent", label: "Sent" },
  { value: "failed", label: "Failed" },
];

/** What each kind of message says, in words (OutboxEntryResponse.kind in crates/api-http). */
const KINDS: Record<string, string> = {
  password_reset: "Password reset",
};

/** `some_code` as "Some code". */
function humanize(code: string): string {
  const words = code.replace(/[_-]+/g, " ").trim();
  return words ? words.charAt(0).toUpperCase() + words.slice(1) : code;
}

/** `password_reset` as "Password reset"; a kind this page does not know yet reads the same way. */
export function describeKind(kind: string): string {
  return Object.hasOwn(KINDS, kind) ? KINDS[kind]! : humanize(kind);
}

interface MailFilters {
  page: number;
  status: MailStatus | "";
}

function toStatus(value: string | null): MailStatus | "" {
  return STATUSES.find((option) => option.value === value)?.value ?? "";
}

function readFilters(params: URLSearchParams): MailFilters {
  const page = Number.parseInt(params.get("page") ?? "1", 10);
  return { page: Number.isFinite(page) && page > 0 ? page : 1, status: toStatus(params.get("status")) };
}

function writeFilters(filters: MailFilters): URLSearchParams {
  const params = new URLSearchParams();
  if (filters.status) params.set("status", filters.status);
  if (filters.page > 1) params.set("page", String(filters.page));
  return params;
}

export function AdminMailPage() {
  const api = useApi();
  const [params, setParams] = useSearchParams();
  const filters = readFilters(params);
  const countId = useId();
  // The radio shows the choice at once: the router applies the new URL in a transition, and
  // until then a radio bound to the URL alone would spring back to the old choice.
  const [chosenStatus, setChosenStatus] = useState(filters.status);
  useEffect(() => setChosenStatus(filters.status), [filters.status]); // follow Back/Forward

  const mail = useResource(
    () => api.listMail({ page: filters.page, page_size: MAIL_PAGE_SIZE, status: filters.status || undefined }),
    [api, filters.page, filters.status],
  );

  /** A new filter starts at page 1 and replaces the history entry; a new page is a new entry
   * (Back returns to the previous page), as on the audit log. */
  function update(change: Partial<MailFilters>) {
    const next = { ...filters, page: 1, ...change };
    setParams(writeFilters(next), { replace: change.page === undefined });
  }

  // A page past the end is a 404 (messages finished 30 days ago are forgotten): start over.
  const pastTheEnd = mail.error?.status === 404 && filters.page > 1;
  useEffect(() => {
    if (pastTheEnd) update({ page: 1 });
  }, [mail.error]);

  const page = mail.data;
  // Pages counted from `count`, and never fewer than the server's `next` link says there are.
  const pageCount = page ? Math.max(1, Math.ceil(page.count / MAIL_PAGE_SIZE), page.next ? filters.page + 1 : 0) : 1;
  const first = page && page.count > 0 ? (filters.page - 1) * MAIL_PAGE_SIZE + 1 : 0;
  const last = page ? first + page.results.length - 1 : 0;
  const statusWord = filters.status ? `${filters.status} ` : "";

  return (
    <>
      <PageHeader
        title="Mail"
        description="Every message the service queued, newest first: where it stands, and why its last attempt failed. Failed messages stay listed for 30 days."
        actions={
          <Button variant="secondary" onClick={mail.reload}>
            Refresh
          </Button>
        }
      />
      <Card className="mb-6">
        <form role="search" aria-label="Filter messages" onSubmit={(event) => event.preventDefault()}>
          <StatusFilter
            value={chosenStatus}
            onChange={(status) => {
              setChosenStatus(status);
              update({ status });
            }}
          />
        </form>
      </Card>

      {mail.error && !pastTheEnd ? (
        <ErrorState error={mail.error} onRetry={mail.reload} title={mail.error.status === 400 ? "This filter is not valid" : undefined} />
      ) : !page ? (
        <LoadingState label="Loading messages…" />
      ) : page.count === 0 ? (
        <EmptyState title={`No ${statusWord}messages`}>
          {filters.status ? (
            <Button
              variant="secondary"
              className="mt-3"
              onClick={() => {
                setChosenStatus("");
                update({ status: "" });
              }}
            >
              Show all messages
            </Button>
          ) : (
            "Mail the service sends, such as password reset links, is listed here."
          )}
        </EmptyState>
      ) : (
        <div className="space-y-4">
          <p id={countId} className="text-sm text-slate-700" aria-live="polite">
            {mail.loading ? "Loading… " : ""}
            Showing <span className="font-semibold">{first}</span>–<span className="font-semibold">{last}</span> of{" "}
            <span className="font-semibold">{page.count}</span> {statusWord}
            {page.count === 1 ? "message" : "messages"}
          </p>
          <div className="relative overflow-x-auto rounded-xl bg-white shadow-sm ring-1 ring-slate-200">
            <table className="min-w-full divide-y divide-slate-200 text-left text-sm" aria-describedby={countId} aria-busy={mail.loading}>
              <caption className="sr-only">
                {filters.status ? `${STATUSES.find((option) => option.value === filters.status)?.label} messages` : "Messages"}, page{" "}
                {filters.page} of {pageCount}
              </caption>
              <thead className="bg-slate-50 text-xs font-semibold uppercase tracking-wide text-slate-600">
                <tr>
                  <th scope="col" className="px-4 py-3">Recipient</th>
                  <th scope="col" className="hidden px-4 py-3 xl:table-cell">Kind</th>
                  <th scope="col" className="px-4 py-3">Status</th>
                  <th scope="col" className="hidden px-4 py-3 text-right xl:table-cell">Attempts</th>
                  <th scope="col" className="hidden px-4 py-3 xl:table-cell">Queued</th>
                  <th scope="col" className="hidden px-4 py-3 xl:table-cell">Finished / next attempt</th>
                  <th scope="col" className="hidden px-4 py-3 xl:table-cell">Last error</th>
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-100">
                {page.results.map((message) => (
                  <MailRow key={message.id} message={message} />
                ))}
              </tbody>
            </table>
          </div>
          <Pagination page={filters.page} pageCount={pageCount} onPageChange={(target) => update({ page: target })} disabled={mail.loading} />
        </div>
      )}
    </>
  );
}

/** All / Pending / Sent / Failed as one radio group: Tab reaches it once, the arrow keys move
 * between the choices, and each choice applies at once. The chosen one is raised, outlined and
 * bold, not only coloured. */
function StatusFilter({ value, onChange }: { value: MailStatus | ""; onChange: (status: MailStatus | "") => void }) {
  const name = useId();
  return (
    <fieldset>
      <legend className="text-sm font-medium text-slate-800">Status</legend>
      <div className="mt-1.5 inline-flex max-w-full flex-wrap gap-1 rounded-lg bg-slate-100 p-1 ring-1 ring-inset ring-slate-200">
        {STATUSES.map((option) => (
          <label key={option.value || "all"} className="relative">
            {/* The radio itself covers its label, unseen, so a click anywhere on it lands on the
                radio and the browser's own focus and arrow-key handling apply. */}
            <input
              type="radio"
              name={name}
              value={option.value}
              checked={value === option.value}
              onChange={() => onChange(option.value)}
              className="peer absolute inset-0 size-full cursor-pointer appearance-none rounded-md opacity-0"
            />
            <span className="pointer-events-none flex min-h-9 items-center rounded-md px-3 text-sm font-medium text-slate-700 peer-hover:text-slate-900 peer-checked:bg-white peer-checked:font-semibold peer-checked:text-slate-900 peer-checked:shadow-sm peer-checked:ring-1 peer-checked:ring-slate-400 peer-focus-visible:outline-2 peer-focus-visible:outline-offset-2 peer-focus-visible:outline-indigo-600">
              {option.label}
            </span>
          </label>
        ))}
      </div>
    </fieldset>
  );
}

const statusLook: Record<MailStatus, { tone: "amber" | "green" | "red"; label: string; icon: ReactNode }> = {
  pending: {
    tone: "amber",
    label: "Pending",
    // A clock.
    icon: (
      <>
        <circle cx="8" cy="8" r="6.25" fill="none" stroke="currentColor" strokeWidth="1.5" />
        <path d="M8 4.5V8l2.5 1.5" fill="none" stroke="currentColor" strokeWidth="1.5" strokeLinecap="round" />
      </>
    ),
  },
  sent: {
    tone: "green",
    label: "Sent",
    // A tick.
    icon: <path d="M3 8.5l3.25 3.25L13 5" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round" />,
  },
  failed: {
    tone: "red",
    label: "Failed",
    // A cross.
    icon: <path d="M4.5 4.5l7 7m0-7l-7 7" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" />,
  },
};

function isMailStatus(status: string): status is MailStatus {
  return Object.hasOwn(statusLook, status);
}

/** The status in words, with its own icon and colour, so no one needs the colour to tell them apart. */
export function MailStatusBadge({ status }: { status: string }) {
  if (!isMailStatus(status)) return <Badge>{humanize(status)}</Badge>;
  const look = statusLook[status];
  return (
    <Badge tone={look.tone}>
      <svg viewBox="0 0 16 16" aria-hidden="true" focusable="false" className="mr-1 size-3 shrink-0">
        {look.icon}
      </svg>
      {look.label}
    </Badge>
  );
}

/** "Delivered", "Gave up" or "Next attempt", with its time: what the fifth column holds. */
function outcome(message: MailMessage): { label: string; at: string | null } {
  if (message.status === "sent") return { label: "Delivered", at: message.finished_at };
  if (message.status === "failed") return { label: "Gave up", at: message.finished_at };
  return { label: "Next attempt", at: message.next_attempt_at };
}

function Time({ value }: { value: string | null }) {
  if (!value) return <span className="text-slate-500">—</span>;
  return <time dateTime={value}>{formatDateTime(value)}</time>;
}

/** Errors up to this many characters show whole; a longer one shows its start and opens. */
const ERROR_PREVIEW = 120;

/** The last attempt's error, all of it: wrapped, and behind a disclosure when it is long. */
function LastError({ text }: { text: string | null | undefined }) {
  if (!text) return <span className="text-slate-500">None</span>;
  const body = "whitespace-pre-wrap break-words font-mono text-xs text-slate-800";
  if (text.length <= ERROR_PREVIEW) return <p className={body}>{text}</p>;
  return (
    <details className="group">
      <summary className="cursor-pointer rounded-sm text-xs">
        <span className="break-words font-mono text-slate-800 group-open:hidden">{text.slice(0, ERROR_PREVIEW).trimEnd()}… </span>
        <span className="font-semibold text-indigo-700 group-open:hidden">Show the whole error</span>
        <span className="hidden font-semibold text-indigo-700 group-open:inline">Hide the whole error</span>
      </summary>
      <p className={`mt-1 ${body}`}>{text}</p>
    </details>
  );
}

function MailRow({ message }: { message: MailMessage }) {
  const kind = describeKind(message.kind);
  const { label, at } = outcome(message);
  return (
    <tr className="align-top">
      <td className="px-4 py-3 xl:min-w-48">
        <span className="block font-medium wrap-anywhere text-slate-900">{message.to}</span>
        {/* Narrow screens fold the other columns into this cell. */}
        <div className="xl:hidden">
          <span className="block text-slate-600">{kind}</span>
          <dl className="mt-2 grid grid-cols-[auto_1fr] gap-x-3 gap-y-0.5 text-xs text-slate-700">
            <dt className="font-medium text-slate-600">Attempts</dt>
            <dd>{message.attempts}</dd>
            <dt className="font-medium text-slate-600">Queued</dt>
            <dd>
              <Time value={message.created_at} />
            </dd>
            <dt className="font-medium text-slate-600">{label}</dt>
            <dd>
              <Time value={at} />
            </dd>
            {message.last_error && (
              <>
                <dt className="font-medium text-slate-600">Last error</dt>
                <dd className="min-w-0">
                  <LastError text={message.last_error} />
                </dd>
              </>
            )}
          </dl>
        </div>
      </td>
      <td className="hidden px-4 py-3 whitespace-nowrap text-slate-700 xl:table-cell">{kind}</td>
      <td className="px-4 py-3 whitespace-nowrap">
        <MailStatusBadge status={message.status} />
      </td>
      <td className="hidden px-4 py-3 text-right text-slate-700 tabular-nums xl:table-cell">{message.attempts}</td>
      <td className="hidden px-4 py-3 whitespace-nowrap text-slate-700 xl:table-cell">
        <Time value={message.created_at} />
      </td>
      <td className="hidden px-4 py-3 whitespace-nowrap text-slate-700 xl:table-cell">
        <span className="block text-xs text-slate-600">{label}</span>
        <Time value={at} />
      </td>
      <td className="hidden max-w-72 min-w-44 px-4 py-3 xl:table-cell">
        <LastError text={message.last_error} />
      </td>
    </tr>
  );
}
