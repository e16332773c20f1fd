import type { StoredRecord } from "../../events/types.ts";
import type { AttemptMeta } from "../state/types.ts";
import type { AttemptView } from "../types.ts";

/**
 * `GET /v1/attempts/:id` from the state's facts and the attempt's records (read in `seq` order,
 * so `events` is oldest first). The reference implementation's clients read `attempt_node`,
 * `events` and `artifacts`; ours read the fields beside them and `records`.
 */
export function attemptView(meta: AttemptMeta, records: StoredRecord[]): AttemptView {
  const { seqs: _seqs, platform_failure, ...fields } = meta;
  return {
    ...fields,
    records,
    attempt_node: { ...fields, platform_failure },
    events: records.map((record) => record.event),
    artifacts: records
      .filter((record) => record.event.event_type === "artifact.created")
      .map((record) => record.event.payload),
  };
}
