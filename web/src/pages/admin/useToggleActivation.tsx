/**
 * The "activate / deactivate" action with its confirmation dialog, shared by the users table
 * and the user detail page.
 */
import { useState } from "react";
import { useApi } from "../../api/ApiContext";
import { toApiError } from "../../api/problem";
import type { User } from "../../api/types";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { errorMessage } from "../../components/States";

export interface ToggleOutcome {
  tone: "success" | "error";
  text: string;
}

export function useToggleActivation(onToggled: (user: User) => void, onOutcome: (outcome: ToggleOutcome) => void) {
  const api = useApi();
  const [target, setTarget] = useState<User | null>(null);

  async function confirm() {
    if (!target) return;
    try {
      const updated = await api.toggleUser(target.id);
      onToggled(updated);
      onOutcome({
        tone: "success",
        text: `${updated.full_name} was ${updated.is_active ? "reactivated" : "deactivated"}.`,
      });
    } catch (caught) {
      const error = toApiError(caught);
      onOutcome({
        tone: "error",
        text: error.status === 409 ? "You can't deactivate your own account." : errorMessage(error),
      });
    } finally {
      setTarget(null);
    }
  }

  const dialog = (
    <ConfirmDialog
      open={target !== null}
      title={target?.is_active ? `Deactivate ${target.full_name}?` : `Reactivate ${target?.full_name ?? ""}?`}
      confirmLabel={target?.is_active ? "Deactivate" : "Reactivate"}
      tone={target?.is_active ? "danger" : "primary"}
      onConfirm={confirm}
      onCancel={() => setTarget(null)}
    >
      {target?.is_active ? (
        <p>
          <span className="font-medium">{target.email}</span> will be signed out of every device at once and won't be able
          to log in until reactivated.
        </p>
      ) : (
        <p>
          <span className="font-medium">{target?.email}</span> will be able to log in again.
        </p>
      )}
    </ConfirmDialog>
  );

  return { ask: setTarget, dialog };
}
