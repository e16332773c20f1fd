import { copyFile, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  CountingProjection,
  filesOf,
  items,
  makeTempDir,
  memoryLogger,
  silentLogger,
  waitFor,
} from "../../test/support/store/store-helpers.ts";
import type { StoredRecord } from "../events/types.ts";
import { recordHash } from "./encode-record.ts";
import { openNdjsonStore, snapshotDue } from "./ndjson/open-ndjson-store.ts";
import { nodeSegmentIo, type SegmentIo } from "./ndjson/segment-io.ts";
import { type Projection, StoreCorruptError } from "./types.ts";
import { verifyStore } from "./verify-store.ts";

let dir: string;
let cleanups: Array<() => Promise<void>> = [];
beforeEach(async () => {
  const temp = await makeTempDir();
  dir = temp.dir;
  cleanups = [temp.cleanup];
});
afterEach(async () => {
  for (const cleanup of cleanups) await cleanup();
});

/** A copy of the directory as a crash would leave it: segments and snapshot, no lock. */
async function copyOf(source: string, withSnapshot: boolean): Promise<string> {
  const temp = await makeTempDir();
  cleanups.push(temp.cleanup);
  for (const name of await readdir(source)) {
    if (name.startsWith("segment-") || (withSnapshot && name === "snapshot.bin")) {
      await copyFile(join(source, name), join(temp.dir, name));
    }
  }
  return temp.dir;
}

const SEGMENT_BYTES = 3_000;

function flipped(bytes: Buffer, at: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[at] = copy[at]! ^ 0xff;
  return copy;
}

describe("snapshot", () => {
  it("restores to the same state a full rebuild reaches, replaying only what came after it", async () => {
    const writer = new CountingProjection();
    const first = await openNdjsonStore({
      dir,
      logger: silentLogger,
      projections: [writer],
      segmentBytes: SEGMENT_BYTES,
    });
    for (let i = 0; i < 6; i++) await first.append(items(i * 5 + 1, 5));
    await first.close(); // writes the snapshot

    const restored = new CountingProjection();
    const second = await openNdjsonStore({
      dir,
      logger: silentLogger,
      projections: [restored],
      segmentBytes: SEGMENT_BYTES,
    });
    expect(restored.applied).toBe(0);
    expect(restored.snapshot()).toEqual(writer.snapshot());
    await second.append(items(31, 12)); // past the snapshot, rotating further
    // As a crash would leave it: the snapshot still describes 30 records.
    const crashed = await copyOf(dir, true);
    const rebuiltDir = await copyOf(dir, false);
    await second.close();

    const replayed = new CountingProjection();
    const afterCrash = await openNdjsonStore({
      dir: crashed,
      logger: silentLogger,
      projections: [replayed],
    });
    expect(replayed.applied).toBe(12);

    const rebuilt = new CountingProjection();
    const full = await openNdjsonStore({
      dir: rebuiltDir,
      logger: silentLogger,
      projections: [rebuilt],
    });
    expect(rebuilt.applied).toBe(42);
    expect(replayed.snapshot()).toEqual(rebuilt.snapshot());
    expect(afterCrash.stats()).toEqual(full.stats());
    expect(await afterCrash.readAfter(0, 100)).toEqual(await full.readAfter(0, 100));
    expect(await afterCrash.readSeqs([42, 1, 17])).toEqual(await full.readSeqs([42, 1, 17]));
    // The restored id index dedupes like the rebuilt one.
    for (const store of [afterCrash, full]) {
      expect(await store.append([...items(3, 1), ...items(40, 1), ...items(43, 1)])).toMatchObject({
        ingested: 1,
        duplicates: 2,
      });
    }
    await afterCrash.close();
    await full.close();
  });

  it("is captured at one seq: an append made while it is read waits, queries do not", async () => {
    // The capture stays open (yielding between parts) until the racing append is durable and
    // the racing read answered, or for 10,000 slices, then as many more: time in which a commit
    // that was not held back would change the state under it.
    let started = () => {};
    const captureStarted = new Promise<void>((resolve) => {
      started = resolve;
    });
    const race = { durable: false, armed: false, answered: false };
    const seen: Array<{ lastSeq: number; answered: boolean }> = [];
    const counting = new CountingProjection();
    const lastSeqOf = () => (counting.snapshot()[1] as { lastSeq: number }).lastSeq;
    const withoutFiller = (parts: Iterable<unknown>) =>
      [...parts].filter((part) => !Object.hasOwn(part as object, "filler"));
    const writer: Projection = {
      name: counting.name,
      apply: (record) => counting.apply(record),
      restore: (parts) => counting.restore(withoutFiller(parts)),
      *snapshot() {
        const first = lastSeqOf();
        started();
        yield* counting.snapshot();
        for (let i = 0; i < 10_000 && !(race.durable && race.answered); i++) yield { filler: i };
        for (let i = 0; i < 10_000; i++) yield { filler: i };
        seen.push(
          { lastSeq: first, answered: false },
          { lastSeq: lastSeqOf(), answered: race.answered },
        );
      },
    };
    const io: SegmentIo = {
      ...nodeSegmentIo,
      async datasync(handle) {
        await nodeSegmentIo.datasync(handle);
        if (race.armed) race.durable = true;
      },
    };
    const store = await openNdjsonStore({
      dir,
      logger: silentLogger,
      projections: [writer],
      captureSliceMs: 0,
      io,
    });
    await store.append(items(1, 5));
    seen.length = 0; // opening the store took the empty state's parts
    const snapshot = store.writeSnapshot();
    await captureStarted;
    race.armed = true;
    const racing = store.append(items(6, 1));
    void store.readAfter(0, 10).then((records) => {
      race.answered = records.length === 5;
    });
    await Promise.all([snapshot, racing]);
    expect(seen).toEqual([
      { lastSeq: 5, answered: false },
      { lastSeq: 5, answered: true },
    ]);
    expect(lastSeqOf()).toBe(6);
    const crashed = await copyOf(dir, true);
    await store.close();

    const restored = new CountingProjection();
    const reopened = await openNdjsonStore({
      dir: crashed,
      logger: silentLogger,
      projections: [
        {
          ...writer,
          apply: (r) => restored.apply(r),
          restore: (p) => restored.restore(withoutFiller(p)),
        },
      ],
    });
    expect(restored.applied).toBe(1);
    expect(restored.snapshot()).toEqual(counting.snapshot());
    await reopened.close();
  });

  it("is written in the background every snapshotEveryRecords", async () => {
    const store = await openNdjsonStore({
      dir,
      logger: silentLogger,
      snapshotEveryRecords: 10,
      projections: [new CountingProjection()],
    });
    await store.append(items(1, 12));
    await waitFor(async () => (await readdir(dir)).includes("snapshot.bin"), "a snapshot");
    const crashed = await copyOf(dir, true);
    await store.close();
    const projection = new CountingProjection();
    const { logger, lines } = memoryLogger();
    const reopened = await openNdjsonStore({ dir: crashed, logger, projections: [projection] });
    expect(lines.find((l) => l.msg === "event store open")).toMatchObject({
      from_snapshot: 12,
      verified: 0,
    });
    expect(reopened.stats().lastSeq).toBe(12);
    expect(projection.applied).toBe(0);
    expect(projection.snapshot()[1]).toMatchObject({ lastSeq: 12 });
    await reopened.close();
  });

  it("is ignored when the files no longer match it, and the full scan catches the edit", async () => {
    const first = await openNdjsonStore({ dir, logger: silentLogger, segmentBytes: SEGMENT_BYTES });
    for (let i = 0; i < 6; i++) await first.append(items(i * 5 + 1, 5));
    await first.close();
    const [name] = (await filesOf(dir)).keys();
    const path = join(dir, name!);
    const text = await readFile(path, "utf8");
    // Same length, intact JSON, a different task: only the hash chain can tell.
    await writeFile(path, text.replace('"task_id":"task-1"', '"task_id":"task-9"'));

    const { logger, lines } = memoryLogger();
    const error = await openNdjsonStore({ dir, logger }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StoreCorruptError);
    expect(error).toMatchObject({ file: path, line: 1 });
    const warning = lines.find((l) => String(l.msg).includes("snapshot does not match"));
    expect(String(warning?.problem)).toContain("CRC-32");
  });

  it("is ignored when it is damaged or lacks a projection's state", async () => {
    const first = await openNdjsonStore({ dir, logger: silentLogger });
    await first.append(items(1, 8));
    await first.close();

    const projection = new CountingProjection();
    const { logger, lines } = memoryLogger();
    const missingState = await openNdjsonStore({ dir, logger, projections: [projection] });
    expect(projection.applied).toBe(8);
    expect(lines.some((l) => String(l.problem).includes("no state for projection counting"))).toBe(
      true,
    );
    await missingState.close();

    const snapshot = join(dir, "snapshot.bin");
    const bytes = await readFile(snapshot);
    bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0xff;
    await writeFile(snapshot, bytes);
    const again = new CountingProjection();
    const damaged = memoryLogger();
    const store = await openNdjsonStore({ dir, logger: damaged.logger, projections: [again] });
    expect(again.applied).toBe(8);
    expect(damaged.lines.some((l) => String(l.problem).includes("checksum mismatch"))).toBe(true);
    expect(again.snapshot()).toEqual(projection.snapshot());
    await store.close();
  });

  // Each way a file can be wrong where the projections' parts are, not in its head: the part
  // is checked as it is read, the state is rebuilt by replay, and the warning names the cause.
  it.each([
    [
      "a flipped byte in the last part",
      (b: Buffer) => flipped(b, b.length - 6),
      /checksum mismatch in part 2 of projection counting/,
    ],
    ["the file cut inside a part", (b: Buffer) => b.subarray(0, b.length - 3), /ends inside/],
    [
      "bytes after the last part",
      (b: Buffer) => Buffer.concat([b, Buffer.from("x")]),
      /1 bytes follow its last part/,
    ],
  ])("is ignored with %s", async (_name, damage, problem) => {
    const projection = new CountingProjection();
    const first = await openNdjsonStore({ dir, logger: silentLogger, projections: [projection] });
    await first.append(items(1, 8));
    await first.close();
    const snapshot = join(dir, "snapshot.bin");
    await writeFile(snapshot, damage(await readFile(snapshot)));

    const again = new CountingProjection();
    const damaged = memoryLogger();
    const store = await openNdjsonStore({ dir, logger: damaged.logger, projections: [again] });
    expect(again.applied).toBe(8);
    expect(damaged.lines.some((l) => problem.test(String(l.problem)))).toBe(true);
    expect(again.snapshot()).toEqual(projection.snapshot());
    await store.close();
  });

  it("never changes segment files by being written", async () => {
    const store = await openNdjsonStore({ dir, logger: silentLogger });
    await store.append(items(1, 5));
    const before = await filesOf(dir);
    await store.writeSnapshot();
    await store.writeSnapshot();
    expect(await filesOf(dir)).toEqual(before);
    await store.close();
    await rm(join(dir, "snapshot.bin"));
  });
});

describe("when a snapshot is due", () => {
  it("every `every` records, or every quarter of the last snapshot's records when that is more", () => {
    expect(snapshotDue(99_999, -1, 100_000)).toBe(false);
    expect(snapshotDue(100_000, -1, 100_000)).toBe(true);
    expect(snapshotDue(500_000, 400_000, 100_000)).toBe(true);
    expect(snapshotDue(999_999, 800_000, 100_000)).toBe(false);
    expect(snapshotDue(1_000_000, 800_000, 100_000)).toBe(true);
    expect(snapshotDue(1_200_000, 1_000_000, 100_000)).toBe(false);
    expect(snapshotDue(1_250_000, 1_000_000, 100_000)).toBe(true);
    expect(snapshotDue(12, 0, 10)).toBe(true);
  });
});

describe("snapshot as a witness", () => {
  async function seed(): Promise<string[]> {
    const store = await openNdjsonStore({ dir, logger: silentLogger, segmentBytes: SEGMENT_BYTES });
    for (let i = 0; i < 6; i++) await store.append(items(i * 5 + 1, 5));
    await store.close();
    return [...(await filesOf(dir)).keys()];
  }

  async function expectRefused(file: string, line: number, message: RegExp): Promise<void> {
    const error = await openNdjsonStore({ dir, logger: silentLogger }).then(
      async (store) => {
        await store.close();
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StoreCorruptError);
    expect(error).toMatchObject({ file: join(dir, file), line });
    expect((error as StoreCorruptError).problem).toMatch(message);
    const report = await verifyStore(dir);
    expect(report.ok).toBe(false);
    expect(report.problem).toMatchObject({ file: join(dir, file), line });
  }

  it("catches records cut off the end, which the chain alone cannot", async () => {
    const names = await seed();
    const last = names.at(-1)!;
    const path = join(dir, last);
    const lines = (await readFile(path, "utf8")).trimEnd().split("\n");
    await writeFile(path, `${lines.slice(0, -2).join("\n")}\n`);
    await expectRefused(last, lines.length - 1, /records 29\.\.30 are missing/);

    // Removing the snapshot is how an operator accepts the shorter history on purpose.
    await rm(join(dir, "snapshot.bin"));
    const store = await openNdjsonStore({ dir, logger: silentLogger });
    expect(store.stats().lastSeq).toBe(28);
    await store.close();
  });

  it("still witnesses when only a projection part is damaged, for open and verify alike", async () => {
    const store = await openNdjsonStore({
      dir,
      logger: silentLogger,
      segmentBytes: SEGMENT_BYTES,
      projections: [new CountingProjection()],
    });
    for (let i = 0; i < 6; i++) await store.append(items(i * 5 + 1, 5));
    await store.close();
    const names = [...(await filesOf(dir)).keys()];
    const snapshot = join(dir, "snapshot.bin");
    const bytes = await readFile(snapshot);
    await writeFile(snapshot, flipped(bytes, bytes.length - 6));
    const last = names.at(-1)!;
    const path = join(dir, last);
    const lines = (await readFile(path, "utf8")).trimEnd().split("\n");
    await writeFile(path, `${lines.slice(0, -2).join("\n")}\n`);
    await expectRefused(last, lines.length - 1, /records 29\.\.30 are missing/);
  });

  it("catches a whole last segment deleted", async () => {
    const names = await seed();
    await rm(join(dir, names.at(-1)!));
    const previous = names.at(-2)!;
    const count = (await readFile(join(dir, previous), "utf8")).trimEnd().split("\n").length;
    await expectRefused(previous, count + 1, /are missing/);
  });

  it("catches a chain recomputed after an edit", async () => {
    const names = await seed();
    let prev: string | null = null;
    for (const name of names) {
      const path = join(dir, name);
      const records = (await readFile(path, "utf8"))
        .trimEnd()
        .split("\n")
        .map((line) => JSON.parse(line) as StoredRecord);
      for (const record of records) {
        if (record.seq === 3) record.event.payload.task_id = "task-forged";
        record.prev_hash = prev;
        record.hash = recordHash(record);
        prev = record.hash;
      }
      await writeFile(path, records.map((r) => `${JSON.stringify(r)}\n`).join(""));
    }
    const last = names.at(-1)!;
    const count = (await readFile(join(dir, last), "utf8")).trimEnd().split("\n").length;
    await expectRefused(last, count, /record 30 differs from the one snapshot\.bin saw/);
  });
});
