/**
 * The app's single API client and the React context that hands it to pages. Tests wrap
 * components in `<ApiProvider api={fake}>` instead.
 */
import { createApiClient } from "./client";
import { createApi, type Api } from "./endpoints";
import { createTokenStore } from "./tokens";

/** `VITE_API_URL` lets the SPA talk to an API on another origin; empty means same origin. */
const baseURL = (import.meta.env.VITE_API_URL ?? "").replace(/\/+$/, "");

export function createDefaultApi(): Api {
  return createApi(createApiClient({ baseURL, tokens: createTokenStore() }));
}

export type { Api } from "./endpoints";
export { ApiError, toApiError, describeWait } from "./problem";
