// The fields a target's answers carry for the console and alerting: the tick's policy, the
// breaker judged by the tick's rule, each task's last failure and PRs, the newest attempts, and
// failures by bounded reason labels; kept the same through a snapshot.
import { describe, expect, it } from "vitest";
import {
  attemptEvent,
  type EventSpec,
  recordOf,
  savedParts,
  stateAfter,
} from "../../../test/support/state-helpers.ts";
import { createControlPlaneState } from "./create-control-plane-state.ts";
import { MAX_RECENT_ATTEMPTS } from "./model.ts";
import { MAX_ERROR_SUMMARY } from "./platform-failure.ts";

const decided = (cron: string, threshold: number): EventSpec => ({
  type: "scheduler.decided",
  payload: {
    tick_id: "t",
    decision: { action: "skip", reason: "no_ready_task" },
    schedule_cron: cron,
    circuit_breaker_failures: threshold,
  },
});

function failed(id: string, more: Record<string, unknown> = {}): EventSpec[] {
  return [attemptEvent("requested", id, { attempt_number: 1 }), attemptEvent("failed", id, more)];
}

describe("the tick's policy and the breaker", () => {
  it("is unknown until a tick records it, then the latest tick's stands", () => {
    expect(stateAfter(failed("a1")).target("radix")).toMatchObject({
      schedule_cron: null,
      circuit_breaker_failures: null,
      circuit_open: null,
    });
    const state = stateAfter([
      decided("*/5 * * * *", 3),
      {
        type: "scheduler.skipped",
        payload: {
          reason: "max_open_prs",
          schedule_cron: "0 * * * *",
          circuit_breaker_failures: 1,
        },
      },
      ...failed("a1"),
    ]);
    expect(state.target("radix")).toMatchObject({
      schedule_cron: "0 * * * *",
      circuit_breaker_failures: 1,
      circuit_open: true,
    });
    expect(state.summary().targets.radix).toMatchObject({
      schedule_cron: "0 * * * *",
      circuit_open: true,
    });
  });

  it("opens at consecutive_failures >= circuit_breaker_failures, and a reset closes it", () => {
    const state = createControlPlaneState();
    const apply = (specs: EventSpec[], from: number) => {
      for (const [i, spec] of specs.entries()) state.apply(recordOf(spec, from + i));
    };
    apply([decided("*/5 * * * *", 2), ...failed("a1")], 1);
    expect(state.target("radix").circuit_open).toBe(false);
    apply(failed("a2"), 4);
    expect(state.target("radix").circuit_open).toBe(true);
    apply([{ type: "circuit.reset" }], 6);
    expect(state.target("radix")).toMatchObject({ circuit_open: false, consecutive_failures: 0 });
  });

  it("ignores a threshold or schedule of the wrong type", () => {
    const state = stateAfter([
      { type: "scheduler.decided", payload: { schedule_cron: 5, circuit_breaker_failures: "2" } },
    ]);
    expect(state.target("radix")).toMatchObject({
      schedule_cron: null,
      circuit_breaker_failures: null,
    });
  });
});

describe("a task's detail and the newest attempts", () => {
  it("keeps the last failure's reason, kind and summary (cut), and the PRs of its attempts", () => {
    const long = "x".repeat(MAX_ERROR_SUMMARY + 100);
    const state = stateAfter([
      ...failed("a1", { reason: "executor_failed", error_summary: "first" }),
      ...failed("a2", { reason: "clone_failed", error_summary: long }),
      attemptEvent("requested", "a3", { attempt_number: 3 }),
      {
        type: "pr.created",
        payload: { attempt_id: "a3", task_id: "task-1", pr_url: "https://x/pull/1" },
      },
      attemptEvent("succeeded", "a3"),
    ]);
    const detail = state.target("radix").task_details["task-1"];
    expect(detail).toEqual({
      last_attempt_id: "a3",
      last_attempt_order: 2,
      last_failure: {
        attempt_id: "a2",
        reason: "clone_failed",
        failure_kind: "platform",
        error_summary: "x".repeat(MAX_ERROR_SUMMARY),
        at: expect.any(String),
      },
      pr_urls: ["https://x/pull/1"],
    });
  });

  it("lists the newest attempts first, at most MAX_RECENT_ATTEMPTS", () => {
    const specs = Array.from({ length: MAX_RECENT_ATTEMPTS + 5 }, (_, i) =>
      attemptEvent("requested", `a${i}`, { task: `t${i}`, attempt_number: 1 }),
    );
    const recent = stateAfter(specs).target("radix").recent_attempts;
    expect(recent).toHaveLength(MAX_RECENT_ATTEMPTS);
    expect(recent[0]).toEqual({
      attempt_id: `a${MAX_RECENT_ATTEMPTS + 4}`,
      task_id: `t${MAX_RECENT_ATTEMPTS + 4}`,
      attempt_number: 1,
      status: "requested",
      pr_url: null,
      platform_failure: false,
    });
    expect(recent.at(-1)?.attempt_id).toBe("a5");
  });
});

describe("failures by reason", () => {
  it("counts the platform's reasons by name and everything else as other or unknown", () => {
    const state = stateAfter([
      ...failed("a1", { reason: "timeout" }),
      ...failed("a2", { reason: "timeout" }),
      ...failed("a3", { reason: "made-up" }),
      ...failed("a4"),
    ]);
    expect(Object.fromEntries(state.failuresByReason().get("radix")!)).toEqual({
      timeout: 2,
      other: 1,
      unknown: 1,
    });
  });
});

describe("through a snapshot", () => {
  it("restores the same answers", () => {
    const specs: EventSpec[] = [
      decided("*/5 * * * *", 2),
      ...failed("a1", { reason: "executor_failed", error_summary: "boom" }),
      attemptEvent("requested", "a2", { attempt_number: 2 }),
      {
        type: "pr.created",
        payload: { attempt_id: "a2", task_id: "task-1", pr_url: "https://x/pull/2" },
      },
      { type: "task.blocked", payload: { task_id: "task-9" } },
    ];
    const live = stateAfter(specs);
    const restored = createControlPlaneState();
    restored.restore(savedParts(live));
    expect(JSON.stringify(restored.target("radix"))).toBe(JSON.stringify(live.target("radix")));
    expect(JSON.stringify(restored.summary())).toBe(JSON.stringify(live.summary()));
    expect([...restored.failuresByReason().get("radix")!]).toEqual([
      ...live.failuresByReason().get("radix")!,
    ]);
    expect(restored.blockedTasks().get("radix")).toBe(1);
  });
});
