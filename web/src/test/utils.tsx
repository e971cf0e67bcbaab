/**
 * Test helpers: a fake `Api` whose every method fails loudly unless a test provides it, and a
 * renderer that mounts the real routes, guards and session provider around it.
 */
import { render } from "@testing-library/react";
import { MemoryRouter, useLocation, type Location } from "react-router";
import { vi } from "vitest";
import { ApiProvider } from "../api/ApiContext";
import type { Api } from "../api/endpoints";
import type { User } from "../api/types";
import { AppRoutes } from "../App";
import { SessionProvider } from "../auth/SessionContext";

export function makeUser(overrides: Partial<User> = {}): User {
  return {
    id: "0190a0b0-0000-7000-8000-000000000001",
    email: "ada@example.com",
    full_name: "Ada Lovelace",
    role: "user",
    is_active: true,
    date_joined: "2025-01-02T10:00:00Z",
    last_login: "2025-03-04T09:30:00Z",
    ...overrides,
  };
}

export function makeApi(overrides: Partial<Api> = {}): Api {
  const unexpected = (name: string) => vi.fn(() => Promise.reject(new Error(`unexpected call: ${name}`)));
  return {
    signUp: unexpected("signUp"),
    logIn: unexpected("logIn"),
    requestPasswordReset: unexpected("requestPasswordReset"),
    confirmPasswordReset: unexpected("confirmPasswordReset"),
    logOut: vi.fn(() => Promise.resolve()),
    logOutEverywhere: vi.fn(() => Promise.resolve()),
    resumeSession: unexpected("resumeSession"),
    getMe: unexpected("getMe"),
    updateMe: unexpected("updateMe"),
    changePassword: unexpected("changePassword"),
    listSessions: unexpected("listSessions"),
    revokeSession: unexpected("revokeSession"),
    listUsers: unexpected("listUsers"),
    getUser: unexpected("getUser"),
    updateUser: unexpected("updateUser"),
    toggleUser: unexpected("toggleUser"),
    sendPasswordReset: unexpected("sendPasswordReset"),
    listAudit: unexpected("listAudit"),
    listMail: unexpected("listMail"),
    hasStoredSession: () => false,
    onSessionExpired: () => () => {},
    ...overrides,
  };
}

/** A fake API for a session resumed from storage as `user`. */
export function signedInApi(user: User, overrides: Partial<Api> = {}): Api {
  return makeApi({
    hasStoredSession: () => true,
    resumeSession: vi.fn(() => Promise.resolve({ access: "a", refresh: "r" })),
    getMe: vi.fn(() => Promise.resolve(user)),
    ...overrides,
  });
}

/** Reports the router's location, so a test can see what the address bar would show. */
function LocationSpy({ onChange }: { onChange: (location: Location) => void }) {
  onChange(useLocation());
  return null;
}

export function renderApp(path: string, api: Api) {
  let current: Location | null = null;
  const result = render(
    <ApiProvider api={api}>
      <MemoryRouter initialEntries={[path]}>
        <SessionProvider>
          <AppRoutes />
          <LocationSpy onChange={(location) => (current = location)} />
        </SessionProvider>
      </MemoryRouter>
    </ApiProvider>,
  );
  return {
    ...result,
    /** The current location (pathname, search, state) of the app's router. */
    location(): Location {
      if (!current) throw new Error("The router has not rendered yet.");
      return current;
    },
  };
}

/** An `ApiError` as the client would produce it from a problem+json response. */
export { ApiError } from "../api/problem";
export function problem(status: number, detail: string, errors?: Record<string, string[]>) {
  return { type: `/problems/test-${status}`, title: "Error", status, detail, ...(errors ? { errors } : {}) };
}
