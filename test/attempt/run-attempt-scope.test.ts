import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { shellScript } from "./executor-fixtures.ts";
import { openDir, plainGit, removeTempDirs } from "./git-fixtures.ts";
import {
  eventsOf,
  exists,
  type Harness,
  leakedTokens,
  pullRequests,
  remoteBranches,
  runOnce,
  startHarness,
  TARGET,
  workspaceOf,
} from "./run-attempt-fixtures.ts";

let harness: Harness;
let marker: string;
beforeAll(async () => {
  harness = await startHarness();
  marker = join(openDir("leviathan-hook-ran-"), "ran");
});
afterAll(async () => {
  await harness.close();
  removeTempDirs();
});

/** A hook that leaves a mark if anything ever runs it. */
const hook = () => `printf '#!/bin/sh\\necho "$0" >> ${marker}\\n'`;

interface ScopeCase {
  name: string;
  script: () => string;
  paths: string[];
}

// task-2 may write docs/guide.md and docs/cache/; the target allows .leviathan/ and docs/.
const CASES: ScopeCase[] = [
  {
    name: "outside allowed_paths (a tracked file, and a file inside the prefix but not the task's)",
    script: () =>
      "printf 'x' >> src/app.ts\nprintf 'x' > docs/other.md\nprintf 'ok' > docs/guide.md",
    paths: ["docs/other.md", "src/app.ts"],
  },
  {
    name: "through ..",
    script: () => "printf 'x' > docs/../secrets.txt\nprintf 'ok' > docs/guide.md",
    paths: ["secrets.txt"],
  },
  {
    name: "an allowed path made a symlink",
    script: () => "ln -s ../src/app.ts docs/guide.md",
    paths: ["docs/guide.md"],
  },
  {
    name: "through a symlinked folder inside the allowed paths",
    script: () =>
      "mkdir -p docs/cache && ln -s ../../src docs/cache/src\nprintf 'x' >> docs/cache/src/app.ts",
    paths: ["docs/cache/src", "src/app.ts"],
  },
  {
    name: "into an ignored folder",
    script: () => "mkdir -p cache && printf 'x' > cache/notes.txt\nprintf 'ok' > docs/guide.md",
    paths: ["cache/notes.txt"],
  },
  {
    name: "a folder macOS would read as .git",
    script: () =>
      `mkdir -p "docs/cache/.g$(printf '\\342\\200\\214')it" && printf '[core]' > "docs/cache/.g$(printf '\\342\\200\\214')it/config"`,
    paths: ["docs/cache/.g\u200cit/config"],
  },
  {
    name: "the backlog itself, which only the write-back may change",
    script: () =>
      "sed -i 's/ready: true/ready: false/' .leviathan/backlog.yaml\nprintf 'ok' > docs/guide.md",
    paths: [".leviathan/backlog.yaml"],
  },
];

describe("a command executor that leaves the task's scope", () => {
  it.each(CASES.map((scopeCase, index) => ({ ...scopeCase, index })))(
    "$name: nothing pushed, no hook run, attempt.failed scope_violation with the paths",
    async ({ script, paths, index }) => {
      const attemptId = `attempt-task-2-5c0e000${index}`;
      const { result, logs } = await runOnce(harness, {
        TASK_ID: "task-2",
        ATTEMPT_ID: attemptId,
        LEVIATHAN_EXECUTOR_COMMAND: JSON.stringify([shellScript(script())]),
      });

      expect(result.ok).toBe(false);
      if (result.ok || result.outcome !== "failed") throw new Error(`unexpected ${result.outcome}`);
      expect(result.failure.reason).toBe("scope_violation");
      expect(result.failure.failureKind).toBe("task");
      expect(result.failure.toPayload().paths).toEqual(paths);

      const branch = `agent/command-${attemptId}`;
      expect(remoteBranches(harness)).not.toContain(branch);
      expect((await pullRequests(harness)).map((pull) => pull.head.ref)).not.toContain(branch);
      expect(exists(marker)).toBe(false);
      expect(exists(workspaceOf(harness, attemptId))).toBe(false);

      const records = await eventsOf(harness, attemptId);
      expect(records.map((record) => record.event.event_type)).toEqual([
        "attempt.created",
        "attempt.started",
        "attempt.failed",
      ]);
      expect(records[2]?.event.payload).toMatchObject({
        attempt_id: attemptId,
        task_id: "task-2",
        target_id: TARGET,
        attempt_number: 1,
        reason: "scope_violation",
        failure_kind: "task",
        paths,
        branch_name: branch,
      });
      expect(String(records[2]?.event.payload.error_summary)).toContain(paths[0]);
      expect(leakedTokens(logs)).toEqual([]);
    },
  );

  it.each([
    {
      name: "more files than max_changed_files",
      limits: { LEVIATHAN_MAX_CHANGED_FILES: "5" },
      script: "mkdir -p docs/cache && for i in 1 2 3 4 5 6; do echo $i > docs/cache/$i.md; done",
      summary: /touches 7 files, more than max_changed_files \(5\)/,
    },
    {
      name: "more bytes than max_change_bytes",
      limits: { LEVIATHAN_MAX_CHANGE_BYTES: "4096" },
      script: "head -c 5000 /dev/zero > docs/guide.md",
      summary: /over max_change_bytes \(4096 bytes\)/,
    },
  ])(
    "$name: change_too_large, a task failure, nothing pushed",
    async ({ limits, script, summary }) => {
      const attemptId = `attempt-task-2-5c0e1${Object.keys(limits)[0]!.length.toString(16).padStart(3, "0")}`;
      const { result } = await runOnce(harness, {
        TASK_ID: "task-2",
        ATTEMPT_ID: attemptId,
        LEVIATHAN_EXECUTOR_COMMAND: JSON.stringify([shellScript(script)]),
        ...limits,
      });
      if (result.ok || result.outcome !== "failed") throw new Error("expected a failure");
      expect(result.failure.reason).toBe("change_too_large");
      expect(result.failure.failureKind).toBe("task");
      expect(result.failure.summary).toMatch(summary);
      expect(remoteBranches(harness)).not.toContain(`agent/command-${attemptId}`);
    },
  );

  it("writes into its own .git (hooks, config, HEAD, refs): none of it is pushed or run", async () => {
    const attemptId = "attempt-task-2-5c0e00fe";
    const script = [
      `${hook()} > .git/hooks/post-commit`,
      `${hook()} > .git/hooks/pre-push`,
      `${hook()} > .git/hooks/reference-transaction`,
      "chmod +x .git/hooks/*",
      `printf '[core]\\n\\tfsmonitor = touch ${marker}\\n\\tsshCommand = touch ${marker}\\n' >> .git/config`,
      `printf '[url "file:///nowhere/"]\\n\\tinsteadOf = http://\\n' >> .git/config`,
      "git symbolic-ref HEAD refs/heads/elsewhere",
      "printf 'ok' > docs/guide.md",
    ].join("\n");
    const { result } = await runOnce(harness, {
      TASK_ID: "task-2",
      ATTEMPT_ID: attemptId,
      LEVIATHAN_EXECUTOR_COMMAND: JSON.stringify([shellScript(script)]),
    });
    expect(result).toMatchObject({ ok: true, branch: `agent/command-${attemptId}` });
    const branch = `agent/command-${attemptId}`;
    expect(
      plainGit(harness.bare, ["diff", "--name-only", "main", branch]).trim().split("\n"),
    ).toEqual([".leviathan/backlog.yaml", "docs/guide.md"]);
    expect(plainGit(harness.bare, ["show", `${branch}:docs/guide.md`])).toBe("ok");
    expect(exists(marker)).toBe(false);
  });

  it("a task whose allowed_paths leave the target's prefixes never runs its executor", async () => {
    const attemptId = "attempt-task-2-5c0e00ff";
    const ran = join(openDir("leviathan-executor-ran-"), "ran");
    const { result } = await runOnce(harness, {
      TASK_ID: "task-2",
      ATTEMPT_ID: attemptId,
      // The target now allows only .leviathan/: task-2's docs/ paths are out of bounds.
      LEVIATHAN_ALLOWED_PATH_PREFIXES: ".leviathan/",
      LEVIATHAN_EXECUTOR_COMMAND: JSON.stringify([shellScript(`touch ${ran}`)]),
    });
    if (result.ok || result.outcome !== "failed") throw new Error("expected a failure");
    expect(result.failure.reason).toBe("scope_violation");
    expect(result.failure.toPayload().paths).toEqual(["docs/guide.md", "docs/cache/"]);
    expect(exists(ran)).toBe(false);
  });
});
