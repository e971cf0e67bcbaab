/**
 * Choose a new password: the page a reset mail links to, `/reset-password?token=…`.
 *
 * The token is a secret that signs its holder in. On arrival it moves out of the address bar
 * into the history entry's state (a `replace`), so it is no longer in the visible URL, the
 * history list or a screenshot, while a reload of the tab still finds it. It is sent only in
 * the confirmation's JSON body and is never logged. Success replaces the entry again, so Back
 * cannot return to it; a refusal drops it from the entry's state.
 *
 * The server answers 200 with a new session (every other session of the account has ended),
 * which is stored exactly as a login's, then the app goes where a login goes with a notice;
 * `/problems/reset-token-invalid` (unknown, used or expired link) shows the invalid-link state
 * with a way to ask for a new one, as does a missing token; `/problems/validation` lists every
 * broken rule under the field; 403 says the account is deactivated.
 */
import { useEffect, useMemo, useRef, useState, type FormEvent, type RefObject } from "react";
import { useLocation, useNavigate, useSearchParams } from "react-router";
import { toApiError, type ApiError } from "../api/problem";
import { destinationAfterLogin } from "../auth/guards";
import { useSession } from "../auth/SessionContext";
import { AuthFrame, type NoticeState } from "../components/Layout";
import { PasswordField } from "../components/Field";
import { PasswordStrength, usePasswordReport } from "../components/PasswordStrength";
import { errorMessage } from "../components/States";
import { Alert, Button, ButtonLink, Card, PageHeader, TextLink } from "../components/ui";
import { hasFieldErrors, splitFieldErrors, useFocusFirstInvalid, withoutField, type FieldErrors } from "../lib/forms";

/** Where the token waits once it has left the URL. */
interface ResetPasswordState {
  resetToken?: string;
}

export const RESET_TOKEN_INVALID = "/problems/reset-token-invalid";

export const PASSWORD_RESET_NOTICE = "Your password was changed, and every other device signed in to your account was signed out.";

type Field = "new_password" | "confirm";

export function ResetPasswordPage() {
  const location = useLocation();
  const navigate = useNavigate();
  const [searchParams] = useSearchParams();
  const [token] = useState(() => searchParams.get("token") ?? (location.state as ResetPasswordState | null)?.resetToken ?? "");
  // "missing" is shown as the page arrives (Layout focuses it on navigation); "refused" follows
  // a submit, and the page moves focus to the new heading itself.
  const [invalid, setInvalid] = useState<"missing" | "refused" | null>(() => (token.trim() === "" ? "missing" : null));

  useEffect(() => {
    if (!searchParams.has("token")) return;
    const rest = new URLSearchParams(searchParams);
    rest.delete("token");
    const search = rest.toString();
    const state: ResetPasswordState = { resetToken: token };
    navigate({ pathname: location.pathname, search: search ? `?${search}` : "", hash: location.hash }, { replace: true, state });
  }, [searchParams, token, navigate, location.pathname, location.hash]);

  function onInvalidLink() {
    setInvalid("refused");
    // A dead token has nothing left to protect, but nothing left to do either: forget it, so a
    // reload shows this state again instead of a form that cannot succeed.
    navigate({ pathname: location.pathname, search: location.search, hash: location.hash }, { replace: true, state: null });
  }

  if (invalid) return <InvalidLink focusHeading={invalid === "refused"} />;
  return <NewPasswordForm token={token} onInvalidLink={onInvalidLink} />;
}

function NewPasswordForm({ token, onInvalidLink }: { token: string; onInvalidLink: () => void }) {
  const { resetPassword } = useSession();
  const navigate = useNavigate();
  const [newPassword, setNewPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const [saving, setSaving] = useState(false);
  const [fieldErrors, setFieldErrors] = useState<FieldErrors<Field>>({});
  const [failure, setFailure] = useState<ApiError | null>(null);
  const [formRef, focusFirstInvalid] = useFocusFirstInvalid();
  const failureRef = useRef<HTMLDivElement>(null);
  const [focusFailure, setFocusFailure] = useState(0);
  // The link does not say whose it is, so the similarity to the email and the name can only be
  // checked by the server; the checklist leaves those two rules out rather than tick them.
  const fullReport = usePasswordReport(newPassword, "", "");
  const report = useMemo(
    () => ({ ...fullReport, rules: fullReport.rules.filter((rule) => rule.id !== "email" && rule.id !== "name") }),
    [fullReport],
  );

  useEffect(() => {
    if (focusFailure > 0) failureRef.current?.focus();
  }, [focusFailure]);

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setFailure(null);
    const errors: FieldErrors<Field> = {};
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
      await resetPassword({ token, new_password: newPassword });
      // Replace, not push: the entry that held the token is gone, and Back skips it.
      const state: NoticeState = { notice: PASSWORD_RESET_NOTICE };
      navigate(destinationAfterLogin(null), { replace: true, state });
    } catch (caught) {
      const error = toApiError(caught);
      setSaving(false);
      if (error.problem?.type === RESET_TOKEN_INVALID) {
        onInvalidLink();
        return;
      }
      const { byField, other } = splitFieldErrors(error, ["new_password"] as const);
      if (hasFieldErrors(byField)) {
        setFieldErrors(byField);
        if (other.length > 0) setFailure(error);
        focusFirstInvalid();
      } else {
        setFailure(error);
        setFocusFailure((count) => count + 1);
      }
    }
  }

  return (
    <AuthFrame>
      <PageHeader title="Choose a new password" description="Choosing a new password signs you out on every other device." />
      <Card>
        <form ref={formRef} noValidate onSubmit={(event) => void onSubmit(event)} className="space-y-5" aria-label="Choose a new password">
          <div ref={failureRef} tabIndex={-1} className="outline-none empty:hidden">
            {failure && <ResetFailure error={failure} />}
          </div>
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
            hint={
              <>
                <PasswordStrength report={report} empty={newPassword === ""} />
                <p className="mt-2">It must not resemble your email or your name either.</p>
              </>
            }
          />
          <PasswordField
            label="Confirm new password"
            name="confirm"
            autoComplete="new-password"
            required
            maxLength={128}
            value={confirm}
            onChange={(event) => {
              setConfirm(event.target.value);
              setFieldErrors((errors) => withoutField(errors, "confirm"));
            }}
            errors={fieldErrors.confirm}
          />
          <Button type="submit" className="w-full" busy={saving}>
            {saving ? "Saving…" : "Set new password"}
          </Button>
        </form>
      </Card>
      <p className="mt-6 text-center text-sm text-slate-600">
        Remembered it after all? <TextLink to="/login">Back to log in</TextLink>
      </p>
    </AuthFrame>
  );
}

function ResetFailure({ error }: { error: ApiError }) {
  if (error.status === 403) {
    return (
      <Alert tone="error" title="This account has been deactivated">
        Its password can't be reset. Contact your administrator to have it reactivated.
      </Alert>
    );
  }
  const other = Object.entries(error.allFieldErrors())
    .filter(([field]) => field !== "new_password")
    .flatMap(([, messages]) => messages);
  return (
    <Alert tone="error" title="Couldn't set the new password">
      {other.length > 0 ? other.join(" ") : errorMessage(error)}
    </Alert>
  );
}

function InvalidLink({ focusHeading }: { focusHeading: boolean }) {
  const { user } = useSession();
  const headingRef = useRef<HTMLHeadingElement>(null);
  useFocusOnMount(headingRef, focusHeading);
  return (
    <AuthFrame>
      <PageHeader title="This reset link can't be used" headingRef={headingRef} />
      <Card>
        <div className="space-y-3 text-sm text-slate-700">
          <p>The link is incomplete, has expired, or has already been used. Each link works once, for a limited time.</p>
          <p>Ask for a new link and use the most recent mail.</p>
        </div>
        <div className="mt-6 flex flex-col gap-2 sm:flex-row">
          <ButtonLink to="/forgot-password" variant="primary">
            Ask for a new link
          </ButtonLink>
          {user ? <ButtonLink to="/profile">Go to your profile</ButtonLink> : <ButtonLink to="/login">Back to log in</ButtonLink>}
        </div>
      </Card>
    </AuthFrame>
  );
}

function useFocusOnMount(ref: RefObject<HTMLElement | null>, enabled: boolean): void {
  useEffect(() => {
    if (enabled) ref.current?.focus();
  }, [ref, enabled]);
}
