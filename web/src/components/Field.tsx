/**
 * A labelled input with its hint and error messages wired up for assistive technology:
 * `aria-invalid` when there are errors, `aria-describedby` pointing at hint and errors.
 */
import { forwardRef, useId, useState, type InputHTMLAttributes, type ReactNode, type SelectHTMLAttributes } from "react";

export const inputClass =
  "block h-10 w-full rounded-lg border-0 bg-white px-3 py-2 text-base text-slate-900 shadow-sm ring-1 ring-inset ring-slate-300 placeholder:text-slate-400 focus:ring-2 focus:ring-inset focus:ring-indigo-600 focus-visible:outline-none aria-[invalid=true]:ring-red-500 disabled:bg-slate-100 disabled:text-slate-500 sm:text-sm";

interface FieldShellProps {
  id: string;
  label: string;
  hint?: ReactNode;
  errors?: string[];
  children: ReactNode;
  hintId: string;
  errorId: string;
}

function FieldShell({ id, label, hint, errors = [], children, hintId, errorId }: FieldShellProps) {
  return (
    <div>
      <label htmlFor={id} className="block text-sm font-medium text-slate-800">
        {label}
      </label>
      <div className="mt-1.5">{children}</div>
      {hint && (
        <div id={hintId} className="mt-1.5 text-sm text-slate-600">
          {hint}
        </div>
      )}
      {errors.length > 0 && (
        <ul id={errorId} className="mt-1.5 space-y-0.5 text-sm text-red-700">
          {errors.map((message) => (
            <li key={message}>{message}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

function describedBy(hint: ReactNode, errors: string[] | undefined, hintId: string, errorId: string, extra?: string) {
  const ids = [extra, hint ? hintId : null, errors && errors.length > 0 ? errorId : null].filter(Boolean);
  return ids.length > 0 ? ids.join(" ") : undefined;
}

export interface TextFieldProps extends Omit<InputHTMLAttributes<HTMLInputElement>, "id"> {
  label: string;
  hint?: ReactNode;
  errors?: string[];
}

export const TextField = forwardRef<HTMLInputElement, TextFieldProps>(function TextField(
  { label, hint, errors, className = "", "aria-describedby": extraDescribedBy, ...rest },
  ref,
) {
  const id = useId();
  const hintId = `${id}-hint`;
  const errorId = `${id}-errors`;
  return (
    <FieldShell id={id} label={label} hint={hint} errors={errors} hintId={hintId} errorId={errorId}>
      <input
        ref={ref}
        id={id}
        className={`${inputClass} ${className}`}
        aria-invalid={errors && errors.length > 0 ? true : undefined}
        aria-describedby={describedBy(hint, errors, hintId, errorId, extraDescribedBy)}
        {...rest}
      />
    </FieldShell>
  );
});

/** A password input with a show/hide toggle: typing blind is where most typos come from. */
export const PasswordField = forwardRef<HTMLInputElement, Omit<TextFieldProps, "type">>(function PasswordField(
  { label, hint, errors, "aria-describedby": extraDescribedBy, ...rest },
  ref,
) {
  const id = useId();
  const hintId = `${id}-hint`;
  const errorId = `${id}-errors`;
  const [visible, setVisible] = useState(false);
  return (
    <FieldShell id={id} label={label} hint={hint} errors={errors} hintId={hintId} errorId={errorId}>
      <div className="relative">
        <input
          ref={ref}
          id={id}
          type={visible ? "text" : "password"}
          className={`${inputClass} pr-16`}
          aria-invalid={errors && errors.length > 0 ? true : undefined}
          aria-describedby={describedBy(hint, errors, hintId, errorId, extraDescribedBy)}
          {...rest}
        />
        <button
          type="button"
          onClick={() => setVisible((shown) => !shown)}
          aria-pressed={visible}
          aria-controls={id}
          aria-label={visible ? `Hide ${label.toLowerCase()}` : `Show ${label.toLowerCase()}`}
          className="absolute inset-y-1 right-1 rounded-md px-2 text-xs font-semibold text-slate-700 hover:bg-slate-100"
        >
          {visible ? "Hide" : "Show"}
        </button>
      </div>
    </FieldShell>
  );
});

export interface SelectFieldProps extends Omit<SelectHTMLAttributes<HTMLSelectElement>, "id"> {
  label: string;
  hint?: ReactNode;
  errors?: string[];
}

export function SelectField({ label, hint, errors, className = "", children, ...rest }: SelectFieldProps) {
  const id = useId();
  const hintId = `${id}-hint`;
  const errorId = `${id}-errors`;
  return (
    <FieldShell id={id} label={label} hint={hint} errors={errors} hintId={hintId} errorId={errorId}>
      <select
        id={id}
        className={`${inputClass} pr-8 ${className}`}
        aria-invalid={errors && errors.length > 0 ? true : undefined}
        aria-describedby={describedBy(hint, errors, hintId, errorId)}
        {...rest}
      >
        {children}
      </select>
    </FieldShell>
  );
}
