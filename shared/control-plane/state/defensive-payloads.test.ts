import { describe, expect, it } from "vitest";
import {
  attemptEvent,
  type EventSpec,
  recordsOf,
  stateAfter,
} from "../../../test/support/state-helpers.ts";
import { createControlPlaneState } from "./create-control-plane-state.ts";

describe("a payload field of the wrong type is ignored, never a crash", () => {
  const ignoredAttemptEvents: Array<[string, Record<string, unknown>]> = [
    ["attempt_id a number", { attempt_id: 7, task_id: "t" }],
    ["attempt_id empty", { attempt_id: "", task_id: "t" }],
    ["attempt_id an object", { attempt_id: { id: "a" }, task_id: "t" }],
    ["attempt_id missing", { task_id: "t" }],
  ];
  it.each(ignoredAttemptEvents)("%s: the event changes no attempt or task", (_name, payload) => {
    const state = stateAfter([
      { type: "attempt.requested", payload, timestamp: "2024-05-01T01:00:00Z" },
    ]);
    expect(state.target("radix")).toMatchObject({ tasks: {}, running_attempts: [] });
    expect(state.summary().nodes_by_type).toEqual({ Target: 1 });
    expect(state.summary().targets.radix?.last_event_at).toBe("2024-05-01T01:00:00Z");
    // Still an attempt.requested: the scheduler was there.
    expect(state.summary().targets.radix?.last_tick_at).toBe("2024-05-01T01:00:00Z");
  });

  const badNumbers: unknown[] = [0, -1, 1.5, "2", null, Number.NaN, 2 ** 60];
  it.each(badNumbers)("attempt_number %s reads as unknown", (value) => {
    const state = stateAfter([attemptEvent("requested", "a", { attempt_number: value })]);
    expect(state.attempt("a")?.attempt_number).toBeNull();
    expect(state.target("radix").running_details[0]?.attempt_number).toBeNull();
  });

  it("survives payloads that are not objects", () => {
    const state = createControlPlaneState();
    const [a, b, c] = recordsOf([
      { type: "attempt.requested" },
      { type: "pr.created" },
      { type: "task.blocked" },
    ]);
    for (const [record, payload] of [
      [a!, null],
      [b!, ["attempt_id", "x"]],
      [c!, "task_id"],
    ] as const) {
      state.apply({ ...record, event: { ...record.event, payload: payload as never } });
    }
    expect(state.target("radix").tasks).toEqual({});
    expect(state.summary().recent_events).toHaveLength(3);
  });

  it("survives event types that are names of Object.prototype members", () => {
    const state = stateAfter([
      { type: "toString" },
      { type: "constructor" },
      { type: "__proto__" },
    ]);
    expect(state.summary().nodes_by_type).toEqual({ Target: 1 });
  });

  it("lists a task whose id is __proto__ as a task, not as a prototype", () => {
    const state = stateAfter([
      attemptEvent("requested", "a", { task: "__proto__" }),
      { type: "task.blocked", payload: { task_id: "__proto__" } },
    ]);
    const tasks = state.target("radix").tasks;
    expect(Object.getPrototypeOf(tasks)).toBe(Object.prototype);
    expect(Object.keys(tasks)).toEqual(["__proto__"]);
    expect(Object.getOwnPropertyDescriptor(tasks, "__proto__")?.value).toMatchObject({
      attempts: 1,
      blocked: true,
    });
    expect(JSON.parse(JSON.stringify(tasks))).toEqual(
      JSON.parse(
        '{"__proto__":{"attempts":1,"charged_attempts":1,"running":true,"last_status":"requested","blocked":true}}',
      ),
    );
  });

  it("ignores task.blocked without a string task_id, and a circuit.reset payload", () => {
    const state = stateAfter([
      attemptEvent("failed", "a"),
      { type: "task.blocked", payload: { task_id: 5 } },
      { type: "circuit.reset", payload: { consecutive_failures: 9, by: ["x"] } },
    ]);
    expect(Object.keys(state.target("radix").tasks)).toEqual(["task-1"]);
    expect(state.target("radix").consecutive_failures).toBe(0);
  });
});

describe("an attempt's task and target", () => {
  it("waits for an event naming its task before it is listed", () => {
    const events: EventSpec[] = [
      { type: "attempt.started", payload: { attempt_id: "a" } },
      attemptEvent("created", "a", { task: "t1" }),
    ];
    const early = stateAfter(events.slice(0, 1));
    expect(early.attempt("a")).toBeUndefined();
    expect(early.target("radix").running_attempts).toEqual([]);
    expect(early.summary().nodes_by_type).toEqual({ Target: 1, Attempt: 1 });

    const later = stateAfter(events);
    expect(later.attempt("a")).toEqual({
      attempt_id: "a",
      task_id: "t1",
      target_id: "radix",
      attempt_number: null,
      // Only the event that named the task gave it a status.
      status: "created",
      pr_url: null,
      platform_failure: false,
      seqs: [1, 2],
    });
    expect(later.summary().edges_by_type).toEqual({ DEPENDS_ON: 2 });
  });

  it("keeps the first task named", () => {
    const state = stateAfter([
      attemptEvent("requested", "a", { task: "t1" }),
      attemptEvent("started", "a", { task: "t2" }),
    ]);
    expect(state.attempt("a")?.task_id).toBe("t1");
    expect(Object.keys(state.target("radix").tasks)).toEqual(["t1"]);
    expect(state.target("radix").tasks.t1?.last_status).toBe("running");
  });

  it("is not known from a PR event alone, but that event is one of its records", () => {
    const pr: EventSpec = {
      type: "pr.created",
      payload: { attempt_id: "a", task_id: "t1", pr_url: "u1", pr_number: 1 },
    };
    expect(stateAfter([pr]).attempt("a")).toBeUndefined();
    const state = stateAfter([pr, attemptEvent("succeeded", "a", { task: "t1" })]);
    expect(state.attempt("a")).toMatchObject({ status: "succeeded", pr_url: "u1", seqs: [1, 2] });
  });

  it("ignores another target's events about it", () => {
    const state = stateAfter([
      attemptEvent("requested", "a", { target: "radix" }),
      attemptEvent("failed", "a", { target: "other" }),
      { type: "pr.created", target: "other", payload: { attempt_id: "a", pr_url: "u1" } },
      { type: "pr.closed", target: "other", payload: { attempt_id: "a", pr_url: "u2" } },
    ]);
    expect(state.attempt("a")).toMatchObject({
      target_id: "radix",
      status: "requested",
      seqs: [1],
    });
    expect(state.target("radix").running_attempts).toEqual(["a"]);
    expect(state.target("other")).toMatchObject({ tasks: {}, consecutive_failures: 0 });
    expect(state.target("other").open_pull_requests).toEqual([]);
    // The closed PR is still a PR of `other`; the stray attempt link is not an edge.
    expect(state.summary().nodes_by_type).toEqual({
      Target: 2,
      Task: 1,
      Attempt: 1,
      PullRequest: 1,
    });
    expect(state.summary().edges_by_type).toEqual({ DEPENDS_ON: 2 });
  });
});
