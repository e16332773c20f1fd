import { stat } from "node:fs/promises";
import { witnessProblem } from "./ndjson/check-witness.ts";
import { FROM_THE_BEGINNING, scanSegments } from "./ndjson/scan-segments.ts";
import { listSegmentNames } from "./ndjson/segment-name.ts";
import { readSnapshotFile } from "./ndjson/store-snapshot.ts";
import { StoreCorruptError } from "./types.ts";

export interface VerifyReport {
  ok: boolean;
  /** Records verified (up to the first problem). */
  records: number;
  segments: number;
  lastSeq: number;
  lastHash: string | null;
  /** The first bad line: what opening the store would refuse. */
  problem?: { file: string; line: number; message: string };
  /** An unfinished append at the very end: not damage; opening the store truncates it. */
  torn?: { file: string; line: number; bytes: number; reason: string };
}

/**
 * Checks every line of an NDJSON event store — shape, sequence, hash chain, each record's hash
 * — and, when an intact snapshot is present, that no record it saw was cut off or rewritten.
 * Takes no lock, so it runs beside a live control plane, and agrees with what opening the
 * store would accept or refuse.
 */
export async function verifyStore(dir: string): Promise<VerifyReport> {
  const info = await stat(dir).catch(() => undefined);
  if (!info) throw new Error(`no event store at ${dir}: the directory does not exist`);
  if (!info.isDirectory()) throw new Error(`no event store at ${dir}: not a directory`);
  // Read before the segments: a snapshot never covers more than the files already hold.
  const read = await readSnapshotFile(dir);
  const witness = "snapshot" in read ? read.snapshot : undefined;
  const names = await listSegmentNames(dir);
  let records = 0;
  let lastSeq = 0;
  let lastHash: string | null = null;
  let hashAtWitness: string | undefined;
  try {
    const scan = await scanSegments(dir, names, FROM_THE_BEGINNING, (record) => {
      records++;
      lastSeq = record.seq;
      lastHash = record.hash;
      if (record.seq === witness?.lastSeq) hashAtWitness = record.hash;
    });
    const problem = witness && witnessProblem(dir, witness, scan.segments, lastSeq, hashAtWitness);
    if (problem) throw problem;
    const report: VerifyReport = { ok: true, records, segments: names.length, lastSeq, lastHash };
    if (scan.torn) {
      const { file, line, bytes, reason } = scan.torn;
      report.torn = { file, line, bytes, reason };
    }
    return report;
  } catch (error) {
    if (!(error instanceof StoreCorruptError)) throw error;
    return {
      ok: false,
      records,
      segments: names.length,
      lastSeq,
      lastHash,
      problem: { file: error.file, line: error.line, message: error.problem },
    };
  }
}
