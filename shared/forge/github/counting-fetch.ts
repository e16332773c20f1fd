import { errorMessage } from "../../errors/error-message.ts";
import type { Logger } from "../../log/logger.ts";

export interface CountingFetch {
  fetch: typeof globalThis.fetch;
  /** Requests handed to the network so far, retries included. */
  readonly count: number;
}

/**
 * The forge client's only way onto the network: every request Octokit sends (its plugins'
 * retries included) passes here, so the count is what was really sent, each request gets its
 * own deadline, and each outcome is logged (method, path, status or error, duration; never
 * headers, which carry the token).
 */
export function createCountingFetch(options: {
  timeoutMs: number;
  logger?: Logger;
  fetch?: typeof globalThis.fetch;
}): CountingFetch {
  const send = options.fetch ?? globalThis.fetch;
  let count = 0;
  async function countingFetch(
    input: Parameters<typeof globalThis.fetch>[0],
    init?: RequestInit,
  ): Promise<Response> {
    count++;
    const method = init?.method ?? "GET";
    const path = requestPath(input);
    const deadline = AbortSignal.timeout(options.timeoutMs);
    const signal = init?.signal ? AbortSignal.any([init.signal, deadline]) : deadline;
    const started = performance.now();
    try {
      const response = await send(input, { ...init, signal });
      options.logger?.debug(
        { method, path, status: response.status, ms: Math.round(performance.now() - started) },
        "forge request",
      );
      return response;
    } catch (error) {
      const timedOut = deadline.aborted;
      options.logger?.warn(
        {
          method,
          path,
          err: timedOut ? "timeout" : errorMessage(error),
          ms: Math.round(performance.now() - started),
        },
        "forge request failed",
      );
      if (timedOut) throw new ForgeTimeoutError(options.timeoutMs, error);
      throw error;
    }
  }
  return {
    fetch: countingFetch,
    get count() {
      return count;
    },
  };
}

/** No reply within the per-request deadline. */
export class ForgeTimeoutError extends Error {
  override readonly name = "ForgeTimeoutError";
  constructor(
    readonly timeoutMs: number,
    cause: unknown,
  ) {
    super(`no reply within ${timeoutMs} ms`, { cause });
  }
}

function requestPath(input: Parameters<typeof globalThis.fetch>[0]): string {
  const href = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
  try {
    return new URL(href).pathname;
  } catch {
    return "(unparseable URL)";
  }
}
