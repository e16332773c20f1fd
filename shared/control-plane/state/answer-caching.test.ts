import { describe, expect, it } from "vitest";
import { attemptEvent, recordsOf } from "../../../test/support/state-helpers.ts";
import { createControlPlaneState } from "./create-control-plane-state.ts";

describe("answers are cached and shared", () => {
  const records = recordsOf([
    attemptEvent("requested", "a"),
    attemptEvent("requested", "b", { target: "other" }),
    attemptEvent("started", "a"),
  ]);

  it("returns the same answer until a record changes it", () => {
    const state = createControlPlaneState();
    state.apply(records[0]!);
    const summary = state.summary();
    const radix = state.target("radix");
    expect(state.summary()).toBe(summary);
    expect(state.target("radix")).toBe(radix);

    // Another target's record leaves this target's answer as it was.
    state.apply(records[1]!);
    expect(state.target("radix")).toBe(radix);
    expect(state.summary()).not.toBe(summary);
    expect(state.summary().targets.radix).toBe(summary.targets.radix);

    state.apply(records[2]!);
    expect(state.target("radix")).not.toBe(radix);
    expect(state.target("radix").tasks["task-1"]?.last_status).toBe("running");
  });

  it("keeps one tasks map per target and rewrites only the tasks that changed", () => {
    const state = createControlPlaneState();
    for (const record of recordsOf([
      attemptEvent("requested", "a1", { task: "t1" }),
      attemptEvent("requested", "a2", { task: "t2" }),
    ])) {
      state.apply(record);
    }
    const before = state.target("radix");
    const t1 = before.tasks.t1;
    const t2 = before.tasks.t2;
    for (const record of recordsOf(
      [
        attemptEvent("started", "a2", { task: "t2" }),
        attemptEvent("requested", "a0", { task: "t0" }),
      ],
      3,
    )) {
      state.apply(record);
    }
    const after = state.target("radix");
    expect(after).not.toBe(before);
    expect(after.tasks).toBe(before.tasks);
    expect(after.tasks.t1).toBe(t1);
    expect(after.tasks.t2).not.toBe(t2);
    expect(after.tasks.t2?.last_status).toBe("running");
    // A new task comes after the ones listed before it.
    expect(Object.keys(after.tasks)).toEqual(["t1", "t2", "t0"]);
    expect(state.summary().targets.radix?.tasks).toBe(after.tasks);
    // Everything else in an answer is its own: the earlier answer still lists what it saw.
    expect(before.running_details.map((d) => d.status)).toEqual(["requested", "requested"]);
  });

  it("throws on an attempt to change a shared answer", () => {
    const state = createControlPlaneState();
    for (const record of records) state.apply(record);
    const target = state.target("radix");
    expect(() => target.running_attempts.push("x")).toThrow(TypeError);
    expect(() => {
      target.tasks["task-1"]!.attempts = 9;
    }).toThrow(TypeError);
    expect(() => {
      state.summary().targets.radix!.open_prs.pop();
    }).toThrow(TypeError);
    // attempt() is built per call: the caller owns it.
    const meta = state.attempt("a")!;
    meta.seqs.push(99);
    expect(state.attempt("a")?.seqs).toEqual([1, 3]);
  });
});
