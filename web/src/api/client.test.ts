import { AxiosError, AxiosHeaders, type AxiosResponse, type InternalAxiosRequestConfig } from "axios";
import { describe, expect, it, vi } from "vitest";
import { createApiClient, REFRESH_PATH } from "./client";
import { createApi } from "./endpoints";
import { ApiError } from "./problem";
import { createTokenStore } from "./tokens";

/** A tiny in-memory server: one valid access token at a time, rotating refresh tokens. */
function fakeServer() {
  const state = { access: "access-1", refresh: "refresh-1", generation: 1, refreshCalls: 0, refuseRefresh: false, refreshDown: false };
  const seen: { url: string; auth: string | null }[] = [];
  let releaseRefresh: () => void = () => {};
  let refreshGate: Promise<void> = Promise.resolve();

  function respond(config: InternalAxiosRequestConfig, status: number, data: unknown): Promise<AxiosResponse> {
    const response: AxiosResponse = { data, status, statusText: String(status), headers: new AxiosHeaders(), config, request: {} };
    if (status >= 200 && status < 300) return Promise.resolve(response);
    return Promise.reject(new AxiosError(`HTTP ${status}`, AxiosError.ERR_BAD_REQUEST, config, {}, response));
  }

  const problem401 = { type: "/problems/invalid-token", title: "Not authenticated", status: 401, detail: "The token is invalid or expired." };

  const adapter = async (config: InternalAxiosRequestConfig): Promise<AxiosResponse> => {
    const auth = AxiosHeaders.from(config.headers).get("Authorization");
    seen.push({ url: config.url ?? "", auth: typeof auth === "string" ? auth : null });
    if (config.url === REFRESH_PATH) {
      state.refreshCalls += 1;
      await refreshGate;
      if (state.refreshDown) {
        return Promise.reject(new AxiosError("Network Error", AxiosError.ERR_NETWORK, config, {}));
      }
      const body = JSON.parse(String(config.data)) as { refresh: string };
      if (state.refuseRefresh || body.refresh !== state.refresh) return respond(config, 401, problem401);
      state.generation += 1;
      state.access = `access-${state.generation}`;
      state.refresh = `refresh-${state.generation}`;
      return respond(config, 200, { access: state.access, refresh: state.refresh });
    }
    if (auth !== `Bearer ${state.access}`) return respond(config, 401, problem401);
    return respond(config, 200, { url: config.url });
  };

  return {
    state,
    seen,
    adapter,
    /** Holds refresh answers until `release()`, so requests pile up behind one refresh. */
    holdRefreshes() {
      refreshGate = new Promise((resolve) => {
        releaseRefresh = resolve;
      });
    },
    release: () => releaseRefresh(),
  };
}

function setup() {
  const server = fakeServer();
  const tokens = createTokenStore(window.sessionStorage);
  const client = createApiClient({ baseURL: "", tokens, adapter: server.adapter });
  return { server, tokens, client };
}

describe("the API client", () => {
  it("attaches the access token to requests", async () => {
    const { server, tokens, client } = setup();
    tokens.set({ access: "access-1", refresh: "refresh-1" });
    await client.http.get("/api/users/me/");
    expect(server.seen[0]).toEqual({ url: "/api/users/me/", auth: "Bearer access-1" });
  });

  it("refreshes once on a 401 and retries the request with the new token", async () => {
    const { server, tokens, client } = setup();
    tokens.set({ access: "expired", refresh: "refresh-1" });
    const response = await client.http.get<{ url: string }>("/api/users/me/");
    expect(response.data.url).toBe("/api/users/me/");
    expect(server.state.refreshCalls).toBe(1);
    expect(tokens.access()).toBe("access-2");
    expect(tokens.refresh()).toBe("refresh-2");
    expect(window.sessionStorage.getItem("users.refresh")).toBe("refresh-2");
    expect(server.seen.at(-1)?.auth).toBe("Bearer access-2");
  });

  it("shares ONE refresh among many requests that fail at the same time", async () => {
    const { server, tokens, client } = setup();
    tokens.set({ access: "expired", refresh: "refresh-1" });
    server.holdRefreshes();
    const urls = ["/api/users/me/", "/api/users/me/sessions/", "/api/admin/users/", "/api/admin/audit/", "/api/admin/users/x/"];
    const pending = Promise.all(urls.map((url) => client.http.get<{ url: string }>(url)));
    // Let every request fail with 401 and queue behind the held refresh.
    await vi.waitFor(() => expect(server.seen.filter((call) => call.url !== REFRESH_PATH)).toHaveLength(urls.length));
    await vi.waitFor(() => expect(server.state.refreshCalls).toBe(1));
    server.release();
    const responses = await pending;
    expect(responses.map((response) => response.data.url)).toEqual(urls);
    // One refresh: a second one would have presented the rotated token and killed the session.
    expect(server.state.refreshCalls).toBe(1);
    expect(tokens.refresh()).toBe("refresh-2");
  });

  it("retries with the current token, without refreshing, when a refresh finished meanwhile", async () => {
    const { server, tokens, client } = setup();
    tokens.set({ access: "expired", refresh: "refresh-1" });
    await client.http.get("/api/users/me/");
    expect(server.state.refreshCalls).toBe(1);
    // A request that was sent with the old token and fails after the refresh completed.
    tokens.set({ access: "access-2", refresh: "refresh-2" });
    await client.http.get("/api/users/me/", { headers: { Authorization: "Bearer expired" } });
    expect(server.state.refreshCalls).toBe(1);
  });

  it("signs out cleanly when the refresh is refused, and every waiting request fails", async () => {
    const { server, tokens, client } = setup();
    tokens.set({ access: "expired", refresh: "refresh-1" });
    server.state.refuseRefresh = true;
    const expired = vi.fn();
    client.onSessionExpired(expired);
    const results = await Promise.allSettled([client.http.get("/api/users/me/"), client.http.get("/api/users/me/sessions/")]);
    expect(results.map((result) => result.status)).toEqual(["rejected", "rejected"]);
    expect(server.state.refreshCalls).toBe(1);
    expect(expired).toHaveBeenCalledTimes(1);
    expect(tokens.access()).toBeNull();
    expect(tokens.refresh()).toBeNull();
    expect(window.sessionStorage.getItem("users.refresh")).toBeNull();
  });

  it("keeps the session when the refresh fails only because the network is down", async () => {
    const { server, tokens, client } = setup();
    tokens.set({ access: "expired", refresh: "refresh-1" });
    server.state.refreshDown = true;
    const expired = vi.fn();
    client.onSessionExpired(expired);
    await expect(client.http.get("/api/users/me/")).rejects.toBeInstanceOf(AxiosError);
    expect(expired).not.toHaveBeenCalled();
    expect(tokens.refresh()).toBe("refresh-1");
  });

  it("does not refresh when a 401 is the answer itself (wrong password at login)", async () => {
    const { server, tokens, client } = setup();
    tokens.set({ access: "expired", refresh: "refresh-1" });
    const api = createApi(client);
    await expect(api.logIn({ email: "a@example.com", password: "wrong" })).rejects.toBeInstanceOf(AxiosError);
    expect(server.state.refreshCalls).toBe(0);
    expect(server.seen[0]?.auth).toBeNull();
  });

  it("does not loop when the retried request is refused again", async () => {
    const { server, tokens } = setup();
    tokens.set({ access: "expired", refresh: "refresh-1" });
    // The server rotates the pair but refuses the new access token too (e.g. user deactivated).
    const original = server.adapter;
    const adapter = vi.fn(async (config: InternalAxiosRequestConfig) => {
      if (config.url === REFRESH_PATH) return original(config);
      server.state.access = "never-valid";
      return original(config);
    });
    const looping = createApiClient({ baseURL: "", tokens, adapter });
    await expect(looping.http.get("/api/users/me/")).rejects.toBeInstanceOf(AxiosError);
    expect(server.state.refreshCalls).toBe(1);
    expect(adapter).toHaveBeenCalledTimes(3);
  });

  it("refuses to refresh without a refresh token", async () => {
    const { client } = setup();
    await expect(client.refreshTokens()).rejects.toBeInstanceOf(ApiError);
  });
});

describe("the endpoints", () => {
  it("stores the fresh pair returned by a password change", async () => {
    const tokens = createTokenStore(window.sessionStorage);
    const adapter = async (config: InternalAxiosRequestConfig): Promise<AxiosResponse> => ({
      data: { access: "after-change", refresh: "refresh-after-change" },
      status: 200,
      statusText: "OK",
      headers: new AxiosHeaders(),
      config,
    });
    tokens.set({ access: "a", refresh: "r" });
    const api = createApi(createApiClient({ baseURL: "", tokens, adapter }));
    await api.changePassword({ old_password: "old", new_password: "new-password-1" });
    expect(tokens.access()).toBe("after-change");
    expect(tokens.refresh()).toBe("refresh-after-change");
  });

  it("sends the reset endpoints without a bearer token, and stores the pair a reset link signs in with", async () => {
    const tokens = createTokenStore(window.sessionStorage);
    tokens.set({ access: "someone-elses-access", refresh: "someone-elses-refresh" });
    const seen: { url: string; auth: unknown; body: unknown }[] = [];
    const adapter = async (config: InternalAxiosRequestConfig): Promise<AxiosResponse> => {
      const auth = AxiosHeaders.from(config.headers).get("Authorization") ?? null;
      seen.push({ url: config.url ?? "", auth, body: JSON.parse(String(config.data)) });
      const data = config.url?.endsWith("/confirm/")
        ? { access: "after-reset", refresh: "refresh-after-reset", user: { id: "u" } }
        : { detail: "Taken." };
      return { data, status: config.url?.endsWith("/confirm/") ? 200 : 202, statusText: "", headers: new AxiosHeaders(), config };
    };
    const api = createApi(createApiClient({ baseURL: "", tokens, adapter }));
    await api.requestPasswordReset({ email: "ada@example.com" });
    await api.confirmPasswordReset({ token: "secret-token", new_password: "vivid-otter-cabinet-91" });
    expect(seen).toEqual([
      { url: "/api/auth/password-reset/", auth: null, body: { email: "ada@example.com" } },
      { url: "/api/auth/password-reset/confirm/", auth: null, body: { token: "secret-token", new_password: "vivid-otter-cabinet-91" } },
    ]);
    expect(tokens.access()).toBe("after-reset");
    expect(window.sessionStorage.getItem("users.refresh")).toBe("refresh-after-reset");
  });

  it("sends an administrator's reset request with the bearer token to the user's encoded path", async () => {
    const tokens = createTokenStore(null);
    tokens.set({ access: "admin-access", refresh: "r" });
    let call: { url: string; method: string; auth: unknown } | null = null;
    const adapter = async (config: InternalAxiosRequestConfig): Promise<AxiosResponse> => {
      call = { url: config.url ?? "", method: config.method ?? "", auth: AxiosHeaders.from(config.headers).get("Authorization") };
      return { data: { detail: "Queued." }, status: 202, statusText: "", headers: new AxiosHeaders(), config };
    };
    const api = createApi(createApiClient({ baseURL: "", tokens, adapter }));
    expect(await api.sendPasswordReset("a/b")).toEqual({ detail: "Queued." });
    expect(call).toEqual({ url: "/api/admin/users/a%2Fb/password-reset/", method: "post", auth: "Bearer admin-access" });
  });

  it("forgets the tokens on logout even when the server cannot be reached", async () => {
    const tokens = createTokenStore(window.sessionStorage);
    tokens.set({ access: "a", refresh: "r" });
    const adapter = (config: InternalAxiosRequestConfig): Promise<AxiosResponse> =>
      Promise.reject(new AxiosError("Network Error", AxiosError.ERR_NETWORK, config, {}));
    const api = createApi(createApiClient({ baseURL: "", tokens, adapter }));
    await expect(api.logOut()).rejects.toBeInstanceOf(AxiosError);
    expect(tokens.refresh()).toBeNull();
  });

  it("sends only the filters that are set", async () => {
    const tokens = createTokenStore(null);
    tokens.set({ access: "a", refresh: "r" });
    let url = "";
    const adapter = async (config: InternalAxiosRequestConfig): Promise<AxiosResponse> => {
      url = `${config.url}?${new URLSearchParams(config.params as Record<string, string>).toString()}`;
      return { data: { count: 0, next: null, previous: null, results: [] }, status: 200, statusText: "OK", headers: new AxiosHeaders(), config };
    };
    const api = createApi(createApiClient({ baseURL: "", tokens, adapter }));
    await api.listUsers({ page: 2, page_size: 10, search: "", role: undefined, is_active: false, ordering: "email" });
    expect(url).toBe("/api/admin/users/?page=2&page_size=10&is_active=false&ordering=email");
    await api.listMail({ page: 1, page_size: 10, status: undefined });
    expect(url).toBe("/api/admin/mail/?page=1&page_size=10");
    await api.listMail({ page: 3, page_size: 10, status: "failed" });
    expect(url).toBe("/api/admin/mail/?page=3&page_size=10&status=failed");
  });
});
