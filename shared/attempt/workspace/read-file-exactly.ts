import { constants } from "node:fs";
import { open } from "node:fs/promises";

/** The file is bigger than the caller allowed: its bytes were not read. */
export class FileTooLargeError extends Error {
  override readonly name = "FileTooLargeError";
}

/**
 * A regular file's bytes, read through one descriptor opened without following a link and
 * without blocking on a FIFO, checked to be a regular file after opening, and never more than
 * `maxBytes` (a file that grew past it is refused, not cut).
 */
export async function readFileExactly(path: string, maxBytes: number): Promise<Buffer> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new Error(`${path} is not a regular file`);
    if (stat.size > maxBytes)
      throw new FileTooLargeError(`${path} is larger than ${maxBytes} bytes`);
    // One byte more than it should hold: a file that changed size while read is refused.
    const buffer = Buffer.alloc(stat.size + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > stat.size) throw new Error(`${path} changed while it was read`);
    return buffer.subarray(0, length);
  } finally {
    await handle.close();
  }
}
