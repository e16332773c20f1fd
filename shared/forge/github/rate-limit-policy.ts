import type { Logger } from "../../log/logger.ts";

export interface RateLimitPolicy {
  /** Retries after a rate limit, per request. */
  retries: number;
  /** Never wait longer than this for one rate limit: failing now beats a stalled tick. */
  maxWaitSeconds: number;
}

export type RateLimitKind = "primary" | "secondary";

/** What plugin-throttling asks on a 403/429 rate limit: wait `retryAfter` s and retry? */
export function shouldWaitForRateLimit(
  policy: RateLimitPolicy,
  kind: RateLimitKind,
  retryAfterSeconds: number,
  retryCount: number,
  request: { method: string; url: string },
  logger?: Logger,
): boolean {
  const retry = retryCount < policy.retries && retryAfterSeconds <= policy.maxWaitSeconds;
  logger?.warn(
    {
      kind,
      retry_after_s: retryAfterSeconds,
      retry_count: retryCount,
      method: request.method,
      url: request.url,
      waiting: retry,
    },
    retry ? "forge rate limit: waiting, then retrying" : "forge rate limit: giving up",
  );
  return retry;
}
