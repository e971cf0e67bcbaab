/**
 * "Send password reset link" on the admin's view of a user: after a confirmation, the server
 * mails the user a link (POST /api/admin/users/{id}/password-reset/). The administrator never
 * sees or sets the password. A deactivated account cannot get a link (409): the button says so
 * up front, and a 409 that still happens (deactivated meanwhile) asks the page to reload.
 */
import { useState } from "react";
import { useApi } from "../../api/ApiContext";
import { toApiError } from "../../api/problem";
import type { User } from "../../api/types";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { errorMessage } from "../../components/States";
import { Alert, Button, Card, CardTitle } from "../../components/ui";
import { RESET_LINK_MINUTES } from "../../lib/password";

interface Outcome {
  tone: "success" | "error";
  title: string;
  text: string;
}

export function PasswordResetCard({ user, onStale }: { user: User; onStale: () => void }) {
  const api = useApi();
  const [confirming, setConfirming] = useState(false);
  const [outcome, setOutcome] = useState<Outcome | null>(null);

  async function send() {
    setOutcome(null);
    try {
      await api.sendPasswordReset(user.id);
      setOutcome({
        tone: "success",
        title: "Reset link sent",
        text: `A link to choose a new password is on its way to ${user.email}. It works once, for ${RESET_LINK_MINUTES} minutes.`,
      });
    } catch (caught) {
      const error = toApiError(caught);
      if (error.status === 409) {
        setOutcome({
          tone: "error",
          title: "Couldn't send the link",
          text: "This account is deactivated. Reactivate it before sending a reset link.",
        });
        onStale();
      } else if (error.status === 404) {
        setOutcome({ tone: "error", title: "Couldn't send the link", text: "This user no longer exists." });
      } else {
        setOutcome({ tone: "error", title: "Couldn't send the link", text: errorMessage(error) });
      }
    } finally {
      setConfirming(false);
    }
  }

  return (
    <Card>
      <CardTitle>Password</CardTitle>
      <p className="mt-2 text-sm text-slate-600">
        Mail {user.full_name} a link to choose a new password. You never see or set it; their current password keeps working
        until they use the link.
      </p>
      <div aria-live="polite" className="mt-4 empty:hidden">
        {outcome && (
          <Alert tone={outcome.tone} title={outcome.title}>
            {outcome.text}
          </Alert>
        )}
      </div>
      <Button className="mt-4" variant="secondary" disabled={!user.is_active} onClick={() => setConfirming(true)}>
        Send password reset link
      </Button>
      {!user.is_active && <p className="mt-2 text-sm text-slate-600">Reactivate this account to send it a reset link.</p>}
      <ConfirmDialog
        open={confirming}
        title={`Send a password reset link to ${user.full_name}?`}
        confirmLabel="Send link"
        tone="primary"
        onConfirm={send}
        onCancel={() => setConfirming(false)}
      >
        <p>
          A link to choose a new password will be mailed to <span className="font-medium break-all">{user.email}</span>. It works
          once, for {RESET_LINK_MINUTES} minutes.
        </p>
      </ConfirmDialog>
    </Card>
  );
}
