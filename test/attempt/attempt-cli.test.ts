import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REQUIRED_ATTEMPT_ENV } from "../../shared/jobs/build-attempt-job.ts";
import { removeTempDirs } from "./git-fixtures.ts";
import {
  attemptEnvFor,
  eventsOf,
  type Harness,
  leakedTokens,
  pullRequests,
  remoteBranches,
  startHarness,
} from "./run-attempt-fixtures.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BIN = fileURLToPath(new URL("../../bin/leviathan.js", import.meta.url));
const JOB_MAIN = fileURLToPath(new URL("../../functions/job/main.ts", import.meta.url));

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a child with exactly `env` (plus what any program needs to start), bounded in time. */
function run(args: string[], env: Record<string, string>): Promise<Exit> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      args,
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/", ...env },
        timeout: 120_000,
        killSignal: "SIGKILL",
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const MISSING =
  `leviathan attempt: missing required environment variables: ${REQUIRED_ATTEMPT_ENV.join(", ")}\n` +
  "(a token may also be given as a file: GITHUB_TOKEN_FILE, CONTROL_PLANE_TOKEN_FILE)\n";

let harness: Harness;
beforeAll(async () => {
  harness = await startHarness();
});
afterAll(async () => {
  await harness.close();
  removeTempDirs();
});

describe("leviathan attempt as a child process", () => {
  it("without its environment: one error naming every missing variable, exit 1", async () => {
    const exit = await run([BIN, "attempt"], {});
    expect(exit).toEqual({ code: 1, stdout: "", stderr: MISSING });
  });

  it("functions/job/main.ts, the Job's own entry, says the same", async () => {
    const exit = await run(["--import", "tsx", JOB_MAIN], {});
    expect(exit).toEqual({ code: 1, stdout: "", stderr: MISSING });
  });

  it("a successful attempt exits 0 with its progress on stderr and nothing on stdout", async () => {
    const attemptId = "attempt-task-1-0000c001";
    const exit = await run([BIN, "attempt"], attemptEnvFor(harness, { ATTEMPT_ID: attemptId }));
    expect(exit.code).toBe(0);
    expect(exit.stdout).toBe("");
    const lines = exit.stderr
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { msg: string; name?: string });
    expect(lines.every((line) => line.name === "attempt")).toBe(true);
    expect(lines.map((line) => line.msg)).toContain("clone: done");
    expect(lines.at(-1)?.msg).toMatch(
      /^attempt succeeded: http:\/\/127\.0\.0\.1:\d+\/demo\/site\/pull\/\d+$/,
    );
    expect(leakedTokens(exit.stderr)).toEqual([]);

    const branch = `agent/backlog-propose-${attemptId}`;
    expect(remoteBranches(harness)).toContain(branch);
    expect((await pullRequests(harness)).map((pull) => pull.head.ref)).toContain(branch);
    expect((await eventsOf(harness, attemptId)).map((record) => record.event.event_type)).toEqual([
      "attempt.created",
      "attempt.started",
      "pr.created",
      "attempt.succeeded",
    ]);
  });

  it("a failed attempt exits 1 after recording attempt.failed", async () => {
    const attemptId = "attempt-task-9-0000c002";
    const exit = await run(
      [BIN, "attempt"],
      attemptEnvFor(harness, { TASK_ID: "task-9", ATTEMPT_ID: attemptId }),
    );
    expect(exit.code).toBe(1);
    expect(exit.stderr).toContain('"msg":"attempt failed: task_not_found"');
    const records = await eventsOf(harness, attemptId);
    expect(records.at(-1)?.event.payload).toMatchObject({ reason: "task_not_found" });
  });
});
