import { type ErrorTable, lookUpError } from "../../errors/error-table.ts";
import { StoreFailedError, StoreUnavailableError } from "../../store/types.ts";
import { HttpError } from "./http-reply.ts";

/**
 * The one table from an error a control-plane route throws to its reply (`{"detail": …}`):
 * an `HttpError` carries its own status (401, 403, 404, 405, 413, 415, 422, 503, each thrown
 * where the rule lives); the store having failed is 503 with its message, a store that cannot be reached
 * (PostgreSQL down) 503 with `Retry-After`. Anything else is a
 * bug: 500 `internal error`, logged, its message never sent.
 */
const ERROR_REPLIES: ErrorTable<(error: Error) => HttpError> = [
  [HttpError, (error) => error as HttpError],
  [StoreFailedError, (error) => new HttpError(503, error.message)],
  [StoreUnavailableError, (error) => new HttpError(503, error.message, { "retry-after": "1" })],
];

/** The reply for a known error; undefined for a bug (the caller answers 500 and logs it). */
export function errorReplyOf(error: unknown): HttpError | undefined {
  return lookUpError(ERROR_REPLIES, error)?.(error as Error);
}
