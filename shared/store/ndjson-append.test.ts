import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  filesOf,
  item,
  items,
  makeTempDir,
  silentLogger,
} from "../../test/support/store/store-helpers.ts";
import { recordHash } from "./encode-record.ts";
import { openNdjsonStore } from "./ndjson/open-ndjson-store.ts";
import { nodeSegmentIo, type SegmentIo } from "./ndjson/segment-io.ts";
import { verifyStore } from "./verify-store.ts";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await makeTempDir());
});
afterEach(async () => {
  await cleanup();
});

const FIXED_NOW = new Date("2024-05-01T12:34:56.789Z");

// What every backend must do is in store-contract.test.ts; these are the NDJSON files' own.
describe("append and read", () => {
  it("writes the records one per line in the first segment, exactly as returned", async () => {
    const store = await openNdjsonStore({ dir, logger: silentLogger, now: () => FIXED_NOW });
    const outcome = await store.append(items(1, 3));
    expect(outcome.ingested).toBe(3);
    expect(outcome.duplicates).toBe(0);
    expect(outcome.records.map((r) => r.seq)).toEqual([1, 2, 3]);
    const [first, second, third] = outcome.records;
    expect(first!.prev_hash).toBeNull();
    expect(second!.prev_hash).toBe(first!.hash);
    expect(third!.prev_hash).toBe(second!.hash);
    expect(first!.received_at).toBe("2024-05-01T12:34:56.789Z");
    for (const record of outcome.records) expect(record.hash).toBe(recordHash(record));

    // The file holds the same records, one per line, exactly as returned.
    const text = await readFile(join(dir, "segment-00000000000000000001.ndjson"), "utf8");
    const lines = text.trimEnd().split("\n");
    expect(lines.map((line) => JSON.parse(line))).toEqual(outcome.records);
    expect(store.stats()).toEqual({
      records: 3,
      segments: 1,
      bytes: Buffer.byteLength(text),
      lastSeq: 3,
      lastHash: third!.hash,
    });
    await store.close();
  });

  it("refuses a segment size whose offsets would not fit its 32-bit index", async () => {
    for (const segmentBytes of [0, 3 * 1024 ** 3]) {
      await expect(openNdjsonStore({ dir, logger: silentLogger, segmentBytes })).rejects.toThrow(
        /segmentBytes must be between 1 and 2147483648/,
      );
    }
  });

  it("rejects a malformed item without writing anything", async () => {
    const store = await openNdjsonStore({ dir, logger: silentLogger });
    await store.append(items(1, 2));
    const before = await filesOf(dir);
    const bad = item(3);
    (bad.event as unknown as Record<string, unknown>).payload = [1, 2];
    await expect(store.append([item(4), bad])).rejects.toThrow(/items\[1\]\.event\.payload/);
    expect(await filesOf(dir)).toEqual(before);
    expect(store.stats().lastSeq).toBe(2);
    await store.close();
  });
});

describe("group commit", () => {
  it("groups the calls that arrive while an fsync is in progress into the next single fsync", async () => {
    let release: () => void = () => undefined;
    const firstSyncHeld = new Promise<void>((resolve) => {
      release = resolve;
    });
    let syncs = 0;
    let syncStarted = false;
    const io: SegmentIo = {
      ...nodeSegmentIo,
      async datasync(handle) {
        syncs++;
        syncStarted = true;
        if (syncs === 1) await firstSyncHeld;
        await nodeSegmentIo.datasync(handle);
      },
    };
    const store = await openNdjsonStore({ dir, logger: silentLogger, io });
    const first = store.append([item(1)]);
    while (!syncStarted) await new Promise((resolve) => setImmediate(resolve));
    const later = Array.from({ length: 10 }, (_, i) => store.append([item(i + 2)]));
    release();
    await Promise.all([first, ...later]);
    expect(syncs).toBe(2);
    expect(store.stats().lastSeq).toBe(11);
    await store.close();
  });

  it("fsyncs every call on its own in per-append mode", async () => {
    let fsyncs = 0;
    const store = await openNdjsonStore({
      dir,
      logger: silentLogger,
      fsyncMode: "per-append",
      onFsync: () => fsyncs++,
    });
    await Promise.all(Array.from({ length: 10 }, (_, i) => store.append([item(i + 1)])));
    expect(fsyncs).toBe(10);
    await store.close();
  });
});

describe("dedupe by event_id", () => {
  it("stores an id once when 16 concurrent calls carry it in per-append mode", async () => {
    const store = await openNdjsonStore({ dir, logger: silentLogger, fsyncMode: "per-append" });
    const outcomes = await Promise.all(
      Array.from({ length: 16 }, () => store.append([item("same")])),
    );
    expect(outcomes.reduce((sum, o) => sum + o.ingested, 0)).toBe(1);
    expect((await store.readAfter(0, 100)).length).toBe(1);
    await store.close();
  });

  it("remembers ids across close and reopen, with and without the snapshot", async () => {
    const first = await openNdjsonStore({ dir, logger: silentLogger });
    await first.append(items(1, 20));
    await first.close();

    const second = await openNdjsonStore({ dir, logger: silentLogger });
    expect(await second.append([item(5), item(21)])).toMatchObject({ ingested: 1, duplicates: 1 });
    await second.close();

    // Without a snapshot the id index is rebuilt from the files.
    const { rm } = await import("node:fs/promises");
    await rm(join(dir, "snapshot.bin"));
    const third = await openNdjsonStore({ dir, logger: silentLogger });
    expect(await third.append([item(21), item(7), item(22)])).toMatchObject({
      ingested: 1,
      duplicates: 2,
    });
    expect(third.stats().lastSeq).toBe(22);
    await third.close();
  });
});

describe("segment rotation", () => {
  it("starts segment-<first seq>.ndjson files by size and chains across them", async () => {
    const store = await openNdjsonStore({ dir, logger: silentLogger, segmentBytes: 1_500 });
    for (let i = 0; i < 10; i++) await store.append(items(i * 3 + 1, 3));
    await store.close();

    const files = await filesOf(dir);
    expect(files.size).toBeGreaterThan(3);
    let previousHash: string | null = null;
    let expectedSeq = 1;
    for (const [name, bytes] of files) {
      const lines = bytes.toString("utf8").trimEnd().split("\n");
      const records = lines.map((line) => JSON.parse(line));
      expect(name).toBe(`segment-${String(records[0].seq).padStart(20, "0")}.ndjson`);
      expect(name).toMatch(/^segment-\d{20}\.ndjson$/);
      // A segment only exceeds the limit when a single record does.
      if (lines.length > 1) expect(bytes.length).toBeLessThanOrEqual(1_500);
      for (const record of records) {
        expect(record.seq).toBe(expectedSeq++);
        expect(record.prev_hash).toBe(previousHash);
        previousHash = record.hash;
      }
    }
    expect(expectedSeq).toBe(31);
    const report = await verifyStore(dir);
    expect(report).toMatchObject({ ok: true, records: 30, segments: files.size, lastSeq: 30 });

    const reopened = await openNdjsonStore({ dir, logger: silentLogger, segmentBytes: 1_500 });
    const { records } = await reopened.append(items(31, 2));
    expect(records[0]!.prev_hash).toBe(previousHash);
    const sizes = await Promise.all([...files.keys()].map((name) => stat(join(dir, name))));
    expect(reopened.stats().bytes).toBeGreaterThan(sizes.reduce((sum, s) => sum + s.size, 0));
    await reopened.close();
  });
});
