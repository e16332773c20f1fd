import type { CreatePullRequest, Forge, PullRequest } from "../forge/types.ts";
import type { Logger } from "../log/logger.ts";
import { toAttemptFailure } from "./attempt-failure.ts";

export interface OpenPullRequestOptions {
  forge: Forge;
  request: CreatePullRequest;
  /** Each forge call, retries included, must answer within this. */
  timeoutMs: number;
  /** Removed from any message the forge's errors carry. */
  secrets: readonly string[];
  logger?: Logger;
}

/**
 * The PR for the attempt's branch: the open one a previous run of the same attempt opened (a
 * retried pod), else a new one. If creating fails because one appeared meanwhile, that one
 * is used, so one branch never gets two PRs. Any other failure, after the forge client's own
 * retries, is `pr_failed`.
 */
export async function openPullRequest(
  options: OpenPullRequestOptions,
): Promise<{ pullRequest: PullRequest; reused: boolean }> {
  const { forge, request, timeoutMs } = options;
  const find = () =>
    withTimeout(forge.findOpenPullRequest(request.head), timeoutMs, "finding the open PR");
  try {
    const existing = await find();
    if (existing) return { pullRequest: existing, reused: true };
    try {
      const created = await withTimeout(
        forge.createPullRequest(request),
        timeoutMs,
        "creating the PR",
      );
      return { pullRequest: created, reused: false };
    } catch (error) {
      const appeared = await find().catch(() => null);
      if (appeared) {
        options.logger?.info({ pr_number: appeared.number }, "pr: created meanwhile; reusing it");
        return { pullRequest: appeared, reused: true };
      }
      throw error;
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw toAttemptFailure(
      new Error(`PR for ${request.head} into ${request.base}: ${message}`),
      "pr_failed",
      options.secrets,
    );
  }
}

/** Rejects when `promise` has not settled in `ms`; the timer never keeps the process alive. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    timer.unref();
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}
