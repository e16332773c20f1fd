// Local mode end to end: `leviathan start --once` as a real process — control plane child,
// local forge over real HTTP and git, worker, process job runner, the attempt — from an empty
// home, run after run, as a user would.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createGitHubForge } from "../../shared/forge/github/create-github-forge.ts";
import { verifyStore } from "../../shared/store/verify-store.ts";
import { repoPath } from "../support/repo-root.ts";
import {
  BIN,
  decisionOf,
  E2E_TIMEOUT_MS,
  runStart,
  tempHome,
  withControlPlane,
  withForge,
} from "./support.ts";

const execFileAsync = promisify(execFile);
const OWNER = "leviathan";
const REPO = "demo-target";
let home: string;

beforeEach(async () => {
  home = await tempHome();
});

afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

/** Asynchronous: the forge answering it runs in this very process. */
async function git(args: string[], cwd: string, token: string): Promise<string> {
  const header = `Authorization: Basic ${Buffer.from(`x-access-token:${token}`).toString("base64")}`;
  const { stdout } = await execFileAsync("git", ["-c", `http.extraHeader=${header}`, ...args], {
    cwd,
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, GIT_TERMINAL_PROMPT: "0" },
  });
  return stdout;
}

/** The files a PR's head changes against the base branch, from a real clone. */
async function changedFiles(gitUrl: string, token: string, head: string): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), "leviathan-e2e-clone-"));
  try {
    await git(["clone", "--quiet", gitUrl, "repo"], dir, token);
    const repo = join(dir, "repo");
    await git(["fetch", "--quiet", "origin", head], repo, token);
    const diff = await git(["diff", "--name-only", "origin/main", "FETCH_HEAD"], repo, token);
    return diff.trim().split("\n");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe("npm start -- --once", () => {
  it(
    "turns the first task into a PR whose only change is its write-back, then waits, then moves on after the merge",
    async () => {
      const first = await runStart(home);
      expect(first.code, first.stderr).toBe(0);
      const decision = decisionOf(first)!;
      expect(decision).toMatchObject({
        action: "dispatch",
        task_id: "propose-backlog",
        attempt_number: 1,
      });
      const attemptId = decision.attempt_id as string;
      const result = first.lines.find((l) => l.kind === "result");
      expect(result?.pr_url).toMatch(
        /^http:\/\/127\.0\.0\.1:\d+\/leviathan\/demo-target\/pull\/1$/,
      );

      await withForge(home, async (forge, token) => {
        const github = createGitHubForge({ apiUrl: forge.apiUrl, owner: OWNER, repo: REPO, token });
        const [pr] = await github.listOpenPullRequests();
        expect(pr?.head_ref).toBe(`agent/backlog-propose-${attemptId}`);
        expect(pr?.body).toContain(
          `<!-- leviathan: target=demo task=propose-backlog attempt=${attemptId} -->`,
        );
        expect(await changedFiles(forge.gitUrl(OWNER, REPO), token, pr!.head_ref)).toEqual([
          ".leviathan/backlog.yaml",
        ]);
      });
      await withControlPlane(home, async (client) => {
        const attempt = await client.getAttempt(attemptId);
        expect(attempt?.records.map((r) => r.event.event_type)).toEqual([
          "attempt.requested",
          "attempt.created",
          "attempt.started",
          "pr.created",
          "attempt.succeeded",
        ]);
        const summary = await client.getSummary();
        expect(summary.targets.demo).toMatchObject({
          attempts_by_status: { succeeded: 1 },
          running_attempts: [],
        });
        expect(summary.targets.demo?.open_prs).toEqual([result?.pr_url]);
        expect(summary.nodes_by_type).toMatchObject({
          Target: 1,
          Task: 1,
          Attempt: 1,
          PullRequest: 1,
        });
      });

      const second = await runStart(home);
      expect(second.code).toBe(0);
      expect(decisionOf(second)).toMatchObject({ action: "skip", reason: "max_open_prs" });

      await withForge(home, (forge) => forge.mergePullRequest(OWNER, REPO, 1));
      const third = await runStart(home);
      expect(third.code, third.stderr).toBe(0);
      expect(decisionOf(third)).toMatchObject({
        action: "dispatch",
        task_id: "getting-started-doc",
      });
      await withForge(home, async (forge, token) => {
        const github = createGitHubForge({ apiUrl: forge.apiUrl, owner: OWNER, repo: REPO, token });
        const [pr] = await github.listOpenPullRequests();
        expect(await changedFiles(forge.gitUrl(OWNER, REPO), token, pr!.head_ref)).toEqual([
          ".leviathan/backlog.yaml",
          "docs/getting-started.md",
        ]);
      });
      await withControlPlane(home, async (client) => {
        const records = (await client.getEvents(0, 1000)).records.map((r) => r.event);
        expect(records.filter((e) => e.event_type === "pr.merged")).toHaveLength(1);
        const requested = records
          .filter((e) => e.event_type === "attempt.requested")
          .map((e) => e.payload.task_id);
        expect(requested).toEqual(["propose-backlog", "getting-started-doc"]);
      });
      expect((await verifyStore(join(home, "events"))).ok).toBe(true);
    },
    E2E_TIMEOUT_MS,
  );

  it(
    "opens the breaker after the seed's two failures, then blocks the task and moves on after a reset",
    async () => {
      const config = await readFile(repoPath("ops", "autonomy", "local.yaml"), "utf8");
      const configPath = join(home, "failing.yaml");
      await writeFile(
        configPath,
        `${config}executor_command: ["sh", "-c", "echo executor broke >&2; exit 3"]\n`,
      );
      // The target's backlog, as a person would push it: a task that always fails, then a good one.
      const demo = await mkdtemp(join(tmpdir(), "leviathan-e2e-demo-"));
      await writeFile(join(demo, "README.md"), "# demo\n");
      await mkdir(join(demo, ".leviathan"), { recursive: true });
      await writeFile(
        join(demo, ".leviathan", "backlog.yaml"),
        [
          "tasks:",
          "  - id: always-fails",
          "    title: Runs a broken command",
          "    ready: true",
          "    executor: command",
          "    allowed_paths: [docs/broken.md]",
          "  - id: propose-backlog",
          "    title: Propose the backlog",
          "    ready: true",
          "    allowed_paths: [.leviathan/backlog.yaml]",
          "",
        ].join("\n"),
      );
      const env = { LEVIATHAN_CONFIG: configPath };
      // The forge holds this repository before the first run, which then leaves it as it is.
      await writeFile(join(home, "forge.token"), `${randomBytes(16).toString("hex")}\n`, {
        mode: 0o600,
      });
      await withForge(home, (forge) => forge.createRepository(OWNER, REPO, { fromDir: demo }));

      const one = await runStart(home, env);
      expect(one.code).toBe(1);
      expect(one.lines.find((l) => l.kind === "result")?.reason).toBe("executor_failed");
      const two = await runStart(home, env);
      expect(two.code).toBe(1);
      const open = await runStart(home, env);
      expect(open.code).toBe(0);
      expect(decisionOf(open)).toMatchObject({ action: "skip", reason: "circuit_open" });

      await withControlPlane(home, async (_client, url, token) => {
        // Asynchronous: the control plane it talks to runs in this very process.
        const { stdout: out } = await execFileAsync(
          process.execPath,
          [BIN, "circuit", "reset", "demo"],
          {
            encoding: "utf8",
            timeout: 60_000,
            env: { ...process.env, CONTROL_PLANE_URL: url, CONTROL_PLANE_TOKEN: token },
          },
        );
        expect(out).toContain("circuit reset recorded for demo");
      });
      const after = await runStart(home, env);
      expect(after.code, after.stderr).toBe(0);
      expect(decisionOf(after)).toMatchObject({ action: "dispatch", task_id: "propose-backlog" });
      await withControlPlane(home, async (client) => {
        const events = (await client.getEvents(0, 1000)).records.map((r) => r.event);
        const blocked = events.filter((e) => e.event_type === "task.blocked");
        expect(blocked.map((e) => e.payload)).toEqual([
          { task_id: "always-fails", target_id: "demo", attempts: 2 },
        ]);
        const failed = events.filter((e) => e.event_type === "attempt.failed");
        expect(failed.map((e) => [e.payload.reason, e.payload.failure_kind])).toEqual([
          ["executor_failed", "task"],
          ["executor_failed", "task"],
        ]);
      });
      await rm(demo, { recursive: true, force: true });
    },
    E2E_TIMEOUT_MS,
  );
});
