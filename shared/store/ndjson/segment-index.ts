import { join } from "node:path";
import { readLinesSync } from "./read-lines.ts";
import type { SegmentState } from "./scan-segments.ts";
import type { SeqColumn } from "./seq-column.ts";

/** Where the records are: the segments in order, each record's offset, and the last seq. */
export interface SegmentIndex {
  segments: readonly SegmentState[];
  offsets: SeqColumn;
  lastSeq: number;
}

/** The segment holding `seq` (binary search on first seqs). */
export function segmentIndexOf(index: SegmentIndex, seq: number): number {
  const { segments } = index;
  let low = 0;
  let high = segments.length - 1;
  while (low < high) {
    const middle = (low + high + 1) >> 1;
    if (segments[middle]!.firstSeq <= seq) low = middle;
    else high = middle - 1;
  }
  return low;
}

export function lastSeqOfSegment(index: SegmentIndex, segment: number): number {
  const next = index.segments[segment + 1];
  return next ? next.firstSeq - 1 : index.lastSeq;
}

/** Byte range [start, end) of records first..last, all in one segment. */
export function byteRange(
  index: SegmentIndex,
  segment: number,
  first: number,
  last: number,
): [number, number] {
  const start = index.offsets.get(first - 1);
  const end =
    last === lastSeqOfSegment(index, segment)
      ? index.segments[segment]!.bytes
      : index.offsets.get(last);
  return [start, end];
}

/** The line of one record, read synchronously (the id index checks candidates this way). */
export function lineOfSync(dir: string, index: SegmentIndex, seq: number): string | undefined {
  const segment = segmentIndexOf(index, seq);
  const [start, end] = byteRange(index, segment, seq, seq);
  return readLinesSync(join(dir, index.segments[segment]!.name), start, end)[0];
}
