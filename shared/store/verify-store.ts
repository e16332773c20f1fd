import { stat } from "node:fs/promises";
import { join } from "node:path";
import { CHECKPOINT_FILE, type CheckpointLine } from "./checkpoints/checkpoint-file.ts";
import { readAckWatermark } from "./ndjson/ack-watermark.ts";
import { witnessProblem } from "./ndjson/check-witness.ts";
import {
  FROM_THE_BEGINNING,
  NOTHING_UNACKNOWLEDGED,
  scanSegments,
  type TornTail,
} from "./ndjson/scan-segments.ts";
import { listSegmentNames } from "./ndjson/segment-name.ts";
import { snapshotHead } from "./ndjson/store-snapshot.ts";
import { StoreCorruptError } from "./types.ts";
import { checkpointsProblem, readAuthenticCheckpoints } from "./verify-checkpoints.ts";

/**
 * What was wrong first: `records`, damage that opening the store refuses; `checkpoints`, records
 * that the authenticated checkpoints contradict (rewritten, or cut off); `expect-seq`, a store
 * ending below the seq the caller saw before.
 */
export type VerifyProblemKind = "records" | "checkpoints" | "expect-seq";

export interface VerifyProblem {
  kind: VerifyProblemKind;
  file: string;
  line: number;
  message: string;
}

export interface VerifyOptions {
  /** The checkpoint key: every checkpoint's MAC is checked, and the records against them. */
  key?: Buffer;
  /** Fails when the store's last seq is below this (a seq seen before: a cut tail). */
  expectSeq?: number;
}

export interface VerifyReport {
  ok: boolean;
  /** Records verified (up to the first problem). */
  records: number;
  segments: number;
  lastSeq: number;
  lastHash: string | null;
  /** The first problem: for `records`, what opening the store would refuse. */
  problem?: VerifyProblem;
  /**
   * Not damage, and cut off when the store is next opened: an unfinished append at the very
   * end, or the damaged part of a group that was never acknowledged.
   */
  torn?: Pick<TornTail, "kind" | "file" | "line" | "bytes" | "reason">;
  /** With a key: the checkpoints checked, and the latest of them. */
  checkpoints?: { checked: number; latest: CheckpointLine | null };
}

/** Thrown inside the scan to stop at the first record a checkpoint contradicts. */
class CheckpointMismatch extends Error {
  constructor(readonly problem: VerifyProblem) {
    super(problem.message);
  }
}

/**
 * Checks every line of an NDJSON event store — shape, sequence, hash chain, each record's hash
 * — and, when an intact snapshot is present, that no record it saw was cut off or rewritten.
 * With a key, also every checkpoint's MAC and that the records hold what the checkpoints
 * authenticate; with `expectSeq`, that the store reaches that seq. Takes no lock, so it runs
 * beside a live control plane, and agrees with what opening the store would accept or refuse.
 */
export async function verifyStore(dir: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const info = await stat(dir).catch(() => undefined);
  if (!info) throw new Error(`no event store at ${dir}: the directory does not exist`);
  if (!info.isDirectory()) throw new Error(`no event store at ${dir}: not a directory`);
  // Read before the segments: a snapshot or a checkpoint never covers more than the files
  // already hold, since both are written after the records they name are durable.
  const witness = await snapshotHead(dir);
  const authentic = options.key ? await readAuthenticCheckpoints(dir, options.key) : undefined;
  const names = await listSegmentNames(dir);
  const acknowledged = (await readAckWatermark(dir)) ?? NOTHING_UNACKNOWLEDGED;
  let records = 0;
  let lastSeq = 0;
  let lastHash: string | null = null;
  let hashAtWitness: string | undefined;
  const report = (fields: Partial<VerifyReport>): VerifyReport => ({
    ok: !fields.problem,
    records,
    segments: names.length,
    lastSeq,
    lastHash,
    ...(authentic && "checkpoints" in authentic
      ? {
          checkpoints: {
            checked: authentic.checkpoints.length,
            latest: authentic.checkpoints.at(-1) ?? null,
          },
        }
      : {}),
    ...fields,
  });
  if (authentic && "problem" in authentic) return report({ problem: authentic.problem });
  const bySeq = new Map(authentic?.checkpoints.map((c) => [c.seq, c]));
  try {
    const scan = await scanSegments(
      dir,
      names,
      FROM_THE_BEGINNING,
      (record, _offset, file, line) => {
        const checkpoint = bySeq.get(record.seq);
        if (checkpoint && checkpoint.hash !== record.hash) {
          throw new CheckpointMismatch({
            kind: "checkpoints",
            file,
            line,
            message:
              `record ${record.seq} differs from the one ${CHECKPOINT_FILE}:${checkpoint.line} ` +
              "authenticates: a record up to it was rewritten and the chain recomputed",
          });
        }
        records++;
        lastSeq = record.seq;
        lastHash = record.hash;
        if (record.seq === witness?.lastSeq) hashAtWitness = record.hash;
      },
      acknowledged,
    );
    if (scan.torn?.kind === "unacknowledged-group") {
      // A live store may have acknowledged those records since the watermark was read.
      const now = await readAckWatermark(dir);
      if (now === undefined || lastSeq < now) {
        const { file, line, problem } = scan.torn;
        throw new StoreCorruptError(file, line, problem ?? scan.torn.reason);
      }
    }
    const problem = witness && witnessProblem(dir, witness, scan.segments, lastSeq, hashAtWitness);
    if (problem) throw problem;
    const torn = scan.torn && {
      kind: scan.torn.kind,
      file: scan.torn.file,
      line: scan.torn.line,
      bytes: scan.torn.bytes,
      reason: scan.torn.reason,
    };
    const end = endOf(dir, scan.segments.at(-1), lastSeq);
    const late =
      (authentic && checkpointsProblem(dir, authentic.checkpoints, lastSeq)) ??
      expectSeqProblem(end, lastSeq, options.expectSeq);
    return report({ ...(torn ? { torn } : {}), ...(late ? { problem: late } : {}) });
  } catch (error) {
    if (error instanceof CheckpointMismatch) return report({ problem: error.problem });
    if (!(error instanceof StoreCorruptError)) throw error;
    return report({
      problem: { kind: "records", file: error.file, line: error.line, message: error.problem },
    });
  }
}

/** Where the next record would go: the line after the last one of the last segment. */
function endOf(
  dir: string,
  segment: { name: string; firstSeq: number } | undefined,
  lastSeq: number,
): { file: string; line: number } {
  if (!segment) return { file: dir, line: 0 };
  return { file: join(dir, segment.name), line: lastSeq - segment.firstSeq + 2 };
}

function expectSeqProblem(
  end: { file: string; line: number },
  lastSeq: number,
  expectSeq: number | undefined,
): VerifyProblem | undefined {
  if (expectSeq === undefined || lastSeq >= expectSeq) return undefined;
  return {
    kind: "expect-seq",
    ...end,
    message:
      `the store ends at seq ${lastSeq}, below the expected seq ${expectSeq}: records ` +
      `${lastSeq + 1}..${expectSeq} are missing (the tail was cut, or this copy is older)`,
  };
}
