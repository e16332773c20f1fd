// The contract of the EventStore interface, run unchanged against every backend.
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { storeBackends } from "../../test/support/store/store-backends.ts";
import {
  CountingProjection,
  item,
  items,
  silentLogger,
} from "../../test/support/store/store-helpers.ts";
import { deriveCheckpointKey } from "./checkpoints/checkpoint-key.ts";
import { recordHash } from "./encode-record.ts";

const FIXED_NOW = new Date("2024-05-01T12:34:56.789Z");
const KEY = deriveCheckpointKey("contract-secret-0b7e");

/** Computed here from the documented message, not with the store's own function. */
function expectedMac(seq: number, hash: string): string {
  return createHmac("sha256", KEY)
    .update(`leviathan event store checkpoint v1\n${seq}\n${hash}`)
    .digest("hex");
}

describe.each(storeBackends())("the $name event store", (backend) => {
  const open = async (
    location: string,
    options: Parameters<typeof backend.open>[1] = {
      logger: silentLogger,
    },
  ) => backend.open(location, options);

  describe("append and read", () => {
    it("stores records with seq from 1, received_at in UTC and a hash chain from null", async () => {
      const location = await backend.fresh();
      const store = await open(location, { logger: silentLogger, now: () => FIXED_NOW });
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
      expect(await store.readAfter(0, 10)).toEqual(outcome.records);
      await store.refresh();
      expect(store.stats()).toMatchObject({ records: 3, lastSeq: 3, lastHash: third!.hash });
      await store.close();
      expect(await backend.verify(location)).toMatchObject({ ok: true, records: 3, lastSeq: 3 });
    });

    it("stores only the seed's five event fields", async () => {
      const store = await open(await backend.fresh());
      const extra = item(1);
      (extra.event as unknown as Record<string, unknown>).smuggled = "no";
      const { records } = await store.append([extra]);
      expect(Object.keys(records[0]!.event).sort()).toEqual([
        "actor_id",
        "event_id",
        "event_type",
        "payload",
        "timestamp",
      ]);
      expect((await store.readAfter(0, 10))[0]).toEqual(records[0]);
      await store.close();
    });

    it("pages with readAfter (after exclusive) and reads chosen seqs in the order asked", async () => {
      const store = await open(await backend.fresh());
      for (let i = 0; i < 5; i++) await store.append(items(i * 5 + 1, 5));
      const seen: number[] = [];
      let after = 0;
      for (;;) {
        const page = await store.readAfter(after, 10);
        if (page.length === 0) break;
        expect(page.length).toBeLessThanOrEqual(10);
        seen.push(...page.map((r) => r.seq));
        after = page.at(-1)!.seq;
      }
      expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
      expect(await store.readAfter(25, 10)).toEqual([]);
      expect(await store.readAfter(99, 10)).toEqual([]);
      expect(await store.readAfter(3, 0)).toEqual([]);
      const chosen = await store.readSeqs([20, 3, 4, 5, 0, 26, 1, 7]);
      expect(chosen.map((r) => r.seq)).toEqual([20, 3, 4, 5, 1, 7]);
      expect(chosen.map((r) => r.event.event_id)).toEqual(
        [20, 3, 4, 5, 1, 7].map((n) => `event-${n}`),
      );
      await store.close();
    });

    it("rejects a malformed item without storing anything of the call", async () => {
      const store = await open(await backend.fresh());
      await store.append(items(1, 2));
      const bad = item(3);
      (bad.event as unknown as Record<string, unknown>).payload = [1, 2];
      await expect(store.append([item(4), bad])).rejects.toThrow(/items\[1\]\.event\.payload/);
      await store.refresh();
      expect(store.stats().lastSeq).toBe(2);
      expect(store.hasEvent("event-4")).toBe(false);
      expect((await store.readAfter(0, 10)).map((r) => r.seq)).toEqual([1, 2]);
      await store.close();
    });

    it("rejects only the call whose payload cannot be serialised; its group goes on", async () => {
      const location = await backend.fresh();
      const store = await open(location);
      const results = await Promise.allSettled([
        store.append([item(1)]),
        store.append([item(2), item(3, { big: 10n })]),
        store.append([item(4), item(2)]),
      ]);
      expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
      // The rejected call left no trace: event-2 is new in the third call, seqs have no gap.
      expect((results[2] as PromiseFulfilledResult<{ ingested: number }>).value.ingested).toBe(2);
      expect((await store.readAfter(0, 10)).map((r) => r.event.event_id)).toEqual([
        "event-1",
        "event-4",
        "event-2",
      ]);
      await store.close();
      expect((await backend.verify(location)).ok).toBe(true);
    });
  });

  describe("group commit", () => {
    it("lets concurrent appends share commits, each acknowledged once durable", async () => {
      let commits = 0;
      let committedRecords = 0;
      const location = await backend.fresh();
      const store = await open(location, {
        logger: silentLogger,
        onFsync: (seconds, records) => {
          expect(seconds).toBeGreaterThanOrEqual(0);
          commits++;
          committedRecords += records;
        },
      });
      const outcomes = await Promise.all(
        Array.from({ length: 50 }, (_, i) => store.append([item(i + 1)])),
      );
      expect(outcomes.every((o) => o.ingested === 1)).toBe(true);
      const seqs = outcomes.map((o) => o.records[0]!.seq).sort((a, b) => a - b);
      expect(seqs).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      expect(commits).toBeLessThan(50);
      expect(committedRecords).toBe(50);
      await store.close();
      expect((await backend.verify(location)).ok).toBe(true);
    });
  });

  describe("dedupe by event_id", () => {
    it("stores an id once within a call (first wins) and counts repeats as duplicates", async () => {
      const store = await open(await backend.fresh());
      const outcome = await store.append([item("a", { v: 1 }), item("b"), item("a", { v: 2 })]);
      expect(outcome).toMatchObject({ ingested: 2, duplicates: 1 });
      const stored = await store.readAfter(0, 10);
      expect(stored.map((r) => r.event.event_id)).toEqual(["a", "b"]);
      expect(stored[0]!.event.payload.v).toBe(1);
      await store.close();
    });

    it("treats an id stored by an earlier call as a duplicate even when the content differs", async () => {
      const store = await open(await backend.fresh());
      await store.append([item("a", { v: 1 })]);
      const again = await store.append([item("a", { v: 2 }), item("c")]);
      expect(again).toMatchObject({ ingested: 1, duplicates: 1 });
      expect(again.records.map((r) => r.event.event_id)).toEqual(["c"]);
      await store.refresh();
      expect(store.hasEvent("a")).toBe(true);
      expect(store.hasEvent("zzz")).toBe(false);
      expect(store.seqOf("c")).toBe(2);
      expect(store.seqOf("zzz")).toBeUndefined();
      await store.close();
    });

    it("stores an id once when 16 concurrent calls carry it", async () => {
      const store = await open(await backend.fresh());
      const outcomes = await Promise.all(
        Array.from({ length: 16 }, (_, i) => store.append([item("same", { caller: i })])),
      );
      expect(outcomes.reduce((sum, o) => sum + o.ingested, 0)).toBe(1);
      expect(outcomes.reduce((sum, o) => sum + o.duplicates, 0)).toBe(15);
      expect((await store.readAfter(0, 100)).length).toBe(1);
      await store.close();
    });

    it("remembers ids across close and reopen", async () => {
      const location = await backend.fresh();
      const first = await open(location);
      await first.append(items(1, 20));
      await first.close();
      const second = await open(location);
      expect(second.hasEvent("event-20")).toBe(true);
      expect(await second.append([item(5), item(21)])).toMatchObject({
        ingested: 1,
        duplicates: 1,
      });
      await second.refresh();
      expect(second.stats().lastSeq).toBe(21);
      await second.close();
    });
  });

  describe("projections", () => {
    it("see every record once, in seq order, and are rebuilt to the same state on reopen", async () => {
      const location = await backend.fresh();
      const counting = new CountingProjection();
      const store = await open(location, { logger: silentLogger, projections: [counting] });
      await Promise.all(Array.from({ length: 10 }, (_, i) => store.append(items(i * 7 + 1, 7))));
      await store.append(items(1, 7));
      await store.refresh();
      expect(counting.applied).toBe(70);
      expect(counting.snapshot()[1]).toEqual({ seqSum: (70 * 71) / 2, lastSeq: 70 });
      await store.close();

      const rebuilt = new CountingProjection();
      const reopened = await open(location, { logger: silentLogger, projections: [rebuilt] });
      expect(rebuilt.snapshot()).toEqual(counting.snapshot());
      await reopened.close();
    });
  });

  describe("checkpoints", () => {
    it("are written every 1,000 records before the crossing append resolves, and at close", async () => {
      const location = await backend.fresh();
      const store = await open(location, { logger: silentLogger, checkpointKey: KEY });
      const hashes = new Map<number, string>();
      for (let from = 1; from <= 2_300; from += 100) {
        const { records } = await store.append(items(from, 100));
        for (const record of records) hashes.set(record.seq, record.hash);
        const due = Math.floor(records.at(-1)!.seq / 1_000) * 1_000;
        expect(store.checkpoint()?.seq ?? 0).toBe(due);
      }
      expect(store.checkpoint()).toEqual({
        seq: 2_000,
        hash: hashes.get(2_000),
        mac: expectedMac(2_000, hashes.get(2_000)!),
      });
      await store.close();

      const reopened = await open(location, { logger: silentLogger, checkpointKey: KEY });
      expect(reopened.checkpoint()).toEqual({
        seq: 2_300,
        hash: hashes.get(2_300),
        mac: expectedMac(2_300, hashes.get(2_300)!),
      });
      await reopened.close();
      const report = await backend.verify(location, KEY);
      expect(report).toMatchObject({ ok: true, lastSeq: 2_300 });
      expect(report.checkpoints?.checked).toBe(3);
    });

    it("under another key fail verification, and the store opens publishing none", async () => {
      const location = await backend.fresh();
      const store = await open(location, { logger: silentLogger, checkpointKey: KEY });
      await store.append(items(1, 5));
      await store.close();
      const other = deriveCheckpointKey("another-secret");
      expect(await backend.verify(location, other)).toMatchObject({
        ok: false,
        problem: { kind: "checkpoints" },
      });
      const reopened = await open(location, { logger: silentLogger, checkpointKey: other });
      expect(reopened.checkpoint()).toBeNull();
      await reopened.close();
    });
  });
});
