import { describe, expect, it } from "vitest";
import { attemptEvent, stateAfter } from "../../../test/support/state-helpers.ts";
import type { AttemptStatus } from "../../events/types.ts";
import { advanceStatus } from "./attempt-status.ts";

describe("advanceStatus: status only moves forward, the first terminal event wins", () => {
  const cases: Array<[AttemptStatus | null, AttemptStatus, AttemptStatus]> = [
    [null, "created", "created"],
    [null, "failed", "failed"],
    ["requested", "created", "created"],
    ["requested", "running", "running"],
    ["created", "requested", "created"],
    ["running", "created", "running"],
    ["running", "requested", "running"],
    ["running", "running", "running"],
    ["requested", "succeeded", "succeeded"],
    ["created", "failed", "failed"],
    ["failed", "succeeded", "failed"],
    ["succeeded", "failed", "succeeded"],
    ["failed", "running", "failed"],
    ["succeeded", "requested", "succeeded"],
  ];
  it.each(cases)("%s + %s → %s", (current, announced, expected) => {
    expect(advanceStatus(current, announced)).toBe(expected);
  });
});

describe("an attempt's status and running flag from its events, in any order", () => {
  const A = "attempt-task-1-00000001";
  const cases: Array<[string, string[], AttemptStatus, boolean]> = [
    ["requested only", ["requested"], "requested", true],
    ["requested, created", ["requested", "created"], "created", true],
    ["the normal run", ["requested", "created", "started"], "running", true],
    ["started before created", ["requested", "started", "created"], "running", true],
    ["started before requested", ["started", "requested"], "running", true],
    ["created repeated", ["requested", "created", "created"], "created", true],
    ["succeeded", ["requested", "created", "started", "succeeded"], "succeeded", false],
    [
      "a late success after a timeout",
      ["requested", "started", "failed", "succeeded"],
      "failed",
      false,
    ],
    ["a late failure after a success", ["requested", "succeeded", "failed"], "succeeded", false],
    ["started after the end", ["requested", "failed", "started"], "failed", false],
    ["only a terminal event", ["succeeded"], "succeeded", false],
  ];
  it.each(cases)("%s", (_name, types, status, running) => {
    const state = stateAfter(types.map((type) => attemptEvent(type, A, { attempt_number: 1 })));
    expect(state.attempt(A)?.status).toBe(status);
    const target = state.target("radix");
    expect(target.running_attempts).toEqual(running ? [A] : []);
    expect(target.tasks["task-1"]).toMatchObject({ attempts: 1, running, last_status: status });
    expect(state.summary().targets.radix?.attempts_by_status).toEqual({ [status]: 1 });
  });

  it("keeps the first attempt.started time and drops times once the attempt ended", () => {
    const state = stateAfter([
      { ...attemptEvent("requested", A), timestamp: "2024-05-01T10:00:00Z" },
      { ...attemptEvent("started", A), timestamp: "2024-05-01T10:01:00Z" },
      { ...attemptEvent("started", A), timestamp: "2024-05-01T10:02:00Z" },
    ]);
    expect(state.target("radix").running_details).toEqual([
      {
        attempt_id: A,
        task_id: "task-1",
        attempt_number: null,
        status: "running",
        requested_at: "2024-05-01T10:00:00Z",
        started_at: "2024-05-01T10:01:00Z",
        failure_reason: null,
      },
    ]);
  });

  it("takes requested_at from the attempt's first event, whatever its type", () => {
    const state = stateAfter([
      { ...attemptEvent("created", A), timestamp: "2024-05-01T09:00:00Z" },
      { ...attemptEvent("requested", A), timestamp: "2024-05-01T08:59:00Z" },
    ]);
    expect(state.target("radix").running_details[0]?.requested_at).toBe("2024-05-01T09:00:00Z");
  });

  it("lists running attempts in first-seen order and drops each as it ends", () => {
    const [a, b, c] = ["attempt-a-1", "attempt-b-1", "attempt-c-1"];
    const state = stateAfter([
      attemptEvent("requested", a!, { task: "a" }),
      attemptEvent("requested", b!, { task: "b" }),
      attemptEvent("requested", c!, { task: "c" }),
      attemptEvent("started", c!, { task: "c" }),
      attemptEvent("started", a!, { task: "a" }),
      attemptEvent("succeeded", b!, { task: "b" }),
    ]);
    expect(state.target("radix").running_attempts).toEqual([a, c]);
    expect(state.target("radix").running_details.map((d) => d.status)).toEqual([
      "running",
      "running",
    ]);
  });
});
