import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ESSENTIAL_ENV } from "../../shared/jobs/process/attempt-process-env.ts";
import type { ProcessJobState } from "../../shared/jobs/process/job-state-file.ts";
import {
  createProcessJobRunner,
  type ProcessJobRunner,
} from "../../shared/jobs/process/process-job-runner.ts";
import type { AttemptJob } from "../../shared/jobs/types.ts";
import { TSX_IMPORT } from "../support/repo-root.ts";
import { pidAlive, waitFor } from "../support/wait-for.ts";
import { attemptJob, FAKE_ATTEMPT_TOKEN } from "./job-fixtures.ts";

const FAKE_ATTEMPT = fileURLToPath(new URL("./fake-attempt.mjs", import.meta.url));
const HOLDER = fileURLToPath(new URL("./submit-and-hold.ts", import.meta.url));
const SECRETS = {
  GITHUB_TOKEN: "test-token-fake0123456789abcdef",
  CONTROL_PLANE_TOKEN: "cp-fake-0123456789",
};

let home: string;
const runners: ProcessJobRunner[] = [];
const holders: ChildProcess[] = [];

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), "leviathan-process-runner-"));
});
afterEach(async () => {
  for (const runner of runners.splice(0)) await runner.stopAll();
  for (const holder of holders.splice(0)) if (holder.exitCode === null) holder.kill("SIGKILL");
  // Children of holders are their own process groups: end any a test left behind.
  for (const file of await readdir(join(home, "jobs")).catch(() => [] as string[])) {
    if (!file.endsWith(".json")) continue;
    const state = JSON.parse(await readFile(join(home, "jobs", file), "utf8")) as ProcessJobState;
    if (state.pid && !state.finished_at) {
      try {
        process.kill(-state.pid, "SIGKILL");
      } catch {}
    }
  }
  await rm(home, { recursive: true, force: true });
});

function runner(
  overrides: { killGraceMs?: number; onExit?: (name: string, code: number | null) => void } = {},
) {
  const created = createProcessJobRunner({
    home,
    command: [process.execPath, FAKE_ATTEMPT],
    secrets: SECRETS,
    ...overrides,
  });
  runners.push(created);
  return created;
}

/** The sample Job, told how the fake attempt should behave (one more literal variable). */
function job(
  mode: string,
  options: { taskId?: string; deadlineSeconds?: number; targetId?: string } = {},
): AttemptJob {
  const built = attemptJob({
    taskId: options.taskId ?? "task-1",
    config: {
      workspace_dir: home,
      ...(options.targetId ? { target_id: options.targetId } : {}),
    },
  }).job;
  return {
    ...built,
    env: [...built.env, { name: "FAKE_ATTEMPT", value: mode }],
    deadlineSeconds: options.deadlineSeconds ?? built.deadlineSeconds,
  };
}

function attemptIdOf(j: AttemptJob): string {
  const v = j.env.find((e) => e.name === "ATTEMPT_ID");
  if (!v || !("value" in v)) throw new Error("no ATTEMPT_ID");
  return v.value;
}

async function readState(name: string): Promise<ProcessJobState> {
  return JSON.parse(await readFile(join(home, "jobs", `${name}.json`), "utf8")) as ProcessJobState;
}

function exitOf(name: string, runnerOptions: Parameters<typeof runner>[0] = {}) {
  let resolveExit!: (code: number | null) => void;
  const exited = new Promise<number | null>((resolve) => {
    resolveExit = resolve;
  });
  const created = runner({
    ...runnerOptions,
    onExit: (n, code) => {
      if (n === name) resolveExit(code);
    },
  });
  return { runner: created, exited };
}

describe("process job runner", () => {
  it("runs the attempt with exactly the Job's environment, secrets resolved, output to the log", async () => {
    const j = job("exit:0");
    const { runner: jobs, exited } = exitOf(j.name);
    process.env.SOME_OTHER_TOKEN = "must-not-leak";
    try {
      await expect(jobs.submit(j)).resolves.toEqual({ created: true });
    } finally {
      delete process.env.SOME_OTHER_TOKEN;
    }
    expect(await exited).toBe(0);

    const env = JSON.parse(
      await readFile(join(home, `env-${attemptIdOf(j)}.json`), "utf8"),
    ) as Record<string, string>;
    const expected: Record<string, string> = {};
    for (const name of ESSENTIAL_ENV)
      if (process.env[name] !== undefined) expected[name] = process.env[name]!;
    for (const v of j.env) expected[v.name] = v.value;
    const tokenDir = join(home, "jobs", `${j.name}.tokens`);
    expected.GITHUB_TOKEN_FILE = join(tokenDir, "github-token");
    expected.CONTROL_PLANE_TOKEN_FILE = join(tokenDir, "attempt-token");
    expect(env).toEqual(expected);
    // Token values reach the attempt as files only, and the files go with the job.
    expect(JSON.stringify(env)).not.toContain(SECRETS.GITHUB_TOKEN);
    expect(JSON.stringify(env)).not.toContain(FAKE_ATTEMPT_TOKEN);
    expect(JSON.parse(await readFile(join(home, `tokens-${attemptIdOf(j)}.json`), "utf8"))).toEqual(
      { GITHUB_TOKEN_FILE: SECRETS.GITHUB_TOKEN, CONTROL_PLANE_TOKEN_FILE: FAKE_ATTEMPT_TOKEN },
    );
    await expect(stat(tokenDir)).rejects.toMatchObject({ code: "ENOENT" });

    const log = await readFile(join(home, "jobs", `${j.name}.log`), "utf8");
    expect(log).toContain(`attempt ${attemptIdOf(j)} output`);
    expect(log).toContain(`attempt ${attemptIdOf(j)} diagnostics`);

    const state = await readState(j.name);
    expect(state).toMatchObject({
      name: j.name,
      exit_code: 0,
      attempt_id: attemptIdOf(j),
      labels: j.labels,
    });
    expect(state.pid).toBeGreaterThan(0);
    expect(Date.parse(state.started_at!)).toBeLessThanOrEqual(Date.parse(state.finished_at!));
    expect(JSON.stringify(state)).not.toContain(SECRETS.GITHUB_TOKEN);
    expect(await jobs.status(j.name)).toMatchObject({
      phase: "succeeded",
      attemptId: attemptIdOf(j),
    });
  });

  it("reports missing, running, then succeeded; a non-zero exit is failed with its code", async () => {
    const held = job("until-released", { taskId: "held" });
    const failing = job("exit:3", { taskId: "failing" });
    const { runner: jobs, exited } = exitOf(held.name);
    expect(await jobs.status(held.name)).toEqual({ name: held.name, phase: "missing" });

    await jobs.submit(held);
    await waitFor(
      () => readFile(join(home, `env-${attemptIdOf(held)}.json`)).catch(() => undefined),
      "the child to start",
    );
    const running = await jobs.status(held.name);
    expect(running).toMatchObject({ phase: "running", attemptId: attemptIdOf(held) });
    expect(running.startedAt).toBeDefined();
    expect(running.finishedAt).toBeUndefined();

    await writeFile(join(home, `release-${attemptIdOf(held)}`), "");
    expect(await exited).toBe(0);
    expect(await jobs.status(held.name)).toMatchObject({ phase: "succeeded" });

    const second = exitOf(failing.name);
    await second.runner.submit(failing);
    expect(await second.exited).toBe(3);
    expect(await jobs.status(failing.name)).toMatchObject({
      phase: "failed",
      reason: "exit code 3",
    });
  });

  it("a repeat submit, from this runner or another on the same home, starts nothing", async () => {
    const j = job("until-released");
    const first = runner();
    const second = runner();
    const results = await Promise.all([first.submit(j), second.submit(j)]);
    expect(results.map((r) => r.created).sort()).toEqual([false, true]);
    await expect(first.submit(j)).resolves.toEqual({ created: false });

    await waitFor(
      () => readFile(join(home, `env-${attemptIdOf(j)}.json`)).catch(() => undefined),
      "the child to start",
    );
    // The other instance reads the same state.
    expect(await second.status(j.name)).toMatchObject({ phase: "running" });
    expect((await second.list("radix")).map((s) => s.name)).toEqual([j.name]);

    await writeFile(join(home, `release-${attemptIdOf(j)}`), "");
    // Whichever instance won the claim records the exit; both read it.
    await waitFor(async () => (await first.status(j.name)).phase === "succeeded", "the exit");
    expect(await second.status(j.name)).toMatchObject({ phase: "succeeded" });
    const log = await readFile(join(home, "jobs", `${j.name}.log`), "utf8");
    expect(log.split(`attempt ${attemptIdOf(j)} output`).length - 1).toBe(1);
  });

  it("lists only the target's jobs", async () => {
    const jobs = runner();
    const mine = job("exit:0", { taskId: "a" });
    const other = job("exit:0", { taskId: "a", targetId: "other" });
    await jobs.submit(mine);
    await jobs.submit(other);
    expect((await jobs.list("radix")).map((s) => s.name)).toEqual([mine.name]);
    expect((await jobs.list("other")).map((s) => s.name)).toEqual([other.name]);
    expect(await jobs.list("nobody")).toEqual([]);
  });

  it("a child killed while its runner lives is failed with the signal", async () => {
    const j = job("hang");
    const { runner: jobs, exited } = exitOf(j.name);
    await jobs.submit(j);
    const state = await waitFor(async () => {
      const s = await readState(j.name);
      return s.pid ? s : undefined;
    }, "the pid to be recorded");
    process.kill(-state.pid!, "SIGKILL");
    expect(await exited).toBeNull();
    expect(await jobs.status(j.name)).toMatchObject({ phase: "failed", reason: "signal SIGKILL" });
  });

  it("kills the whole process group at the deadline", async () => {
    const j = job("hang-stubborn", { deadlineSeconds: 1 });
    const { runner: jobs, exited } = exitOf(j.name, { killGraceMs: 100 });
    await jobs.submit(j);
    const grandchild = Number(
      await waitFor(
        () =>
          readFile(join(home, `grandchild-${attemptIdOf(j)}.pid`), "utf8").catch(() => undefined),
        "the grandchild",
      ),
    );
    expect(pidAlive(grandchild)).toBe(true);
    // It ignores SIGTERM, so only the SIGKILL after the grace ends it.
    expect(await exited).toBeNull();
    expect(await jobs.status(j.name)).toMatchObject({
      phase: "failed",
      reason: "DeadlineExceeded",
    });
    expect((await readState(j.name)).signal).toBe("SIGKILL");
    await waitFor(() => !pidAlive(grandchild), "the grandchild to be gone");
  });

  it("stopAll ends the children it started and records why", async () => {
    const j = job("hang");
    const jobs = runner({ killGraceMs: 2_000 });
    await jobs.submit(j);
    await waitFor(async () => (await readState(j.name)).pid, "the pid to be recorded");
    await jobs.stopAll();
    expect(await jobs.status(j.name)).toMatchObject({ phase: "failed", reason: "stopped" });
  });

  it("a missing secret refuses the submit and leaves no job behind", async () => {
    const jobs = createProcessJobRunner({
      home,
      command: [process.execPath, FAKE_ATTEMPT],
      secrets: {},
    });
    await expect(jobs.submit(job("exit:0"))).rejects.toThrow(/GITHUB_TOKEN/);
    expect(await jobs.list("radix")).toEqual([]);
  });

  it("a command that cannot start is a failed job, not a pending one", async () => {
    const jobs = createProcessJobRunner({
      home,
      command: [join(home, "no-such-program")],
      secrets: SECRETS,
    });
    const j = job("exit:0");
    await expect(jobs.submit(j)).resolves.toEqual({ created: true });
    expect(await jobs.status(j.name)).toMatchObject({
      phase: "failed",
      reason: "cannot start: ENOENT",
    });
  });

  it("refuses a name that is not a Job name (it becomes a file name)", async () => {
    const jobs = runner();
    await expect(jobs.submit({ ...job("exit:0"), name: "../escape" })).rejects.toThrow(
      /not a Job name/,
    );
    await expect(jobs.status("../escape")).rejects.toThrow(/not a Job name/);
  });
});

describe("process job runner after its owner died", () => {
  async function holdJob(j: AttemptJob): Promise<ChildProcess> {
    const holder = spawn(
      process.execPath,
      ["--import", TSX_IMPORT, HOLDER, home, FAKE_ATTEMPT, JSON.stringify(j)],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    holders.push(holder);
    let out = "";
    holder.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    await waitFor(
      () => out.includes("submitted") || holder.exitCode !== null,
      "the holder to submit",
    );
    expect(out).toContain("submitted running");
    holder.kill("SIGKILL");
    await once(holder, "exit");
    return holder;
  }

  it("a child that ends without its exit recorded is failed/lost", async () => {
    const j = job("hang");
    await holdJob(j);
    const jobs = runner();
    // The child outlives its runner (as a Job outlives a worker restart) and is still seen running.
    expect(await jobs.status(j.name)).toMatchObject({ phase: "running" });
    const state = await readState(j.name);
    process.kill(-state.pid!, "SIGKILL");
    const status = await waitFor(async () => {
      const s = await jobs.status(j.name);
      return s.phase === "failed" ? s : undefined;
    }, "the job to be seen as lost");
    expect(status.reason).toBe("lost");
    expect((await jobs.list("radix"))[0]).toMatchObject({
      name: j.name,
      phase: "failed",
      reason: "lost",
    });
  });

  it("another runner enforces the deadline the dead owner set", async () => {
    const j = job("hang", { deadlineSeconds: 1 });
    await holdJob(j);
    const jobs = runner({ killGraceMs: 200 });
    const status = await waitFor(async () => {
      const s = await jobs.status(j.name);
      return s.phase === "failed" ? s : undefined;
    }, "the deadline to be enforced");
    expect(status.reason).toBe("DeadlineExceeded");
    expect(pidAlive((await readState(j.name)).pid!)).toBe(false);
  });
});
