import { open, stat } from "node:fs/promises";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import type { StoredRecord } from "../../events/types.ts";
import { checkRecordLine } from "../check-record.ts";
import { StoreCorruptError } from "../types.ts";
import { ACK_WATERMARK_FILE } from "./ack-watermark.ts";
import { firstSeqOf } from "./segment-name.ts";

/** What is known about one segment file: its committed length and the CRC-32 of those bytes. */
export interface SegmentState {
  name: string;
  firstSeq: number;
  bytes: number;
  crc: number;
}

/** Where a scan starts: the beginning, or just after the records a snapshot already covers. */
export interface ScanStart {
  segmentIndex: number;
  /** Byte offset inside that segment; 0 scans it whole. */
  offset: number;
  /** CRC-32 of the segment's bytes before `offset`. */
  crc: number;
  lastSeq: number;
  lastHash: string | null;
}

/**
 * An unacknowledged write at the end of the store, which opening cuts off: a torn last line,
 * or damage anywhere in records past every acknowledged seq (a group whose fsync never returned).
 */
export interface TornTail {
  /** `torn-line`: the last line, cut short; `unacknowledged-group`: damage past every ack. */
  kind: "torn-line" | "unacknowledged-group";
  file: string;
  line: number;
  /** Where the dropped bytes start: the length `file` is cut back to (unless it is removed). */
  offset: number;
  /** Bytes dropped, in `file` and in the removed segments. */
  bytes: number;
  reason: string;
  /** For an unacknowledged group: the damage itself, as it would be refused otherwise. */
  problem?: string;
  /** Segment files dropped whole (paths), `file` itself among them when it goes entirely. */
  removed: string[];
}

export interface ScanResult {
  /** The segments from `start.segmentIndex` on, with their valid lengths. */
  segments: SegmentState[];
  lastSeq: number;
  lastHash: string | null;
  records: number;
  torn?: TornTail;
}

/** Sees each good record: its byte offset, and its file and 1-based line for messages. */
export type RecordVisitor = (
  record: StoredRecord,
  offset: number,
  file: string,
  line: number,
) => void;

const CHUNK_BYTES = 8 * 1024 * 1024;
const NEWLINE = 0x0a;

export const FROM_THE_BEGINNING: ScanStart = {
  segmentIndex: 0,
  offset: 0,
  crc: 0,
  lastSeq: 0,
  lastHash: null,
};

/** No seq is known to be unacknowledged: only a torn last line may be cut off. */
export const NOTHING_UNACKNOWLEDGED = Number.POSITIVE_INFINITY;

async function sizeOf(path: string): Promise<number> {
  return (await stat(path)).size;
}

/**
 * Reads segments line by line in large chunks and checks every record (shape, seq, chain,
 * hash). The first bad line throws StoreCorruptError naming file and 1-based line, except what
 * is returned as `torn` for the caller to cut off (or report): a torn last line of the last
 * segment, or any damage once every seq up to `acknowledgedUpTo` was read whole — the records
 * from there on were never acknowledged. Only the bytes present when each file is opened are
 * read, so a live store can be verified.
 */
export async function scanSegments(
  dir: string,
  names: readonly string[],
  start: ScanStart,
  visit: RecordVisitor,
  acknowledgedUpTo = NOTHING_UNACKNOWLEDGED,
): Promise<ScanResult> {
  const segments: SegmentState[] = [];
  let lastSeq = start.lastSeq;
  let lastHash = start.lastHash;
  let records = 0;
  let buffer = Buffer.allocUnsafe(CHUNK_BYTES);

  /** Damage at the next seq is droppable when that seq was never acknowledged. */
  const unacknowledged = () => lastSeq >= acknowledgedUpTo;
  /**
   * A torn last line is cut off unless the watermark shows it acknowledged: then it was
   * fsynced whole, and cutting it would drop an acknowledged event. Without a watermark (an
   * older store, a copy) the last line is taken for an unfinished append, as it always was.
   */
  function acknowledgedTorn(file: string, line: number, problem: string): StoreCorruptError | null {
    if (acknowledgedUpTo === NOTHING_UNACKNOWLEDGED || unacknowledged()) return null;
    return new StoreCorruptError(
      file,
      line,
      `${problem}, yet seq ${lastSeq + 1} was acknowledged (${ACK_WATERMARK_FILE} says up to ` +
        `${acknowledgedUpTo}); in a copy taken while the control plane ran, remove that file from the copy`,
    );
  }
  const pathsAfter = (index: number) => names.slice(index + 1).map((name) => join(dir, name));
  /** The drop starts at `offset` of segment `index` and takes every later segment whole. */
  async function dropFrom(
    index: number,
    line: number,
    offset: number,
    problem: string,
  ): Promise<TornTail> {
    const file = join(dir, names[index]!);
    const removed = [...(offset === 0 ? [file] : []), ...pathsAfter(index)];
    let bytes = (await sizeOf(file)) - offset;
    for (const path of pathsAfter(index)) bytes += await sizeOf(path);
    return {
      kind: "unacknowledged-group",
      file,
      line,
      offset,
      bytes,
      reason: `${problem}, past every acknowledged seq (${acknowledgedUpTo}): a group that never finished its fsync`,
      problem,
      removed,
    };
  }

  for (let index = start.segmentIndex; index < names.length; index++) {
    const name = names[index]!;
    const file = join(dir, name);
    const isLast = index === names.length - 1;
    const firstSeq = firstSeqOf(name)!;
    const resuming = index === start.segmentIndex && start.offset > 0;
    let line = resuming ? lastSeq - firstSeq + 2 : 1;
    if (!resuming && firstSeq !== lastSeq + 1) {
      const why =
        firstSeq > lastSeq + 1
          ? `a segment is missing: this one starts at seq ${firstSeq}, the records before end at seq ${lastSeq}`
          : `segments overlap: this one starts at seq ${firstSeq}, the records before end at seq ${lastSeq}`;
      if (unacknowledged()) {
        return { segments, lastSeq, lastHash, records, torn: await dropFrom(index, 1, 0, why) };
      }
      throw new StoreCorruptError(file, 1, why);
    }

    const handle = await open(file, "r");
    try {
      const size = (await handle.stat()).size;
      let crc = resuming ? start.crc : 0;
      let readPos = resuming ? start.offset : 0;
      // buffer[from, to) holds unread bytes; bufferPos is the file offset of buffer[0].
      let bufferPos = readPos;
      let from = 0;
      let to = 0;
      let torn: TornTail | undefined;

      if (size === 0 && !isLast) {
        const why = "empty segment file before the last segment";
        if (unacknowledged()) {
          return { segments, lastSeq, lastHash, records, torn: await dropFrom(index, 1, 0, why) };
        }
        throw new StoreCorruptError(file, 1, why);
      }
      while (readPos < size || from < to) {
        if (readPos < size) {
          if (from > 0) {
            buffer.copy(buffer, 0, from, to);
            bufferPos += from;
            to -= from;
            from = 0;
          }
          if (to === buffer.length) {
            // One line longer than the buffer: grow it rather than split the line.
            const grown = Buffer.allocUnsafe(buffer.length * 2);
            buffer.copy(grown, 0, 0, to);
            buffer = grown;
          }
          const wanted = Math.min(buffer.length - to, size - readPos);
          const { bytesRead } = await handle.read(buffer, to, wanted, readPos);
          if (bytesRead === 0) break; // the file shrank under us; treat what we have as the end
          readPos += bytesRead;
          to += bytesRead;
        }
        const view = buffer.subarray(0, to);
        const chunkStart = from;
        for (;;) {
          const newline = view.indexOf(NEWLINE, from);
          if (newline === -1) break;
          const check = checkRecordLine(
            view.toString("utf8", from, newline),
            lastSeq + 1,
            lastHash,
          );
          if (!check.ok) {
            const lineEnd = bufferPos + newline + 1;
            if (check.unparseable && isLast && lineEnd === size) {
              const refused = acknowledgedTorn(file, line, `the last line is ${check.problem}`);
              if (refused) throw refused;
              torn = {
                kind: "torn-line",
                file,
                line,
                offset: bufferPos + from,
                bytes: size - (bufferPos + from),
                reason: `the last line is ${check.problem}`,
                removed: [],
              };
              break;
            }
            if (unacknowledged()) {
              torn = await dropFrom(index, line, bufferPos + from, check.problem);
              break;
            }
            throw new StoreCorruptError(file, line, check.problem);
          }
          visit(check.record, bufferPos + from, file, line);
          lastSeq = check.record.seq;
          lastHash = check.record.hash;
          records++;
          line++;
          from = newline + 1;
        }
        crc = crc32(view.subarray(chunkStart, from), crc);
        if (torn) break;
        if (readPos >= size && from < to) {
          // Bytes after the last newline: an append that never completed.
          if (isLast) {
            const refused = acknowledgedTorn(file, line, "the last line has no newline");
            if (refused) throw refused;
            torn = {
              kind: "torn-line",
              file,
              line,
              offset: bufferPos + from,
              bytes: to - from,
              reason: "the last line has no newline",
              removed: [],
            };
            break;
          }
          const why = "the segment's last line has no newline (cut short)";
          if (!unacknowledged()) throw new StoreCorruptError(file, line, why);
          torn = await dropFrom(index, line, bufferPos + from, why);
          break;
        }
      }
      const bytes = torn ? torn.offset : bufferPos + from;
      if (!torn?.removed.includes(file)) segments.push({ name, firstSeq, bytes, crc });
      if (torn) return { segments, lastSeq, lastHash, records, torn };
    } finally {
      await handle.close();
    }
  }
  return { segments, lastSeq, lastHash, records };
}
