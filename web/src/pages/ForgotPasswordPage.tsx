/**
 * Forgot password: ask for a reset link by mail. The server answers 202 whether or not an
 * account has the address (so the page cannot tell, and must not pretend to), 400 for an
 * address it cannot read, and 429 when one address asks too often. After the 202 the form
 * gives way to a confirmation whose heading takes focus.
 */
import { useEffect, useRef, useState, type FormEvent } from "react";
import { useLocation } from "react-router";
import { useApi } from "../api/ApiContext";
import { describeWait, toApiError, type ApiError } from "../api/problem";
import { useSession } from "../auth/SessionContext";
import { AuthFrame } from "../components/Layout";
import { TextField } from "../components/Field";
import { errorMessage } from "../components/States";
import { Alert, Button, Card, PageHeader, TextLink } from "../components/ui";
import { splitFieldErrors, useFocusFirstInvalid, withoutField, type FieldErrors } from "../lib/forms";
import { RESET_LINK_MINUTES } from "../lib/password";
import { useCountdown } from "../lib/useCountdown";

/** The login page passes the email typed so far, so nobody types it twice. */
export interface ForgotPasswordState {
  email?: string;
}

type Field = "email";

export function ForgotPasswordPage() {
  const api = useApi();
  const location = useLocation();
  const [email, setEmail] = useState(() => (location.state as ForgotPasswordState | null)?.email ?? "");
  const [submitting, setSubmitting] = useState(false);
  const [sentTo, setSentTo] = useState<string | null>(null);
  const [failure, setFailure] = useState<ApiError | null>(null);
  const [fieldErrors, setFieldErrors] = useState<FieldErrors<Field>>({});
  const [retryUntil, setRetryUntil] = useState<number | null>(null);
  const secondsLeft = useCountdown(retryUntil);
  const [formRef, focusFirstInvalid] = useFocusFirstInvalid();
  const failureRef = useRef<HTMLDivElement>(null);
  const [focusFailure, setFocusFailure] = useState(0);

  // The alert is rendered by the same update that sets the failure: move focus in an effect,
  // once it exists, so a keyboard or screen-reader user lands on the explanation.
  useEffect(() => {
    if (focusFailure > 0) failureRef.current?.focus();
  }, [focusFailure]);

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setFailure(null);
    const trimmed = email.trim();
    const errors: FieldErrors<Field> = {};
    if (trimmed === "") errors.email = ["Enter your email address."];
    else if (!/^[^\s@]+@[^\s@]+$/.test(trimmed)) errors.email = ["Enter a valid email address."];
    setFieldErrors(errors);
    if (errors.email) {
      focusFirstInvalid();
      return;
    }
    setSubmitting(true);
    try {
      await api.requestPasswordReset({ email: trimmed });
      setSentTo(trimmed);
    } catch (caught) {
      const error = toApiError(caught);
      const { byField } = splitFieldErrors(error, ["email"] as const);
      if (error.status === 400 && byField.email) {
        setFieldErrors(byField);
        focusFirstInvalid();
      } else {
        if (error.status === 429) setRetryUntil(Date.now() + (error.retryAfterSeconds ?? 60) * 1000);
        setFailure(error);
        setFocusFailure((count) => count + 1);
      }
    } finally {
      setSubmitting(false);
    }
  }

  if (sentTo !== null) {
    return <LinkOnItsWay email={sentTo} onAgain={() => setSentTo(null)} />;
  }

  const waiting = secondsLeft > 0;

  return (
    <AuthFrame>
      <PageHeader
        title="Forgot your password?"
        description="Enter the email you log in with and we'll send you a link to choose a new password."
      />
      <Card>
        <form ref={formRef} noValidate onSubmit={(event) => void onSubmit(event)} className="space-y-5">
          <div ref={failureRef} tabIndex={-1} className="outline-none empty:hidden">
            {failure && <ForgotFailure error={failure} secondsLeft={secondsLeft} />}
          </div>
          <TextField
            label="Email"
            type="email"
            name="email"
            autoComplete="email"
            inputMode="email"
            required
            maxLength={254}
            value={email}
            onChange={(event) => {
              setEmail(event.target.value);
              setFieldErrors((errors) => withoutField(errors, "email"));
            }}
            errors={fieldErrors.email}
          />
          <Button type="submit" className="w-full" busy={submitting} disabled={waiting}>
            {waiting ? `Try again in ${describeWait(secondsLeft)}` : submitting ? "Sending…" : "Send reset link"}
          </Button>
        </form>
      </Card>
      <p className="mt-6 text-center text-sm text-slate-600">
        <BackLink prefix="Remembered it? " />
      </p>
    </AuthFrame>
  );
}

function ForgotFailure({ error, secondsLeft }: { error: ApiError; secondsLeft: number }) {
  // Fixed text, like the login page: the countdown runs on the button, not in the live region.
  if (error.status === 429) {
    return (
      <Alert tone="error" title="Too many requests">
        {secondsLeft > 0
          ? `Reset links for this address are paused for a moment. Try again in ${describeWait(error.retryAfterSeconds ?? 60)}.`
          : "You can try again now."}
      </Alert>
    );
  }
  return (
    <Alert tone="error" title="Couldn't send the link">
      {errorMessage(error)}
    </Alert>
  );
}

/** The calm answer to a 202: it never says whether the address has an account. */
function LinkOnItsWay({ email, onAgain }: { email: string; onAgain: () => void }) {
  const headingRef = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    // The form was replaced in place (no route change, so Layout moves no focus): start the
    // reader at the new heading.
    headingRef.current?.focus();
  }, []);
  return (
    <AuthFrame>
      <PageHeader title="Check your email" headingRef={headingRef} />
      <Card>
        <div className="space-y-3 text-sm text-slate-700">
          <p>
            If an account uses <span className="font-semibold break-all text-slate-900">{email}</span>, a link to choose a
            new password is on its way.
          </p>
          <p>The link works once, for {RESET_LINK_MINUTES} minutes.</p>
          <p>Nothing after a few minutes? Check your spam or junk folder, and that the address above is the one you log in with.</p>
        </div>
        <div className="mt-6 border-t border-slate-200 pt-4 text-sm text-slate-600">
          <p>Typed the wrong address, or want another link?</p>
          <Button variant="secondary" className="mt-3" onClick={onAgain}>
            Send another link
          </Button>
        </div>
      </Card>
      <p className="mt-6 text-center text-sm text-slate-600">
        <BackLink />
      </p>
    </AuthFrame>
  );
}

/** Back to log in; a visitor who is signed in (the page works for them too) goes home instead. */
function BackLink({ prefix = "" }: { prefix?: string }) {
  const { user } = useSession();
  if (user) return <TextLink to="/profile">Go to your profile</TextLink>;
  return (
    <>
      {prefix}
      <TextLink to="/login">Back to log in</TextLink>
    </>
  );
}
