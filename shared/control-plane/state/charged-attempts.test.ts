import { describe, expect, it } from "vitest";
import { attemptEvent, stateAfter } from "../../../test/support/state-helpers.ts";
import { isPlatformFailure } from "./platform-failure.ts";

describe("charged_attempts leaves out platform failures", () => {
  const cases: Array<[string, Record<string, unknown>, boolean]> = [
    ["a task failure", { reason: "executor_failed", failure_kind: "task" }, false],
    ["a timeout (reason only)", { reason: "timeout" }, false],
    ["clone_failed (reason only)", { reason: "clone_failed" }, true],
    ["lost, said so", { reason: "lost", failure_kind: "platform" }, true],
    ["failure_kind wins over the reason", { reason: "lost", failure_kind: "task" }, false],
    ["failure_kind alone", { failure_kind: "platform" }, true],
    ["nothing said: charged", {}, false],
    ["an unknown reason: charged", { reason: "cosmic_rays" }, false],
    [
      "a failure_kind of the wrong type falls back to the reason",
      { reason: "push_failed", failure_kind: 7 },
      true,
    ],
    [
      "an unknown failure_kind falls back to the reason",
      { reason: "pr_failed", failure_kind: "weird" },
      true,
    ],
    ["a reason of the wrong type: charged", { reason: 42 }, false],
  ];

  it.each(cases)("%s", (_name, failure, platform) => {
    expect(isPlatformFailure(failure)).toBe(platform);
    const A = "attempt-task-1-00000001";
    const state = stateAfter([
      attemptEvent("requested", A, { attempt_number: 1 }),
      attemptEvent("failed", A, { attempt_number: 1, ...failure }),
      // A late success after the failure changes nothing, charged or not.
      attemptEvent("succeeded", A, { attempt_number: 1 }),
    ]);
    expect(state.target("radix").tasks["task-1"]).toEqual({
      attempts: 1,
      charged_attempts: platform ? 0 : 1,
      running: false,
      last_status: "failed",
      blocked: false,
    });
    // Either way the breaker counts it.
    expect(state.target("radix").consecutive_failures).toBe(1);
  });

  it("counts succeeded and running attempts as charged, and every attempt once", () => {
    const state = stateAfter([
      attemptEvent("requested", "a1", { attempt_number: 1 }),
      attemptEvent("failed", "a1", { reason: "lost" }),
      attemptEvent("requested", "a2", { attempt_number: 2 }),
      attemptEvent("failed", "a2", { reason: "timeout" }),
      attemptEvent("requested", "a3", { attempt_number: 3 }),
      attemptEvent("started", "a3"),
      attemptEvent("started", "a3"),
      attemptEvent("requested", "a4", { attempt_number: 4, task: "task-2" }),
      attemptEvent("succeeded", "a4", { task: "task-2" }),
    ]);
    expect(state.target("radix").tasks).toEqual({
      "task-1": {
        attempts: 3,
        charged_attempts: 2,
        running: true,
        last_status: "running",
        blocked: false,
      },
      "task-2": {
        attempts: 1,
        charged_attempts: 1,
        running: false,
        last_status: "succeeded",
        blocked: false,
      },
    });
  });
});
