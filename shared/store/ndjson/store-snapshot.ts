import { open, readFile, rename, rm } from "node:fs/promises";
import { endianness } from "node:os";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { errorMessage } from "../../errors/error-message.ts";
import type { SegmentState } from "./scan-segments.ts";
import { fsyncDir } from "./segment-io.ts";

/** Beside the segments; never part of history, so rewriting it changes no segment file. */
export const SNAPSHOT_FILE = "snapshot.bin";
const TEMP_FILE = `${SNAPSHOT_FILE}.tmp`;
const MAGIC = Buffer.from("LVSNAP01", "latin1");
const FORMAT = 1;
/** The event-id hash the snapshot's hashes were made with (event-id-table.ts). */
const ID_HASH = "cyrb53";

/**
 * The store's state at one record: enough to skip re-reading everything before it, provided
 * the segment files still have exactly the lengths and CRC-32s it lists.
 */
export interface StoreSnapshot {
  lastSeq: number;
  lastHash: string | null;
  /** Every segment holding records up to `lastSeq`; the last may have grown since. */
  segments: SegmentState[];
  /** Byte offset of each record inside its segment, indexed by seq - 1. */
  offsets: Float64Array;
  /** eventIdHash of each record's event id, indexed by seq - 1. */
  idHashes: Float64Array;
  /** JSON text of `{ <projection name>: <its snapshot()> }`. */
  projectionsJson: string;
}

interface SnapshotMeta {
  format: number;
  id_hash: string;
  endianness: string;
  last_seq: number;
  last_hash: string | null;
  segments: Array<{ name: string; first_seq: number; bytes: number; crc32: number }>;
}

function u32(value: number): Buffer {
  const buffer = Buffer.allocUnsafe(4);
  buffer.writeUInt32LE(value);
  return buffer;
}

function bytesOf(values: Float64Array): Buffer {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
}

function encodeSnapshot(snapshot: StoreSnapshot): Buffer[] {
  const meta: SnapshotMeta = {
    format: FORMAT,
    id_hash: ID_HASH,
    endianness: endianness(),
    last_seq: snapshot.lastSeq,
    last_hash: snapshot.lastHash,
    segments: snapshot.segments.map((s) => ({
      name: s.name,
      first_seq: s.firstSeq,
      bytes: s.bytes,
      crc32: s.crc,
    })),
  };
  const metaBytes = Buffer.from(JSON.stringify(meta), "utf8");
  const projectionBytes = Buffer.from(snapshot.projectionsJson, "utf8");
  const parts = [
    MAGIC,
    u32(metaBytes.length),
    metaBytes,
    u32(projectionBytes.length),
    projectionBytes,
    bytesOf(snapshot.offsets),
    bytesOf(snapshot.idHashes),
  ];
  let crc = 0;
  for (const part of parts) crc = crc32(part, crc);
  parts.push(u32(crc));
  return parts;
}

/** Throws with the reason when the file is not a whole, current-format snapshot. */
function decodeSnapshot(buffer: Buffer): StoreSnapshot {
  if (buffer.length < MAGIC.length + 12 || !buffer.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new Error("not a snapshot of this format");
  }
  const body = buffer.subarray(0, buffer.length - 4);
  if (crc32(body) !== buffer.readUInt32LE(buffer.length - 4)) throw new Error("checksum mismatch");
  let position = MAGIC.length;
  const metaLength = body.readUInt32LE(position);
  position += 4;
  const meta = JSON.parse(body.toString("utf8", position, position + metaLength)) as SnapshotMeta;
  position += metaLength;
  if (meta.format !== FORMAT || meta.id_hash !== ID_HASH || meta.endianness !== endianness()) {
    throw new Error("written by another format version or machine");
  }
  const projectionLength = body.readUInt32LE(position);
  position += 4;
  const projectionsJson = body.toString("utf8", position, position + projectionLength);
  position += projectionLength;
  const columnBytes = meta.last_seq * 8;
  if (body.length - position !== columnBytes * 2) throw new Error("index size mismatch");
  // slice() copies into fresh, aligned memory, as Float64Array needs.
  const column = (from: number) =>
    new Float64Array(
      body.buffer.slice(body.byteOffset + from, body.byteOffset + from + columnBytes),
    );
  return {
    lastSeq: meta.last_seq,
    lastHash: meta.last_hash,
    segments: meta.segments.map((s) => ({
      name: s.name,
      firstSeq: s.first_seq,
      bytes: s.bytes,
      crc: s.crc32,
    })),
    offsets: column(position),
    idHashes: column(position + columnBytes),
    projectionsJson,
  };
}

/** tmp → fsync → rename → fsync dir: a crash leaves the old snapshot or the new one, whole. */
export async function writeSnapshotFile(dir: string, snapshot: StoreSnapshot): Promise<number> {
  const temp = join(dir, TEMP_FILE);
  const handle = await open(temp, "w");
  let bytes = 0;
  try {
    for (const part of encodeSnapshot(snapshot)) {
      let done = 0;
      while (done < part.length) {
        const { bytesWritten } = await handle.write(part, done, part.length - done, bytes + done);
        done += bytesWritten;
      }
      bytes += part.length;
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, join(dir, SNAPSHOT_FILE));
  await fsyncDir(dir);
  return bytes;
}

export type SnapshotRead = { snapshot: StoreSnapshot } | { missing: true } | { problem: string };

export async function readSnapshotFile(dir: string): Promise<SnapshotRead> {
  let buffer: Buffer;
  try {
    buffer = await readFile(join(dir, SNAPSHOT_FILE));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { missing: true };
    return { problem: `unreadable: ${errorMessage(error)}` };
  }
  try {
    return { snapshot: decodeSnapshot(buffer) };
  } catch (error) {
    return { problem: errorMessage(error) };
  }
}

/** A temp file left by a crash mid-write is useless; remove it so it cannot confuse anyone. */
export async function removeSnapshotLeftovers(dir: string): Promise<void> {
  await rm(join(dir, TEMP_FILE), { force: true });
}
