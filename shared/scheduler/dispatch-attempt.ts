import { CloudEvent, HTTP } from "cloudevents";
import { errorMessage } from "../errors/error-message.ts";
import { attemptEventId } from "../events/ids.ts";
import type { AttemptRequest } from "../events/types.ts";
import type { Logger } from "../log/logger.ts";
import { withRetries } from "../net/with-retries.ts";

export const ATTEMPT_REQUESTED_TYPE = "dev.leviathan.attempt.requested";

export interface DispatchOptions {
  /** `K_SINK` (a SinkBinding's injection) wins over the config's `worker_url`. */
  sink: string;
  token: string;
  timeoutMs?: number;
  attempts?: number;
  logger?: Logger;
}

export class DispatchError extends Error {
  override readonly name = "DispatchError";
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** The CloudEvent the worker receives; the same id for the same attempt, so a repeat is a no-op. */
export function attemptRequestedCloudEvent(request: AttemptRequest): CloudEvent<AttemptRequest> {
  return new CloudEvent<AttemptRequest>({
    id: attemptEventId(request.attempt_id, "attempt.requested"),
    type: ATTEMPT_REQUESTED_TYPE,
    source: `/leviathan/${request.target_id}/scheduler`,
    subject: request.attempt_id,
    datacontenttype: "application/json",
    data: request,
    leviathantarget: request.target_id,
  });
}

/**
 * Sends `dev.leviathan.attempt.requested` in binary mode with the bearer token. Retried on
 * network errors and 5xx (the worker's Job name is deterministic, so a repeat creates nothing);
 * a 4xx is final.
 */
export async function dispatchAttempt(
  request: AttemptRequest,
  options: DispatchOptions,
): Promise<{ job_name?: string; created?: boolean }> {
  const message = HTTP.binary(attemptRequestedCloudEvent(request));
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers)) headers[name] = String(value);
  headers.authorization = `Bearer ${options.token}`;
  return withRetries(
    async () => {
      let response: Response;
      try {
        response = await fetch(options.sink, {
          method: "POST",
          headers,
          body: message.body as string,
          signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
        });
      } catch (error) {
        throw new DispatchError(`worker unreachable at ${options.sink}: ${errorMessage(error)}`);
      }
      const text = await response.text();
      if (!response.ok) {
        throw new DispatchError(
          `worker answered ${response.status}: ${text.slice(0, 200)}`,
          response.status,
        );
      }
      return text ? (JSON.parse(text) as { job_name?: string; created?: boolean }) : {};
    },
    {
      attempts: options.attempts ?? 4,
      retryable: (error) =>
        error instanceof DispatchError && (error.status === undefined || error.status >= 500),
      onRetry: (error, attempt, delayMs) =>
        options.logger?.warn({ attempt, delayMs, err: errorMessage(error) }, "dispatch retry"),
    },
  );
}
