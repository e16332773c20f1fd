import { chmodSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../support/wait-for.ts";
import { shellScript } from "./executor-fixtures.ts";
import { openDir, removeTempDirs } from "./git-fixtures.ts";
import {
  eventsOf,
  exists,
  type Harness,
  leakedTokens,
  OWNER,
  pullRequests,
  REPO,
  remoteBranches,
  runOnce,
  startHarness,
  workspaceOf,
} from "./run-attempt-fixtures.ts";

let harness: Harness;
beforeAll(async () => {
  harness = await startHarness();
});
afterAll(async () => {
  await harness.close();
  removeTempDirs();
});

/** The attempt.failed payload the control plane stored for this attempt. */
async function failedPayload(attemptId: string): Promise<Record<string, unknown> | undefined> {
  const records = await eventsOf(harness, attemptId);
  expect(records.map((record) => record.event.event_type)).toEqual([
    "attempt.created",
    "attempt.started",
    "attempt.failed",
  ]);
  return records[2]?.event.payload;
}

describe("task failures", () => {
  it("an unknown TASK_ID is task_not_found; nothing is pushed", async () => {
    const attemptId = "attempt-task-404-0000b001";
    const { result } = await runOnce(harness, { TASK_ID: "task-404", ATTEMPT_ID: attemptId });
    if (result.ok || result.outcome !== "failed") throw new Error("expected a failure");
    expect(result.reported).toBe(true);
    expect(await failedPayload(attemptId)).toMatchObject({
      task_id: "task-404",
      reason: "task_not_found",
      failure_kind: "task",
      error_summary: "task task-404 is not in .leviathan/backlog.yaml",
    });
    expect(remoteBranches(harness)).toEqual(["main"]);
  });

  it("an executor that fails is executor_failed, with the end of its output", async () => {
    const attemptId = "attempt-task-2-0000b002";
    const script = shellScript("echo 'the model refused' >&2\nexit 3");
    const { result } = await runOnce(harness, {
      TASK_ID: "task-2",
      ATTEMPT_ID: attemptId,
      LEVIATHAN_EXECUTOR_COMMAND: JSON.stringify([script]),
    });
    if (result.ok || result.outcome !== "failed") throw new Error("expected a failure");
    const payload = await failedPayload(attemptId);
    expect(payload).toMatchObject({ reason: "executor_failed", failure_kind: "task" });
    expect(String(payload?.error_summary)).toMatch(/exited with code 3[\s\S]*the model refused/);
    expect(remoteBranches(harness)).not.toContain(`agent/command-${attemptId}`);
  });

  it("an executor still running at the attempt's deadline is stopped: timeout", async () => {
    const attemptId = "attempt-task-2-0000b003";
    const script = shellScript("printf 'half' > docs/guide.md\nexec sleep 60");
    const { result } = await runOnce(harness, {
      TASK_ID: "task-2",
      ATTEMPT_ID: attemptId,
      ATTEMPT_TIMEOUT_SECONDS: "3",
      LEVIATHAN_EXECUTOR_COMMAND: JSON.stringify([script]),
    });
    if (result.ok || result.outcome !== "failed") throw new Error("expected a failure");
    expect(await failedPayload(attemptId)).toMatchObject({
      reason: "timeout",
      failure_kind: "task",
    });
    expect(remoteBranches(harness)).not.toContain(`agent/command-${attemptId}`);
    expect(exists(workspaceOf(harness, attemptId))).toBe(false);
  });
});

describe("platform failures", () => {
  it("a push the forge rejects is push_failed (platform); no branch, no PR", async () => {
    const attemptId = "attempt-task-1-0000b004";
    const hook = join(harness.bare, "hooks", "pre-receive");
    mkdirSync(join(harness.bare, "hooks"), { recursive: true });
    writeFileSync(hook, "#!/bin/sh\necho 'refused by branch protection' >&2\nexit 1\n");
    chmodSync(hook, 0o755);
    try {
      const pullsBefore = (await pullRequests(harness)).length;
      const { result, logs } = await runOnce(harness, { ATTEMPT_ID: attemptId });
      if (result.ok || result.outcome !== "failed") throw new Error("expected a failure");
      const payload = await failedPayload(attemptId);
      expect(payload).toMatchObject({
        reason: "push_failed",
        failure_kind: "platform",
        branch_name: `agent/backlog-propose-${attemptId}`,
      });
      expect(String(payload?.error_summary)).toContain("refused by branch protection");
      expect(remoteBranches(harness)).not.toContain(`agent/backlog-propose-${attemptId}`);
      expect(await pullRequests(harness)).toHaveLength(pullsBefore);
      expect(leakedTokens(logs + JSON.stringify(payload))).toEqual([]);
    } finally {
      rmSync(hook);
    }
  });

  it("PR creation answering 5xx is retried by the client, then pr_failed (platform)", async () => {
    const attemptId = "attempt-task-1-0000b005";
    const pulls = new RegExp(`^/api/v3/repos/${OWNER}/${REPO}/pulls$`);
    const fault = harness.forge.faults.add({ method: "POST", path: pulls, status: 502, times: 50 });
    try {
      // One retry: PR creation is paced 3 s apart (GitHub's advice for writes that notify).
      const { result, logs } = await runOnce(
        harness,
        { ATTEMPT_ID: attemptId },
        { forgeRetries: 1 },
      );
      if (result.ok || result.outcome !== "failed") throw new Error("expected a failure");
      expect(fault.used).toBe(2);
      const payload = await failedPayload(attemptId);
      expect(payload).toMatchObject({ reason: "pr_failed", failure_kind: "platform" });
      expect(String(payload?.error_summary)).toContain("502");
      const branch = `agent/backlog-propose-${attemptId}`;
      expect((await pullRequests(harness)).map((pull) => pull.head.ref)).not.toContain(branch);
      expect(leakedTokens(logs)).toEqual([]);
      // Not charged to the task: the breaker counts it, the task's budget does not.
      const target = await harness.client.getTarget("demo");
      expect(target.tasks["task-1"]?.last_status).toBe("failed");
    } finally {
      harness.forge.faults.clear();
    }
  });

  it("the control plane down at the start: exits non-zero, no clone, the forge never asked", async () => {
    const attemptId = "attempt-task-1-0000b006";
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port } = closed.address() as { port: number };
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const requestsBefore = harness.forge.requests.length;
    const { result, logs } = await runOnce(harness, {
      ATTEMPT_ID: attemptId,
      CONTROL_PLANE_URL: `http://127.0.0.1:${port}`,
    });
    expect(result).toMatchObject({ ok: false, outcome: "not_started" });
    expect(harness.forge.requests.length).toBe(requestsBefore);
    expect(exists(workspaceOf(harness, attemptId))).toBe(false);
    expect(exists(harness.workspaceDir) ? readdirSync(harness.workspaceDir) : []).not.toContain(
      attemptId,
    );
    expect(remoteBranches(harness)).not.toContain(`agent/backlog-propose-${attemptId}`);
    expect(await eventsOf(harness, attemptId)).toEqual([]);
    expect(logs).toContain("control plane unreachable at start");
    expect(leakedTokens(logs)).toEqual([]);
  });
});

describe("nothing to commit", () => {
  it("the branch already records this attempt (its PR merged, the pod ran again): nothing_to_commit", async () => {
    const own = await startHarness();
    try {
      const attemptId = "attempt-task-1-0000b007";
      const first = await runOnce(
        own,
        { ATTEMPT_ID: attemptId },
        {
          now: () => new Date("2030-05-06T07:08:09.000Z"),
        },
      );
      if (!first.result.ok) throw new Error("the first run should succeed");
      await own.forge.mergePullRequest(OWNER, REPO, first.result.pr_number);
      const mainBefore = remoteBranches(own);

      // A later clock: the recorded completion time is kept, so the write-back is a no-op.
      const again = await runOnce(
        own,
        { ATTEMPT_ID: attemptId },
        {
          now: () => new Date("2030-05-06T09:00:00.000Z"),
        },
      );
      if (again.result.ok || again.result.outcome !== "failed")
        throw new Error("expected a failure");
      expect(again.result.failure.reason).toBe("nothing_to_commit");
      expect(again.result.failure.failureKind).toBe("task");
      expect(remoteBranches(own)).toEqual(mainBefore);
      expect(await pullRequests(own)).toHaveLength(1);
      const records = (await eventsOf(own, attemptId)).map((record) => record.event.event_type);
      expect(records.at(-1)).toBe("attempt.failed");
    } finally {
      await own.close();
    }
  });
});

describe("the control plane lost mid-attempt", () => {
  it("the PR is opened but its events cannot be recorded: unreported, not success", async () => {
    const own = await startHarness();
    try {
      const attemptId = "attempt-task-2-0000b008";
      const signals = openDir("leviathan-signals-");
      const started = join(signals, "started");
      const go = join(signals, "go");
      // The executor says it runs, then waits (bounded) until the test has stopped the control plane.
      const script = shellScript(
        `touch '${started}'\ni=0\nwhile [ ! -e '${go}' ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done\nprintf 'guide\\n' > docs/guide.md`,
      );
      const running = runOnce(own, {
        TASK_ID: "task-2",
        ATTEMPT_ID: attemptId,
        LEVIATHAN_EXECUTOR_COMMAND: JSON.stringify([script]),
      });
      await waitFor(() => exists(started), "the executor to start", 30_000);
      await own.controlPlane.close();
      writeFileSync(go, "");
      const { result } = await running;

      expect(result).toMatchObject({
        ok: false,
        outcome: "unreported",
        branch: `agent/command-${attemptId}`,
      });
      if (result.ok || result.outcome !== "unreported") throw new Error("unreachable");
      const pulls = await pullRequests(own);
      expect(pulls.map((pull) => pull.html_url)).toEqual([result.pr_url]);
    } finally {
      await own.close();
    }
  });
});
