import { setTimeout as delay } from "node:timers/promises";

export interface RetryOptions {
  /** Total tries, the first included. */
  attempts: number;
  /** First backoff; doubles each time, with full jitter, capped at `maxDelayMs`. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  retryable: (error: unknown) => boolean;
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

/** Bounded retries with exponential backoff and jitter, for calls that are safe to repeat. */
export async function withRetries<T>(call: () => Promise<T>, options: RetryOptions): Promise<T> {
  const base = options.baseDelayMs ?? 200;
  const cap = options.maxDelayMs ?? 5_000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (attempt >= options.attempts || !options.retryable(error)) throw error;
      const delayMs = Math.round(Math.random() * Math.min(cap, base * 2 ** (attempt - 1)));
      options.onRetry?.(error, attempt, delayMs);
      await delay(delayMs);
    }
  }
}
