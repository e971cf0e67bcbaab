/** Helpers shared by the forms: splitting a problem's field errors into the ones a form shows
 * next to its inputs and the rest, which it shows at the top; moving focus to the first
 * invalid field. */
import { useCallback, useEffect, useRef, useState, type RefObject } from "react";
import type { ApiError } from "../api/problem";

export type FieldErrors<F extends string> = Partial<Record<F, string[]>>;

export function splitFieldErrors<F extends string>(error: ApiError, fields: readonly F[]): { byField: FieldErrors<F>; other: string[] } {
  const byField: FieldErrors<F> = {};
  const other: string[] = [];
  for (const [field, messages] of Object.entries(error.allFieldErrors())) {
    if ((fields as readonly string[]).includes(field)) byField[field as F] = messages;
    else other.push(...messages);
  }
  return { byField, other };
}

export function hasFieldErrors<F extends string>(errors: FieldErrors<F>): boolean {
  return Object.values(errors).some((messages) => Array.isArray(messages) && messages.length > 0);
}

/** Moves focus to the first field marked invalid, so a keyboard or screen-reader user lands
 * on the problem. The focus moves in an effect, i.e. after React has rendered the
 * `aria-invalid` marks of the same update: a timer could run before that render. */
export function useFocusFirstInvalid(): [RefObject<HTMLFormElement | null>, () => void] {
  const formRef = useRef<HTMLFormElement>(null);
  const [request, setRequest] = useState(0);
  useEffect(() => {
    if (request > 0) formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
  }, [request]);
  const focusFirstInvalid = useCallback(() => setRequest((count) => count + 1), []);
  return [formRef, focusFirstInvalid];
}

/** Drops one field's errors: once the user edits a field, its old error is no longer true. */
export function withoutField<F extends string>(errors: FieldErrors<F>, field: F): FieldErrors<F> {
  if (!errors[field]) return errors;
  const next = { ...errors };
  delete next[field];
  return next;
}
