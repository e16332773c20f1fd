import { createHash } from "node:crypto";

/** GitHub's primary limit for a token: 5,000 requests an hour. */
export const RATE_LIMIT = 5_000;

/**
 * The `x-ratelimit-*` headers GitHub puts on every reply, so clients that read them (Octokit's
 * throttling plugin) see the same numbers they would see there. Counted per credential, as on
 * GitHub: each token (or the absence of one) has its own hourly window. Every reply is charged
 * except a 304, which GitHub does not count. The forge counts, it never refuses: a test that
 * wants an exhausted limit injects a fault.
 */
export interface RateLimit {
  /** Counts one request of this `Authorization` header and returns the headers for its reply. */
  take(authorization: string | undefined): Record<string, string>;
  /** The headers without counting: a 304's. */
  peek(authorization: string | undefined): Record<string, string>;
  /** Requests charged so far in the current window of this `Authorization` header. */
  used(authorization: string | undefined): number;
}

interface Window {
  end: number;
  used: number;
}

export function createRateLimit(now: () => Date = () => new Date()): RateLimit {
  const windows = new Map<string, Window>();
  const windowOf = (authorization: string | undefined): Window => {
    const key = credentialKey(authorization);
    const seconds = Math.floor(now().getTime() / 1000);
    let window = windows.get(key);
    if (!window || seconds >= window.end) {
      window = { end: seconds + 3_600, used: 0 };
      windows.set(key, window);
    }
    return window;
  };
  const headers = (window: Window) => ({
    "x-ratelimit-limit": String(RATE_LIMIT),
    "x-ratelimit-remaining": String(Math.max(0, RATE_LIMIT - window.used)),
    "x-ratelimit-reset": String(window.end),
    "x-ratelimit-used": String(window.used),
    "x-ratelimit-resource": "core",
  });
  return {
    take(authorization) {
      const window = windowOf(authorization);
      window.used++;
      return headers(window);
    },
    peek: (authorization) => headers(windowOf(authorization)),
    used: (authorization) => windowOf(authorization).used,
  };
}

/**
 * The credential a header presents, whatever its scheme (`token X` and `Bearer X` are the same
 * token), hashed: the map never holds a token.
 */
function credentialKey(authorization: string | undefined): string {
  const match = /^(?:token|bearer)[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? "");
  const credential = match ? match[1]! : `raw:${authorization ?? ""}`;
  return createHash("sha256").update(credential, "utf8").digest("base64url");
}
