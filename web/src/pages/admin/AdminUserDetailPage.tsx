/**
 * One user, for administrators: their details, their role (PATCH /api/admin/users/{id}/),
 * activation, and a password reset link sent by mail. An admin cannot demote or deactivate
 * themself (the server answers 409); the controls say so up front instead of failing.
 */
import { useState, type FormEvent, type ReactNode } from "react";
import { useParams } from "react-router";
import { useApi } from "../../api/ApiContext";
import { toApiError } from "../../api/problem";
import type { Role, User } from "../../api/types";
import { useSession } from "../../auth/SessionContext";
import { SelectField } from "../../components/Field";
import { ErrorState, LoadingState, errorMessage } from "../../components/States";
import { Alert, Button, ButtonLink, Card, CardTitle, PageHeader, RoleBadge, StatusBadge, TextLink } from "../../components/ui";
import { formatDateTime } from "../../lib/format";
import { useResource } from "../../lib/useResource";
import { PasswordResetCard } from "./PasswordResetCard";
import { useToggleActivation, type ToggleOutcome } from "./useToggleActivation";

export function AdminUserDetailPage() {
  const api = useApi();
  const { userId = "" } = useParams();
  const { user: me } = useSession();
  const user = useResource(() => api.getUser(userId), [api, userId]);
  const [outcome, setOutcome] = useState<ToggleOutcome | null>(null);
  const { ask, dialog } = useToggleActivation((updated) => user.setData(() => updated), setOutcome);
  const isSelf = user.data?.id === me?.id;

  return (
    <>
      <PageHeader
        title={user.data?.full_name ?? "User"}
        description={user.data?.email}
        actions={<ButtonLink to="/admin/users">Back to users</ButtonLink>}
      />
      <div aria-live="polite" className="mb-4 empty:hidden">
        {outcome && <Alert tone={outcome.tone}>{outcome.text}</Alert>}
      </div>
      {user.error && !user.data ? (
        user.error.status === 404 ? (
          <ErrorState title="No such user" error={user.error} />
        ) : (
          <ErrorState error={user.error} onRetry={user.reload} />
        )
      ) : !user.data ? (
        <LoadingState label="Loading user…" />
      ) : (
        <div className="grid gap-6 lg:grid-cols-2">
          <Card>
            <CardTitle>Details</CardTitle>
            <dl className="mt-4 grid grid-cols-1 gap-4 text-sm sm:grid-cols-2">
              <Fact label="Name">{user.data.full_name}</Fact>
              <Fact label="Email">
                <span className="break-all">{user.data.email}</span>
              </Fact>
              <Fact label="Role">
                <RoleBadge role={user.data.role} />
              </Fact>
              <Fact label="Status">
                <StatusBadge active={user.data.is_active} />
              </Fact>
              <Fact label="Joined">{formatDateTime(user.data.date_joined)}</Fact>
              <Fact label="Last login">{formatDateTime(user.data.last_login)}</Fact>
              <Fact label="User id">
                <code className="text-xs break-all">{user.data.id}</code>
              </Fact>
              <Fact label="Activity">
                <TextLink to={`/admin/audit?target=${encodeURIComponent(user.data.id)}`}>Audit events</TextLink>
              </Fact>
            </dl>
          </Card>
          <div className="space-y-6">
            <RoleForm user={user.data} isSelf={isSelf} onSaved={(updated) => user.setData(() => updated)} />
            <Card>
              <CardTitle>Access</CardTitle>
              <p className="mt-2 text-sm text-slate-600">
                {user.data.is_active
                  ? "Deactivating signs this user out of every device at once and blocks logging in."
                  : "This account is deactivated. Reactivating lets the user log in again."}
              </p>
              <Button
                className="mt-4"
                variant={user.data.is_active ? "danger" : "primary"}
                disabled={isSelf}
                onClick={() => user.data && ask(user.data)}
              >
                {user.data.is_active ? "Deactivate account" : "Reactivate account"}
              </Button>
              {isSelf && <p className="mt-2 text-sm text-slate-600">You can't deactivate your own account.</p>}
            </Card>
            <PasswordResetCard user={user.data} onStale={user.reload} />
          </div>
        </div>
      )}
      {dialog}
    </>
  );
}

function Fact({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div>
      <dt className="text-slate-600">{label}</dt>
      <dd className="mt-1 font-medium text-slate-900">{children}</dd>
    </div>
  );
}

function RoleForm({ user, isSelf, onSaved }: { user: User; isSelf: boolean; onSaved: (user: User) => void }) {
  const api = useApi();
  const [role, setRole] = useState<Role>(user.role);
  const [saving, setSaving] = useState(false);
  const [message, setMessage] = useState<{ tone: "success" | "error"; text: string } | null>(null);

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setSaving(true);
    setMessage(null);
    try {
      const updated = await api.updateUser(user.id, { role });
      onSaved(updated);
      setMessage({ tone: "success", text: `${updated.full_name} is now ${updated.role === "admin" ? "an admin" : "a user"}.` });
    } catch (caught) {
      const error = toApiError(caught);
      setMessage({ tone: "error", text: error.status === 409 ? "You can't remove your own admin role." : errorMessage(error) });
    } finally {
      setSaving(false);
    }
  }

  return (
    <Card>
      <CardTitle>Role</CardTitle>
      <form onSubmit={(event) => void onSubmit(event)} className="mt-4 space-y-4">
        <div aria-live="polite" className="empty:hidden">
          {message && <Alert tone={message.tone}>{message.text}</Alert>}
        </div>
        <SelectField
          label="Role"
          name="role"
          value={role}
          disabled={isSelf}
          hint={isSelf ? "You can't change your own role." : "Admins can manage every user and read the audit log."}
          onChange={(event) => setRole(event.target.value as Role)}
        >
          <option value="user">User</option>
          <option value="admin">Admin</option>
        </SelectField>
        <Button type="submit" busy={saving} disabled={isSelf || role === user.role}>
          Save role
        </Button>
      </form>
    </Card>
  );
}
