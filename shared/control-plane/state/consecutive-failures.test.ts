import { describe, expect, it } from "vitest";
import { attemptEvent, type EventSpec, stateAfter } from "../../../test/support/state-helpers.ts";

const fail = (id: string, more: Record<string, unknown> = {}) =>
  attemptEvent("failed", id, { reason: "executor_failed", ...more });
const succeed = (id: string, more: Record<string, unknown> = {}) =>
  attemptEvent("succeeded", id, more);
const reset = (target = "radix", timestamp = "2024-05-01T13:00:00Z"): EventSpec => ({
  type: "circuit.reset",
  target,
  timestamp,
});

describe("consecutive_failures counts failed attempts since the last success or circuit.reset", () => {
  const cases: Array<[string, EventSpec[], number, string | null]> = [
    ["none", [], 0, null],
    ["two failures", [fail("a"), fail("b")], 2, null],
    ["a success in between", [fail("a"), succeed("b"), fail("c")], 1, null],
    ["a success last", [fail("a"), fail("b"), succeed("c")], 0, null],
    ["a reset", [fail("a"), fail("b"), reset()], 0, "2024-05-01T13:00:00Z"],
    ["a failure after the reset", [fail("a"), reset(), fail("b")], 1, "2024-05-01T13:00:00Z"],
    ["platform failures count", [fail("a", { reason: "lost", failure_kind: "platform" })], 1, null],
    ["a late success of a failed attempt is ignored", [fail("a"), succeed("a")], 1, null],
    [
      "a late failure of a succeeded attempt is ignored",
      [fail("a"), succeed("b"), fail("b")],
      0,
      null,
    ],
    ["the same failure twice counts once", [fail("a"), fail("a")], 1, null],
    [
      "another target's failures and resets",
      [fail("a"), fail("x", { target: "other" }), reset("other")],
      1,
      null,
    ],
    [
      "terminal events count in seq order, not request order",
      [attemptEvent("requested", "a"), attemptEvent("requested", "b"), succeed("b"), fail("a")],
      1,
      null,
    ],
    [
      "the last reset's time",
      [reset("radix", "2024-05-01T13:00:00Z"), fail("a"), reset("radix", "2024-05-01T14:00:00Z")],
      0,
      "2024-05-01T14:00:00Z",
    ],
  ];
  it.each(cases)("%s", (_name, events, failures, lastReset) => {
    const state = stateAfter(events);
    expect(state.target("radix").consecutive_failures).toBe(failures);
    expect(state.target("radix").last_reset_at).toBe(lastReset);
    if (events.length > 0) {
      expect(state.summary().targets.radix?.consecutive_failures).toBe(failures);
      expect(state.summary().targets.radix?.last_reset_at).toBe(lastReset);
    }
  });
});
