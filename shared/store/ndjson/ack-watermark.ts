import { type FileHandle, open, readFile } from "node:fs/promises";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { fsyncDir, nodeSegmentIo } from "./segment-io.ts";

/**
 * Beside the segments: an upper bound of every seq ever acknowledged, made durable before the
 * acknowledgement. A damaged line past it belongs to a group whose fsync never returned, so
 * nothing of it was acknowledged and opening may drop it; at or below it, damage is refused.
 */
export const ACK_WATERMARK_FILE = "acked-seq.bin";

/** Two slots in separate sectors, written in turn: a torn write leaves the other one whole. */
const SLOT_OFFSETS = [0, 512] as const;
const SLOT_BYTES = 16;
const MAGIC = 0x4b41564c; // "LVAK"

function encodeSlot(seq: number): Buffer {
  const slot = Buffer.alloc(SLOT_BYTES);
  slot.writeBigUInt64LE(BigInt(seq), 0);
  slot.writeUInt32LE(crc32(slot.subarray(0, 8)), 8);
  slot.writeUInt32LE(MAGIC, 12);
  return slot;
}

function decodeSlot(bytes: Buffer, offset: number): number | undefined {
  if (bytes.length < offset + SLOT_BYTES) return undefined;
  const slot = bytes.subarray(offset, offset + SLOT_BYTES);
  if (slot.readUInt32LE(12) !== MAGIC) return undefined;
  if (slot.readUInt32LE(8) !== crc32(slot.subarray(0, 8))) return undefined;
  const seq = Number(slot.readBigUInt64LE(0));
  return Number.isSafeInteger(seq) ? seq : undefined;
}

/**
 * The highest seq a whole slot holds, or undefined when the file is missing or has no whole
 * slot: then nothing can be shown unacknowledged, and no damage is repaired.
 */
export async function readAckWatermark(dir: string): Promise<number | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(join(dir, ACK_WATERMARK_FILE));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  const seqs = SLOT_OFFSETS.map((offset) => decodeSlot(bytes, offset)).filter(
    (seq) => seq !== undefined,
  );
  return seqs.length === 0 ? undefined : Math.max(...seqs);
}

export interface AckWatermark {
  /** Durably raises the bound to `seq`; resolves only once it is on disk. */
  advance(seq: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Opens (creating) the watermark and sets both slots to `seq`, durably: the records the store
 * opened with are served from now on, so they count as acknowledged.
 */
export async function openAckWatermark(dir: string, seq: number): Promise<AckWatermark> {
  // Not the store's test seam: tests that count or fail segment writes see only those.
  const io = nodeSegmentIo;
  const path = join(dir, ACK_WATERMARK_FILE);
  let handle: FileHandle;
  let created = false;
  try {
    handle = await open(path, "wx");
    created = true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    handle = await open(path, "r+");
  }
  try {
    for (const offset of SLOT_OFFSETS) await io.write(handle, encodeSlot(seq), offset);
    await io.datasync(handle);
    if (created) await fsyncDir(dir);
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw error;
  }
  let next = 0;
  return {
    async advance(value) {
      const offset = SLOT_OFFSETS[next]!;
      next = 1 - next;
      await io.write(handle, encodeSlot(value), offset);
      await io.datasync(handle);
    },
    close: () => handle.close(),
  };
}
