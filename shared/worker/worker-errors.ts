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

/** The one table from a worker failure to its HTTP status (DESIGN §4, Worker HTTP). */
export function httpStatusOf(error: unknown): number {
  if (error instanceof BadAttemptRequestError) return 400;
  if (error instanceof AttemptConfigNotFoundError) return 404;
  if (error instanceof AttemptConfigInvalidError) return 503;
  if (error instanceof JobRunnerUnavailableError) return 503;
  return 500;
}
