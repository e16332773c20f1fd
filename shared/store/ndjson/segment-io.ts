import { type FileHandle, open } from "node:fs/promises";

/**
 * The writes the append path makes to segment files. Production uses `nodeSegmentIo`; tests
 * swap in one that fails part-way to prove a failed append leaves the files as they were.
 */
export interface SegmentIo {
  /** Writes the whole buffer at `position`. */
  write(handle: FileHandle, buffer: Buffer, position: number): Promise<void>;
  /** Makes written data (and the file's length) durable. */
  datasync(handle: FileHandle): Promise<void>;
  truncate(handle: FileHandle, length: number): Promise<void>;
}

export const nodeSegmentIo: SegmentIo = {
  async write(handle, buffer, position) {
    let done = 0;
    while (done < buffer.length) {
      const { bytesWritten } = await handle.write(
        buffer,
        done,
        buffer.length - done,
        position + done,
      );
      if (bytesWritten === 0) throw new Error("write made no progress");
      done += bytesWritten;
    }
  },
  datasync: (handle) => handle.datasync(),
  truncate: (handle, length) => handle.truncate(length),
};

/** Makes a directory's entries (a created, renamed or removed file) durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Makes a file's written bytes durable (a no-op cost when nothing is dirty). */
export async function syncFile(path: string): Promise<void> {
  const handle = await open(path, "r+");
  try {
    await handle.datasync();
  } finally {
    await handle.close();
  }
}
