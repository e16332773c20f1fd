import { describe, expect, it } from "vitest";
import { emptyTarget, runningAttempt, taskState } from "../../test/scheduler/fixtures.ts";
import type { AttemptSummary, TargetState } from "../control-plane/types.ts";
import { jobNameFor } from "../events/ids.ts";
import { parseEvent } from "../events/schema.ts";
import type { JobStatus } from "../jobs/types.ts";
import { applyReconciliation, planReconciliation } from "./reconcile-attempts.ts";

const ID = "attempt-t1-0badf00d";
const STARTED = "2025-01-01T00:00:00.000Z";
/** Deadline 900 s + 60 s grace after STARTED. */
const WITHIN = new Date("2025-01-01T00:16:00.000Z");
const PAST = new Date("2025-01-01T00:16:01.000Z");

function targetWith(attempt: Partial<AttemptSummary>): TargetState {
  const summary = runningAttempt({
    attempt_id: ID,
    task_id: "t1",
    requested_at: STARTED,
    started_at: STARTED,
    ...attempt,
  });
  return emptyTarget({
    tasks: {
      t1: taskState({
        attempts: 1,
        charged_attempts: 1,
        running: true,
        last_status: summary.status,
      }),
    },
    running_attempts: [ID],
    running_details: [summary],
  });
}

function job(phase: JobStatus["phase"], reason?: string): JobStatus {
  return { name: jobNameFor(ID), phase, attemptId: ID, ...(reason ? { reason } : {}) };
}

function plan(
  target: TargetState,
  jobs: JobStatus[] | "unavailable",
  now: Date,
): Array<[string, string] | undefined> {
  return planReconciliation({
    target,
    jobs,
    now,
    attemptTimeoutSeconds: 900,
    graceSeconds: 60,
  }).map((e) => [e.payload.reason as string, e.payload.failure_kind as string]);
}

describe("planReconciliation", () => {
  it.each<
    [string, Partial<AttemptSummary>, JobStatus[] | "unavailable", Date, Array<[string, string]>]
  >([
    ["running, within deadline, Job running", {}, [job("running")], WITHIN, []],
    [
      "running, past deadline + grace, Job running",
      {},
      [job("running")],
      PAST,
      [["timeout", "task"]],
    ],
    ["running, past deadline, Jobs unknown", {}, "unavailable", PAST, [["timeout", "task"]]],
    ["running, within deadline, Jobs unknown", {}, "unavailable", WITHIN, []],
    [
      "Job ended without reporting",
      {},
      [job("failed", "exit code 1")],
      WITHIN,
      [["lost", "platform"]],
    ],
    ["Job succeeded without reporting", {}, [job("succeeded")], WITHIN, [["lost", "platform"]]],
    [
      "Job killed at its deadline",
      {},
      [job("failed", "DeadlineExceeded")],
      WITHIN,
      [["timeout", "task"]],
    ],
    ["Job vanished", {}, [], WITHIN, [["lost", "platform"]]],
    ["Job reported missing", {}, [job("missing")], WITHIN, [["lost", "platform"]]],
    [
      "requested, no Job yet, within deadline",
      { status: "requested", started_at: null },
      [],
      WITHIN,
      [],
    ],
    [
      "requested, no Job, past deadline",
      { status: "requested", started_at: null },
      [],
      PAST,
      [["lost", "platform"]],
    ],
    [
      "created, no Job",
      { status: "created", started_at: null },
      [],
      WITHIN,
      [["lost", "platform"]],
    ],
    [
      "requested, Jobs unknown, past deadline",
      { status: "requested", started_at: null },
      "unavailable",
      PAST,
      [["timeout", "task"]],
    ],
  ])("%s → %j", (_name, attempt, jobs, now, expected) => {
    expect(plan(targetWith(attempt), jobs, now)).toEqual(expected);
  });

  it("measures the deadline from the start, not the request, once it started", () => {
    const lateStart = targetWith({
      requested_at: "2024-12-31T23:00:00.000Z",
      started_at: STARTED,
    });
    expect(plan(lateStart, "unavailable", WITHIN)).toEqual([]);
  });

  it("a Job of another attempt does not keep this one alive", () => {
    const other: JobStatus = { name: jobNameFor("attempt-t2-12345678"), phase: "running" };
    expect(plan(targetWith({}), [other], WITHIN)).toEqual([["lost", "platform"]]);
  });

  it("plans a schema-valid attempt.failed with the attempt's deterministic id", () => {
    const [event] = planReconciliation({
      target: targetWith({}),
      jobs: [job("failed", "exit code 137")],
      now: WITHIN,
      attemptTimeoutSeconds: 900,
      graceSeconds: 60,
    });
    expect(event).toEqual({
      event_id: `${ID}.attempt.failed`,
      event_type: "attempt.failed",
      timestamp: WITHIN.toISOString(),
      actor_id: "scheduler",
      payload: {
        attempt_id: ID,
        task_id: "t1",
        target_id: "radix",
        attempt_number: 1,
        reason: "lost",
        failure_kind: "platform",
        error_summary: `Job ${jobNameFor(ID)} ended (failed: exit code 137) without a terminal event`,
      },
    });
    expect(parseEvent(event)).toEqual(event);
  });

  it("says how long the attempt went without an end", () => {
    const [event] = planReconciliation({
      target: targetWith({}),
      jobs: "unavailable",
      now: PAST,
      attemptTimeoutSeconds: 900,
      graceSeconds: 60,
    });
    expect(event?.payload.error_summary).toBe(
      "no terminal event 961 s after it started (deadline 900 s + 60 s grace)",
    );
  });
});

describe("applyReconciliation", () => {
  it("ends the attempt as the control plane will: not running, failed, breaker counted", () => {
    const target = targetWith({});
    const failed = planReconciliation({
      target,
      jobs: "unavailable",
      now: PAST,
      attemptTimeoutSeconds: 900,
      graceSeconds: 60,
    });
    expect(applyReconciliation(target, failed)).toEqual({
      ...target,
      tasks: {
        t1: taskState({ attempts: 1, charged_attempts: 1, running: false, last_status: "failed" }),
      },
      running_attempts: [],
      running_details: [],
      consecutive_failures: 1,
    });
  });

  it("uncharges a platform failure", () => {
    const target = targetWith({});
    const failed = planReconciliation({
      target,
      jobs: [],
      now: WITHIN,
      attemptTimeoutSeconds: 900,
      graceSeconds: 60,
    });
    expect(applyReconciliation(target, failed).tasks.t1).toMatchObject({
      attempts: 1,
      charged_attempts: 0,
      running: false,
    });
  });

  it("leaves the state as it is when nothing was failed", () => {
    const target = targetWith({});
    expect(applyReconciliation(target, [])).toBe(target);
  });
});
