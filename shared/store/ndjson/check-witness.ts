import { join } from "node:path";
import { StoreCorruptError } from "../types.ts";
import type { SegmentState } from "./scan-segments.ts";
import { SNAPSHOT_FILE } from "./store-snapshot.ts";

/** What an intact snapshot saw: history never shrinks, and record `lastSeq` never changes. */
export interface Witness {
  lastSeq: number;
  lastHash: string | null;
}

/**
 * The hash chain alone cannot tell that records were cut off the end, or that the whole chain
 * was recomputed after an edit; a snapshot that saw the history can. Null when the scanned
 * files agree with it.
 */
export function witnessProblem(
  dir: string,
  witness: Witness,
  segments: readonly Pick<SegmentState, "name" | "firstSeq">[],
  lastSeq: number,
  hashAtWitness: string | undefined,
): StoreCorruptError | null {
  if (witness.lastSeq === 0) return null;
  const holding = (seq: number) => segments.findLast((s) => s.firstSeq <= seq) ?? segments.at(-1);
  if (lastSeq < witness.lastSeq) {
    const segment = segments.at(-1);
    const file = segment ? join(dir, segment.name) : join(dir, SNAPSHOT_FILE);
    const line = segment ? lastSeq - segment.firstSeq + 2 : 1;
    return new StoreCorruptError(
      file,
      line,
      `records ${lastSeq + 1}..${witness.lastSeq} are missing: ${SNAPSHOT_FILE} saw ${witness.lastSeq} ` +
        `records (delete ${SNAPSHOT_FILE} only if removing them was intended)`,
    );
  }
  if (hashAtWitness !== witness.lastHash) {
    const segment = holding(witness.lastSeq)!;
    return new StoreCorruptError(
      join(dir, segment.name),
      witness.lastSeq - segment.firstSeq + 1,
      `record ${witness.lastSeq} differs from the one ${SNAPSHOT_FILE} saw: history was rewritten`,
    );
  }
  return null;
}
