import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LEVIATHAN_GIT_IDENTITY } from "../../shared/git/git-environment.ts";
import { shellScript } from "./executor-fixtures.ts";
import { openDir, plainGit, removeTempDirs } from "./git-fixtures.ts";
import {
  BACKLOG,
  eventsOf,
  exists,
  forgeGet,
  type Harness,
  leakedTokens,
  OWNER,
  pullRequests,
  REPO,
  remoteBranches,
  runOnce,
  startHarness,
  TARGET,
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

const FIXED = new Date("2030-01-02T03:04:05.678Z");

describe("runAttempt: the whole sequence against a real forge and control plane", () => {
  it("pushes only the write-back on agent/backlog-propose-<id>, opens the PR, records the events in order", async () => {
    const attemptId = "attempt-task-1-0000a001";
    const { result, logs } = await runOnce(
      harness,
      { ATTEMPT_ID: attemptId },
      { now: () => FIXED },
    );

    const branch = `agent/backlog-propose-${attemptId}`;
    expect(result).toMatchObject({ ok: true, outcome: "succeeded", branch, pr_reused: false });
    if (!result.ok) throw new Error("unreachable");
    expect(remoteBranches(harness)).toEqual([branch, "main"]);

    // The pushed commit: Leviathan's, on top of main, changing only the backlog.
    const sha = plainGit(harness.bare, ["rev-parse", branch]).trim();
    expect(sha).toBe(result.commit_sha);
    expect(plainGit(harness.bare, ["rev-parse", `${branch}^`]).trim()).toBe(
      plainGit(harness.bare, ["rev-parse", "main"]).trim(),
    );
    const identity = `${LEVIATHAN_GIT_IDENTITY.name} <${LEVIATHAN_GIT_IDENTITY.email}>`;
    expect(plainGit(harness.bare, ["show", "-s", "--format=%an <%ae>|%cn <%ce>", sha]).trim()).toBe(
      `${identity}|${identity}`,
    );
    expect(plainGit(harness.bare, ["diff", "--name-only", "main", branch]).trim()).toBe(
      ".leviathan/backlog.yaml",
    );
    // The write-back: the task's four values after its last line, every other byte as written.
    const written = plainGit(harness.bare, ["show", `${branch}:.leviathan/backlog.yaml`]);
    expect(written).toBe(
      BACKLOG.replace(
        '    acceptance_criteria: ["the backlog records the attempt"]\n',
        `    acceptance_criteria: ["the backlog records the attempt"]
    status: completed
    last_attempt_id: ${attemptId}
    branch_name: ${branch}
    completed_at: "2030-01-02T03:04:05.678Z"
`,
      ),
    );

    // The PR, as GitHub's API shapes it.
    const pull = await forgeGet(
      harness,
      `/repos/${OWNER}/${REPO}/pulls/${result.pr_number}`,
      "/repos/{owner}/{repo}/pulls/{pull_number}",
    );
    expect(pull).toMatchObject({
      number: result.pr_number,
      html_url: result.pr_url,
      state: "open",
      title: "leviathan: Record the first proposal",
      head: { ref: branch, sha },
      base: { ref: "main" },
    });
    expect(pull.body).toContain("## Task `task-1`: Record the first proposal");
    expect(pull.body).toContain(`- id: \`${attemptId}\`\n- number: 1`);
    expect(pull.body).toContain("Allowed paths:\n- `docs/proposals/`");
    expect(pull.body).toContain("- [ ] the backlog records the attempt");
    expect(pull.body.trimEnd().split("\n").at(-1)).toBe(
      `<!-- leviathan: target=${TARGET} task=task-1 attempt=${attemptId} -->`,
    );

    // The control plane saw created → started → pr.created → succeeded, with deterministic ids.
    const records = await eventsOf(harness, attemptId);
    expect(records.map((record) => record.event.event_id)).toEqual([
      `${attemptId}.attempt.created`,
      `${attemptId}.attempt.started`,
      `${attemptId}.pr.created`,
      `${attemptId}.attempt.succeeded`,
    ]);
    const identityFields = {
      attempt_id: attemptId,
      task_id: "task-1",
      target_id: TARGET,
      attempt_number: 1,
    };
    for (const record of records) expect(record.event.payload).toMatchObject(identityFields);
    expect(records[2]?.event.payload).toEqual({
      ...identityFields,
      pr_number: result.pr_number,
      pr_url: result.pr_url,
      title: "leviathan: Record the first proposal",
      state: "open",
      branch_name: branch,
      commit_sha: sha,
    });
    const view = await harness.client.getAttempt(attemptId);
    expect(view).toMatchObject({ status: "succeeded", pr_url: result.pr_url });

    // Progress a person can follow, each step with its duration; the checkout is gone.
    const steps = logs
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { msg: string; ms?: number; step?: string })
      .filter((line) => line.step !== undefined);
    expect(steps.map((line) => line.msg)).toEqual([
      "record start: done",
      "clone: done",
      "read task: done",
      "copy the checkout for the executor: done",
      "execute backlog-propose: done",
      "scan the executor's files: done",
      "check and store the change: done",
      "commit and push: done",
      "check the pushed branch: done",
      "pull request: done",
      "record success: done",
    ]);
    for (const line of steps) expect(line.ms).toBeGreaterThanOrEqual(0);
    expect(exists(workspaceOf(harness, attemptId))).toBe(false);
    expect(leakedTokens(logs)).toEqual([]);
  });

  it("run twice (a retried pod): one branch, one PR reused, the events stored once", async () => {
    const attemptId = "attempt-task-1-0000a002";
    const first = await runOnce(harness, { ATTEMPT_ID: attemptId });
    const second = await runOnce(harness, { ATTEMPT_ID: attemptId });

    expect(first.result).toMatchObject({ ok: true, pr_reused: false });
    expect(second.result).toMatchObject({ ok: true, pr_reused: true });
    if (!first.result.ok || !second.result.ok) throw new Error("unreachable");
    expect(second.result.pr_url).toBe(first.result.pr_url);
    const branch = `agent/backlog-propose-${attemptId}`;
    expect(remoteBranches(harness).filter((name) => name === branch)).toHaveLength(1);
    // The branch now holds the second run's commit (force-pushed), still one PR for it.
    expect(plainGit(harness.bare, ["rev-parse", branch]).trim()).toBe(second.result.commit_sha);
    const forBranch = (await pullRequests(harness)).filter((pull) => pull.head.ref === branch);
    expect(forBranch).toHaveLength(1);
    expect(forBranch[0].head.sha).toBe(second.result.commit_sha);

    const types = (await eventsOf(harness, attemptId)).map((record) => record.event.event_type);
    expect(types).toEqual([
      "attempt.created",
      "attempt.started",
      "pr.created",
      "attempt.succeeded",
    ]);
  });

  it("a command executor's allowed change is committed, an ignored file inside the task's paths too", async () => {
    const attemptId = "attempt-task-2-0000a003";
    const script = shellScript(
      "printf '# Guide\\n' > docs/guide.md\nmkdir -p docs/cache && printf 'built\\n' > docs/cache/index.md",
    );
    const { result } = await runOnce(harness, {
      TASK_ID: "task-2",
      ATTEMPT_ID: attemptId,
      LEVIATHAN_EXECUTOR_COMMAND: JSON.stringify([script]),
    });
    const branch = `agent/command-${attemptId}`;
    expect(result).toMatchObject({ ok: true, branch });
    expect(
      plainGit(harness.bare, ["diff", "--name-only", "main", branch]).trim().split("\n"),
    ).toEqual([".leviathan/backlog.yaml", "docs/cache/index.md", "docs/guide.md"]);
    expect(plainGit(harness.bare, ["show", `${branch}:docs/guide.md`])).toBe("# Guide\n");
  });
});

describe("the tokens never leave", () => {
  it("not into .git/config, the executor's environment, logs, events or the PR", async () => {
    const attemptId = "attempt-task-2-0000a004";
    const seen = openDir("leviathan-seen-");
    // The executor runs in the checkout: it copies what it can see to a folder outside it.
    const script = shellScript(
      [
        `cp .git/config '${join(seen, "git-config")}'`,
        `env > '${join(seen, "env")}'`,
        `cat "$LEVIATHAN_TASK_FILE" > '${join(seen, "task.json")}'`,
        "printf 'guide\\n' > docs/guide.md",
      ].join("\n"),
    );
    const { result, logs } = await runOnce(harness, {
      TASK_ID: "task-2",
      ATTEMPT_ID: attemptId,
      LEVIATHAN_EXECUTOR_COMMAND: JSON.stringify([script]),
    });
    expect(result.ok).toBe(true);
    if (!result.ok) throw new Error("unreachable");

    const gitConfig = readFileSync(join(seen, "git-config"), "utf8");
    expect(gitConfig).toContain(`url = ${harness.forge.gitUrl(OWNER, REPO)}`);
    expect(gitConfig.toLowerCase()).not.toContain("extraheader");
    expect(leakedTokens(gitConfig)).toEqual([]);
    expect(leakedTokens(readFileSync(join(seen, "env"), "utf8"))).toEqual([]);
    expect(readFileSync(join(seen, "env"), "utf8")).toContain("LEVIATHAN_TASK_FILE=");
    expect(JSON.parse(readFileSync(join(seen, "task.json"), "utf8"))).toMatchObject({
      id: "task-2",
      title: "Write the guide",
    });

    expect(logs).toContain('"msg":"clone: done"');
    expect(leakedTokens(logs)).toEqual([]);
    const all = await harness.client.getEvents(0, 10_000);
    expect(leakedTokens(JSON.stringify(all))).toEqual([]);
    expect(leakedTokens(JSON.stringify(await pullRequests(harness)))).toEqual([]);
    const commit = plainGit(harness.bare, ["log", "-p", `agent/command-${attemptId}`]);
    expect(leakedTokens(commit)).toEqual([]);
  });
});
