/**
 * The signed-in user, for the whole app. It resumes a session after a reload (the refresh
 * token survives in sessionStorage, the access token does not), and it hears from the API
 * client when the server refuses the refresh token, so every page falls back to the login
 * page at once.
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { useApi } from "../api/ApiContext";
import type { LogInRequest, PasswordResetConfirmRequest, SignUpRequest, User } from "../api/types";

export type SessionState =
  | { status: "loading" }
  | { status: "signed-out"; reason: "expired" | "logged-out" | null }
  | { status: "signed-in"; user: User };

export interface SessionValue {
  state: SessionState;
  /** The user, when signed in. */
  user: User | null;
  logIn(body: LogInRequest): Promise<User>;
  signUp(body: SignUpRequest): Promise<User>;
  /** Sets a new password with a reset link's token; the answer signs the person in, as a
   * login does (and the server has ended every other session of the account). */
  resetPassword(body: PasswordResetConfirmRequest): Promise<User>;
  logOut(): Promise<void>;
  logOutEverywhere(): Promise<void>;
  /** Replaces the cached user after a profile change. */
  setUser(user: User): void;
}

const SessionContext = createContext<SessionValue | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const api = useApi();
  const [state, setState] = useState<SessionState>(() =>
    api.hasStoredSession() ? { status: "loading" } : { status: "signed-out", reason: null },
  );

  useEffect(
    () => api.onSessionExpired(() => setState({ status: "signed-out", reason: "expired" })),
    [api],
  );

  useEffect(() => {
    if (!api.hasStoredSession()) return;
    let cancelled = false;
    // StrictMode mounts twice in development; the client shares one refresh promise, so the
    // refresh token is still presented only once.
    api
      .resumeSession()
      .then(() => api.getMe())
      .then((user) => {
        if (!cancelled) setState({ status: "signed-in", user });
      })
      .catch(() => {
        if (!cancelled) setState({ status: "signed-out", reason: null });
      });
    return () => {
      cancelled = true;
    };
  }, [api]);

  const logIn = useCallback(
    async (body: LogInRequest) => {
      const { user } = await api.logIn(body);
      setState({ status: "signed-in", user });
      return user;
    },
    [api],
  );

  const signUp = useCallback(
    async (body: SignUpRequest) => {
      const { user } = await api.signUp(body);
      setState({ status: "signed-in", user });
      return user;
    },
    [api],
  );

  const resetPassword = useCallback(
    async (body: PasswordResetConfirmRequest) => {
      const { user } = await api.confirmPasswordReset(body);
      setState({ status: "signed-in", user });
      return user;
    },
    [api],
  );

  const logOut = useCallback(async () => {
    try {
      await api.logOut();
    } finally {
      setState({ status: "signed-out", reason: "logged-out" });
    }
  }, [api]);

  const logOutEverywhere = useCallback(async () => {
    await api.logOutEverywhere();
    setState({ status: "signed-out", reason: "logged-out" });
  }, [api]);

  const setUser = useCallback((user: User) => setState({ status: "signed-in", user }), []);

  const value = useMemo<SessionValue>(
    () => ({
      state,
      user: state.status === "signed-in" ? state.user : null,
      logIn,
      signUp,
      resetPassword,
      logOut,
      logOutEverywhere,
      setUser,
    }),
    [state, logIn, signUp, resetPassword, logOut, logOutEverywhere, setUser],
  );

  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error("useSession() must be used inside <SessionProvider>.");
  return value;
}
