import { describe, expect, it } from "vitest";
import { attemptEvent, type EventSpec, stateAfter } from "../../../test/support/state-helpers.ts";
import type { Summary } from "../types.ts";

const at = (minute: number) => `2024-05-01T12:${String(minute).padStart(2, "0")}:00Z`;

describe("recent_events: the last 20, newest first", () => {
  it("keeps only the last 20 and reads attempt_id from the payload", () => {
    const events: EventSpec[] = Array.from({ length: 25 }, (_, i) => ({
      type: i % 2 === 0 ? "attempt.requested" : "some.unknown",
      target: i % 3 === 0 ? "radix" : "other",
      timestamp: at(i),
      actor: `actor-${i}`,
      payload:
        i % 2 === 0 ? { attempt_id: `attempt-t${i}-1`, task_id: `t${i}` } : { attempt_id: i },
    }));
    const recent = stateAfter(events).summary().recent_events;
    expect(recent).toHaveLength(20);
    expect(recent[0]).toEqual({
      event_id: "ev-25",
      timestamp: at(24),
      event_type: "attempt.requested",
      actor_id: "actor-24",
      target: "radix",
      attempt_id: "attempt-t24-1",
    });
    // A numeric attempt_id is not an attempt id.
    expect(recent[1]).toEqual({
      event_id: "ev-24",
      timestamp: at(23),
      event_type: "some.unknown",
      actor_id: "actor-23",
      target: "other",
      attempt_id: null,
    });
    expect(recent.map((e) => e.event_id)).toEqual(
      Array.from({ length: 20 }, (_, i) => `ev-${25 - i}`),
    );
  });

  it("has fewer when fewer were applied, and none at the start", () => {
    expect(stateAfter([]).summary()).toEqual({
      nodes_by_type: {},
      edges_by_type: {},
      recent_events: [],
      targets: {},
    });
    const recent = stateAfter([{ type: "x.y" }, { type: "x.z" }]).summary().recent_events;
    expect(recent.map((e) => e.event_type)).toEqual(["x.z", "x.y"]);
  });
});

describe("a target's summary fields", () => {
  const cases: Array<[string, EventSpec[], Partial<Summary["targets"][string]>]> = [
    [
      "last_tick_at: scheduler.* (known or not) and attempt.requested only",
      [
        { type: "scheduler.skipped", timestamp: at(1), payload: { reason: "no_ready_task" } },
        { ...attemptEvent("requested", "a"), timestamp: at(2) },
        { ...attemptEvent("failed", "a"), timestamp: at(3) },
        { type: "task.blocked", timestamp: at(4), payload: { task_id: "t" } },
        { type: "circuit.reset", timestamp: at(5) },
      ],
      { last_tick_at: at(2), last_event_at: at(5), last_skip_reason: "no_ready_task" },
    ],
    [
      "an unknown scheduler.* event is a tick",
      [
        { type: "scheduler.decided", timestamp: at(7) },
        { type: "x.y", timestamp: at(8) },
      ],
      { last_tick_at: at(7), last_event_at: at(8), last_skip_reason: null },
    ],
    [
      "last_skip_reason: the last skip's; a skip without a string reason keeps it",
      [
        { type: "scheduler.skipped", payload: { reason: "max_open_prs" } },
        { type: "scheduler.skipped", payload: { reason: "circuit_open" } },
        { type: "scheduler.skipped", payload: { reason: 3 } },
      ],
      { last_skip_reason: "circuit_open" },
    ],
    [
      "last_event_at is the event's timestamp in seq order, even if earlier",
      [
        { type: "x.y", timestamp: at(9) },
        { type: "x.y", timestamp: at(1) },
      ],
      { last_event_at: at(1), last_tick_at: null },
    ],
    [
      "attempts_by_status: non-zero only",
      [
        attemptEvent("requested", "a"),
        attemptEvent("requested", "b"),
        attemptEvent("started", "b"),
        attemptEvent("failed", "c"),
        attemptEvent("requested", "d"),
        attemptEvent("succeeded", "d"),
      ],
      { attempts_by_status: { requested: 1, running: 1, failed: 1, succeeded: 1 } },
    ],
    [
      "a task named only by task.blocked is listed",
      [{ type: "task.blocked", payload: { task_id: "t9", attempts: 2 } }],
      {
        tasks: {
          t9: {
            attempts: 0,
            charged_attempts: 0,
            running: false,
            last_status: null,
            blocked: true,
          },
        },
        attempts_by_status: {},
      },
    ],
  ];
  it.each(cases)("%s", (_name, events, expected) => {
    expect(stateAfter(events).summary().targets.radix).toMatchObject(expected);
  });

  it("marks a task with attempts blocked without changing its counts", () => {
    const state = stateAfter([
      attemptEvent("requested", "a", { task: "t1" }),
      attemptEvent("failed", "a", { task: "t1" }),
      { type: "task.blocked", payload: { task_id: "t1", attempts: 1 } },
      { type: "task.blocked", payload: { task_id: "t1", attempts: 1 } },
    ]);
    expect(state.target("radix").tasks).toEqual({
      t1: {
        attempts: 1,
        charged_attempts: 1,
        running: false,
        last_status: "failed",
        blocked: true,
      },
    });
  });
});

describe("the graph's node and edge counts", () => {
  const cases: Array<[string, EventSpec[], Summary["nodes_by_type"], Summary["edges_by_type"]]> = [
    [
      "a skip names only its target",
      [{ type: "scheduler.skipped", payload: { reason: "x" } }],
      { Target: 1 },
      {},
    ],
    [
      "an unknown type names only its target",
      [{ type: "x.y", payload: { attempt_id: "a", task_id: "t", pr_url: "u" } }],
      { Target: 1 },
      {},
    ],
    [
      "one attempt, many events",
      [
        attemptEvent("requested", "a"),
        attemptEvent("started", "a"),
        attemptEvent("succeeded", "a"),
      ],
      { Target: 1, Task: 1, Attempt: 1 },
      { DEPENDS_ON: 2 },
    ],
    [
      "two attempts of one task, one of another target's task of the same id",
      [
        attemptEvent("requested", "a"),
        attemptEvent("requested", "b"),
        attemptEvent("requested", "c", { target: "other" }),
      ],
      { Target: 2, Task: 2, Attempt: 3 },
      { DEPENDS_ON: 5 },
    ],
    [
      "task.blocked names a task",
      [{ type: "task.blocked", payload: { task_id: "t" } }],
      { Target: 1, Task: 1 },
      { DEPENDS_ON: 1 },
    ],
    [
      "a PR: created and merged is one node and one edge",
      [
        attemptEvent("requested", "a"),
        { type: "pr.created", payload: { attempt_id: "a", task_id: "task-1", pr_url: "u1" } },
        { type: "pr.merged", payload: { attempt_id: "a", task_id: "task-1", pr_url: "u1" } },
      ],
      { Target: 1, Task: 1, Attempt: 1, PullRequest: 1 },
      { DEPENDS_ON: 2, PRODUCED: 1 },
    ],
    [
      "the same PR URL on two targets is two PRs",
      [
        { type: "pr.closed", payload: { pr_url: "u1" } },
        { type: "pr.closed", target: "other", payload: { pr_url: "u1" } },
      ],
      { Target: 2, PullRequest: 2 },
      {},
    ],
    [
      "a PR event names its attempt and task before any attempt event does",
      [{ type: "pr.created", payload: { attempt_id: "a", task_id: "t", pr_url: "u1" } }],
      { Target: 1, Task: 1, Attempt: 1, PullRequest: 1 },
      { DEPENDS_ON: 2, PRODUCED: 1 },
    ],
  ];
  it.each(cases)("%s", (_name, events, nodes, edges) => {
    const summary = stateAfter(events).summary();
    expect(summary.nodes_by_type).toEqual(nodes);
    expect(summary.edges_by_type).toEqual(edges);
  });
});
