import { createHmac } from "node:crypto";
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  items,
  makeTempDir,
  memoryLogger,
  silentLogger,
} from "../../test/support/store/store-helpers.ts";
import { CHECKPOINT_FILE } from "./checkpoints/checkpoint-file.ts";
import { deriveCheckpointKey } from "./checkpoints/checkpoint-key.ts";
import { openNdjsonStore } from "./ndjson/open-ndjson-store.ts";
import { type StoreCheckpoint, StoreCorruptError } from "./types.ts";

const SECRET = "store-secret-NEVER-ON-DISK-5d1f";
const KEY = deriveCheckpointKey(SECRET);

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await makeTempDir());
});
afterEach(async () => {
  await cleanup();
});

function open(key = KEY) {
  return openNdjsonStore({ dir, logger: silentLogger, checkpointKey: key });
}

/** Computed here from the documented message, not with the store's own function. */
function expectedMac(seq: number, hash: string, key = KEY): string {
  return createHmac("sha256", key)
    .update(`leviathan event store checkpoint v1\n${seq}\n${hash}`)
    .digest("hex");
}

async function checkpointLines(): Promise<StoreCheckpoint[]> {
  const text = await readFile(join(dir, CHECKPOINT_FILE), "utf8");
  return text
    .trimEnd()
    .split("\n")
    .map((line) => JSON.parse(line) as StoreCheckpoint);
}

/** What someone who rewrites the segments does too: the snapshot would give them away. */
async function removeSnapshot(): Promise<void> {
  await rm(join(dir, "snapshot.bin"));
}

async function appendRecords(count: number, group = 100): Promise<void> {
  const store = await open();
  for (let from = 1; from <= count; from += group) {
    await store.append(items(from, Math.min(group, count - from + 1)));
  }
  await store.close();
}

describe("checkpoints", () => {
  it("are written every 1,000 records before the crossing append resolves, and at close", async () => {
    const store = await open();
    const hashes = new Map<number, string>();
    for (let from = 1; from <= 2_300; from += 100) {
      const { records } = await store.append(items(from, 100));
      for (const record of records) hashes.set(record.seq, record.hash);
      // Acknowledged: the checkpoint it was due is already published and in the file.
      const due = Math.floor(records.at(-1)!.seq / 1_000) * 1_000;
      expect(store.checkpoint()?.seq ?? 0).toBe(due);
    }
    const published = store.checkpoint()!;
    expect(published).toEqual({
      seq: 2_000,
      hash: hashes.get(2_000),
      mac: expectedMac(2_000, hashes.get(2_000)!),
    });
    expect(await checkpointLines()).toHaveLength(2);
    await store.close();
    expect(await checkpointLines()).toEqual(
      [1_000, 2_000, 2_300].map((seq) => ({
        seq,
        hash: hashes.get(seq),
        mac: expectedMac(seq, hashes.get(seq)!),
      })),
    );
  });

  it("are not written again by a close with nothing new, and are published after a restart", async () => {
    await appendRecords(1_500);
    const before = await checkpointLines();
    expect(before.map((c) => c.seq)).toEqual([1_000, 1_500]);
    const store = await open();
    expect(store.checkpoint()).toEqual(before.at(-1));
    await store.close();
    expect(await checkpointLines()).toEqual(before);
  });

  it("never put the key or its secret on the volume", async () => {
    await appendRecords(1_200);
    for (const name of await readdir(dir)) {
      const bytes = await readFile(join(dir, name));
      expect(bytes.includes(SECRET), name).toBe(false);
      expect(bytes.includes(KEY), name).toBe(false);
      expect(bytes.includes(KEY.toString("hex")), name).toBe(false);
    }
  });

  it("lose a torn last line on open, with a warning, and go on appending after it", async () => {
    await appendRecords(1_100);
    const path = join(dir, CHECKPOINT_FILE);
    const whole = await readFile(path, "utf8");
    await writeFile(path, `${whole}{"seq":1200,"hash":"ab`);
    const { logger, lines } = memoryLogger();
    const store = await openNdjsonStore({ dir, logger, checkpointKey: KEY });
    expect(await readFile(path, "utf8")).toBe(whole);
    expect(lines.some((l) => l.level === 40 && String(l.msg).includes("torn"))).toBe(true);
    await store.append(items(2_000, 5));
    await store.close();
    expect((await checkpointLines()).map((c) => c.seq)).toEqual([1_000, 1_100, 1_105]);
  });

  it("stop the store from opening when records they authenticate were cut off", async () => {
    await appendRecords(1_200);
    const segment = (await readdir(dir)).find((n) => n.startsWith("segment-"))!;
    const lines = (await readFile(join(dir, segment), "utf8")).split("\n");
    await writeFile(join(dir, segment), `${lines.slice(0, 1_150).join("\n")}\n`);
    await removeSnapshot();
    const error = await open().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreCorruptError);
    expect((error as StoreCorruptError).file).toBe(join(dir, CHECKPOINT_FILE));
    expect((error as StoreCorruptError).line).toBe(2);
    expect((error as StoreCorruptError).problem).toMatch(/records 1151\.\.1200 are missing/);
  });

  it("stop the store from opening when the record they name was rewritten and re-chained", async () => {
    await appendRecords(1_000);
    const segment = (await readdir(dir)).find((n) => n.startsWith("segment-"))!;
    const path = join(dir, segment);
    const { encodeRecord } = await import("./encode-record.ts");
    const lines = (await readFile(path, "utf8")).trimEnd().split("\n");
    const last = JSON.parse(lines.at(-1)!);
    last.event.payload.note = "rewritten";
    lines[lines.length - 1] = encodeRecord(
      last.seq,
      last.received_at,
      last.target,
      last.event,
      last.prev_hash,
    ).line.trimEnd();
    await writeFile(path, `${lines.join("\n")}\n`);
    await removeSnapshot();
    // No key: the chain is whole, so the store opens.
    const plain = await openNdjsonStore({ dir, logger: silentLogger });
    await plain.close();
    const error = await open().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreCorruptError);
    expect((error as StoreCorruptError).file).toBe(path);
    expect((error as StoreCorruptError).line).toBe(1_000);
    expect((error as StoreCorruptError).problem).toMatch(/history was rewritten/);
  });

  it("under another key open with a warning, publish nothing until a new one is written", async () => {
    await appendRecords(1_000);
    const { logger, lines } = memoryLogger();
    const store = await openNdjsonStore({
      dir,
      logger,
      checkpointKey: deriveCheckpointKey("another secret"),
    });
    expect(store.checkpoint()).toBeNull();
    expect(lines.some((l) => l.level === 40 && String(l.msg).includes("does not verify"))).toBe(
      true,
    );
    await store.append(items(5_000, 1));
    expect(store.checkpoint()?.seq).toBe(1_001);
    await store.close();
  });
});
