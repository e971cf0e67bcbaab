/**
 * One typed function per endpoint of shared/API.md. Pages call these through `useApi()`, so
 * component tests can hand in fakes without touching the network.
 */
import type { ApiClient } from "./client";
import { ApiError } from "./problem";
import type {
  AcceptedResponse,
  AdminUpdateUserRequest,
  AuditPage,
  AuditQuery,
  ChangePasswordRequest,
  LogInRequest,
  LogInResponse,
  MailPage,
  MailQuery,
  PasswordResetConfirmRequest,
  PasswordResetConfirmResponse,
  PasswordResetRequest,
  Session,
  SignUpRequest,
  SignUpResponse,
  TokenPair,
  UpdateProfileRequest,
  User,
  UserListQuery,
  UserPage,
} from "./types";

export interface Api {
  signUp(body: SignUpRequest): Promise<SignUpResponse>;
  logIn(body: LogInRequest): Promise<LogInResponse>;
  /** Revokes the current session on the server and forgets the tokens, whatever the answer. */
  logOut(): Promise<void>;
  logOutEverywhere(): Promise<void>;
  /** Asks for a reset link by mail; the answer is the same whether or not the account exists. */
  requestPasswordReset(body: PasswordResetRequest): Promise<AcceptedResponse>;
  /** Sets the new password with a link's token and stores the new session's pair, as a login
   * does (the server has ended every other session of the account). */
  confirmPasswordReset(body: PasswordResetConfirmRequest): Promise<PasswordResetConfirmResponse>;
  /** After a reload only the refresh token survives: trade it for a pair. */
  resumeSession(): Promise<TokenPair>;
  getMe(): Promise<User>;
  updateMe(body: UpdateProfileRequest): Promise<User>;
  /** Stores the fresh pair the server returns (the old refresh token is dead). */
  changePassword(body: ChangePasswordRequest): Promise<void>;
  listSessions(): Promise<Session[]>;
  revokeSession(id: string): Promise<void>;
  listUsers(query: UserListQuery): Promise<UserPage>;
  getUser(id: string): Promise<User>;
  updateUser(id: string, body: AdminUpdateUserRequest): Promise<User>;
  toggleUser(id: string): Promise<User>;
  /** An administrator mails a user a reset link (never seeing or setting the password). */
  sendPasswordReset(id: string): Promise<AcceptedResponse>;
  listAudit(query: AuditQuery): Promise<AuditPage>;
  /** The outbox: every message the service queued, newest first, and where it stands. */
  listMail(query: MailQuery): Promise<MailPage>;
  hasStoredSession(): boolean;
  onSessionExpired(listener: () => void): () => void;
}

/** Ids go into paths: encode them so a malformed one is a 404, never another path. */
const id = (value: string): string => encodeURIComponent(value);

/** Drops empty filters so the URL carries only what the user chose. */
function cleanParams<T extends object>(query: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(query).filter(([, value]) => value !== undefined && value !== null && value !== ""),
  ) as Partial<T>;
}

export function createApi(client: ApiClient): Api {
  const { http, tokens } = client;
  const publicCall = { skipAuth: true, skipAuthRefresh: true } as const;

  return {
    async signUp(body) {
      const { data } = await http.post<SignUpResponse>("/api/auth/signup/", body, publicCall);
      tokens.set({ access: data.access, refresh: data.refresh });
      return data;
    },
    async logIn(body) {
      const { data } = await http.post<LogInResponse>("/api/auth/login/", body, publicCall);
      tokens.set({ access: data.access, refresh: data.refresh });
      return data;
    },
    async requestPasswordReset(body) {
      return (await http.post<AcceptedResponse>("/api/auth/password-reset/", body, publicCall)).data;
    },
    async confirmPasswordReset(body) {
      // The token is a secret: it travels only in this body, never in a URL, and is not logged.
      const { data } = await http.post<PasswordResetConfirmResponse>("/api/auth/password-reset/confirm/", body, publicCall);
      tokens.set({ access: data.access, refresh: data.refresh });
      return data;
    },
    async logOut() {
      const refresh = tokens.refresh();
      try {
        if (refresh) await http.post("/api/auth/logout/", { refresh }, publicCall);
      } finally {
        // Signing out locally must succeed even when the server is unreachable.
        tokens.clear();
      }
    },
    async logOutEverywhere() {
      try {
        await http.post("/api/auth/logout-all/");
      } finally {
        tokens.clear();
      }
    },
    resumeSession: () => client.refreshTokens(),
    async getMe() {
      return (await http.get<User>("/api/users/me/")).data;
    },
    async updateMe(body) {
      return (await http.put<User>("/api/users/me/", body)).data;
    },
    async changePassword(body) {
      const { data } = await http.put<TokenPair>("/api/users/change-password/", body);
      tokens.set(data);
    },
    async listSessions() {
      return (await http.get<Session[]>("/api/users/me/sessions/")).data;
    },
    async revokeSession(sessionId) {
      await http.delete(`/api/users/me/sessions/${id(sessionId)}/`);
    },
    async listUsers(query) {
      return (await http.get<UserPage>("/api/admin/users/", { params: cleanParams(query) })).data;
    },
    async getUser(userId) {
      if (userId.trim() === "") throw new ApiError(404, null, null, "No such user.");
      return (await http.get<User>(`/api/admin/users/${id(userId)}/`)).data;
    },
    async updateUser(userId, body) {
      return (await http.patch<User>(`/api/admin/users/${id(userId)}/`, body)).data;
    },
    async toggleUser(userId) {
      return (await http.patch<User>(`/api/admin/users/${id(userId)}/toggle/`)).data;
    },
    async sendPasswordReset(userId) {
      return (await http.post<AcceptedResponse>(`/api/admin/users/${id(userId)}/password-reset/`)).data;
    },
    async listAudit(query) {
      return (await http.get<AuditPage>("/api/admin/audit/", { params: cleanParams(query) })).data;
    },
    async listMail(query) {
      return (await http.get<MailPage>("/api/admin/mail/", { params: cleanParams(query) })).data;
    },
    hasStoredSession: () => tokens.refresh() !== null,
    onSessionExpired: (listener) => client.onSessionExpired(listener),
  };
}
