import { describe, expect, it } from "vitest";
import { attemptEvent, type EventSpec, stateAfter } from "../../../test/support/state-helpers.ts";
import type { AttemptStatus } from "../../events/types.ts";

function run(id: string, type: string, attemptNumber?: number): EventSpec {
  return attemptEvent(
    type,
    id,
    attemptNumber === undefined ? {} : { attempt_number: attemptNumber },
  );
}

describe("last_status is the status of the task's attempt with the highest attempt_number", () => {
  const cases: Array<[string, EventSpec[], AttemptStatus | null]> = [
    ["#1 succeeded, #2 failed", [run("a", "succeeded", 1), run("b", "failed", 2)], "failed"],
    ["#2 seen first, #1 seen later", [run("b", "failed", 2), run("a", "requested", 1)], "failed"],
    [
      "the last attempt's status moves on",
      [run("a", "failed", 1), run("b", "requested", 2), run("b", "started", 2)],
      "running",
    ],
    [
      "an earlier attempt ending does not change it",
      [run("b", "requested", 2), run("a", "succeeded", 1)],
      "requested",
    ],
    [
      "numbers unknown: the latest first-seen",
      [run("a", "succeeded"), run("b", "requested"), run("a", "failed")],
      "requested",
    ],
    ["a tie: the latest first-seen", [run("a", "succeeded", 2), run("b", "failed", 2)], "failed"],
    [
      "a known number beats an unknown one",
      [run("a", "succeeded", 1), run("b", "failed")],
      "succeeded",
    ],
    [
      "a number learned later counts",
      [run("a", "failed"), run("b", "requested", 1), run("a", "failed", 5)],
      "failed",
    ],
    [
      "the first number given wins",
      [run("a", "failed", 3), run("b", "requested", 2), run("a", "failed", 1)],
      "failed",
    ],
    [
      "a number of the wrong type is unknown",
      [run("a", "succeeded", 1), attemptEvent("requested", "b", { attempt_number: "2" })],
      "succeeded",
    ],
    [
      "no attempts, only task.blocked",
      [{ type: "task.blocked", payload: { task_id: "task-1" } }],
      null,
    ],
  ];
  it.each(cases)("%s", (_name, events, expected) => {
    expect(stateAfter(events).target("radix").tasks["task-1"]?.last_status).toBe(expected);
  });
});
