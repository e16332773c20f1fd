/** GitHub's primary limit for a token: 5,000 requests an hour. */
export const RATE_LIMIT = 5_000;

/**
 * The `x-ratelimit-*` headers GitHub puts on every reply, so clients that read them (Octokit's
 * throttling plugin) see the same numbers they would see there. The forge counts, it never
 * refuses: a test that wants an exhausted limit injects a fault.
 */
export interface RateLimit {
  /** Counts one request and returns the headers for its reply. */
  take(): Record<string, string>;
}

export function createRateLimit(now: () => Date = () => new Date()): RateLimit {
  let windowEnd = 0;
  let used = 0;
  return {
    take() {
      const seconds = Math.floor(now().getTime() / 1000);
      if (seconds >= windowEnd) {
        windowEnd = seconds + 3_600;
        used = 0;
      }
      used++;
      return {
        "x-ratelimit-limit": String(RATE_LIMIT),
        "x-ratelimit-remaining": String(Math.max(0, RATE_LIMIT - used)),
        "x-ratelimit-reset": String(windowEnd),
        "x-ratelimit-used": String(used),
        "x-ratelimit-resource": "core",
      };
    },
  };
}
