// The `command` executor as an attacker would write it, run the way local mode runs it: the
// worker's Job through the process runner, `leviathan attempt` as a child process (as root, as
// CI runs the suite), the executor as another user in its own PID namespace. It looks
// everywhere it can for a credential and keeps working after it "exits"; none of it may work.
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tokenForms } from "../../shared/git/git-environment.ts";
import { buildAttemptJob } from "../../shared/jobs/build-attempt-job.ts";
import { createProcessJobRunner } from "../../shared/jobs/process/process-job-runner.ts";
import type { AttemptJob } from "../../shared/jobs/types.ts";
import { deriveAttemptToken } from "../../shared/tokens/attempt-token.ts";
import { seedConfig } from "../jobs/job-fixtures.ts";
import { shellScript } from "./executor-fixtures.ts";
import { openDir, plainGit, quietLogger, removeTempDirs, tempDir } from "./git-fixtures.ts";
import {
  CONTROL_PLANE_TOKEN,
  eventsOf,
  GITHUB_TOKEN,
  type Harness,
  OWNER,
  pullRequests,
  REPO,
  startHarness,
  TARGET,
} from "./run-attempt-fixtures.ts";

let harness: Harness;
let home: string;
beforeAll(async () => {
  harness = await startHarness();
  home = tempDir("leviathan-hostile-home-");
  // What local mode keeps in its home: the control plane's token, and the token files of another
  // attempt running at the same time, as the process runner writes them.
  writeFileSync(join(home, "control-plane.token"), `${CONTROL_PLANE_TOKEN}\n`, { mode: 0o600 });
  await mkdir(join(home, "jobs", "worker-attempt-other-0000beef.tokens"), {
    recursive: true,
    mode: 0o700,
  });
  writeFileSync(
    join(home, "jobs", "worker-attempt-other-0000beef.tokens", "attempt-token"),
    `${OTHER_ATTEMPT_TOKEN}\n`,
    { mode: 0o600 },
  );
});
afterAll(async () => {
  await harness.close();
  removeTempDirs();
});

const OTHER_ATTEMPT_TOKEN = deriveAttemptToken(CONTROL_PLANE_TOKEN, {
  targetId: TARGET,
  attemptId: "attempt-other-0000beef",
});

/** Runs task-2 (the command executor) through the process runner; resolves with its exit code. */
async function runThroughRunner(
  attemptId: string,
  script: string,
  extraEnv: Record<string, string> = {},
): Promise<{ code: number | null; job: AttemptJob }> {
  const config = seedConfig({
    target_id: TARGET,
    target_repo_url: harness.forge.gitUrl(OWNER, REPO),
    github_api_url: harness.forge.apiUrl,
    control_plane_url: harness.controlPlane.url,
    workspace_dir: join(home, "workspace"),
    attempt_timeout_seconds: 120,
    executor_command: [script],
  });
  const request = {
    target_id: TARGET,
    task_id: "task-2",
    attempt_id: attemptId,
    attempt_number: 1,
    config: "local.yaml",
  };
  const job = buildAttemptJob(config, request, {
    attemptToken: deriveAttemptToken(CONTROL_PLANE_TOKEN, { targetId: TARGET, attemptId }),
  });
  let exited: (code: number | null) => void = () => undefined;
  const done = new Promise<number | null>((resolve) => {
    exited = resolve;
  });
  const runner = createProcessJobRunner({
    home,
    secrets: { GITHUB_TOKEN },
    logger: quietLogger,
    onExit: (name, code) => {
      if (name === job.name) exited(code);
    },
  });
  const saved = { ...process.env };
  Object.assign(process.env, extraEnv);
  try {
    await runner.submit(job);
  } finally {
    for (const name of Object.keys(extraEnv)) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  }
  return { code: await done, job };
}

describe("an executor turned against the attempt", () => {
  it("finds no token in any environment, command line or file it can reach, only its own key", async () => {
    const attemptId = "attempt-task-2-0000c001";
    const out = openDir("leviathan-hostile-out-");
    // A file it can read, holding a value it must find: the scan below does read what it can.
    const canaryDir = openDir("leviathan-canary-");
    const canary = `canary-${randomBytes(8).toString("hex")}`;
    writeFileSync(join(canaryDir, "note"), canary, { mode: 0o644 });
    const executorEnv = join(tempDir("leviathan-executor-env-"), "executor.env");
    writeFileSync(executorEnv, "# the agent's own credential\nMODEL_API_KEY=model-key-1234\n", {
      mode: 0o600,
    });
    const places = [
      '"$PWD"',
      '"$HOME"',
      '"$TMPDIR"',
      '"$(dirname "$PWD")"',
      "/proc/1/cwd",
      `'${home}'`,
      `'${join(home, "jobs")}'`,
      `'${join(home, "workspace")}'`,
      `'${canaryDir}'`,
    ].join(" ");
    const script = shellScript(
      [
        `exec 2>/dev/null`,
        `id > '${out}/id'`,
        `env > '${out}/env'`,
        // Every process it can see: its environment and its command line.
        `for p in /proc/[0-9]*; do echo "== $p"; tr '\\0' '\\n' < $p/environ; tr '\\0' ' ' < $p/cmdline; echo; done > '${out}/proc'`,
        `ls /proc | grep -c '^[0-9]' > '${out}/process-count'`,
        // Every file it can read around its checkout, its HOME, its parent's folder, LEVIATHAN_HOME.
        `for d in ${places}; do find "$d" -maxdepth 6 -type f 2>/dev/null | while read -r f; do echo "== $f"; cat "$f"; done; done > '${out}/files'`,
        `cat '${join(home, "control-plane.token")}' > '${out}/home-token'`,
        `cat '${join(home, "jobs", "worker-attempt-other-0000beef.tokens", "attempt-token")}' > '${out}/other-token'`,
        `cat '${executorEnv}' > '${out}/env-file'`,
        "git config --list --show-origin > '" + out + "/git-config'",
        "printf 'guide\\n' > docs/guide.md",
      ].join("\n"),
    );
    const { code } = await runThroughRunner(attemptId, script, {
      LEVIATHAN_EXECUTOR_ENV_FILE: executorEnv,
    });
    expect(code).toBe(0);

    const read = (name: string) => readFileSync(join(out, name), "utf8");
    expect(read("env")).toContain("MODEL_API_KEY=model-key-1234");
    expect(read("files")).toContain(canary);
    const everything = [
      "id",
      "env",
      "proc",
      "files",
      "home-token",
      "other-token",
      "env-file",
      "git-config",
    ]
      .map(read)
      .join("\n");
    const own = deriveAttemptToken(CONTROL_PLANE_TOKEN, { targetId: TARGET, attemptId });
    for (const token of [GITHUB_TOKEN, CONTROL_PLANE_TOKEN, own, OTHER_ATTEMPT_TOKEN]) {
      for (const form of tokenForms(token)) expect(everything).not.toContain(form);
    }
    // Its own PID namespace: it sees itself and what it started, nothing of the attempt's.
    expect(Number(read("process-count"))).toBeLessThan(10);
    expect(read("id")).toMatch(/^uid=65534\b/);
    expect(read("home-token")).toBe("");
    expect(read("other-token")).toBe("");
    expect(read("env-file")).toBe("");

    const pulls = await pullRequests(harness);
    const pull = pulls.find((p) => p.head.ref === `agent/command-${attemptId}`);
    expect(pull?.body).toContain("- isolation: `user+pid-namespace`");
    const started = (await eventsOf(harness, attemptId)).find(
      (r) => r.event.event_type === "attempt.started",
    );
    expect(started?.event.payload.isolation).toBe("user+pid-namespace");
  });

  it("kills a setsid child that keeps writing after the executor exits; what is pushed is what it left", async () => {
    const attemptId = "attempt-task-2-0000c002";
    const out = openDir("leviathan-hostile-out-");
    const script = shellScript(
      [
        "printf 'final\\n' > docs/guide.md",
        // In its own session, out of the executor's process group: it says it is ready, waits for
        // its parent (the executor) to be gone, then rewrites files in and out of scope.
        `setsid sh -c 'touch ${out}/ready; while kill -0 $1 2>/dev/null; do sleep 0.01; done; while true; do date +%s%N >> docs/guide.md; echo evil > src/app.ts; date +%s%N >> ${out}/beat; sleep 0.02; done' sh $$ &`,
        `while [ ! -e ${out}/ready ]; do sleep 0.01; done`,
        "exit 0",
      ].join("\n"),
    );
    const { code } = await runThroughRunner(attemptId, script);
    expect(code).toBe(0);
    const branch = `agent/command-${attemptId}`;
    expect(plainGit(harness.bare, ["show", `${branch}:docs/guide.md`])).toBe("final\n");
    expect(plainGit(harness.bare, ["show", `${branch}:src/app.ts`])).toBe(
      "export const app = 1;\n",
    );
    expect(
      plainGit(harness.bare, ["diff", "--name-only", "main", branch]).trim().split("\n"),
    ).toEqual([".leviathan/backlog.yaml", "docs/guide.md"]);
    // The child never got to run after its parent: the namespace died with the executor.
    expect(() => readFileSync(join(out, "beat"))).toThrow(/ENOENT/);
  });
});
