import { type FileHandle, open, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { StoreCheckpoint } from "../types.ts";

/**
 * Beside the segments, one checkpoint a line, append-only. The file itself is not trusted:
 * each line's MAC is what a reader checks.
 */
export const CHECKPOINT_FILE = "checkpoints.ndjson";

export interface CheckpointLine extends StoreCheckpoint {
  /** 1-based line in the checkpoint file. */
  line: number;
}

export type CheckpointRead =
  | { missing: true }
  | {
      checkpoints: CheckpointLine[];
      /** A last line cut short by a crash while it was appended: never fsynced, never published. */
      torn?: { line: number; offset: number; bytes: number };
      /** The first line that is not a checkpoint; the lines before it are returned. */
      problem?: { line: number; message: string };
    };

const HEX_64 = /^[0-9a-f]{64}$/;
const KEYS = "hash,mac,seq";

function lineProblem(value: unknown, previousSeq: number): string | null {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return "not a checkpoint object";
  }
  const record = value as Record<string, unknown>;
  if (Object.keys(record).sort().join(",") !== KEYS) return `a checkpoint has exactly ${KEYS}`;
  if (!Number.isSafeInteger(record.seq) || (record.seq as number) < 1) {
    return "seq is not an integer ≥ 1";
  }
  if (typeof record.hash !== "string" || !HEX_64.test(record.hash)) {
    return "hash is not 64 lowercase hex digits";
  }
  if (typeof record.mac !== "string" || !HEX_64.test(record.mac)) {
    return "mac is not 64 lowercase hex digits";
  }
  if ((record.seq as number) <= previousSeq) {
    return `seq ${record.seq} does not follow the previous checkpoint's seq ${previousSeq}`;
  }
  return null;
}

/** Parses the checkpoint file; a torn last line is reported apart from real damage. */
export async function readCheckpointFile(dir: string): Promise<CheckpointRead> {
  let text: string;
  try {
    text = await readFile(join(dir, CHECKPOINT_FILE), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { missing: true };
    throw error;
  }
  const checkpoints: CheckpointLine[] = [];
  const lines = text.split("\n");
  let offset = 0;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const bytes = Buffer.byteLength(raw, "utf8");
    const line = i + 1;
    if (i === lines.length - 1) {
      // Bytes after the last newline: an append that never completed.
      if (raw !== "") return { checkpoints, torn: { line, offset, bytes } };
      break;
    }
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      // Unparseable as the very last line is a torn append too; anywhere else it is damage.
      if (i === lines.length - 2) return { checkpoints, torn: { line, offset, bytes: bytes + 1 } };
      return { checkpoints, problem: { line, message: "not valid JSON" } };
    }
    const problem = lineProblem(value, checkpoints.at(-1)?.seq ?? 0);
    if (problem) return { checkpoints, problem: { line, message: problem } };
    const { seq, hash, mac } = value as StoreCheckpoint;
    checkpoints.push({ seq, hash, mac, line });
    offset += bytes + 1;
  }
  return { checkpoints };
}

/** The one line a checkpoint takes, keys in a fixed order. */
export function checkpointLine(checkpoint: StoreCheckpoint): string {
  return `${JSON.stringify({ seq: checkpoint.seq, hash: checkpoint.hash, mac: checkpoint.mac })}\n`;
}

/**
 * Writes the line at `position` (the file's length) and makes it durable before resolving; on
 * an error the file is cut back, so a failed append never leaves damage before later lines.
 */
export async function appendCheckpoint(
  handle: FileHandle,
  position: number,
  checkpoint: StoreCheckpoint,
): Promise<number> {
  const bytes = Buffer.from(checkpointLine(checkpoint), "utf8");
  try {
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await handle.write(
        bytes,
        done,
        bytes.length - done,
        position + done,
      );
      done += bytesWritten;
    }
    await handle.datasync();
  } catch (error) {
    await handle.truncate(position).catch(() => undefined);
    throw error;
  }
  return position + bytes.length;
}

/** Opened for writing at its end; `created` when it did not exist (its directory entry needs a sync). */
export async function openCheckpointFile(
  dir: string,
): Promise<{ handle: FileHandle; size: number; created: boolean }> {
  const path = join(dir, CHECKPOINT_FILE);
  try {
    return { handle: await open(path, "wx"), size: 0, created: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    const handle = await open(path, "r+");
    return { handle, size: (await handle.stat()).size, created: false };
  }
}
