/**
 * Change password. The server revokes every other session and answers with a fresh token pair
 * for this one (the previous refresh token is dead); `api.changePassword` stores that pair, so
 * the user stays signed in here.
 */
import { useRef, useState, type FormEvent } from "react";
import { useApi } from "../api/ApiContext";
import { toApiError } from "../api/problem";
import { useSession } from "../auth/SessionContext";
import { PasswordField } from "../components/Field";
import { PasswordStrength, usePasswordReport } from "../components/PasswordStrength";
import { errorMessage } from "../components/States";
import { Alert, Button, Card, PageHeader } from "../components/ui";
import { useFocusFirstInvalid, hasFieldErrors, splitFieldErrors, withoutField, type FieldErrors } from "../lib/forms";

type Field = "old_password" | "new_password" | "confirm";

export function ChangePasswordPage() {
  const api = useApi();
  const { user } = useSession();
  const [oldPassword, setOldPassword] = useState("");
  const [newPassword, setNewPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const [saving, setSaving] = useState(false);
  const [done, setDone] = useState(false);
  const [fieldErrors, setFieldErrors] = useState<FieldErrors<Field>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const report = usePasswordReport(newPassword, user?.email ?? "", user?.full_name ?? "");
  const statusRef = useRef<HTMLDivElement>(null);
  const [formRef, focusFirstInvalid] = useFocusFirstInvalid();

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setDone(false);
    setFormError(null);
    const errors: FieldErrors<Field> = {};
    if (oldPassword === "") errors.old_password = ["Enter your current password."];
    if (newPassword === "") errors.new_password = ["Choose a new password."];
    else if (!report.meetsHardRules) errors.new_password = report.hardViolations;
    if (confirm !== newPassword) errors.confirm = ["The two new passwords don't match."];
    setFieldErrors(errors);
    if (hasFieldErrors(errors)) {
      focusFirstInvalid();
      return;
    }
    setSaving(true);
    try {
      await api.changePassword({ old_password: oldPassword, new_password: newPassword });
      setOldPassword("");
      setNewPassword("");
      setConfirm("");
      setDone(true);
      statusRef.current?.focus();
    } catch (caught) {
      const error = toApiError(caught);
      const { byField, other } = splitFieldErrors(error, ["old_password", "new_password"] as const);
      setFieldErrors(byField);
      setFormError(hasFieldErrors(byField) ? other.join(" ") || null : errorMessage(error));
      focusFirstInvalid();
    } finally {
      setSaving(false);
    }
  }

  return (
    <>
      <PageHeader title="Change password" description="Changing your password signs you out on every other device." />
      <div className="max-w-xl">
        <Card>
          <form ref={formRef} noValidate onSubmit={(event) => void onSubmit(event)} className="space-y-5" aria-label="Change password">
            <div ref={statusRef} tabIndex={-1} aria-live="polite" className="outline-none">
              {done && (
                <Alert tone="success" title="Password changed">
                  Your other devices have been signed out. This one stays signed in.
                </Alert>
              )}
            </div>
            {formError && <Alert tone="error" title="Couldn't change your password">{formError}</Alert>}
            {/* A hidden username helps password managers file the new password correctly. */}
            <input type="email" name="username" autoComplete="username" value={user?.email ?? ""} readOnly hidden />
            <PasswordField
              label="Current password"
              name="old_password"
              autoComplete="current-password"
              required
              value={oldPassword}
              onChange={(event) => {
              setOldPassword(event.target.value);
              setFieldErrors((errors) => withoutField(errors, "old_password"));
            }}
              errors={fieldErrors.old_password}
            />
            <PasswordField
              label="New password"
              name="new_password"
              autoComplete="new-password"
              required
              maxLength={128}
              value={newPassword}
              onChange={(event) => {
              setNewPassword(event.target.value);
              setFieldErrors((errors) => withoutField(errors, "new_password"));
            }}
              errors={fieldErrors.new_password}
              hint={<PasswordStrength report={report} empty={newPassword === ""} />}
            />
            <PasswordField
              label="Confirm new password"
              name="confirm"
              autoComplete="new-password"
              required
              value={confirm}
              onChange={(event) => {
              setConfirm(event.target.value);
              setFieldErrors((errors) => withoutField(errors, "confirm"));
            }}
              errors={fieldErrors.confirm}
            />
            <Button type="submit" busy={saving}>
              Change password
            </Button>
          </form>
        </Card>
      </div>
    </>
  );
}
