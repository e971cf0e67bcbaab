/**
 * Turns whatever a request threw into one `ApiError`, so pages deal with a status, the
 * problem+json body (when the server sent one) and the `Retry-After` wait, never with Axios.
 */
import { isAxiosError } from "axios";
import type { ProblemDetails } from "./types";

export class ApiError extends Error {
  /** HTTP status, or 0 when no response arrived (network down, CORS, timeout). */
  readonly status: number;
  readonly problem: ProblemDetails | null;
  /** Seconds to wait before retrying, from `Retry-After` (429, 503). */
  readonly retryAfterSeconds: number | null;

  constructor(status: number, problem: ProblemDetails | null, retryAfterSeconds: number | null, message: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.problem = problem;
    this.retryAfterSeconds = retryAfterSeconds;
  }

  /** Messages for one input field, from the problem's `errors` map. */
  fieldErrors(field: string): string[] {
    return this.problem?.errors?.[field] ?? [];
  }

  /** The whole `errors` map (empty when none). */
  allFieldErrors(): Record<string, string[]> {
    return this.problem?.errors ?? {};
  }
}

function isProblem(body: unknown): body is ProblemDetails {
  if (typeof body !== "object" || body === null) return false;
  const record = body as Record<string, unknown>;
  return typeof record.status === "number" && typeof record.detail === "string";
}

/** `Retry-After` is either delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: unknown, now: number = Date.now()): number | null {
  if (typeof value !== "string" || value.trim() === "") return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return null;
  return Math.max(0, Math.ceil((date - now) / 1000));
}

export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (isAxiosError(error)) {
    const response = error.response;
    if (!response) {
      return new ApiError(0, null, null, "Can't reach the server. Check your connection and try again.");
    }
    const body: unknown = response.data;
    const problem = isProblem(body) ? body : null;
    const headers = response.headers as Record<string, unknown>;
    const retryAfter = parseRetryAfter(headers["retry-after"]);
    const message = problem?.detail ?? `The request failed (HTTP ${response.status}).`;
    return new ApiError(response.status, problem, retryAfter, message);
  }
  const message = error instanceof Error ? error.message : "Something went wrong.";
  return new ApiError(0, null, null, message);
}

/** "3 seconds", "2 minutes": how long a user must wait. */
export function describeWait(seconds: number): string {
  if (seconds < 60) return `${seconds} second${seconds === 1 ? "" : "s"}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minute${minutes === 1 ? "" : "s"}`;
}
