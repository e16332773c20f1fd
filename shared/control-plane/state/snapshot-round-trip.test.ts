import { describe, expect, it } from "vitest";
import { recordOf, savedParts } from "../../../test/support/state-helpers.ts";
import { seededRandom, syntheticEvents } from "../../../test/support/synthetic-stream.ts";
import type { StoredRecord } from "../../events/types.ts";
import { createControlPlaneState } from "./create-control-plane-state.ts";
import { PART_ENTRIES } from "./state-snapshot.ts";
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
    snapshot: [...state.snapshot()],
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
        const saved = savedParts(before);
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
    state.restore(savedParts(replay(records.slice(0, 300))));
    replay(records.slice(300), state);
    expect(everything(state, records)).toBe(everything(replay(records), records));
  });

  it("restores the empty state's snapshot to an empty state", () => {
    const state = replay(streamOf(5, 100));
    state.restore(savedParts(createControlPlaneState()));
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
  type Part = Record<string, unknown>;
  const good = savedParts(replay(records)) as Part[];
  const targetPart = (p: Part) => (p.target ?? {}) as Part;
  const firstTarget = good.findIndex((p) => "target" in p);
  const cases: Array<[string, (parts: Part[]) => unknown[], RegExp]> = [
    ["no parts", () => [], /it has no parts/],
    [
      "a part that is not an object",
      (p) => [p[0], [], ...p.slice(1)],
      /parts\[1\] must be an object/,
    ],
    // 3 is the version before the snapshot came in parts: replayed, not restored.
    [
      "an older version",
      (p) => [{ head: { ...(p[0]!.head as Part), version: 3 } }, ...p.slice(1)],
      /version 3 is not 4/,
    ],
    [
      "a later version",
      (p) => [{ head: { ...(p[0]!.head as Part), version: 5 } }, ...p.slice(1)],
      /version 5 is not 4/,
    ],
    ["a part of no known kind", (p) => [...p, { votes: [] }], /unknown kind votes/],
    ["a part with two kinds", (p) => [...p, { tasks: [], attempts: [] }], /exactly one key/],
    [
      "tasks before any target",
      (p) => [p[0], { tasks: [["t", 0, null, []]] }, ...p.slice(1)],
      /parts\[1\]\.tasks does not follow a target/,
    ],
    ["attempts that are not a list", (p) => [...p, { attempts: 5 }], /attempts must be a list/],
    [
      "an attempt with a bad status",
      (p) => [...p, { attempts: [["a", 0, "t", 1, "paused", 0, null, null, 0, null, []]] }],
      /attempts\[0\]\[4\] must be an attempt status/,
    ],
    [
      "an attempt naming no target",
      (p) => [...p, { attempts: [["a", 99, "t", 1, "failed", 0, null, null, 0, null, []]] }],
      /attempts\[0\]\[1\] names no target/,
    ],
    ["a target after the attempts", (p) => [...p, p[firstTarget]!], /target comes after attempts/],
    [
      "a running attempt it does not know",
      (p) =>
        p.map((part, i) =>
          i === firstTarget
            ? { target: { ...targetPart(part), running: ["attempt-nobody"] } }
            : part,
        ),
      /attempt-nobody is not a running attempt/,
    ],
    [
      "running attempts left out of the list",
      (p) =>
        p.map((part) =>
          "target" in part ? { target: { ...targetPart(part), running: [] } } : part,
        ),
      /lists 0 of target-\d+'s running attempts, not all/,
    ],
  ];
  it("has the parts the cases change", () => {
    expect(firstTarget).toBeGreaterThan(0);
    expect(good.some((p) => "attempts" in p)).toBe(true);
    expect(good.filter((p) => "target" in p).some((p) => targetPart(p).running !== undefined)).toBe(
      true,
    );
  });
  it.each(cases)("%s", (_name, corrupt, message) => {
    const state = replay(records.slice(0, 50));
    const before = JSON.stringify([...state.snapshot()]);
    expect(() => state.restore(corrupt(structuredClone(good)))).toThrow(message);
    expect(JSON.stringify([...state.snapshot()])).toBe(before);
  });
});

describe("the snapshot's parts", () => {
  it("are bounded, so a long history is never one text", () => {
    const records = streamOf(7, 15_000);
    const parts = savedParts(replay(records)) as Array<Record<string, unknown[]>>;
    const entries = (p: Record<string, unknown[]>) => (Object.values(p)[0] as unknown[]).length;
    const lists = parts.slice(1).filter((p) => !("target" in p));
    expect(lists.some((p) => entries(p) === PART_ENTRIES)).toBe(true);
    expect(Math.max(...lists.map(entries))).toBeLessThanOrEqual(PART_ENTRIES);
  });

  it("restore as well when read lazily, one at a time, as when handed over whole", () => {
    const records = streamOf(8, 1_000);
    const live = replay(records);
    const saved = savedParts(live);
    let read = 0;
    const lazily = {
      *[Symbol.iterator]() {
        for (const part of saved) {
          read += 1;
          yield part;
        }
      },
    };
    const restored = createControlPlaneState();
    restored.restore(lazily);
    expect(read).toBe(saved.length);
    expect(everything(restored, records)).toBe(everything(live, records));
  });
});
