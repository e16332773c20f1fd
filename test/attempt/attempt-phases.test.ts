// A Job's pod without Kubernetes: its three containers as three processes in order, each with
// the environment its container gets. `prepare` and `deliver` run as this user with the token
// files; `execute` runs as the executor's container user (10002) with only its few variables,
// the pod's group (10001, Kubernetes' fsGroup) and the workspace — never the trusted folder.
import { execFile, spawnSync } from "node:child_process";
import { chmodSync, chownSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXECUTE_PHASE_ENV } from "../../shared/jobs/attempt-phases.ts";
import { deriveAttemptToken } from "../../shared/tokens/attempt-token.ts";
import { shellScript } from "./executor-fixtures.ts";
import { openDir, plainGit, removeTempDirs, tempDir } from "./git-fixtures.ts";
import {
  attemptEnvFor,
  CONTROL_PLANE_TOKEN,
  eventsOf,
  GITHUB_TOKEN,
  type Harness,
  leakedTokens,
  pullRequests,
  startHarness,
  TARGET,
} from "./run-attempt-fixtures.ts";

const BIN = fileURLToPath(new URL("../../bin/leviathan.js", import.meta.url));
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const POD_GROUP = 10001;
/** Whether uid 10002 can read bin/leviathan.js here (every folder above it open to others). */
const EXECUTE_AS_POD_USER =
  spawnSync("setpriv", [
    "--reuid=10002",
    "--regid=10002",
    "--clear-groups",
    "--",
    "test",
    "-r",
    BIN,
  ]).status === 0;

let harness: Harness;
beforeAll(async () => {
  harness = await startHarness();
});
afterAll(async () => {
  await harness.close();
  removeTempDirs();
});

interface Exit {
  code: number | null;
  stderr: string;
}

function run(argv: string[], env: Record<string, string>): Promise<Exit> {
  const [program, ...args] = argv as [string, ...string[]];
  return new Promise((resolve) => {
    execFile(
      program,
      args,
      { cwd: ROOT, env, timeout: 120_000, killSignal: "SIGKILL" },
      (error, _out, stderr) => {
        resolve({ code: error ? (typeof error.code === "number" ? error.code : null) : 0, stderr });
      },
    );
  });
}

/** The workspace volume: owned by the pod's group, setgid, as Kubernetes makes an fsGroup emptyDir. */
function workspaceVolume(): string {
  const dir = openDir("leviathan-pod-workspace-");
  chownSync(dir, 0, POD_GROUP);
  chmodSync(dir, 0o2775);
  return dir;
}

interface Pod {
  trusted: string;
  attemptToken: string;
  prepare: Exit;
  execute: Exit;
  deliver: Exit;
}

/**
 * One attempt as its pod runs it: `prepare` and `deliver` with the token files (as Secret
 * volumes give them), `execute` as uid 10002 in the pod's group with only its own variables
 * and the executor's Secret.
 */
async function runPod(
  attemptId: string,
  scriptFor: (trusted: string) => string,
  executorSecret: Record<string, string> = {},
): Promise<Pod> {
  const workspace = workspaceVolume();
  const trusted = tempDir("leviathan-pod-trusted-");
  const secrets = tempDir("leviathan-pod-secrets-");
  const attemptToken = deriveAttemptToken(CONTROL_PLANE_TOKEN, { targetId: TARGET, attemptId });
  writeFileSync(join(secrets, "github-token"), GITHUB_TOKEN, { mode: 0o400 });
  writeFileSync(join(secrets, "control-plane-token"), attemptToken, { mode: 0o400 });
  const full = attemptEnvFor(harness, {
    TASK_ID: "task-2",
    ATTEMPT_ID: attemptId,
    LEVIATHAN_WORKSPACE_DIR: workspace,
    LEVIATHAN_EXECUTOR_COMMAND: JSON.stringify([scriptFor(trusted)]),
    GITHUB_TOKEN: undefined,
    CONTROL_PLANE_TOKEN: undefined,
  });
  const path = process.env.PATH ?? "/usr/bin:/bin";
  const trustedEnv = {
    ...full,
    PATH: path,
    HOME: tempDir(),
    GITHUB_TOKEN_FILE: join(secrets, "github-token"),
    CONTROL_PLANE_TOKEN_FILE: join(secrets, "control-plane-token"),
  };
  const phase = (name: "prepare" | "deliver") =>
    run([process.execPath, BIN, "attempt", name, "--trusted-dir", trusted], trustedEnv);
  const prepare = await phase("prepare");
  const executeEnv: Record<string, string> = {
    PATH: path,
    HOME: "/nonexistent",
    ...executorSecret,
  };
  for (const name of EXECUTE_PHASE_ENV) if (full[name]) executeEnv[name] = full[name];
  // Not mounted into `execute`: a mount namespace covers the trusted folder and the Secret
  // files with empty file systems. It runs as the container's user when that user can read this
  // checkout of Leviathan (it may not, if the clone sits in a folder only root may enter).
  const hide = `mount -t tmpfs none '${trusted}' && mount -t tmpfs none '${secrets}'`;
  const user = EXECUTE_AS_POD_USER
    ? `setpriv --reuid=10002 --regid=10002 --groups=${POD_GROUP} --no-new-privs -- `
    : "";
  const execute = await run(
    [
      "unshare",
      "--mount",
      "--",
      "/bin/sh",
      "-c",
      `${hide} && exec ${user}'${process.execPath}' '${BIN}' attempt execute`,
    ],
    executeEnv,
  );
  const deliver = await phase("deliver");
  return { trusted, attemptToken, prepare, execute, deliver };
}

describe("a Job's three containers", () => {
  it("prepare, execute (no token, another user) and deliver open the PR with only the executor's change", async () => {
    const attemptId = "attempt-task-2-0000d001";
    const out = openDir("leviathan-pod-out-");
    const script = (trusted: string) =>
      shellScript(
        [
          `env > ${out}/env`,
          `id > ${out}/id`,
          `ls ${trusted} > ${out}/trusted 2>&1 || true`,
          "printf 'from the executor\\n' > docs/guide.md",
          "exit 0",
        ].join("\n"),
      );
    const pod = await runPod(attemptId, script, { EXECUTOR_API_KEY: "model-key-from-its-secret" });
    expect(pod.prepare.code, pod.prepare.stderr).toBe(0);
    expect(pod.execute.code, pod.execute.stderr).toBe(0);
    expect(pod.deliver.code, pod.deliver.stderr).toBe(0);
    const attemptToken = pod.attemptToken;

    const seen = readFileSync(join(out, "env"), "utf8");
    expect(seen).toContain("EXECUTOR_API_KEY=model-key-from-its-secret");
    expect(seen).not.toMatch(/TOKEN/);
    expect(leakedTokens(seen)).toEqual([]);
    expect(seen).not.toContain(attemptToken);
    if (EXECUTE_AS_POD_USER) expect(readFileSync(join(out, "id"), "utf8")).toMatch(/^uid=10002\b/);
    // The trusted folder holds the clone and the hand-over, but not for `execute`.
    expect(readFileSync(join(pod.trusted, attemptId, "state.json"), "utf8")).toContain(
      '"version":1',
    );
    expect(readFileSync(join(out, "trusted"), "utf8").trim()).toBe("");

    const branch = `agent/command-${attemptId}`;
    expect(plainGit(harness.bare, ["show", `${branch}:docs/guide.md`])).toBe("from the executor\n");
    expect(
      plainGit(harness.bare, ["diff", "--name-only", "main", branch]).trim().split("\n"),
    ).toEqual([".leviathan/backlog.yaml", "docs/guide.md"]);
    const pull = (await pullRequests(harness)).find((p) => p.head.ref === branch);
    expect(pull?.body).toContain("- isolation: `container`");
    const records = await eventsOf(harness, attemptId);
    expect(records.map((r) => r.event.event_type)).toEqual([
      "attempt.created",
      "attempt.started",
      "pr.created",
      "attempt.succeeded",
    ]);
    expect(records[1]?.event.payload.isolation).toBe("container");
  });

  it("deliver judges what execute left: an out-of-scope file is a scope violation, nothing pushed", async () => {
    const attemptId = "attempt-task-2-0000d002";
    // It forges its own account too: a clean exit is all it can claim, and it is not enough.
    const pod = await runPod(attemptId, () =>
      shellScript(
        `echo evil > src/app.ts\nprintf '{"status":"exited","code":0}' > ../result.json\nexit 0`,
      ),
    );
    expect(pod.prepare.code, pod.prepare.stderr).toBe(0);
    expect(pod.execute.code, pod.execute.stderr).toBe(0);
    expect(pod.deliver.code).toBe(1);

    const failed = (await eventsOf(harness, attemptId)).find(
      (r) => r.event.event_type === "attempt.failed",
    );
    expect(failed?.event.payload).toMatchObject({
      reason: "scope_violation",
      paths: ["src/app.ts"],
    });
    expect(plainGit(harness.bare, ["branch", "--list", `agent/command-${attemptId}`]).trim()).toBe(
      "",
    );
  });
});
