import { describe, expect, it } from "vitest";
import {
  emptyTarget,
  pullRequest,
  runningAttempt,
  seedConfig,
  taskState,
} from "../../../test/scheduler/fixtures.ts";
import { parseBacklog } from "../../backlog/parse-backlog.ts";
import type { BacklogTask } from "../../backlog/types.ts";
import type { TargetState } from "../../control-plane/types.ts";
import type { PullRequest } from "../../forge/types.ts";
import {
  attemptsRemaining,
  buildEligibilityContext,
  checkTaskEligibility,
  dependenciesCompleted,
  hasNoProblems,
  isPending,
  isReady,
  noOpenPullRequest,
  notRunning,
  pathsAllowed,
} from "./task-eligibility.ts";

/** Tasks from YAML `- id: …` entries (each gets a title unless it names one). */
function tasks(...entries: string[]): BacklogTask[] {
  const result = parseBacklog(`tasks:\n${entries.map((e) => `  - ${e}\n`).join("")}`);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.tasks;
}

/** Task t1, ready and in scope, with `fields` (YAML values) overriding. */
function task(fields: Record<string, string> = {}): BacklogTask {
  const merged = { id: "t1", title: "T", ready: "true", allowed_paths: "[docs/a.md]", ...fields };
  const body = Object.entries(merged).map(([key, value]) => `${key}: ${value}`);
  return tasks(`{${body.join(", ")}}`)[0]!;
}

function context(all: BacklogTask[], options: { target?: TargetState; prs?: PullRequest[] } = {}) {
  return buildEligibilityContext(
    seedConfig(),
    options.target ?? emptyTarget(),
    all,
    options.prs ?? [],
  );
}

describe("task eligibility conditions", () => {
  it("hasNoProblems: any problem in the file makes the task ineligible", () => {
    expect(hasNoProblems(task())).toBeNull();
    expect(hasNoProblems(task({ status: "Pending", executor: "shell" }))).toEqual({
      reason: "invalid_task",
      message:
        'status: "Pending" is not a status (pending, in_progress, completed or blocked); executor: "shell" is not an executor (backlog-propose, docs, command)',
    });
  });

  it.each([
    ["ready: true", null],
    ["ready: false", "not_ready"],
  ])("isReady: %s → %s", (fields, reason) => {
    const t = tasks(`{id: t1, title: T, allowed_paths: [docs/], ${fields}}`)[0]!;
    expect(isReady(t)?.reason ?? null).toBe(reason);
  });

  it("isReady: a missing or non-boolean ready is never true", () => {
    expect(isReady(tasks("{id: t1}")[0]!)?.reason).toBe("not_ready");
    expect(isReady(tasks('{id: t1, ready: "true"}')[0]!)?.reason).toBe("not_ready");
  });

  it.each([
    ["pending", null],
    [undefined, null],
    ["completed", "status is completed"],
    ["in_progress", "status is in_progress"],
    ["blocked", "status is blocked"],
  ])("isPending: status %j → %s", (status, message) => {
    expect(isPending(task(status ? { status } : {}))?.message ?? null).toBe(message);
  });

  it("dependenciesCompleted: only a completed task in the backlog counts", () => {
    const all = tasks(
      "{id: done, status: completed}",
      "{id: open, status: pending}",
      "{id: nostatus}",
      "{id: t1, dependencies: [done]}",
      "{id: t2, dependencies: [done, open, nostatus, ghost, t2]}",
    );
    const ctx = context(all);
    expect(dependenciesCompleted(all[3]!, ctx)).toBeNull();
    expect(dependenciesCompleted(all[4]!, ctx)).toEqual({
      reason: "dependencies_not_completed",
      message: "waits for open (pending), nostatus (pending), ghost (unknown), t2 (itself)",
    });
  });

  it("dependenciesCompleted: a completed task depending on itself still never is", () => {
    const all = tasks("{id: t1, status: completed, dependencies: [t1]}");
    expect(dependenciesCompleted(all[0]!, context(all))?.message).toBe("waits for t1 (itself)");
  });

  it.each([
    ["[docs/]", null],
    ["[./docs/a.md]", null],
    ["[docs/a.md, .leviathan/notes.md]", null],
    ["[docs]", '"docs": outside allowed_path_prefixes (.leviathan/, docs/)'],
    ["[docsx/a.md]", '"docsx/a.md": outside allowed_path_prefixes (.leviathan/, docs/)'],
    [
      "[docs/../secrets/x]",
      '"docs/../secrets/x": outside allowed_path_prefixes (.leviathan/, docs/)',
    ],
    ["[docs/a.md, src/x.ts]", '"src/x.ts": outside allowed_path_prefixes (.leviathan/, docs/)'],
  ])("pathsAllowed: %s → %s", (paths, message) => {
    const t = task({ allowed_paths: paths });
    expect(pathsAllowed(t, context([t]))?.message ?? null).toBe(message);
  });

  it("pathsAllowed: a task whose paths failed parsing has none, so it is refused too", () => {
    const t = task({ allowed_paths: "[/etc/x]" });
    expect(t.allowed_paths).toBeUndefined();
    expect(pathsAllowed(t, context([t]))).toEqual({
      reason: "paths_not_allowed",
      message: "allowed_paths is empty",
    });
  });

  it("notRunning: a running attempt of the task, by detail or by flag", () => {
    const t = task();
    expect(notRunning(t, context([t]))).toBeNull();
    const byDetail = emptyTarget({
      running_attempts: ["attempt-t1-0badf00d"],
      running_details: [runningAttempt({ attempt_id: "attempt-t1-0badf00d", task_id: "t1" })],
    });
    expect(notRunning(t, context([t], { target: byDetail }))).toEqual({
      reason: "attempt_running",
      message: "attempt-t1-0badf00d is running",
    });
    const byFlag = emptyTarget({ tasks: { t1: taskState({ running: true }) } });
    expect(notRunning(t, context([t], { target: byFlag }))?.reason).toBe("attempt_running");
    const otherTask = emptyTarget({ running_details: [runningAttempt({ task_id: "t2" })] });
    expect(notRunning(t, context([t], { target: otherTask }))).toBeNull();
  });

  it("noOpenPullRequest: tied by the provenance marker of this target only", () => {
    const t = task();
    const mine = pullRequest(5, { task: "t1" });
    expect(noOpenPullRequest(t, context([t], { prs: [mine] }))).toEqual({
      reason: "open_pull_request",
      message: "PR #5 is open (https://github.com/iangreen74/radix/pull/5)",
    });
    const otherTarget = pullRequest(6, { task: "t1", target: "other" });
    const branchOnly = pullRequest(7, { head: "agent/backlog-propose-attempt-t1-0badf00d" });
    const otherTask = pullRequest(8, { task: "t10" });
    // A marker copied into a PR from a fork ties nothing.
    const fromFork = pullRequest(9, { task: "t1", headRepo: "mallory/radix" });
    const prs = [otherTarget, branchOnly, otherTask, fromFork];
    expect(noOpenPullRequest(t, context([t], { prs }))).toBeNull();
  });

  it.each([
    [0, null],
    [1, null],
    [2, "used 2 of 2 attempts"],
    [3, "used 3 of 2 attempts"],
  ])("attemptsRemaining: %i charged of 2 → %s", (charged, message) => {
    const t = task();
    const target = emptyTarget({
      tasks: { t1: taskState({ attempts: charged + 4, charged_attempts: charged }) },
    });
    expect(attemptsRemaining(t, context([t], { target }))?.message ?? null).toBe(message);
  });

  it("checkTaskEligibility: the first failing condition is the reason", () => {
    const t = task({ status: "completed", allowed_paths: "[src/x]" });
    expect(checkTaskEligibility(t, context([t]))?.reason).toBe("status_not_pending");
    const ok = task();
    expect(checkTaskEligibility(ok, context([ok]))).toBeNull();
  });

  it("checkTaskEligibility: a running or PR-holding task is not reported as out of attempts", () => {
    const t = task();
    const spent = { t1: taskState({ attempts: 2, charged_attempts: 2 }) };
    const running = emptyTarget({
      tasks: { t1: taskState({ attempts: 2, charged_attempts: 2, running: true }) },
    });
    expect(checkTaskEligibility(t, context([t], { target: running }))?.reason).toBe(
      "attempt_running",
    );
    const withPr = context([t], {
      target: emptyTarget({ tasks: spent }),
      prs: [pullRequest(3, { task: "t1" })],
    });
    expect(checkTaskEligibility(t, withPr)?.reason).toBe("open_pull_request");
  });
});
