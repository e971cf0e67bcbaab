/**
 * The signed-in user's profile: read-only account facts, and a form for name and email.
 * The page reloads the user from GET /api/users/me/ rather than trusting the copy cached at
 * login, which may be stale (an admin may have changed the role since).
 */
import { useEffect, useState, type FormEvent } from "react";
import { useApi } from "../api/ApiContext";
import { toApiError } from "../api/problem";
import type { User } from "../api/types";
import { useSession } from "../auth/SessionContext";
import { TextField } from "../components/Field";
import { ErrorState, LoadingState, errorMessage } from "../components/States";
import { Alert, Button, Card, CardTitle, PageHeader, RoleBadge, StatusBadge } from "../components/ui";
import { useFocusFirstInvalid, hasFieldErrors, splitFieldErrors, withoutField, type FieldErrors } from "../lib/forms";
import { formatDateTime } from "../lib/format";
import { useResource } from "../lib/useResource";

type Field = "full_name" | "email";

export function ProfilePage() {
  const api = useApi();
  const { setUser } = useSession();
  const me = useResource(() => api.getMe(), [api]);

  useEffect(() => {
    if (me.data) setUser(me.data);
  }, [me.data, setUser]);

  return (
    <>
      <PageHeader title="Your profile" description="Your account details and the address you log in with." />
      {me.error && !me.data ? (
        <ErrorState error={me.error} onRetry={me.reload} />
      ) : !me.data ? (
        <LoadingState label="Loading your profile…" />
      ) : (
        <div className="grid gap-6 lg:grid-cols-3">
          <AccountFacts user={me.data} />
          <div className="lg:col-span-2">
            <ProfileForm user={me.data} onSaved={(user) => me.setData(() => user)} />
          </div>
        </div>
      )}
    </>
  );
}

function AccountFacts({ user }: { user: User }) {
  return (
    <Card>
      <CardTitle>Account</CardTitle>
      <dl className="mt-4 grid grid-cols-2 gap-x-6 gap-y-4 text-sm">
        <div className="col-span-2">
          <dt className="text-slate-600">Name</dt>
          <dd className="mt-0.5 font-medium break-words text-slate-900">{user.full_name}</dd>
        </div>
        <div className="col-span-2">
          <dt className="text-slate-600">Email</dt>
          <dd className="mt-0.5 font-medium break-all text-slate-900">{user.email}</dd>
        </div>
        <div>
          <dt className="text-slate-600">Role</dt>
          <dd className="mt-1">
            <RoleBadge role={user.role} />
          </dd>
        </div>
        <div>
          <dt className="text-slate-600">Status</dt>
          <dd className="mt-1">
            <StatusBadge active={user.is_active} />
          </dd>
        </div>
        <div className="col-span-2">
          <dt className="text-slate-600">Member since</dt>
          <dd className="mt-0.5 text-slate-900">{formatDateTime(user.date_joined)}</dd>
        </div>
        <div className="col-span-2">
          <dt className="text-slate-600">Last login</dt>
          <dd className="mt-0.5 text-slate-900">{formatDateTime(user.last_login)}</dd>
        </div>
      </dl>
    </Card>
  );
}

function ProfileForm({ user, onSaved }: { user: User; onSaved: (user: User) => void }) {
  const api = useApi();
  const [fullName, setFullName] = useState(user.full_name);
  const [email, setEmail] = useState(user.email);
  const [saving, setSaving] = useState(false);
  const [fieldErrors, setFieldErrors] = useState<FieldErrors<Field>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const [formRef, focusFirstInvalid] = useFocusFirstInvalid();
  const changed = fullName.trim() !== user.full_name || email.trim().toLowerCase() !== user.email;

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setSaved(false);
    setFormError(null);
    const errors: FieldErrors<Field> = {};
    if (fullName.trim() === "") errors.full_name = ["Enter your name."];
    if (email.trim() === "") errors.email = ["Enter your email address."];
    setFieldErrors(errors);
    if (hasFieldErrors(errors)) {
      focusFirstInvalid();
      return;
    }
    setSaving(true);
    try {
      const updated = await api.updateMe({ full_name: fullName.trim(), email: email.trim() });
      onSaved(updated);
      setFullName(updated.full_name);
      setEmail(updated.email);
      setSaved(true);
    } catch (caught) {
      const error = toApiError(caught);
      const { byField, other } = splitFieldErrors(error, ["full_name", "email"] as const);
      if (error.status === 409) byField.email = ["This email is already used by another account."];
      setFieldErrors(byField);
      setFormError(hasFieldErrors(byField) ? other.join(" ") || null : errorMessage(error));
      focusFirstInvalid();
    } finally {
      setSaving(false);
    }
  }

  return (
    <Card>
      <CardTitle id="edit-profile-title">Edit profile</CardTitle>
      <form ref={formRef} noValidate aria-labelledby="edit-profile-title" onSubmit={(event) => void onSubmit(event)} className="mt-4 space-y-5">
        <div aria-live="polite">{saved && <Alert tone="success">Your profile was saved.</Alert>}</div>
        {formError && <Alert tone="error" title="Couldn't save your profile">{formError}</Alert>}
        <TextField
          label="Full name"
          name="full_name"
          autoComplete="name"
          maxLength={150}
          required
          value={fullName}
          onChange={(event) => {
            setFullName(event.target.value);
            setSaved(false);
            setFieldErrors((errors) => withoutField(errors, "full_name"));
          }}
          errors={fieldErrors.full_name}
        />
        <TextField
          label="Email"
          type="email"
          name="email"
          autoComplete="email"
          inputMode="email"
          required
          value={email}
          onChange={(event) => {
            setEmail(event.target.value);
            setSaved(false);
            setFieldErrors((errors) => withoutField(errors, "email"));
          }}
          errors={fieldErrors.email}
          hint="You log in with this address."
        />
        <div className="flex flex-wrap gap-3">
          <Button type="submit" busy={saving} disabled={!changed}>
            Save changes
          </Button>
          <Button
            variant="ghost"
            disabled={!changed || saving}
            onClick={() => {
              setFullName(user.full_name);
              setEmail(user.email);
              setFieldErrors({});
              setFormError(null);
            }}
          >
            Discard
          </Button>
        </div>
      </form>
    </Card>
  );
}
