import { AxiosError, AxiosHeaders } from "axios";
import { describe, expect, it } from "vitest";
import { describeWait, parseRetryAfter, toApiError } from "./problem";

describe("problem details", () => {
  it("reads the problem body, its field errors and Retry-After", () => {
    const headers = new AxiosHeaders({ "retry-after": "42" });
    const body = { type: "/problems/validation", title: "Invalid input", status: 400, detail: "Some fields are invalid.", errors: { email: ["Enter a valid email address."] } };
    const error = toApiError(
      new AxiosError("x", "ERR_BAD_REQUEST", undefined, {}, { data: body, status: 400, statusText: "", headers, config: { headers } }),
    );
    expect(error.status).toBe(400);
    expect(error.fieldErrors("email")).toEqual(["Enter a valid email address."]);
    expect(error.retryAfterSeconds).toBe(42);
    expect(error.message).toBe("Some fields are invalid.");
  });

  it("says the server is unreachable when no response came back", () => {
    expect(toApiError(new AxiosError("Network Error", "ERR_NETWORK")).status).toBe(0);
  });

  it("parses Retry-After as seconds or as an HTTP date", () => {
    const now = Date.parse("2025-01-01T00:00:00Z");
    expect(parseRetryAfter("120", now)).toBe(120);
    expect(parseRetryAfter("Wed, 01 Jan 2025 00:01:30 GMT", now)).toBe(90);
    expect(parseRetryAfter(undefined, now)).toBeNull();
  });

  it("words waits", () => {
    expect(describeWait(1)).toBe("1 second");
    expect(describeWait(59)).toBe("59 seconds");
    expect(describeWait(61)).toBe("2 minutes");
  });
});
