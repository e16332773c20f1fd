import { describe, expect, it } from "vitest";
import { recordOf } from "../../../test/support/state-helpers.ts";
import { seededRandom, syntheticEvents } from "../../../test/support/synthetic-stream.ts";
import type { StoredRecord } from "../../events/types.ts";
import { createControlPlaneState } from "./create-control-plane-state.ts";
import type { ControlPlaneState } from "./types.ts";

function streamOf(seed: number, events: number): StoredRecord[] {
  const specs = [...syntheticEvents({ seed, events, targets: 4, live: 12, chaos: true })];
  return specs.map((spec, i) => recordOf(spec, i + 1));
}

function replay(records: readonly StoredRecord[], into = createControlPlaneState()) {
  for (const record of records) into.apply(record);
  return into;
}

/** Every answer, as the API serialises it (key order included), plus the state itself. */
function everything(state: ControlPlaneState, records: readonly StoredRecord[]): string {
  const targets = [...new Set(records.map((r) => r.target))];
  const attemptIds = [
    ...new Set(
      records.map((r) => r.event.payload.attempt_id).filter((id) => typeof id === "string"),
    ),
  ] as string[];
  return JSON.stringify({
    summary: state.summary(),
    targets: targets.map((t) => state.target(t)),
    attempts: attemptIds.map((id) => state.attempt(id) ?? null),
    snapshot: state.snapshot(),
  });
}

describe("restore(snapshot()) then the rest equals replaying everything", () => {
  for (const seed of [1, 2, 3]) {
    it(`at random cut points of a chaotic stream (seed ${seed})`, () => {
      const records = streamOf(seed, 2_000);
      const full = everything(replay(records), records);
      const random = seededRandom(seed * 7919);
      const cuts = [
        0,
        records.length,
        ...Array.from({ length: 10 }, () => Math.floor(random() * records.length)),
      ];
      for (const cut of cuts) {
        const before = replay(records.slice(0, cut));
        // Through JSON, as the store writes it to disk.
        const saved: unknown = JSON.parse(JSON.stringify(before.snapshot()));
        const after = createControlPlaneState();
        after.restore(saved);
        replay(records.slice(cut), after);
        expect(everything(after, records), `cut at ${cut}`).toBe(full);
      }
    });
  }

  it("exercises what it claims to: the stream has every kind of state", () => {
    const records = streamOf(1, 2_000);
    const summary = replay(records).summary();
    const statuses = new Set(
      Object.values(summary.targets).flatMap((t) => Object.keys(t.attempts_by_status)),
    );
    expect([...statuses].sort()).toEqual([
      "created",
      "failed",
      "requested",
      "running",
      "succeeded",
    ]);
    expect(Object.values(summary.targets).some((t) => t.open_prs.length > 0)).toBe(true);
    expect(Object.values(summary.targets).some((t) => t.last_reset_at !== null)).toBe(true);
    const tasks = Object.values(summary.targets).flatMap((t) => Object.values(t.tasks));
    expect(tasks.some((t) => t.blocked)).toBe(true);
    expect(tasks.some((t) => t.charged_attempts < t.attempts)).toBe(true);
    expect(summary.edges_by_type.PRODUCED).toBeGreaterThan(0);
  });

  it("replaces the state it had, rather than adding to it", () => {
    const records = streamOf(4, 600);
    const state = replay(records.slice(300));
    state.restore(JSON.parse(JSON.stringify(replay(records.slice(0, 300)).snapshot())));
    replay(records.slice(300), state);
    expect(everything(state, records)).toBe(everything(replay(records), records));
  });

  it("restores the empty state's snapshot to an empty state", () => {
    const state = replay(streamOf(5, 100));
    state.restore(JSON.parse(JSON.stringify(createControlPlaneState().snapshot())));
    expect(state.summary()).toEqual({
      nodes_by_type: {},
      edges_by_type: {},
      recent_events: [],
      targets: {},
    });
  });
});

describe("restore refuses a snapshot it cannot use, and keeps its state", () => {
  const records = streamOf(6, 400);
  const good = JSON.parse(JSON.stringify(replay(records).snapshot())) as Record<string, unknown>;
  const cases: Array<[string, (s: Record<string, unknown>) => unknown, RegExp]> = [
    ["not an object", () => [], /snapshot must be an object/],
    // 2 is the version before targets kept the tick's policy: replayed, not restored.
    ["an older version", (s) => ({ ...s, version: 2 }), /version 2 is not 3/],
    ["a later version", (s) => ({ ...s, version: 4 }), /version 4 is not 3/],
    ["attempts missing", (s) => ({ ...s, attempts: undefined }), /attempts must be a list/],
    [
      "an attempt with a bad status",
      (s) => ({ ...s, attempts: [["a", 0, "t", 1, "paused", 0, null, null, 0, null, []]] }),
      /attempts\[0\]\[4\] must be an attempt status/,
    ],
    [
      "a running attempt it does not know",
      (s) => ({
        ...s,
        targets: (s.targets as Array<Record<string, unknown>>).map((t, i) =>
          i === 0 ? { ...t, running: ["attempt-nobody"] } : t,
        ),
      }),
      /attempt-nobody is not a running attempt/,
    ],
    [
      "running attempts left out of the list",
      (s) => ({
        ...s,
        targets: (s.targets as Array<Record<string, unknown>>).map((t) => ({ ...t, running: [] })),
      }),
      /lists 0 of target-\d+'s running attempts, not all/,
    ],
  ];
  it.each(cases)("%s", (_name, corrupt, message) => {
    const state = replay(records.slice(0, 50));
    const before = JSON.stringify(state.snapshot());
    expect(() => state.restore(corrupt(structuredClone(good)))).toThrow(message);
    expect(JSON.stringify(state.snapshot())).toBe(before);
  });
});
