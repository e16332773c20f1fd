import { redact } from "../../log/logger.ts";
import { ForgeUnavailableError } from "../types.ts";
import { ForgeTimeoutError } from "./counting-fetch.ts";

/**
 * The forge refused to create a PR (HTTP 422): most often "A pull request already exists for
 * owner:branch", also "No commits between …". Not an outage: the attempt decides what it means
 * (reuse the open PR, or fail the task).
 */
export class PullRequestRejectedError extends Error {
  override readonly name = "PullRequestRejectedError";
  readonly status = 422;
  constructor(
    message: string,
    /** True when the forge says a PR for this head already exists. */
    readonly alreadyExists: boolean,
  ) {
    super(message);
  }
}

/** What an Octokit RequestError carries; read by shape so no transitive package is imported. */
interface HttpFailure {
  status: number;
  message: string;
  cause?: unknown;
  response?: { headers?: Record<string, string | undefined>; data?: unknown };
}

function isHttpFailure(error: unknown): error is HttpFailure {
  return error instanceof Error && typeof (error as Partial<HttpFailure>).status === "number";
}

/** 404 from the forge: the caller decides whether absence is an answer (readFile) or not. */
export function isNotFound(error: unknown): boolean {
  return isHttpFailure(error) && error.status === 404 && error.response !== undefined;
}

export function isUnprocessable(error: unknown): error is HttpFailure {
  return isHttpFailure(error) && error.status === 422 && error.response !== undefined;
}

/**
 * Any failure of a forge call, after the client's retries, as the one error callers fail safe
 * on. The message says what was being done and why it failed, with the token removed.
 */
export function toForgeUnavailable(
  error: unknown,
  context: { what: string; requests: number; secrets: readonly string[] },
): ForgeUnavailableError {
  if (error instanceof ForgeUnavailableError) return error;
  const tries = context.requests === 1 ? "1 request" : `${context.requests} requests`;
  const status = isHttpFailure(error) && error.response ? error.status : undefined;
  const reason = describeFailure(error);
  const message = redact(`${context.what}: ${reason} (${tries})`, context.secrets);
  return new ForgeUnavailableError(message, status);
}

function describeFailure(error: unknown): string {
  const timeout = findTimeout(error);
  if (timeout) return timeout.message;
  if (!isHttpFailure(error)) return error instanceof Error ? error.message : String(error);
  if (!error.response) return `no reply: ${error.message}`;
  const headers = error.response.headers ?? {};
  if ((error.status === 403 || error.status === 429) && isRateLimited(error)) {
    const advised = advisedWaitSeconds(headers);
    const wait = advised === undefined ? "" : `; GitHub advises waiting ${advised} s`;
    return `rate limited (HTTP ${error.status}${wait}): ${error.message}`;
  }
  return `HTTP ${error.status}: ${error.message}`;
}

function findTimeout(error: unknown): ForgeTimeoutError | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if (current instanceof ForgeTimeoutError) return current;
    current = current.cause;
  }
  return undefined;
}

function isRateLimited(error: HttpFailure): boolean {
  const headers = error.response?.headers ?? {};
  return (
    headers["x-ratelimit-remaining"] === "0" ||
    headers["retry-after"] !== undefined ||
    /\brate limit\b/i.test(error.message)
  );
}

/** GitHub's advice: `retry-after` seconds, else until `x-ratelimit-reset` (epoch seconds). */
export function advisedWaitSeconds(
  headers: Record<string, string | undefined>,
  now = Date.now(),
): number | undefined {
  const retryAfter = Number(headers["retry-after"]);
  if (headers["retry-after"] !== undefined && Number.isFinite(retryAfter)) return retryAfter;
  const reset = Number(headers["x-ratelimit-reset"]);
  if (headers["x-ratelimit-reset"] !== undefined && Number.isFinite(reset)) {
    return Math.max(0, Math.ceil(reset - now / 1000));
  }
  return undefined;
}
