import { type ErrorTable, lookUpError } from "../errors/error-table.ts";
import type { ValidationDetail } from "../events/schema.ts";
import { JobRunnerUnavailableError } from "../jobs/types.ts";

/** The request is not a `dev.leviathan.attempt.requested` CloudEvent with valid data: 400. */
export class BadAttemptRequestError extends Error {
  override readonly name = "BadAttemptRequestError";
  constructor(
    message: string,
    readonly details: ValidationDetail[] = [],
  ) {
    super(message);
  }
}

/** The request names a config file that is not there (beside `LEVIATHAN_CONFIG`): 404, as the tick answers for a target without one. */
export class AttemptConfigNotFoundError extends Error {
  override readonly name = "AttemptConfigNotFoundError";
}

/** The config file is there but unreadable or invalid: 503, the operator has to fix it and the sender may retry. */
export class AttemptConfigInvalidError extends Error {
  override readonly name = "AttemptConfigInvalidError";
}

/**
 * The control plane has no such attempt, records it for another target, task or number, or it
 * has finished: 403, no Job. Repeating the request would not change the answer.
 */
export class AttemptNotRecordedError extends Error {
  override readonly name = "AttemptNotRecordedError";
}

/** The control plane could not be asked whether the attempt is recorded: 503, the sender may retry. */
export class AttemptCheckUnavailableError extends Error {
  override readonly name = "AttemptCheckUnavailableError";
}

/** The config's GitHub App gave no token for the attempt (key, installation, GitHub): 503, no Job. */
export class GitHubTokenUnavailableError extends Error {
  override readonly name = "GitHubTokenUnavailableError";
}

/**
 * The one table from a worker failure to its HTTP status (the body is `{"error": …}`, with
 * `detail` for a 400 that has validation problems). Anything else is a bug: 500.
 */
export const WORKER_ERROR_STATUS: ErrorTable<number> = [
  [BadAttemptRequestError, 400],
  [AttemptNotRecordedError, 403],
  [AttemptConfigNotFoundError, 404],
  [AttemptCheckUnavailableError, 503],
  [AttemptConfigInvalidError, 503],
  [GitHubTokenUnavailableError, 503],
  [JobRunnerUnavailableError, 503],
];

export function httpStatusOf(error: unknown): number {
  return lookUpError(WORKER_ERROR_STATUS, error) ?? 500;
}
