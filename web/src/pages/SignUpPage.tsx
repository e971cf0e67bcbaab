/**
 * Sign up. The password meter mirrors the server's rules as the user types; rules the client
 * can decide for certain (length, digits only, similarity) block the submit, the strength
 * estimate does not: the server's zxcvbn has the last word, and its field errors come back
 * next to the fields.
 */
import { useState, type FormEvent } from "react";
import { toApiError } from "../api/problem";
import { useSession } from "../auth/SessionContext";
import { AuthFrame } from "../components/Layout";
import { PasswordField, TextField } from "../components/Field";
import { PasswordStrength, usePasswordReport } from "../components/PasswordStrength";
import { errorMessage } from "../components/States";
import { Alert, Button, Card, PageHeader, TextLink } from "../components/ui";
import { useFocusFirstInvalid, hasFieldErrors, splitFieldErrors, withoutField, type FieldErrors } from "../lib/forms";

type Field = "full_name" | "email" | "password";
const FIELDS = ["full_name", "email", "password"] as const;

export function SignUpPage() {
  const { signUp } = useSession();
  const [fullName, setFullName] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [submitting, setSubmitting] = useState(false);
  const [fieldErrors, setFieldErrors] = useState<FieldErrors<Field>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const report = usePasswordReport(password, email, fullName);
  const [formRef, focusFirstInvalid] = useFocusFirstInvalid();

  function validate(): FieldErrors<Field> {
    const errors: FieldErrors<Field> = {};
    if (fullName.trim() === "") errors.full_name = ["Enter your name."];
    else if (fullName.trim().length > 150) errors.full_name = ["Ensure this field has no more than 150 characters."];
    if (email.trim() === "") errors.email = ["Enter your email address."];
    else if (!/^[^\s@]+@[^\s@]+$/.test(email.trim())) errors.email = ["Enter a valid email address."];
    if (password === "") errors.password = ["Choose a password."];
    else if (!report.meetsHardRules) errors.password = report.hardViolations;
    return errors;
  }

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setFormError(null);
    const errors = validate();
    setFieldErrors(errors);
    if (hasFieldErrors(errors)) {
      focusFirstInvalid();
      return;
    }
    setSubmitting(true);
    try {
      // Success flips the session to signed-in; the route guard then opens the profile.
      await signUp({ full_name: fullName.trim(), email: email.trim(), password });
    } catch (caught) {
      const error = toApiError(caught);
      const { byField, other } = splitFieldErrors(error, FIELDS);
      if (error.status === 409 && !byField.email) byField.email = [error.problem?.detail ?? "An account with this email already exists."];
      setFieldErrors(byField);
      setFormError(hasFieldErrors(byField) ? (other.join(" ") || null) : errorMessage(error));
      setSubmitting(false);
      focusFirstInvalid();
    }
  }

  return (
    <AuthFrame>
      <PageHeader title="Create your account" description="It takes less than a minute." />
      <Card>
        <form ref={formRef} noValidate onSubmit={(event) => void onSubmit(event)} className="space-y-5">
          {formError && <Alert tone="error" title="Couldn't create the account">{formError}</Alert>}
          <TextField
            label="Full name"
            name="full_name"
            autoComplete="name"
            required
            maxLength={150}
            value={fullName}
            onChange={(event) => {
              setFullName(event.target.value);
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
              setFieldErrors((errors) => withoutField(errors, "email"));
            }}
            errors={fieldErrors.email}
          />
          <PasswordField
            label="Password"
            name="password"
            autoComplete="new-password"
            required
            maxLength={128}
            value={password}
            onChange={(event) => {
              setPassword(event.target.value);
              setFieldErrors((errors) => withoutField(errors, "password"));
            }}
            errors={fieldErrors.password}
            hint={<PasswordStrength report={report} empty={password === ""} />}
          />
          <Button type="submit" className="w-full" busy={submitting}>
            Create account
          </Button>
        </form>
      </Card>
      <p className="mt-6 text-center text-sm text-slate-600">
        Already have an account? <TextLink to="/login">Log in</TextLink>
      </p>
    </AuthFrame>
  );
}

