import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAttemptEnv } from "../../shared/attempt/attempt-env.ts";
import { detectIsolation } from "../../shared/attempt/isolation/detect-isolation.ts";
import { readExecutorEnv } from "../../shared/attempt/isolation/read-executor-env.ts";
import { runAttempt } from "../../shared/attempt/run-attempt.ts";
import { ControlPlaneClient } from "../../shared/control-plane/client/control-plane-client.ts";
import { errorMessage } from "../../shared/errors/error-message.ts";
import { createGitHubForge } from "../../shared/forge/github/create-github-forge.ts";
import { shellScript } from "./executor-fixtures.ts";
import { openDir, quietLogger, removeTempDirs, tempDir } from "./git-fixtures.ts";
import {
  attemptEnvFor,
  eventsOf,
  type Harness,
  pullRequests,
  remoteBranches,
  startHarness,
} from "./run-attempt-fixtures.ts";

let harness: Harness;
beforeAll(async () => {
  harness = await startHarness();
});
afterAll(async () => {
  await harness.close();
  removeTempDirs();
});

describe("detectIsolation", () => {
  it("as root: another user in its own PID namespace, the files handed over to that user", async () => {
    const found = await detectIsolation({ setting: "required", executorUid: 4242, uid: 0 });
    expect(found.isolation).toBe("user+pid-namespace");
    if ("unavailable" in found) throw new Error("unreachable");
    expect(found.handOver).toEqual({ kind: "chown", uid: 4242, gid: 4242 });
    const argv = found.wrap(["agent", "--go"]);
    expect(argv.slice(-2)).toEqual(["agent", "--go"]);
    expect(argv.join(" ")).toMatch(
      /unshare --pid --fork --kill-child --mount-proc -- \S*setpriv --reuid=4242 --regid=4242 --clear-groups --no-new-privs/,
    );
  });

  it("as root without unshare: another user alone, every process of it swept", async () => {
    // A PATH that has setpriv but no unshare (a folder with a link to setpriv only).
    const bin = tempDir("leviathan-bin-");
    const { symlinkSync } = await import("node:fs");
    symlinkSync("/usr/bin/setpriv", join(bin, "setpriv"));
    const found = await detectIsolation({
      setting: "required",
      executorUid: 4242,
      uid: 0,
      path: bin,
    });
    expect(found.isolation).toBe("user");
    if ("unavailable" in found) throw new Error("unreachable");
    expect(found.sweep).toEqual({ kind: "user", uid: 4242 });
  });

  it("not root: unavailable when required, the attempt's own user when none; never uid 0", async () => {
    const required = await detectIsolation({ setting: "required", executorUid: 65534, uid: 1000 });
    expect(required).toMatchObject({ isolation: "none" });
    expect("unavailable" in required && required.unavailable).toMatch(/executor_isolation: none/);
    const none = await detectIsolation({ setting: "none", executorUid: 65534, uid: 1000 });
    expect(none).toMatchObject({ isolation: "none", handOver: { kind: "none" } });
    const asRoot = await detectIsolation({ setting: "required", executorUid: 0, uid: 0 });
    expect("unavailable" in asRoot && asRoot.unavailable).toMatch(/must not be 0/);
  });
});

describe("readExecutorEnv", () => {
  it("reads NAME=value lines and refuses Leviathan's own names and tokens, naming the line", async () => {
    const dir = tempDir();
    const file = (text: string) => {
      const path = join(dir, `env-${Math.random().toString(16).slice(2)}`);
      writeFileSync(path, text);
      return path;
    };
    expect(await readExecutorEnv(file("# key\nMODEL_API_KEY=a=b\n\nOTHER= x\n"), [])).toEqual({
      MODEL_API_KEY: "a=b",
      OTHER: " x",
    });
    for (const [text, message] of [
      ["GITHUB_TOKEN=x\n", /line 1: GITHUB_TOKEN is Leviathan's own/],
      ["A=1\nCONTROL_PLANE_TOKEN_FILE=/x\n", /line 2: CONTROL_PLANE_TOKEN_FILE is Leviathan's own/],
      ["LD_PRELOAD=/evil.so\n", /LD_PRELOAD is Leviathan's own/],
      ["not a pair\n", /line 1: expected NAME=value/],
      ["KEY=prefix-secret-token-1234\n", /KEY holds one of the attempt's own tokens/],
    ] as const) {
      const error = await readExecutorEnv(file(text), ["secret-token-1234"]).catch(
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ reason: "isolation_unavailable", failureKind: "platform" });
      expect(errorMessage(error)).toMatch(message);
      expect(errorMessage(error)).not.toContain("secret-token-1234");
    }
  });
});

async function runWith(
  overrides: Record<string, string>,
  isolation: Awaited<ReturnType<typeof detectIsolation>>,
) {
  const env = parseAttemptEnv(attemptEnvFor(harness, overrides));
  return runAttempt(env, {
    controlPlane: new ControlPlaneClient({
      url: env.controlPlaneUrl,
      token: env.controlPlaneToken,
      baseDelayMs: 10,
    }),
    forge: createGitHubForge({
      apiUrl: env.githubApiUrl,
      owner: env.owner,
      repo: env.repo,
      token: env.githubToken,
      logger: quietLogger,
    }),
    logger: quietLogger,
    isolation,
  });
}

describe("an attempt that cannot isolate its executor", () => {
  it("required: the command never runs; isolation_unavailable, a platform failure, nothing pushed", async () => {
    const attemptId = "attempt-task-2-0000e001";
    const ran = join(openDir(), "ran");
    const result = await runWith(
      {
        TASK_ID: "task-2",
        ATTEMPT_ID: attemptId,
        LEVIATHAN_EXECUTOR_COMMAND: JSON.stringify([shellScript(`touch ${ran}`)]),
      },
      await detectIsolation({ setting: "required", executorUid: 65534, uid: 1000 }),
    );
    if (result.ok || result.outcome !== "failed") throw new Error(`unexpected ${result.outcome}`);
    expect(result.failure.reason).toBe("isolation_unavailable");
    expect(result.failure.failureKind).toBe("platform");
    const { existsSync } = await import("node:fs");
    expect(existsSync(ran)).toBe(false);
    expect(remoteBranches(harness)).not.toContain(`agent/command-${attemptId}`);
    const records = await eventsOf(harness, attemptId);
    expect(records[1]?.event.payload.isolation).toBe("none");
    expect(records.at(-1)?.event.payload).toMatchObject({
      reason: "isolation_unavailable",
      failure_kind: "platform",
    });
  });

  it("required: a built-in executor still runs (it is Leviathan's own code)", async () => {
    const result = await runWith(
      { ATTEMPT_ID: "attempt-task-1-0000e002" },
      await detectIsolation({ setting: "required", executorUid: 65534, uid: 1000 }),
    );
    expect(result.ok).toBe(true);
  });

  it("none: the command runs as the attempt's own user and the PR says it was not isolated", async () => {
    const attemptId = "attempt-task-2-0000e003";
    const result = await runWith(
      {
        TASK_ID: "task-2",
        ATTEMPT_ID: attemptId,
        LEVIATHAN_EXECUTOR_COMMAND: JSON.stringify([shellScript("printf 'g\\n' > docs/guide.md")]),
      },
      await detectIsolation({ setting: "none", executorUid: 65534, uid: 1000 }),
    );
    expect(result.ok).toBe(true);
    const pull = (await pullRequests(harness)).find(
      (p) => p.head.ref === `agent/command-${attemptId}`,
    );
    expect(pull?.body).toContain(
      "- isolation: `none` (the command ran as the attempt's own user: not isolated)",
    );
  });
});
