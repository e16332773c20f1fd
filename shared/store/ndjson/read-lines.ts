import { closeSync, openSync, readSync } from "node:fs";
import type { FileHandle } from "node:fs/promises";

/** The lines in bytes [start, end) of an open file, which must hold whole lines only. */
export async function readLines(
  handle: FileHandle,
  path: string,
  start: number,
  end: number,
): Promise<string[]> {
  const buffer = Buffer.allocUnsafe(end - start);
  let done = 0;
  while (done < buffer.length) {
    const { bytesRead } = await handle.read(buffer, done, buffer.length - done, start + done);
    if (bytesRead === 0) throw shorterThanIndexed(path, start + done, end);
    done += bytesRead;
  }
  return splitLines(buffer, path);
}

/** The same, synchronously: for the rare event-id confirmation that `hasEvent` must answer now. */
export function readLinesSync(path: string, start: number, end: number): string[] {
  const buffer = Buffer.allocUnsafe(end - start);
  const fd = openSync(path, "r");
  try {
    let done = 0;
    while (done < buffer.length) {
      const bytesRead = readSync(fd, buffer, done, buffer.length - done, start + done);
      if (bytesRead === 0) throw shorterThanIndexed(path, start + done, end);
      done += bytesRead;
    }
  } finally {
    closeSync(fd);
  }
  return splitLines(buffer, path);
}

function shorterThanIndexed(path: string, at: number, end: number): Error {
  return new Error(`${path} is shorter than its index says (${at} < ${end})`);
}

function splitLines(buffer: Buffer, path: string): string[] {
  const text = buffer.toString("utf8");
  if (!text.endsWith("\n")) throw new Error(`${path}: an indexed range does not end at a line end`);
  return text.slice(0, -1).split("\n");
}
