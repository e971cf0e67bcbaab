/**
 * The wire types of the REST contract, in one module so the rest of the app never depends on
 * where they come from. They alias the schemas of `schema.d.ts`, which `npm run gen:api`
 * generates from the server's committed OpenAPI document (crates/api-http/openapi.json);
 * `npm run check:api` fails CI when the two drift apart.
 *
 * Where the document is looser than shared/API.md the alias says so: utoipa marks every
 * `Option` field optional as well as nullable (`last_login?: string | null`), although the
 * server always sends the key; the app treats a missing key like null.
 */
import type { components, operations } from "./schema";

type Schemas = components["schemas"];

export type Role = Schemas["RoleDto"];
export type User = Schemas["UserResponse"];
export type TokenPair = Schemas["TokenPairResponse"];
export type SignUpRequest = Schemas["SignUpRequest"];
export type SignUpResponse = Schemas["SignedInResponse"];
export type LogInRequest = Schemas["LoginRequest"];
export type LogInResponse = Schemas["SignedInResponse"];
/** POST /api/auth/token/refresh/ and POST /api/auth/logout/ both take `{refresh}`. */
export type RefreshRequest = Schemas["RefreshRequest"];
export type LogOutRequest = Schemas["RefreshRequest"];
/** PUT /api/users/me/ (the app always sends both fields). */
export type UpdateProfileRequest = Schemas["ReplaceProfileRequest"];
export type ChangePasswordRequest = Schemas["ChangePasswordRequest"];
export type Session = Schemas["SessionResponse"];
export type UserPage = Schemas["UserListResponse"];
export type AdminUpdateUserRequest = Schemas["AdminUpdateRequest"];
export type ProblemDetails = Schemas["ProblemDetails"];
/** POST /api/auth/password-reset/: whose password to reset. */
export type PasswordResetRequest = Schemas["ResetRequest"];
/** POST /api/auth/password-reset/confirm/: the link's token and the new password. */
export type PasswordResetConfirmRequest = Schemas["ResetConfirmRequest"];
/** The confirmation signs the person in, exactly as a login does. */
export type PasswordResetConfirmResponse = Schemas["SignedInResponse"];
/** 202 answers: the request was taken (a mail may be on its way). */
export type AcceptedResponse = Schemas["AcceptedResponse"];

/** The document declares `details` as a bare `object` (generated as `Record<string, never>`);
 * the server sends string values, e.g. `{"is_active": "false"}`. */
export type AuditEvent = Omit<Schemas["AuditEventResponse"], "details"> & { details: Record<string, string> };
export type AuditPage = Omit<Schemas["AuditListResponse"], "results"> & { results: AuditEvent[] };

/** Query parameters of GET /api/admin/users/. The document types every query value as a
 * string (the server parses them itself, to answer a malformed one with a problem); the app
 * keeps the stricter types and lets Axios write them out. */
export interface UserListQuery {
  page?: number;
  page_size?: number;
  search?: string | undefined;
  role?: Role | undefined;
  is_active?: boolean | undefined;
  ordering?: UserOrdering;
}

export type UserOrdering = "date_joined" | "-date_joined" | "email" | "-email";

/** Query parameters of GET /api/admin/audit/. */
export type AuditQuery = { page?: number } & Omit<NonNullable<operations["list_audit"]["parameters"]["query"]>, "page" | "page_size">;
/** An audit action the log can be filtered by (the document also allows "", no filter). */
export type AuditAction = Exclude<NonNullable<AuditQuery["action"]>, "">;

/** GET /api/admin/mail/: one message of the outbox (its link is never shown). The document
 * types `status` and `kind` as plain strings; `MailStatus` names the statuses it may hold. */
export type MailMessage = Schemas["OutboxEntryResponse"];
export type MailPage = Schemas["OutboxListResponse"];
/** Query parameters of GET /api/admin/mail/, numbers kept as numbers (see `UserListQuery`). */
export type MailQuery = { page?: number; page_size?: number } & Omit<NonNullable<operations["list_mail"]["parameters"]["query"]>, "page" | "page_size">;
/** A status the outbox can be filtered by (the document also allows "", no filter). */
export type MailStatus = Exclude<NonNullable<MailQuery["status"]>, "">;
