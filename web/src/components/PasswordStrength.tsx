/**
 * The live strength meter under a new-password field: a five-step bar for the estimate and a
 * checklist of the server's rules. Only the label is announced (politely), not every bar
 * change, so typing is not drowned in speech.
 */
import { useMemo } from "react";
import { evaluatePassword, SCORE_LABELS, type PasswordReport } from "../lib/password";

const barColours = ["bg-red-500", "bg-orange-500", "bg-amber-400", "bg-green-500", "bg-green-600"] as const;

export function usePasswordReport(password: string, email: string, fullName: string): PasswordReport {
  return useMemo(() => evaluatePassword(password, { email, fullName }), [password, email, fullName]);
}

export function PasswordStrength({ report, empty, id }: { report: PasswordReport; empty: boolean; id?: string }) {
  const label = empty ? "Enter a password" : SCORE_LABELS[report.score];
  const filled = empty ? 0 : report.score + 1;
  return (
    <div id={id} className="mt-2 space-y-2">
      <div className="flex gap-1" aria-hidden="true">
        {[0, 1, 2, 3, 4].map((step) => (
          <span
            key={step}
            className={`h-1.5 flex-1 rounded-full ${step < filled ? barColours[report.score] : "bg-slate-200"}`}
          />
        ))}
      </div>
      <p className="text-sm text-slate-700" aria-live="polite">
        Estimated strength: <span className="font-semibold">{label}</span>
      </p>
      <ul className="grid gap-1 text-sm sm:grid-cols-2" aria-label="Password requirements">
        {report.rules.map((rule) => (
          <li key={rule.id} className={`flex items-start gap-1.5 ${rule.met ? "text-green-800" : "text-slate-600"}`}>
            <span aria-hidden="true" className="w-4 shrink-0 text-center">
              {rule.met ? "✓" : "•"}
            </span>
            <span>
              {rule.label}
              <span className="sr-only">{rule.met ? " (met)" : " (not met yet)"}</span>
            </span>
          </li>
        ))}
      </ul>
    </div>
  );
}
