import { readdir } from "node:fs/promises";

const SEGMENT_NAME = /^segment-(\d{20})\.ndjson$/;

/** `segment-<first seq, 20 digits zero-padded>.ndjson`: name order is seq order. */
export function segmentName(firstSeq: number): string {
  return `segment-${String(firstSeq).padStart(20, "0")}.ndjson`;
}

/** The first seq a segment's name promises, or undefined for any other file. */
export function firstSeqOf(name: string): number | undefined {
  const match = SEGMENT_NAME.exec(name);
  if (!match) return undefined;
  return Number(match[1]);
}

/**
 * The segment files in a directory, oldest first. Zero-padding makes name order seq order;
 * everything else in the directory (lock, snapshot) is not a segment.
 */
export async function listSegmentNames(dir: string): Promise<string[]> {
  const names = await readdir(dir);
  return names.filter((name) => SEGMENT_NAME.test(name)).sort();
}
