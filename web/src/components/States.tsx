/**
 * Loading, empty and error states, so every page shows the same thing in the same situation.
 */
import type { ReactNode } from "react";
import { Button, Spinner } from "./ui";
import type { ApiError } from "../api/problem";

export function LoadingState({ label = "Loading…" }: { label?: string }) {
  return (
    <div role="status" className="flex items-center justify-center gap-2 py-12 text-sm text-slate-600">
      <Spinner label={label} />
    </div>
  );
}

export function FullPageLoading() {
  return (
    <div className="flex min-h-[60vh] items-center justify-center">
      <LoadingState label="Loading your session…" />
    </div>
  );
}

export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="rounded-xl border-2 border-dashed border-slate-200 px-6 py-12 text-center">
      <p className="text-sm font-semibold text-slate-900">{title}</p>
      {children && <div className="mt-1 text-sm text-slate-600">{children}</div>}
    </div>
  );
}

export function errorMessage(error: ApiError): string {
  if (error.status === 0) return error.message;
  if (error.status === 503) return "The service is temporarily unavailable. Try again in a moment.";
  if (error.status >= 500) return "Something went wrong on our side. Try again in a moment.";
  return error.problem?.detail ?? error.message;
}

export function ErrorState({ error, onRetry, title = "This couldn't be loaded" }: { error: ApiError; onRetry?: () => void; title?: string }) {
  return (
    <div role="alert" className="rounded-xl bg-red-50 px-6 py-8 text-center ring-1 ring-inset ring-red-200">
      <p className="text-sm font-semibold text-red-900">{title}</p>
      <p className="mt-1 text-sm text-red-800">{errorMessage(error)}</p>
      {onRetry && (
        <Button variant="secondary" className="mt-4" onClick={onRetry}>
          Try again
        </Button>
      )}
    </div>
  );
}
