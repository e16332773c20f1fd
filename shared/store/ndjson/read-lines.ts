import { closeSync, openSync, readSync } from "node:fs";
import { open } from "node:fs/promises";

/** The lines in bytes [start, end) of a file, which must hold whole lines only. */
export async function readLines(path: string, start: number, end: number): Promise<string[]> {
  const buffer = Buffer.allocUnsafe(end - start);
  const handle = await open(path, "r");
  try {
    let done = 0;
    while (done < buffer.length) {
      const { bytesRead } = await handle.read(buffer, done, buffer.length - done, start + done);
      if (bytesRead === 0)
        throw new Error(`${path} is shorter than its index says (${start + done} < ${end})`);
      done += bytesRead;
    }
  } finally {
    await handle.close();
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
      if (bytesRead === 0)
        throw new Error(`${path} is shorter than its index says (${start + done} < ${end})`);
      done += bytesRead;
    }
  } finally {
    closeSync(fd);
  }
  return splitLines(buffer, path);
}

function splitLines(buffer: Buffer, path: string): string[] {
  const text = buffer.toString("utf8");
  if (!text.endsWith("\n")) throw new Error(`${path}: an indexed range does not end at a line end`);
  return text.slice(0, -1).split("\n");
}
