/**
 * The user's live sessions (devices). Any session but the current one can be revoked here;
 * the current one ends with "Log out". "Log out everywhere" revokes them all, this one too.
 */
import { useState } from "react";
import { useApi } from "../api/ApiContext";
import { toApiError } from "../api/problem";
import type { Session } from "../api/types";
import { useSession } from "../auth/SessionContext";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { EmptyState, ErrorState, LoadingState, errorMessage } from "../components/States";
import { Alert, Badge, Button, Card, PageHeader } from "../components/ui";
import { describeUserAgent, formatDateTime, formatRelative } from "../lib/format";
import { useResource } from "../lib/useResource";

export function SessionsPage() {
  const api = useApi();
  const { logOutEverywhere } = useSession();
  const sessions = useResource(() => api.listSessions(), [api]);
  const [revoking, setRevoking] = useState<string | null>(null);
  const [message, setMessage] = useState<{ tone: "success" | "error"; text: string } | null>(null);
  const [confirmAll, setConfirmAll] = useState(false);

  async function revoke(session: Session) {
    setRevoking(session.id);
    setMessage(null);
    try {
      await api.revokeSession(session.id);
      sessions.setData((current) => current?.filter((item) => item.id !== session.id) ?? null);
      setMessage({ tone: "success", text: `${describeUserAgent(session.user_agent)} was signed out.` });
    } catch (caught) {
      const error = toApiError(caught);
      if (error.status === 404) sessions.reload();
      setMessage({ tone: "error", text: error.status === 404 ? "That session had already ended." : errorMessage(error) });
    } finally {
      setRevoking(null);
    }
  }

  async function endAll() {
    try {
      await logOutEverywhere();
    } catch (caught) {
      setConfirmAll(false);
      setMessage({ tone: "error", text: errorMessage(toApiError(caught)) });
    }
  }

  const list = sessions.data ? [...sessions.data].sort((a, b) => Number(b.current) - Number(a.current)) : null;

  return (
    <>
      <PageHeader
        title="Your sessions"
        description="Devices where you are signed in. Sign out any you don't recognise."
        actions={
          <Button variant="danger" onClick={() => setConfirmAll(true)} disabled={!list}>
            Log out everywhere
          </Button>
        }
      />
      <div aria-live="polite" className="mb-4 empty:hidden">
        {message && <Alert tone={message.tone}>{message.text}</Alert>}
      </div>
      {sessions.error && !list ? (
        <ErrorState error={sessions.error} onRetry={sessions.reload} />
      ) : !list ? (
        <LoadingState label="Loading your sessions…" />
      ) : list.length === 0 ? (
        <EmptyState title="No active sessions">Sessions appear here when you sign in on a device.</EmptyState>
      ) : (
        <ul className="space-y-3" aria-label="Active sessions">
          {list.map((session) => (
            <li key={session.id}>
              <Card className="flex flex-col gap-4 sm:flex-row sm:items-center sm:justify-between">
                <div className="min-w-0">
                  <p className="flex flex-wrap items-center gap-2 font-semibold text-slate-900">
                    {describeUserAgent(session.user_agent)}
                    {session.current && <Badge tone="green">This device</Badge>}
                  </p>
                  <dl className="mt-1 grid gap-x-6 gap-y-1 text-sm text-slate-600 sm:grid-cols-3">
                    <div>
                      <dt className="inline">IP: </dt>
                      <dd className="inline">{session.ip ?? "unknown"}</dd>
                    </div>
                    <div>
                      <dt className="inline">Last active: </dt>
                      <dd className="inline">
                        <time dateTime={session.last_used_at} title={formatDateTime(session.last_used_at)}>
                          {formatRelative(session.last_used_at)}
                        </time>
                      </dd>
                    </div>
                    <div>
                      <dt className="inline">Signed in: </dt>
                      <dd className="inline">{formatDateTime(session.created_at)}</dd>
                    </div>
                  </dl>
                </div>
                {session.current ? (
                  <p className="text-sm text-slate-600">Use “Log out” to end this one.</p>
                ) : (
                  <Button
                    variant="secondary"
                    busy={revoking === session.id}
                    onClick={() => void revoke(session)}
                    aria-label={`Sign out ${describeUserAgent(session.user_agent)}, last active ${formatRelative(session.last_used_at)}`}
                  >
                    Sign out
                  </Button>
                )}
              </Card>
            </li>
          ))}
        </ul>
      )}
      <ConfirmDialog
        open={confirmAll}
        title="Log out everywhere?"
        confirmLabel="Log out everywhere"
        onConfirm={endAll}
        onCancel={() => setConfirmAll(false)}
      >
        Every session ends, including this one. You will need to log in again on each device.
      </ConfirmDialog>
    </>
  );
}
