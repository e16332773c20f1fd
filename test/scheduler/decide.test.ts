import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseBacklog, unreadableBacklog } from "../../shared/backlog/parse-backlog.ts";
import type { BacklogParse } from "../../shared/backlog/types.ts";
import { loadConfig } from "../../shared/config/load-config.ts";
import type { TargetState } from "../../shared/control-plane/types.ts";
import { attemptIdFor, derivedEventId, skipEventId } from "../../shared/events/ids.ts";
import { parseEvent } from "../../shared/events/schema.ts";
import type { PullRequest } from "../../shared/forge/types.ts";
import { decide, decideBeforeInputs } from "../../shared/scheduler/decide.ts";
import type { DecisionInput, TickPlan } from "../../shared/scheduler/types.ts";
import { repoPath } from "../support/repo-root.ts";
import {
  emptyTarget,
  NOW,
  pullRequest,
  runningAttempt,
  seedConfig,
  taskState,
} from "./fixtures.ts";

const TICK = "ping-0001";

/** A backlog: a completed task, a pending one not ready, task t1 with `t1` fields, then `next`. */
function backlogWith(t1: Record<string, string | undefined>): BacklogParse {
  const fields: Record<string, string | undefined> = {
    title: "T1",
    ready: "true",
    allowed_paths: "[docs/a.md]",
    ...t1,
  };
  const lines = [
    "tasks:",
    "  - {id: done, title: Done, ready: true, status: completed, allowed_paths: [docs/]}",
    "  - {id: waiting, title: Waiting, ready: false, allowed_paths: [docs/]}",
    "  - id: t1",
    ...Object.entries(fields)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `    ${k}: ${v}`),
    "  - {id: next, title: Next, ready: true, allowed_paths: [docs/next.md]}",
    "",
  ];
  return parseBacklog(lines.join("\n"), ".leviathan/backlog.yaml");
}

function input(overrides: Partial<DecisionInput> = {}): DecisionInput {
  return {
    config: seedConfig(),
    configName: "dev.yaml",
    backlog: backlogWith({}),
    openPullRequests: [],
    target: emptyTarget(),
    tickId: TICK,
    now: NOW,
    ...overrides,
  };
}

/** The task chosen, and t1's reason when it was passed over. */
function outcome(plan: TickPlan): [string | null, string | null] {
  const { decision } = plan;
  const chosen = decision.action === "dispatch" ? decision.task_id : null;
  const ineligible = (decision.details?.ineligible ?? []) as Array<{
    task_id: string;
    reason: string;
  }>;
  return [chosen, ineligible.find((i) => i.task_id === "t1")?.reason ?? null];
}

describe("decide: which task runs", () => {
  it.each([
    ["ready true", { ready: "true" }, "t1", null],
    ["ready false", { ready: "false" }, "next", "not_ready"],
    ["ready missing", { ready: undefined }, "next", "invalid_task"],
    ["ready non-boolean", { ready: '"yes"' }, "next", "invalid_task"],
    ["status pending", { status: "pending" }, "t1", null],
    ["status missing", {}, "t1", null],
    ["status Pending", { status: "Pending" }, "next", "invalid_task"],
    ["status completed", { status: "completed" }, "next", "status_not_pending"],
    ["status in_progress", { status: "in_progress" }, "next", "status_not_pending"],
    ["status blocked", { status: "blocked" }, "next", "status_not_pending"],
    ["dependency completed", { dependencies: "[done]" }, "t1", null],
    ["dependency pending", { dependencies: "[waiting]" }, "next", "dependencies_not_completed"],
    ["dependency unknown", { dependencies: "[ghost]" }, "next", "dependencies_not_completed"],
    ["dependency on itself", { dependencies: "[t1]" }, "next", "dependencies_not_completed"],
    ["allowed_paths empty", { allowed_paths: "[]" }, "next", "invalid_task"],
    ["allowed_paths docs", { allowed_paths: "[docs]" }, "next", "paths_not_allowed"],
    ["allowed_paths docs/", { allowed_paths: "[docs/]" }, "t1", null],
    ["allowed_paths docsx/a.md", { allowed_paths: "[docsx/a.md]" }, "next", "paths_not_allowed"],
    ["allowed_paths /etc/x", { allowed_paths: "[/etc/x]" }, "next", "invalid_task"],
    ["allowed_paths ../docs/a", { allowed_paths: "[../docs/a]" }, "next", "invalid_task"],
    ["allowed_paths ./docs/a.md", { allowed_paths: "[./docs/a.md]" }, "t1", null],
    [
      "allowed_paths docs/../secrets/x",
      { allowed_paths: "[docs/../secrets/x]" },
      "next",
      "paths_not_allowed",
    ],
    ["allowed_paths docs/*.md", { allowed_paths: '["docs/*.md"]' }, "next", "invalid_task"],
    [
      "allowed_paths mixed in and out of scope",
      { allowed_paths: "[docs/a.md, src/index.ts]" },
      "next",
      "paths_not_allowed",
    ],
  ])("%s → %s", (_name, t1, chosen, reason) => {
    expect(outcome(decide(input({ backlog: backlogWith(t1) })))).toEqual([chosen, reason]);
  });

  it("dispatches the first eligible task with its attempt, printed as tick --json prints it", () => {
    const plan = decide(input());
    const attemptId = attemptIdFor("radix", "t1", 1);
    expect(JSON.stringify(plan.decision)).toBe(
      `{"action":"dispatch","task_id":"t1","attempt_id":"${attemptId}","attempt_number":1,` +
        `"details":{"ineligible":[` +
        `{"task_id":"done","line":2,"reason":"status_not_pending","message":"status is completed"},` +
        `{"task_id":"waiting","line":3,"reason":"not_ready","message":"ready is not true"}]}}`,
    );
    expect(plan.events).toEqual([
      {
        event_id: `${attemptId}.attempt.requested`,
        event_type: "attempt.requested",
        timestamp: "2025-01-01T01:00:00.000Z",
        actor_id: "scheduler",
        payload: {
          target_id: "radix",
          task_id: "t1",
          attempt_id: attemptId,
          attempt_number: 1,
          config: "dev.yaml",
        },
      },
    ]);
  });

  it("omits details when the first task runs", () => {
    const backlog = parseBacklog(
      "tasks:\n  - {id: a, title: A, ready: true, allowed_paths: [docs/]}\n",
    );
    expect(decide(input({ backlog })).decision).toEqual({
      action: "dispatch",
      task_id: "a",
      attempt_id: attemptIdFor("radix", "a", 1),
      attempt_number: 1,
    });
  });

  it("numbers the attempt after every previous one, platform failures included", () => {
    const target = emptyTarget({ tasks: { t1: taskState({ attempts: 3, charged_attempts: 1 }) } });
    const { decision } = decide(input({ target }));
    expect(decision).toMatchObject({
      action: "dispatch",
      task_id: "t1",
      attempt_number: 4,
      attempt_id: attemptIdFor("radix", "t1", 4),
    });
  });

  it("passes over a task out of attempts, records task.blocked once, and chooses the next", () => {
    const spent = taskState({ attempts: 2, charged_attempts: 2, last_status: "failed" });
    const first = decide(input({ target: emptyTarget({ tasks: { t1: spent } }) }));
    expect(outcome(first)).toEqual(["next", "attempts_exhausted"]);
    expect(first.events.map((e) => e.event_type)).toEqual(["task.blocked", "attempt.requested"]);
    expect(first.events[0]).toEqual({
      event_id: derivedEventId("task-blocked", "radix", "t1"),
      event_type: "task.blocked",
      timestamp: NOW.toISOString(),
      actor_id: "scheduler",
      payload: { task_id: "t1", target_id: "radix", attempts: 2 },
    });
    // The next tick sees `blocked: true` in the target state and records nothing more.
    const blocked = { ...spent, blocked: true };
    const second = decide(input({ target: emptyTarget({ tasks: { t1: blocked } }) }));
    expect(outcome(second)).toEqual(["next", "attempts_exhausted"]);
    expect(second.events.map((e) => e.event_type)).toEqual(["attempt.requested"]);
  });

  it("records task.blocked also when no other task is left", () => {
    const spent = taskState({ attempts: 2, charged_attempts: 2 });
    const plan = decide(
      input({ target: emptyTarget({ tasks: { t1: spent, next: spent } }), tickId: "ping-7" }),
    );
    expect(plan.decision).toMatchObject({ action: "skip", reason: "no_ready_task" });
    expect(plan.events.map((e) => [e.event_type, e.payload.task_id ?? e.payload.reason])).toEqual([
      ["task.blocked", "t1"],
      ["task.blocked", "next"],
      ["scheduler.skipped", "no_ready_task"],
    ]);
  });

  it("skips a task whose PR is open (by its provenance marker) and chooses the next", () => {
    const prs = [pullRequest(11, { task: "t1", head: "feature/by-hand" })];
    const plan = decide(input({ openPullRequests: prs }));
    expect(outcome(plan)).toEqual(["next", "open_pull_request"]);
  });

  it("is not stalled by fork PRs with agent/ branches or copied markers", () => {
    const fork = { headRepo: "mallory/radix" };
    const prs = [
      pullRequest(21, { ...fork }),
      pullRequest(22, { ...fork, task: "t1", head: "agent/backlog-propose-attempt-t1-0badf00d" }),
    ];
    const plan = decide(input({ openPullRequests: prs }));
    expect(plan.decision).toMatchObject({ action: "dispatch", task_id: "t1" });
  });

  it("skips a task with a running attempt", () => {
    const target = emptyTarget({
      running_attempts: ["attempt-t1-0badf00d"],
      running_details: [runningAttempt({ attempt_id: "attempt-t1-0badf00d", task_id: "t1" })],
    });
    const plan = decide(input({ target, config: seedConfig({ max_running_attempts: 2 }) }));
    expect(outcome(plan)).toEqual(["next", "attempt_running"]);
  });

  it("lists every ineligible task with its line and reason when none is ready", () => {
    const backlog = backlogWith({ ready: "false" });
    const prs = [pullRequest(4, { task: "next", head: "feature/x" })];
    const plan = decide(input({ backlog, openPullRequests: prs }));
    expect(plan.decision).toEqual({
      action: "skip",
      reason: "no_ready_task",
      details: {
        ineligible: [
          {
            task_id: "done",
            line: 2,
            reason: "status_not_pending",
            message: "status is completed",
          },
          { task_id: "waiting", line: 3, reason: "not_ready", message: "ready is not true" },
          { task_id: "t1", line: 4, reason: "not_ready", message: "ready is not true" },
          {
            task_id: "next",
            line: 8,
            reason: "open_pull_request",
            message: "PR #4 is open (https://github.com/iangreen74/radix/pull/4)",
          },
        ],
      },
    });
  });
});

describe("decide: guardrails in order (autonomy, breaker, open PRs, running attempts, backlog)", () => {
  const agentPrs = (n: number): PullRequest[] =>
    Array.from({ length: n }, (_, i) => pullRequest(i + 1));
  const broken = emptyTarget({ consecutive_failures: 2 });
  const busy = emptyTarget({
    running_attempts: ["attempt-x-00000000"],
    running_details: [runningAttempt({ attempt_id: "attempt-x-00000000", task_id: "x" })],
  });
  const invalid = parseBacklog("tasks: {}\n");

  it.each<[string, Partial<DecisionInput>, string]>([
    [
      "autonomy off beats everything",
      {
        config: seedConfig({ autonomy_enabled: false }),
        target: broken,
        openPullRequests: "unavailable",
        backlog: invalid,
      },
      "autonomy_disabled",
    ],
    [
      "breaker open beats the forge",
      { target: broken, openPullRequests: "unavailable", backlog: invalid },
      "circuit_open",
    ],
    ["forge unavailable", { openPullRequests: "unavailable", target: busy }, "forge_unavailable"],
    ["max open PRs", { openPullRequests: agentPrs(1), target: busy }, "max_open_prs"],
    ["max running attempts", { target: busy, backlog: invalid }, "max_running_attempts"],
    ["backlog invalid", { backlog: invalid }, "backlog_invalid"],
    ["backlog unreadable", { backlog: unreadableBacklog("404 on main") }, "backlog_invalid"],
  ])("%s → %s", (_name, overrides, reason) => {
    const plan = decide(input(overrides));
    expect(plan.decision).toMatchObject({ action: "skip", reason });
    expect(plan.events).toHaveLength(1);
    expect(plan.events[0]).toMatchObject({
      event_id: skipEventId(TICK, reason),
      event_type: "scheduler.skipped",
      actor_id: "scheduler",
      timestamp: NOW.toISOString(),
      payload: { reason, target_id: "radix", tick_id: TICK },
    });
  });

  it("does not count people's PRs against max_open_prs", () => {
    const prs = [pullRequest(1, { head: "fix/typo" }), pullRequest(2, { head: "main-agent/x" })];
    expect(decide(input({ openPullRequests: prs })).decision.action).toBe("dispatch");
  });

  it("opens the breaker at the limit and dispatches again once a reset zeroes the count", () => {
    const open = decide(input({ target: emptyTarget({ consecutive_failures: 2 }) }));
    expect(open.decision).toEqual({
      action: "skip",
      reason: "circuit_open",
      details: { consecutive_failures: 2, circuit_breaker_failures: 2, last_reset_at: null },
    });
    const below = decide(input({ target: emptyTarget({ consecutive_failures: 1 }) }));
    expect(below.decision.action).toBe("dispatch");
    const reset = emptyTarget({ consecutive_failures: 0, last_reset_at: "2025-01-01T00:59:00Z" });
    expect(decide(input({ target: reset })).decision.action).toBe("dispatch");
  });

  it("names the invalid backlog's file and problem lines", () => {
    const backlog = parseBacklog("tasks:\n  - id: a\n  - title: b\n", ".leviathan/backlog.yaml");
    expect(decide(input({ backlog })).decision).toEqual({
      action: "skip",
      reason: "backlog_invalid",
      details: {
        file: ".leviathan/backlog.yaml",
        problems: [{ path: "tasks[1].id", line: 3, message: "task has no id" }],
      },
    });
  });

  it("decideBeforeInputs answers without inputs only when autonomy is off", () => {
    const off = decideBeforeInputs({
      config: seedConfig({ autonomy_enabled: false }),
      tickId: TICK,
      now: NOW,
    });
    expect(off?.decision).toEqual({ action: "skip", reason: "autonomy_disabled" });
    expect(off?.events[0]?.event_id).toBe(skipEventId(TICK, "autonomy_disabled"));
    expect(decideBeforeInputs({ config: seedConfig(), tickId: TICK, now: NOW })).toBeNull();
  });
});

describe("decide: determinism and the events it plans", () => {
  const spentTarget: TargetState = emptyTarget({
    tasks: { t1: taskState({ attempts: 2, charged_attempts: 2 }) },
  });

  it("gives the same plan, ids included, for the same input", () => {
    expect(decide(input({ target: spentTarget }))).toEqual(decide(input({ target: spentTarget })));
    const skipInput = input({ backlog: backlogWith({ ready: "false" }), target: spentTarget });
    expect(decide(skipInput)).toEqual(decide(skipInput));
  });

  it("maps a redelivered or concurrent tick onto the same attempt; skips are per tick", () => {
    const a = decide(input({ tickId: "ping-a" }));
    const b = decide(input({ tickId: "ping-b" }));
    expect(b.decision).toEqual(a.decision);
    expect(b.events).toEqual(a.events);
    const skipA = decide(input({ tickId: "ping-a", openPullRequests: "unavailable" }));
    const skipB = decide(input({ tickId: "ping-b", openPullRequests: "unavailable" }));
    expect(skipA.events[0]?.event_id).not.toBe(skipB.events[0]?.event_id);
  });

  it("plans only events the control plane's schema accepts", () => {
    const plans = [
      decide(input({ target: spentTarget })),
      decide(input({ backlog: backlogWith({ ready: "false" }), target: spentTarget })),
      decide(input({ backlog: unreadableBacklog("gone") })),
    ];
    for (const event of plans.flatMap((p) => p.events)) {
      expect(parseEvent(JSON.parse(JSON.stringify(event)))).toEqual(event);
    }
  });

  it("keeps the skip event small: long lists are cut, the decision keeps them whole", () => {
    const lines = ["tasks:"];
    for (let i = 0; i < 250; i++) {
      lines.push(`  - {id: t${i}, title: T, ready: false, allowed_paths: [docs/]}`);
    }
    const plan = decide(input({ backlog: parseBacklog(lines.join("\n")) }));
    expect(plan.decision.details?.ineligible).toHaveLength(250);
    const details = plan.events[0]?.payload.details as Record<string, unknown>;
    expect((details.ineligible as unknown[]).length).toBe(100);
    expect(details.ineligible_omitted).toBe(150);
  });
});

describe("decide: the demo target's own backlog", () => {
  const text = readFileSync(
    new URL("../../ops/demo-target/.leviathan/backlog.yaml", import.meta.url),
    "utf8",
  );
  const backlog = parseBacklog(text, ".leviathan/backlog.yaml");

  it("runs the self-proposing task first, never the out-of-scope one", async () => {
    const { config, name } = await loadConfig(repoPath("ops", "autonomy", "local.yaml"));
    const base = { config, configName: name, backlog, tickId: TICK, now: NOW };
    const fresh = decide({
      ...base,
      openPullRequests: [],
      target: emptyTarget({ target_id: "demo" }),
    });
    expect(fresh.decision).toMatchObject({ action: "dispatch", task_id: "propose-backlog" });
    expect(fresh.events[0]?.payload.config).toBe("local.yaml");

    // Its PR is open: with room for another PR, the dependent task still waits.
    const pr = pullRequest(1, {
      task: "propose-backlog",
      target: "demo",
      headRepo: "leviathan/demo-target",
    });
    const roomy = { ...config, max_open_prs: 2 };
    const waiting = decide({
      ...base,
      config: roomy,
      openPullRequests: [pr],
      target: emptyTarget({ target_id: "demo" }),
    });
    expect(waiting.decision).toEqual({
      action: "skip",
      reason: "no_ready_task",
      details: {
        ineligible: [
          expect.objectContaining({ task_id: "propose-backlog", reason: "open_pull_request" }),
          expect.objectContaining({
            task_id: "getting-started-doc",
            reason: "dependencies_not_completed",
          }),
          expect.objectContaining({ task_id: "refactor-app", reason: "paths_not_allowed" }),
        ],
      },
    });
  });
});
