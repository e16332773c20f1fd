import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { open, rename, rm } from "node:fs/promises";
import { endianness } from "node:os";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { errorMessage } from "../../errors/error-message.ts";
import type { SegmentState } from "./scan-segments.ts";
import { fsyncDir, nodeSegmentIo } from "./segment-io.ts";

/** Beside the segments; never part of history, so rewriting it changes no segment file. */
export const SNAPSHOT_FILE = "snapshot.bin";
const TEMP_FILE = `${SNAPSHOT_FILE}.tmp`;
// 02: projection states as separately checksummed parts, read one at a time, where 01 held
// them as one JSON text that had to be read and parsed whole (at a million records, 69 MB of
// text and its parse tree beside the state being built from it).
const MAGIC = Buffer.from("LVSNAP02", "latin1");
const FORMAT = 2;
/** The event-id hash the snapshot's hashes were made with (event-id-table.ts). */
const ID_HASH = "cyrb53-low32";

/** The store's position at one record, and the segment files that must still match it. */
export interface SnapshotHead {
  lastSeq: number;
  lastHash: string | null;
  /** Every segment holding records up to `lastSeq`; the last may have grown since. */
  segments: SegmentState[];
}

/** What the store writes: its head, its index columns and each projection's parts. */
export interface StoreSnapshot extends SnapshotHead {
  /** Byte offset of each record inside its segment, indexed by seq - 1. */
  offsets: Uint32Array;
  /** eventIdHash of each record's event id, indexed by seq - 1. */
  idHashes: Uint32Array;
  /** Each projection's `snapshot()` parts, already JSON-encoded (captured at one seq). */
  projections: Array<{ name: string; parts: Buffer[] }>;
}

/**
 * An opened snapshot file: the head and columns are read and checked; the projections' parts
 * are read on demand, one at a time, each checked against its own CRC-32 before it is parsed.
 */
export interface SnapshotReader extends SnapshotHead {
  offsets: Uint32Array;
  idHashes: Uint32Array;
  projectionNames(): string[];
  /** The parts of one projection, in order; throws (naming the part) on a damaged one. */
  parts(name: string): Iterable<unknown>;
  /** Reads and checks every part not yet read: a reader that ends whole saw no damage. */
  checkRest(): void;
  close(): void;
}

interface SnapshotMeta {
  format: number;
  id_hash: string;
  endianness: string;
  last_seq: number;
  last_hash: string | null;
  segments: Array<{ name: string; first_seq: number; bytes: number; crc32: number }>;
  projections: Array<{ name: string; parts: number }>;
}

function u32(value: number): Buffer {
  const buffer = Buffer.allocUnsafe(4);
  buffer.writeUInt32LE(value);
  return buffer;
}

function bytesOf(values: Uint32Array): Buffer {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
}

/** `section, CRC-32 of it`. */
function checked(section: Buffer): Buffer[] {
  return [section, u32(crc32(section))];
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
    projections: snapshot.projections.map((p) => ({ name: p.name, parts: p.parts.length })),
  };
  const metaBytes = Buffer.from(JSON.stringify(meta), "utf8");
  const out = [
    MAGIC,
    u32(metaBytes.length),
    ...checked(metaBytes),
    ...checked(bytesOf(snapshot.offsets)),
    ...checked(bytesOf(snapshot.idHashes)),
  ];
  for (const projection of snapshot.projections) {
    for (const part of projection.parts) out.push(u32(part.length), ...checked(part));
  }
  return out;
}

/** Small pieces (each part has a length and a CRC-32 of its own) go out in writes of this size. */
const WRITE_BYTES = 1024 * 1024;

/** The buffers, consecutive small ones joined until they reach `size`; big ones as they are. */
function* coalesced(buffers: readonly Buffer[], size: number): Generator<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for (const buffer of buffers) {
    if (pendingBytes > 0 && pendingBytes + buffer.length > size) {
      yield Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
    }
    pending.push(buffer);
    pendingBytes += buffer.length;
  }
  if (pendingBytes > 0)
    yield pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
}

/** tmp → fsync → rename → fsync dir: a crash leaves the old snapshot or the new one, whole. */
export async function writeSnapshotFile(dir: string, snapshot: StoreSnapshot): Promise<number> {
  const temp = join(dir, TEMP_FILE);
  const handle = await open(temp, "w");
  let bytes = 0;
  try {
    for (const part of coalesced(encodeSnapshot(snapshot), WRITE_BYTES)) {
      await nodeSegmentIo.write(handle, part, bytes);
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

class SnapshotFileError extends Error {
  override readonly name = "SnapshotFileError";
}

/**
 * Synchronous reads at a moving position. Recovery restores projections synchronously (a
 * state is built in one step), so its parts are read the same way, one part in memory at a time.
 */
class FileCursor {
  position = 0;
  readonly size: number;

  constructor(
    private readonly fd: number,
    size: number,
  ) {
    this.size = size;
  }

  /** The next `length` bytes into `into` (or a new buffer); throws if the file ends first. */
  take(length: number, what: string, into?: Buffer): Buffer {
    if (this.position + length > this.size) {
      throw new SnapshotFileError(`it ends inside ${what}`);
    }
    const buffer = into ?? Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const read = readSync(this.fd, buffer, done, length - done, this.position + done);
      if (read === 0) throw new SnapshotFileError(`it ends inside ${what}`);
      done += read;
    }
    this.position += length;
    return buffer;
  }

  u32(what: string): number {
    return this.take(4, what).readUInt32LE(0);
  }

  /** A section followed by its CRC-32; throws when they disagree. */
  checked(length: number, what: string, into?: Buffer): Buffer {
    const section = this.take(length, what, into);
    if (crc32(section) !== this.u32(`the checksum of ${what}`)) {
      throw new SnapshotFileError(`checksum mismatch in ${what}`);
    }
    return section;
  }
}

/** A column of `count` uint32s read straight into its own (aligned) memory. */
function readColumn(cursor: FileCursor, count: number, what: string): Uint32Array {
  const column = new Uint32Array(count);
  cursor.checked(column.byteLength, what, bytesOf(column));
  return column;
}

function openReader(path: string): SnapshotReader {
  const fd = openSync(path, "r");
  try {
    return readerOf(fd);
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

function readerOf(fd: number): SnapshotReader {
  const cursor = new FileCursor(fd, fstatSync(fd).size);
  const magic = cursor.take(MAGIC.length, "the header");
  if (!magic.equals(MAGIC)) throw new SnapshotFileError("not a snapshot of this format");
  const metaLength = cursor.u32("the header");
  const meta = JSON.parse(
    cursor.checked(metaLength, "the header").toString("utf8"),
  ) as SnapshotMeta;
  if (meta.format !== FORMAT || meta.id_hash !== ID_HASH || meta.endianness !== endianness()) {
    throw new SnapshotFileError("written by another format version or machine");
  }
  const offsets = readColumn(cursor, meta.last_seq, "the offsets column");
  const idHashes = readColumn(cursor, meta.last_seq, "the event-id column");
  // Parts are consumed in file order: projection by projection, part by part.
  let projectionIndex = 0;
  let partIndex = 0;
  let closed = false;
  /** Moves past projections whose parts were all read (or that have none). */
  const settle = () => {
    while (
      projectionIndex < meta.projections.length &&
      partIndex >= meta.projections[projectionIndex]!.parts
    ) {
      projectionIndex += 1;
      partIndex = 0;
    }
  };
  const nextPart = (): unknown => {
    const projection = meta.projections[projectionIndex]!;
    const what = `part ${partIndex + 1} of projection ${projection.name}`;
    const text = cursor.checked(cursor.u32(what), what).toString("utf8");
    partIndex += 1;
    return JSON.parse(text);
  };
  const skipTo = (index: number) => {
    settle();
    while (projectionIndex < index) {
      nextPart();
      settle();
    }
  };
  return {
    lastSeq: meta.last_seq,
    lastHash: meta.last_hash,
    segments: meta.segments.map((s) => ({
      name: s.name,
      firstSeq: s.first_seq,
      bytes: s.bytes,
      crc: s.crc32,
    })),
    offsets,
    idHashes,
    projectionNames: () => meta.projections.map((p) => p.name),
    *parts(name) {
      const index = meta.projections.findIndex((p) => p.name === name);
      if (index === -1) throw new Error(`it has no state for projection ${name}`);
      const count = meta.projections[index]!.parts;
      if (count === 0) return;
      skipTo(index);
      if (projectionIndex !== index || partIndex !== 0) {
        throw new Error(`the parts of projection ${name} were already read`);
      }
      for (let i = 0; i < count; i++) yield nextPart();
    },
    checkRest() {
      skipTo(meta.projections.length);
      if (cursor.position !== cursor.size) {
        throw new SnapshotFileError(`${cursor.size - cursor.position} bytes follow its last part`);
      }
    },
    close() {
      if (closed) return;
      closed = true;
      closeSync(fd);
    },
  };
}

export type SnapshotRead = { snapshot: SnapshotReader } | { missing: true } | { problem: string };

/** Opens the snapshot and checks its head and columns; the caller reads the parts, then closes. */
export async function readSnapshotFile(dir: string): Promise<SnapshotRead> {
  try {
    return { snapshot: openReader(join(dir, SNAPSHOT_FILE)) };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { missing: true };
    if (error instanceof SnapshotFileError || error instanceof SyntaxError) {
      return { problem: error.message };
    }
    return { problem: `unreadable: ${errorMessage(error)}` };
  }
}

/** A temp file left by a crash mid-write is useless; remove it so it cannot confuse anyone. */
export async function removeSnapshotLeftovers(dir: string): Promise<void> {
  await rm(join(dir, TEMP_FILE), { force: true });
}

/**
 * The head of the snapshot when its header and columns check out, as recovery reads it: what
 * the snapshot saw of history, whether or not its projection parts are usable. Undefined when
 * there is none.
 */
export async function snapshotHead(dir: string): Promise<SnapshotHead | undefined> {
  const read = await readSnapshotFile(dir);
  if (!("snapshot" in read)) return undefined;
  const { lastSeq, lastHash, segments } = read.snapshot;
  read.snapshot.close();
  return { lastSeq, lastHash, segments };
}
