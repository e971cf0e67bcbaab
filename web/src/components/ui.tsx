/**
 * Small presentational building blocks shared by every page: buttons, cards, badges, alerts,
 * page headings. Styling lives here so pages stay about behaviour.
 */
import { forwardRef, useEffect, type ButtonHTMLAttributes, type ReactNode, type Ref } from "react";
import { Link, type LinkProps } from "react-router";

type Variant = "primary" | "secondary" | "danger" | "ghost";

const base =
  "inline-flex items-center justify-center gap-2 rounded-lg px-4 py-2 text-sm font-semibold transition-colors disabled:cursor-not-allowed disabled:opacity-60 min-h-10";
const variants: Record<Variant, string> = {
  primary: "bg-indigo-600 text-white shadow-sm hover:bg-indigo-500 disabled:hover:bg-indigo-600",
  secondary: "bg-white text-slate-800 ring-1 ring-inset ring-slate-300 shadow-sm hover:bg-slate-50",
  danger: "bg-red-600 text-white shadow-sm hover:bg-red-500 disabled:hover:bg-red-600",
  ghost: "text-slate-700 hover:bg-slate-100",
};

export function buttonClass(variant: Variant = "primary", extra = ""): string {
  return `${base} ${variants[variant]} ${extra}`;
}

export interface ButtonProps extends ButtonHTMLAttributes<HTMLButtonElement> {
  variant?: Variant;
  /** Shows a spinner and blocks clicks while an action is pending. */
  busy?: boolean;
}

export const Button = forwardRef<HTMLButtonElement, ButtonProps>(function Button(
  { variant = "primary", busy = false, className = "", children, disabled, type = "button", ...rest },
  ref,
) {
  return (
    <button ref={ref} type={type} className={buttonClass(variant, className)} disabled={disabled || busy} {...rest}>
      {busy && <Spinner />}
      {children}
    </button>
  );
});

export function ButtonLink({ variant = "secondary", className = "", ...rest }: LinkProps & { variant?: Variant }) {
  return <Link className={buttonClass(variant, className)} {...rest} />;
}

export function TextLink({ className = "", ...rest }: LinkProps) {
  return <Link className={`font-medium text-indigo-700 underline-offset-2 hover:underline ${className}`} {...rest} />;
}

export function Spinner({ label }: { label?: string }) {
  return (
    <span className="inline-flex items-center gap-2">
      <span
        aria-hidden="true"
        className="inline-block size-4 animate-spin rounded-full border-2 border-current border-r-transparent"
      />
      {label && <span>{label}</span>}
    </span>
  );
}

export function Card({ children, className = "" }: { children: ReactNode; className?: string }) {
  return <section className={`rounded-xl bg-white p-5 shadow-sm ring-1 ring-slate-200 sm:p-6 ${className}`}>{children}</section>;
}

export function CardTitle({ children, id }: { children: ReactNode; id?: string }) {
  return (
    <h2 id={id} className="text-base font-semibold text-slate-900">
      {children}
    </h2>
  );
}

type Tone = "neutral" | "green" | "red" | "indigo" | "amber";
const tones: Record<Tone, string> = {
  neutral: "bg-slate-100 text-slate-700 ring-slate-300",
  green: "bg-green-50 text-green-800 ring-green-600/30",
  red: "bg-red-50 text-red-800 ring-red-600/30",
  indigo: "bg-indigo-50 text-indigo-800 ring-indigo-600/30",
  amber: "bg-amber-50 text-amber-900 ring-amber-600/30",
};

export function Badge({ tone = "neutral", children }: { tone?: Tone; children: ReactNode }) {
  return (
    <span className={`inline-flex items-center rounded-md px-2 py-0.5 text-xs font-medium ring-1 ring-inset ${tones[tone]}`}>
      {children}
    </span>
  );
}

export function RoleBadge({ role }: { role: "admin" | "user" }) {
  return <Badge tone={role === "admin" ? "indigo" : "neutral"}>{role === "admin" ? "Admin" : "User"}</Badge>;
}

export function StatusBadge({ active }: { active: boolean }) {
  return <Badge tone={active ? "green" : "red"}>{active ? "Active" : "Deactivated"}</Badge>;
}

type AlertTone = "error" | "success" | "info" | "warning";
const alertTones: Record<AlertTone, string> = {
  error: "bg-red-50 text-red-800 ring-red-200",
  success: "bg-green-50 text-green-800 ring-green-200",
  info: "bg-sky-50 text-sky-900 ring-sky-200",
  warning: "bg-amber-50 text-amber-900 ring-amber-200",
};

/** Errors interrupt (role="alert"); other news waits its turn (role="status"). */
export function Alert({ tone, title, children }: { tone: AlertTone; title?: string; children?: ReactNode }) {
  return (
    <div role={tone === "error" ? "alert" : "status"} className={`rounded-lg p-4 text-sm ring-1 ring-inset ${alertTones[tone]}`}>
      {title && <p className="font-semibold">{title}</p>}
      {children && <div className={title ? "mt-1" : ""}>{children}</div>}
    </div>
  );
}

/** The page's h1. It takes focus after navigation (see Layout), so screen-reader users hear
 * where they arrived and keyboard users start from the top of the new content. A page that
 * replaces its content in place (a form giving way to its outcome) focuses it via `headingRef`. */
export function PageHeader({
  title,
  description,
  actions,
  headingRef,
}: {
  title: string;
  description?: ReactNode;
  actions?: ReactNode;
  /** For a page that swaps its content in place (no route change) and moves focus itself. */
  headingRef?: Ref<HTMLHeadingElement>;
}) {
  useDocumentTitle(title);
  return (
    <div className="mb-6 flex flex-col gap-4 sm:flex-row sm:items-end sm:justify-between">
      <div>
        <h1 ref={headingRef} tabIndex={-1} className="text-2xl font-bold tracking-tight text-slate-900 sm:text-3xl">
          {title}
        </h1>
        {description && <p className="mt-1 text-sm text-slate-600">{description}</p>}
      </div>
      {actions && <div className="flex flex-wrap gap-2">{actions}</div>}
    </div>
  );
}

export function useDocumentTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · Users`;
  }, [title]);
}
