/**
 * The Axios instance every request goes through. It attaches the access token and, when the
 * server answers 401, refreshes the token pair once and retries. However many requests fail at
 * the same moment, only ONE refresh is sent: refresh tokens rotate and the server treats a
 * rotated token presented again as theft (it revokes the whole session), so two parallel
 * refreshes with the same token would sign the user out. All waiters share one promise.
 */
import axios, { isAxiosError, type AxiosAdapter, type AxiosError, type AxiosInstance, type InternalAxiosRequestConfig } from "axios";
import { ApiError, toApiError } from "./problem";
import type { TokenStore } from "./tokens";
import type { TokenPair } from "./types";

declare module "axios" {
  interface AxiosRequestConfig {
    /** Send no Authorization header (signup, login, refresh, logout). */
    skipAuth?: boolean;
    /** A 401 is an answer, not an expired token: never refresh for it (login's wrong password). */
    skipAuthRefresh?: boolean;
    /** Set on the one retry after a refresh, so a second 401 cannot loop. */
    retriedAfterRefresh?: boolean;
  }
}

export const REFRESH_PATH = "/api/auth/token/refresh/";

export interface ApiClientOptions {
  /** Origin of the API; "" means the page's own origin. */
  baseURL: string;
  tokens: TokenStore;
  /** Tests replace the network with this. */
  adapter?: AxiosAdapter;
}

export interface ApiClient {
  http: AxiosInstance;
  tokens: TokenStore;
  /** Exchanges the stored refresh token for a new pair; concurrent callers share one call. */
  refreshTokens(): Promise<TokenPair>;
  /** Called when the server refused the refresh token: the session is over. */
  onSessionExpired(listener: () => void): () => void;
}

export function createApiClient({ baseURL, tokens, adapter }: ApiClientOptions): ApiClient {
  const common = { baseURL, headers: { Accept: "application/json" }, timeout: 30_000, ...(adapter ? { adapter } : {}) };
  const http = axios.create(common);
  // A separate instance without interceptors: the refresh call must never trigger a refresh.
  const bare = axios.create(common);
  const expiredListeners = new Set<() => void>();
  let refreshInFlight: Promise<TokenPair> | null = null;

  function endSession(): void {
    tokens.clear();
    expiredListeners.forEach((listener) => listener());
  }

  function refreshTokens(): Promise<TokenPair> {
    if (refreshInFlight) return refreshInFlight;
    const refresh = tokens.refresh();
    if (!refresh) return Promise.reject(new ApiError(401, null, null, "You are not signed in."));
    refreshInFlight = bare
      .post<TokenPair>(REFRESH_PATH, { refresh })
      .then((response) => {
        tokens.set(response.data);
        return response.data;
      })
      .catch((error: unknown) => {
        const apiError = toApiError(error);
        // Only a refusal by the server ends the session. A network failure or a 5xx says
        // nothing about the token, and signing out on a flaky connection would lose a session
        // that is still good.
        if (apiError.status >= 400 && apiError.status < 500) endSession();
        throw apiError;
      })
      .finally(() => {
        refreshInFlight = null;
      });
    return refreshInFlight;
  }

  http.interceptors.request.use((config: InternalAxiosRequestConfig) => {
    const access = tokens.access();
    if (!config.skipAuth && access) config.headers.set("Authorization", `Bearer ${access}`);
    return config;
  });

  http.interceptors.response.use(undefined, async (error: unknown) => {
    if (!isAxiosError(error) || !shouldRefresh(error, tokens)) throw error;
    const config = error.config as InternalAxiosRequestConfig;
    const sentWith = config.headers.get("Authorization");
    const current = tokens.access();
    // If another request already refreshed while this one was on the wire, the current token
    // is new: retry with it instead of spending (and rotating) the refresh token again.
    if (!current || sentWith === `Bearer ${current}`) {
      try {
        await refreshTokens();
      } catch {
        throw error;
      }
    }
    config.retriedAfterRefresh = true;
    return http.request(config);
  });

  return {
    http,
    tokens,
    refreshTokens,
    onSessionExpired(listener) {
      expiredListeners.add(listener);
      return () => expiredListeners.delete(listener);
    },
  };
}

function shouldRefresh(error: AxiosError, tokens: TokenStore): boolean {
  const config = error.config;
  return (
    error.response?.status === 401 &&
    config !== undefined &&
    !config.skipAuthRefresh &&
    !config.retriedAfterRefresh &&
    tokens.refresh() !== null
  );
}
