import { readdir } from "node:fs/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  CountingProjection,
  filesOf,
  items,
  makeTempDir,
  silentLogger,
} from "../../test/support/store/store-helpers.ts";
import type { StoredRecord } from "../events/types.ts";
import { openNdjsonStore } from "./ndjson/open-ndjson-store.ts";
import { nodeSegmentIo, type SegmentIo } from "./ndjson/segment-io.ts";
import { type Projection, StoreFailedError } from "./types.ts";
import { verifyStore } from "./verify-store.ts";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await makeTempDir());
});
afterEach(async () => {
  await cleanup();
});

type Fault = "write" | "datasync" | "write-and-truncate" | null;

/** The real file operations, failing on demand: a write fails after half its bytes landed. */
function faultyIo(): { io: SegmentIo; fail(fault: Fault): void } {
  let fault: Fault = null;
  const injected = () => Object.assign(new Error("EIO: injected i/o error"), { code: "EIO" });
  return {
    fail(next) {
      fault = next;
    },
    io: {
      async write(handle, buffer, position) {
        if (fault === "write" || fault === "write-and-truncate") {
          await nodeSegmentIo.write(handle, buffer.subarray(0, buffer.length >> 1), position);
          throw injected();
        }
        await nodeSegmentIo.write(handle, buffer, position);
      },
      async datasync(handle) {
        if (fault === "datasync") throw injected();
        await nodeSegmentIo.datasync(handle);
      },
      async truncate(handle, length) {
        if (fault === "write-and-truncate") throw injected();
        await nodeSegmentIo.truncate(handle, length);
      },
    },
  };
}

describe("a failed append", () => {
  it("rejects every call of its group and leaves the files byte-identical and the store usable", async () => {
    const faults = faultyIo();
    const counting = new CountingProjection();
    const store = await openNdjsonStore({
      dir,
      logger: silentLogger,
      io: faults.io,
      projections: [counting],
    });
    await store.append(items(1, 5));
    const before = await filesOf(dir);
    const stats = store.stats();

    faults.fail("write");
    const results = await Promise.allSettled([
      store.append(items(6, 3)),
      store.append(items(9, 3)),
      store.append(items(12, 3)),
    ]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected", "rejected"]);
    expect(String((results[0] as PromiseRejectedResult).reason)).toMatch(
      /undone, nothing stored: EIO/,
    );
    expect(await filesOf(dir)).toEqual(before);
    expect(store.stats()).toEqual(stats);
    expect(store.hasEvent("event-6")).toBe(false);
    expect(counting.applied).toBe(5);

    faults.fail(null);
    const { records } = await store.append(items(6, 3));
    expect(records.map((r) => r.seq)).toEqual([6, 7, 8]);
    expect(records[0]!.prev_hash).toBe(stats.lastHash);
    expect(counting.applied).toBe(8);
    await store.close();
    expect(await verifyStore(dir)).toMatchObject({ ok: true, lastSeq: 8 });
  });

  it("removes a segment file it created for the failed group", async () => {
    const faults = faultyIo();
    const store = await openNdjsonStore({
      dir,
      logger: silentLogger,
      io: faults.io,
      segmentBytes: 1_000,
    });
    await store.append(items(1, 2));
    const before = await filesOf(dir);
    faults.fail("datasync");
    // Enough to spill into new segment files.
    await expect(store.append(items(3, 6))).rejects.toThrow(/nothing stored/);
    expect(await filesOf(dir)).toEqual(before);
    expect((await readdir(dir)).filter((n) => n.startsWith("segment-"))).toEqual([
      ...before.keys(),
    ]);
    faults.fail(null);
    await store.append(items(3, 6));
    await store.close();
    expect(await verifyStore(dir)).toMatchObject({ ok: true, lastSeq: 8 });
  });

  it("refuses further appends when the undo itself fails, and a restart repairs the files", async () => {
    const faults = faultyIo();
    const store = await openNdjsonStore({ dir, logger: silentLogger, io: faults.io });
    await store.append(items(1, 3));
    faults.fail("write-and-truncate");
    const failed = await store.append(items(4, 3)).catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(StoreFailedError);
    expect(String(failed)).toMatch(/could not undo a failed append/);
    faults.fail(null);
    await expect(store.append(items(4, 3))).rejects.toBeInstanceOf(StoreFailedError);
    // Reads still work.
    expect((await store.readAfter(0, 10)).length).toBe(3);
    await store.close();

    // Half of the group's bytes stayed: its one whole line was never acknowledged but is a valid
    // record, so it is kept (a retry dedupes it); the torn rest is cut off.
    const reopened = await openNdjsonStore({ dir, logger: silentLogger });
    expect(reopened.stats().lastSeq).toBe(4);
    expect(await reopened.append(items(4, 3))).toMatchObject({ ingested: 2, duplicates: 1 });
    await reopened.close();
    expect(await verifyStore(dir)).toMatchObject({ ok: true, lastSeq: 6 });
  });

  it("acknowledges a durable group whose projection throws, then refuses further appends", async () => {
    const failing: Projection = {
      name: "failing",
      apply(record: StoredRecord) {
        if (record.seq === 2) throw new Error("bug in projection");
      },
      snapshot: () => [],
      restore: () => undefined,
    };
    const store = await openNdjsonStore({ dir, logger: silentLogger, projections: [failing] });
    expect((await store.append(items(1, 3))).ingested).toBe(3);
    await expect(store.append(items(4, 1))).rejects.toThrow(/projection failing failed at seq 2/);
    await store.close();
    expect(await verifyStore(dir)).toMatchObject({ ok: true, lastSeq: 3 });
  });
});
