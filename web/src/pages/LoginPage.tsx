/**
 * Log in. Each refusal gets its own message: 401 (one message for a wrong email or password,
 * as the server gives no hint which), 403 (deactivated, only ever said after a correct
 * password), 429 (locked out, with a live countdown from Retry-After). "Forgot your password?"
 * leads to /forgot-password, carrying the email typed so far.
 */
import { useRef, useState, type FormEvent } from "react";
import { useLocation } from "react-router";
import { describeWait, toApiError, type ApiError } from "../api/problem";
import { useSession } from "../auth/SessionContext";
import { AuthFrame } from "../components/Layout";
import { PasswordField, TextField } from "../components/Field";
import { errorMessage } from "../components/States";
import { Alert, Button, Card, PageHeader, TextLink } from "../components/ui";
import { splitFieldErrors, withoutField, type FieldErrors } from "../lib/forms";
import { useCountdown } from "../lib/useCountdown";
import type { ForgotPasswordState } from "./ForgotPasswordPage";

type Field = "email" | "password";

export function LoginPage() {
  const { logIn, state } = useSession();
  const location = useLocation();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [submitting, setSubmitting] = useState(false);
  const [failure, setFailure] = useState<ApiError | null>(null);
  const [fieldErrors, setFieldErrors] = useState<FieldErrors<Field>>({});
  const [lockedUntil, setLockedUntil] = useState<number | null>(null);
  const secondsLeft = useCountdown(lockedUntil);
  const emailRef = useRef<HTMLInputElement>(null);
  const passwordRef = useRef<HTMLInputElement>(null);

  const fromPath = (location.state as { from?: { pathname?: string } } | null)?.from?.pathname;
  const notice =
    state.status === "signed-out" && state.reason === "expired"
      ? "Your session has ended. Log in again to continue."
      : state.status === "signed-out" && state.reason === "logged-out"
        ? "You have been logged out."
        : fromPath
          ? "Log in to continue to that page."
          : null;

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const missing: FieldErrors<Field> = {};
    if (email.trim() === "") missing.email = ["Enter your email address."];
    if (password === "") missing.password = ["Enter your password."];
    setFieldErrors(missing);
    setFailure(null);
    if (missing.email || missing.password) return;
    setSubmitting(true);
    try {
      // On success the session context flips to signed-in and the route guard takes the user
      // back to the page they came from.
      await logIn({ email: email.trim(), password });
    } catch (caught) {
      const error = toApiError(caught);
      setFailure(error);
      setFieldErrors(splitFieldErrors(error, ["email", "password"] as const).byField);
      if (error.status === 429) setLockedUntil(Date.now() + (error.retryAfterSeconds ?? 60) * 1000);
      if (error.status === 401) setPassword("");
      setSubmitting(false);
      // The busy button lost focus while disabled; put the user back where they would retype.
      (error.status === 401 ? passwordRef : emailRef).current?.focus();
    }
  }

  const locked = secondsLeft > 0;

  return (
    <AuthFrame>
      <PageHeader title="Log in" description="Welcome back. Enter your email and password." />
      <Card>
        <form noValidate onSubmit={(event) => void onSubmit(event)} className="space-y-5" aria-describedby="login-status">
          <div id="login-status" className="space-y-3">
            {notice && !failure && <Alert tone="info">{notice}</Alert>}
            {failure && <LoginFailure error={failure} secondsLeft={secondsLeft} />}
          </div>
          <TextField
            ref={emailRef}
            label="Email"
            type="email"
            name="email"
            autoComplete="username"
            inputMode="email"
            required
            value={email}
            onChange={(event) => {
              setEmail(event.target.value);
              setFieldErrors((errors) => withoutField(errors, "email"));
            }}
            errors={fieldErrors.email}
          />
          <PasswordField
            ref={passwordRef}
            label="Password"
            name="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(event) => {
              setPassword(event.target.value);
              setFieldErrors((errors) => withoutField(errors, "password"));
            }}
            errors={fieldErrors.password}
          />
          <Button type="submit" className="w-full" busy={submitting} disabled={locked}>
            {locked ? `Try again in ${describeWait(secondsLeft)}` : "Log in"}
          </Button>
          <p className="text-center text-sm">
            <TextLink to="/forgot-password" state={{ email: email.trim() } satisfies ForgotPasswordState}>
              Forgot your password?
            </TextLink>
          </p>
        </form>
      </Card>
      <p className="mt-6 text-center text-sm text-slate-600">
        New here? <TextLink to="/signup">Create an account</TextLink>
      </p>
    </AuthFrame>
  );
}

function LoginFailure({ error, secondsLeft }: { error: ApiError; secondsLeft: number }) {
  // The alert's text is fixed when it appears (a live region that changed every second would
  // be read out every second); the countdown runs on the button instead.
  switch (error.status) {
    case 401:
      return <Alert tone="error" title="Incorrect email or password">Check both and try again.</Alert>;
    case 403:
      return (
        <Alert tone="error" title="This account has been deactivated">
          An administrator has deactivated it. Contact your administrator to have it reactivated.
        </Alert>
      );
    case 429:
      return (
        <Alert tone="error" title="Too many attempts">
          {secondsLeft > 0
            ? `For your security, logging in to this account is paused. Try again in ${describeWait(error.retryAfterSeconds ?? 60)}.`
            : "You can try again now."}
        </Alert>
      );
    case 400:
      return <Alert tone="error" title="Check the highlighted fields">{error.problem?.detail}</Alert>;
    default:
      return <Alert tone="error" title="Couldn't log in">{errorMessage(error)}</Alert>;
  }
}
