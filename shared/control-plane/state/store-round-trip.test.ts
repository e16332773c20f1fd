import { afterEach, describe, expect, it } from "vitest";
import { makeTempDir, silentLogger } from "../../../test/support/store/store-helpers.ts";
import { syntheticEvents } from "../../../test/support/synthetic-stream.ts";
import type { StoredRecord } from "../../events/types.ts";
import { openNdjsonStore } from "../../store/ndjson/open-ndjson-store.ts";
import type { AppendItem, Projection } from "../../store/types.ts";
import { createControlPlaneState } from "./create-control-plane-state.ts";
import type { ControlPlaneState } from "./types.ts";

/** Counts the records the store replays into the state, to tell a restore from a rescan. */
function counting(state: ControlPlaneState): Projection & { applied: number } {
  return {
    name: state.name,
    applied: 0,
    apply(record: StoredRecord) {
      this.applied += 1;
      state.apply(record);
    },
    snapshot: () => state.snapshot(),
    restore: (parts: Iterable<unknown>) => state.restore(parts),
  };
}

function answers(state: ControlPlaneState, targets: string[]): string {
  return JSON.stringify({ summary: state.summary(), targets: targets.map((t) => state.target(t)) });
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

describe("the state inside the real NDJSON event store", () => {
  it("survives a restart through the store's snapshot and then keeps up", async () => {
    const { dir, cleanup } = await makeTempDir();
    cleanups.push(cleanup);
    const items: AppendItem[] = [
      ...syntheticEvents({ seed: 11, events: 1_500, targets: 3, live: 8, chaos: true }),
    ].map((spec, i) => ({
      target: spec.target ?? "radix",
      event: {
        event_id: `ev-${i}`,
        event_type: spec.type,
        timestamp: spec.timestamp ?? "2024-05-01T00:00:00Z",
        actor_id: spec.actor ?? "test",
        payload: spec.payload ?? {},
      },
    }));
    const targets = [...new Set(items.map((i) => i.target))];

    const first = createControlPlaneState();
    const writer = await openNdjsonStore({ dir, logger: silentLogger, projections: [first] });
    for (let i = 0; i < 1_000; i += 100) await writer.append(items.slice(i, i + 100));
    // A repeated event id is a duplicate: the store does not hand it to projections again.
    await writer.append(items.slice(0, 10));
    await writer.close();

    const reopenedState = createControlPlaneState();
    const second = counting(reopenedState);
    const reopened = await openNdjsonStore({ dir, logger: silentLogger, projections: [second] });
    // Restored from the snapshot written at close, not rebuilt record by record.
    expect(second.applied).toBe(0);
    expect(answers(reopenedState, targets)).toBe(answers(first, targets));

    await reopened.append(items.slice(1_000));
    expect(second.applied).toBe(500);
    const all = await reopened.readAfter(0, 10_000);
    expect(all).toHaveLength(1_500);
    const replayed = createControlPlaneState();
    for (const record of all) replayed.apply(record);
    expect(answers(reopenedState, targets)).toBe(answers(replayed, targets));

    // The attempt view's seqs are the records the server reads from the store.
    const last = all.findLast((r) => r.event.event_type === "attempt.succeeded");
    const attemptId = String(last?.event.payload.attempt_id);
    const meta = reopenedState.attempt(attemptId);
    expect(meta?.status).toBe("succeeded");
    const read = await reopened.readSeqs(meta?.seqs ?? []);
    expect(read.length).toBeGreaterThanOrEqual(3);
    expect(read.map((r) => r.seq)).toEqual(meta?.seqs);
    expect(read.every((r) => r.event.payload.attempt_id === attemptId)).toBe(true);
    await reopened.close();
  });

  it("replays a version 1 snapshot, whose attempts lack their artifacts, instead of restoring it", async () => {
    const { dir, cleanup } = await makeTempDir();
    cleanups.push(cleanup);
    const event = (id: string, type: string, extra: Record<string, unknown> = {}) => ({
      target: "radix",
      event: {
        event_id: id,
        event_type: type,
        timestamp: "2024-05-01T00:00:00Z",
        actor_id: "test",
        payload: { attempt_id: "a", task_id: "t", ...extra },
      },
    });
    const old = createControlPlaneState();
    // What the code before artifacts were an attempt's records would write: version 1, no
    // artifact seq (in today's parts, so only the version tells it apart).
    const asBefore: Projection = {
      name: old.name,
      apply: (record) => old.apply(record),
      snapshot: () =>
        Array.from(old.snapshot() as Iterable<Record<string, unknown>>, (part) => {
          if ("head" in part) return { head: { ...(part.head as object), version: 1 } };
          if (!("attempts" in part)) return part;
          return { attempts: (part.attempts as unknown[][]).map((a) => [...a.slice(0, 10), [1]]) };
        }),
      restore: (saved) => old.restore(saved),
    };
    const writer = await openNdjsonStore({ dir, logger: silentLogger, projections: [asBefore] });
    await writer.append([
      event("e1", "attempt.started"),
      event("e2", "artifact.created", { sha256: "a".repeat(64), kind: "log", uri: "u", size: 1 }),
    ]);
    await writer.close();

    const state = createControlPlaneState();
    const counted = counting(state);
    const reopened = await openNdjsonStore({ dir, logger: silentLogger, projections: [counted] });
    expect(counted.applied).toBe(2);
    expect(state.attempt("a")?.seqs).toEqual([1, 2]);
    await reopened.close();
  });
});
