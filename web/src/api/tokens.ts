/**
 * Where the tokens live. The access token is kept in memory only; the refresh token is also
 * written to sessionStorage so a reload of the tab keeps the user signed in. See README.md
 * ("Where tokens are kept") for why sessionStorage rather than localStorage or a cookie.
 */
import type { TokenPair } from "./types";

const REFRESH_KEY = "users.refresh";

export type TokenListener = (pair: TokenPair | null) => void;

export interface TokenStore {
  access(): string | null;
  refresh(): string | null;
  set(pair: TokenPair): void;
  clear(): void;
  /** Called after every `set` and `clear`; returns the unsubscribe function. */
  subscribe(listener: TokenListener): () => void;
}

/** Storage may be missing or throw (private mode, disabled storage): the app then keeps the
 * refresh token in memory only, and a reload signs the user out, which is safe. */
function safeStorage(): Storage | null {
  try {
    return typeof window === "undefined" ? null : window.sessionStorage;
  } catch {
    return null;
  }
}

export function createTokenStore(storage: Storage | null = safeStorage()): TokenStore {
  let accessToken: string | null = null;
  let refreshToken: string | null = null;
  try {
    refreshToken = storage?.getItem(REFRESH_KEY) ?? null;
  } catch {
    refreshToken = null;
  }
  const listeners = new Set<TokenListener>();
  const notify = (pair: TokenPair | null): void => {
    listeners.forEach((listener) => listener(pair));
  };

  return {
    access: () => accessToken,
    refresh: () => refreshToken,
    set(pair) {
      accessToken = pair.access;
      refreshToken = pair.refresh;
      try {
        storage?.setItem(REFRESH_KEY, pair.refresh);
      } catch {
        // Quota or disabled storage: memory still holds the pair for this page's life.
      }
      notify(pair);
    },
    clear() {
      accessToken = null;
      refreshToken = null;
      try {
        storage?.removeItem(REFRESH_KEY);
      } catch {
        // Nothing to remove.
      }
      notify(null);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
