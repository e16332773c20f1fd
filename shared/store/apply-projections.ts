import { errorMessage } from "../errors/error-message.ts";
import type { StoredRecord } from "../events/types.ts";
import type { Logger } from "../log/logger.ts";
import type { Projection } from "./types.ts";

/**
 * Hands one stored record to every projection. A projection that throws is a bug: the record is
 * durable (and acknowledged), but the query state can no longer be trusted, so the store is
 * marked failed through `fail` and refuses further appends.
 */
export function applyProjections(
  projections: readonly Projection[],
  record: StoredRecord,
  logger: Logger,
  fail: (reason: string) => void,
): void {
  for (const projection of projections) {
    try {
      projection.apply(record);
    } catch (error) {
      logger.error(
        { err: error, projection: projection.name, seq: record.seq },
        "projection failed",
      );
      fail(`projection ${projection.name} failed at seq ${record.seq}: ${errorMessage(error)}`);
    }
  }
}
