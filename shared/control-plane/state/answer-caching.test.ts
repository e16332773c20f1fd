import { describe, expect, it } from "vitest";
import { createControlPlaneState } from "./create-control-plane-state.ts";
import { attemptEvent, recordsOf } from "./state-test-helpers.ts";

describe("answers are cached, frozen and never change under a caller", () => {
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

  it("leaves an answer already handed out as it was", () => {
    const state = createControlPlaneState();
    state.apply(records[0]!);
    const before = state.target("radix");
    const summaryBefore = state.summary();
    state.apply(records[2]!);
    expect(before.tasks["task-1"]?.last_status).toBe("requested");
    expect(before.running_details[0]?.status).toBe("requested");
    expect(summaryBefore.recent_events).toHaveLength(1);
    expect(summaryBefore.targets.radix?.attempts_by_status).toEqual({ requested: 1 });
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
