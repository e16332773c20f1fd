import { describe, expect, it } from "vitest";
import {
  type EventSpec,
  stateAfter,
  summaryContractOf,
  targetContractOf,
} from "../../../test/support/state-helpers.ts";
import type { Summary, TargetState } from "../types.ts";

// Two targets as a day of ticks would leave them: a success with a PR that is later merged, a
// task that fails (task failure, platform failure, then a timeout with a late success), a
// circuit reset, blocked tasks, skips, out-of-order and repeated events, and two attempts still
// running with a PR open. Every expected value below is worked out by hand from this stream.

const A1 = "attempt-task-1-0000000a";
const A2 = "attempt-task-2-0000000b";
const A3 = "attempt-task-2-0000000c";
const A4 = "attempt-task-2-0000000d";
const A5 = "attempt-task-4-0000000e";
const A6 = "attempt-task-5-0000000f";
const B1 = "attempt-task-a-000000b1";
const B2 = "attempt-task-a-000000b2";
const PR1 = "https://github.com/acme/radix/pull/1";
const PR2 = "https://github.com/acme/radix/pull/2";

type Row = [target: string, type: string, time: string, actor: string, payload: object];

function attempt(id: string, task: string, target: string, n: number, more: object = {}) {
  return { attempt_id: id, task_id: task, target_id: target, attempt_number: n, ...more };
}

// seq = row number (1-based); event_id = `ev-<seq>`.
// biome-ignore format: one event a line reads as the log it stands for
const ROWS: Row[] = [
  /* 1 */ ["radix", "scheduler.skipped", "12:00:00", "scheduler", { reason: "no_ready_task" }],
  /* 2 */ ["radix", "attempt.requested", "12:05:00", "scheduler", attempt(A1, "task-1", "radix", 1, { config: "radix.yaml" })],
  /* 3 */ ["radix", "attempt.created", "12:05:10", "worker", attempt(A1, "task-1", "radix", 1)],
  /* 4 */ ["radix", "attempt.started", "12:05:20", "job", attempt(A1, "task-1", "radix", 1)],
  /* 5 */ ["docs-site", "attempt.requested", "12:05:30", "scheduler", attempt(B1, "task-a", "docs-site", 1)],
  /* 6 */ ["radix", "pr.created", "12:06:00", "job", { attempt_id: A1, task_id: "task-1", pr_url: PR1, pr_number: 1, state: "open", branch_name: `agent/backlog-propose-${A1}` }],
  /* 7 */ ["radix", "attempt.succeeded", "12:06:10", "job", attempt(A1, "task-1", "radix", 1)],
  /* 8 */ ["docs-site", "attempt.created", "12:06:20", "worker", attempt(B1, "task-a", "docs-site", 1)],
  /* 9 */ ["docs-site", "attempt.started", "12:06:30", "job", attempt(B1, "task-a", "docs-site", 1)],
  /* 10 */ ["docs-site", "attempt.failed", "12:07:00", "job", attempt(B1, "task-a", "docs-site", 1, { reason: "push_failed", failure_kind: "platform" })],
  /* 11 */ ["radix", "attempt.requested", "12:10:00", "scheduler", attempt(A2, "task-2", "radix", 1)],
  /* 12 */ ["radix", "attempt.started", "12:10:20", "job", attempt(A2, "task-2", "radix", 1)],
  /* 13 */ ["radix", "attempt.failed", "12:11:00", "job", attempt(A2, "task-2", "radix", 1, { reason: "executor_failed", failure_kind: "task" })],
  /* 14 */ ["radix", "attempt.requested", "12:15:00", "scheduler", attempt(A3, "task-2", "radix", 2)],
  /* 15 */ ["radix", "attempt.created", "12:15:10", "worker", attempt(A3, "task-2", "radix", 2)],
  // No failure_kind: the reason's kind (platform) applies.
  /* 16 */ ["radix", "attempt.failed", "12:16:00", "job", attempt(A3, "task-2", "radix", 2, { reason: "clone_failed" })],
  // A repeat under another id after the end: changes nothing.
  /* 17 */ ["radix", "attempt.created", "12:16:05", "worker", attempt(A3, "task-2", "radix", 2)],
  /* 18 */ ["radix", "scheduler.skipped", "12:20:00", "scheduler", { reason: "circuit_open" }],
  /* 19 */ ["docs-site", "attempt.requested", "12:20:30", "scheduler", attempt(B2, "task-a", "docs-site", 2)],
  /* 20 */ ["docs-site", "attempt.started", "12:21:00", "job", attempt(B2, "task-a", "docs-site", 2)],
  /* 21 */ ["docs-site", "attempt.failed", "12:22:00", "job", attempt(B2, "task-a", "docs-site", 2, { reason: "scope_violation", paths: ["src/x.ts"] })],
  /* 22 */ ["radix", "circuit.reset", "12:25:00", "operator", {}],
  /* 23 */ ["radix", "attempt.requested", "12:30:00", "scheduler", attempt(A4, "task-2", "radix", 3)],
  // Out of order: started before created.
  /* 24 */ ["radix", "attempt.started", "12:30:30", "job", attempt(A4, "task-2", "radix", 3)],
  /* 25 */ ["radix", "attempt.created", "12:30:40", "worker", attempt(A4, "task-2", "radix", 3)],
  /* 26 */ ["radix", "pr.merged", "12:31:00", "scheduler", { pr_url: PR1, pr_number: 1, target_id: "radix", task_id: "task-1", attempt_id: A1 }],
  /* 27 */ ["radix", "task.blocked", "12:32:00", "scheduler", { task_id: "task-3", target_id: "radix", attempts: 2 }],
  /* 28 */ ["radix", "attempt.requested", "12:35:00", "scheduler", attempt(A5, "task-4", "radix", 1)],
  /* 29 */ ["docs-site", "scheduler.skipped", "12:35:30", "scheduler", { reason: "circuit_open" }],
  /* 30 */ ["radix", "attempt.requested", "12:40:00", "scheduler", attempt(A6, "task-5", "radix", 1)],
  /* 31 */ ["radix", "attempt.started", "12:41:00", "job", attempt(A6, "task-5", "radix", 1)],
  /* 32 */ ["radix", "pr.created", "12:45:00", "job", { attempt_id: A6, task_id: "task-5", pr_url: PR2, pr_number: 2 }],
  // The tick's reconciliation times A4 out; its own success arrives later and is ignored.
  /* 33 */ ["radix", "attempt.failed", "12:50:00", "scheduler", attempt(A4, "task-2", "radix", 3, { reason: "timeout", failure_kind: "task" })],
  /* 34 */ ["radix", "attempt.succeeded", "12:51:00", "job", attempt(A4, "task-2", "radix", 3)],
  // Unknown type: only recent events and last_event_at see it.
  /* 35 */ ["radix", "deploy.finished", "12:52:00", "ci", { attempt_id: A6, task_id: "task-9", pr_url: "https://x/pull/9" }],
  /* 36 */ ["radix", "task.blocked", "12:53:00", "scheduler", { task_id: "task-2", target_id: "radix", attempts: 2 }],
];

const STREAM: EventSpec[] = ROWS.map(([target, type, time, actor, payload]) => ({
  target,
  type,
  timestamp: `2024-05-01T${time}Z`,
  actor,
  payload: payload as Record<string, unknown>,
}));

const at = (time: string) => `2024-05-01T${time}Z`;

const RADIX_TASKS = {
  "task-1": {
    attempts: 1,
    charged_attempts: 1,
    running: false,
    last_status: "succeeded",
    blocked: false,
  },
  "task-2": {
    attempts: 3,
    charged_attempts: 2,
    running: false,
    last_status: "failed",
    blocked: true,
  },
  "task-3": { attempts: 0, charged_attempts: 0, running: false, last_status: null, blocked: true },
  "task-4": {
    attempts: 1,
    charged_attempts: 1,
    running: true,
    last_status: "requested",
    blocked: false,
  },
  "task-5": {
    attempts: 1,
    charged_attempts: 1,
    running: true,
    last_status: "running",
    blocked: false,
  },
} as const;

const EXPECTED_RADIX: TargetState = {
  target_id: "radix",
  tasks: RADIX_TASKS,
  running_attempts: [A5, A6],
  consecutive_failures: 1,
  last_reset_at: at("12:25:00"),
  running_details: [
    {
      attempt_id: A5,
      task_id: "task-4",
      attempt_number: 1,
      status: "requested",
      requested_at: at("12:35:00"),
      started_at: null,
      failure_reason: null,
    },
    {
      attempt_id: A6,
      task_id: "task-5",
      attempt_number: 1,
      status: "running",
      requested_at: at("12:40:00"),
      started_at: at("12:41:00"),
      failure_reason: null,
    },
  ],
  open_pull_requests: [{ pr_url: PR2, pr_number: 2, task_id: "task-5", attempt_id: A6 }],
};

const DOCS_TASKS = {
  "task-a": {
    attempts: 2,
    charged_attempts: 1,
    running: false,
    last_status: "failed",
    blocked: false,
  },
} as const;

const EXPECTED_DOCS: TargetState = {
  target_id: "docs-site",
  tasks: DOCS_TASKS,
  running_attempts: [],
  consecutive_failures: 2,
  last_reset_at: null,
  running_details: [],
  open_pull_requests: [],
};

type RecentRow = [
  seq: number,
  time: string,
  type: string,
  actor: string,
  target: string,
  attempt: string | null,
];
const RECENT: RecentRow[] = [
  [36, "12:53:00", "task.blocked", "scheduler", "radix", null],
  [35, "12:52:00", "deploy.finished", "ci", "radix", A6],
  [34, "12:51:00", "attempt.succeeded", "job", "radix", A4],
  [33, "12:50:00", "attempt.failed", "scheduler", "radix", A4],
  [32, "12:45:00", "pr.created", "job", "radix", A6],
  [31, "12:41:00", "attempt.started", "job", "radix", A6],
  [30, "12:40:00", "attempt.requested", "scheduler", "radix", A6],
  [29, "12:35:30", "scheduler.skipped", "scheduler", "docs-site", null],
  [28, "12:35:00", "attempt.requested", "scheduler", "radix", A5],
  [27, "12:32:00", "task.blocked", "scheduler", "radix", null],
  [26, "12:31:00", "pr.merged", "scheduler", "radix", A1],
  [25, "12:30:40", "attempt.created", "worker", "radix", A4],
  [24, "12:30:30", "attempt.started", "job", "radix", A4],
  [23, "12:30:00", "attempt.requested", "scheduler", "radix", A4],
  [22, "12:25:00", "circuit.reset", "operator", "radix", null],
  [21, "12:22:00", "attempt.failed", "job", "docs-site", B2],
  [20, "12:21:00", "attempt.started", "job", "docs-site", B2],
  [19, "12:20:30", "attempt.requested", "scheduler", "docs-site", B2],
  [18, "12:20:00", "scheduler.skipped", "scheduler", "radix", null],
  [17, "12:16:05", "attempt.created", "worker", "radix", A3],
];

const EXPECTED_SUMMARY: Summary = {
  nodes_by_type: { Target: 2, Task: 6, Attempt: 8, PullRequest: 2 },
  // 6 task→target + 8 attempt→task; A1→PR1 (created and merged: one edge) and A6→PR2.
  edges_by_type: { DEPENDS_ON: 14, PRODUCED: 2 },
  recent_events: RECENT.map(([seq, time, type, actor, target, attempt]) => ({
    event_id: `ev-${seq}`,
    timestamp: at(time),
    event_type: type,
    actor_id: actor,
    target,
    attempt_id: attempt,
  })),
  targets: {
    radix: {
      tasks: RADIX_TASKS,
      running_attempts: [A5, A6],
      consecutive_failures: 1,
      last_reset_at: at("12:25:00"),
      attempts_by_status: { requested: 1, running: 1, succeeded: 1, failed: 3 },
      open_prs: [PR2],
      last_event_at: at("12:53:00"),
      // The last scheduler.* or attempt.requested: A6's request (the later failure by the
      // scheduler and task.blocked are neither).
      last_tick_at: at("12:40:00"),
      last_skip_reason: "circuit_open",
    },
    "docs-site": {
      tasks: DOCS_TASKS,
      running_attempts: [],
      consecutive_failures: 2,
      last_reset_at: null,
      attempts_by_status: { failed: 2 },
      open_prs: [],
      last_event_at: at("12:35:30"),
      last_tick_at: at("12:35:30"),
      last_skip_reason: "circuit_open",
    },
  },
};

describe("a realistic stream of two targets", () => {
  const state = stateAfter(STREAM);

  it("answers GET /v1/targets/:target exactly", () => {
    expect(targetContractOf(state.target("radix"))).toStrictEqual(EXPECTED_RADIX);
    expect(targetContractOf(state.target("docs-site"))).toStrictEqual(EXPECTED_DOCS);
  });

  it("answers GET /v1/graph/summary exactly, targets in first-seen order", () => {
    const summary = state.summary();
    expect(summaryContractOf(summary)).toStrictEqual(EXPECTED_SUMMARY);
    expect(Object.keys(summary.targets)).toEqual(["radix", "docs-site"]);
    expect(Object.keys(summary.targets.radix!.tasks)).toEqual([
      "task-1",
      "task-2",
      "task-3",
      "task-4",
      "task-5",
    ]);
  });

  it("answers GET /v1/attempts/:id with the seq of every record about the attempt", () => {
    expect(state.attempt(A1)).toStrictEqual({
      attempt_id: A1,
      task_id: "task-1",
      target_id: "radix",
      attempt_number: 1,
      status: "succeeded",
      pr_url: PR1,
      platform_failure: false,
      seqs: [2, 3, 4, 6, 7, 26],
    });
    expect(state.attempt(A3)).toStrictEqual({
      attempt_id: A3,
      task_id: "task-2",
      target_id: "radix",
      attempt_number: 2,
      status: "failed",
      pr_url: null,
      // clone_failed: charged to the platform, not to task-2.
      platform_failure: true,
      seqs: [14, 15, 16, 17],
    });
    expect(state.attempt(A4)?.status).toBe("failed");
    expect(state.attempt(A4)?.seqs).toEqual([23, 24, 25, 33, 34]);
    // The unknown deploy.finished (seq 35) is not one of its records.
    expect(state.attempt(A6)?.seqs).toEqual([30, 31, 32]);
    expect(state.attempt(B1)?.target_id).toBe("docs-site");
    expect(state.attempt("attempt-nope-00000000")).toBeUndefined();
  });

  it("gives zeros and empty maps for a target with no events", () => {
    expect(targetContractOf(state.target("quiet"))).toStrictEqual({
      target_id: "quiet",
      tasks: {},
      running_attempts: [],
      consecutive_failures: 0,
      last_reset_at: null,
      running_details: [],
      open_pull_requests: [],
    });
  });

  it("serialises to the JSON the API returns", () => {
    expect(summaryContractOf(JSON.parse(JSON.stringify(state.summary())))).toStrictEqual(
      EXPECTED_SUMMARY,
    );
    expect(targetContractOf(JSON.parse(JSON.stringify(state.target("radix"))))).toStrictEqual(
      EXPECTED_RADIX,
    );
  });
});
