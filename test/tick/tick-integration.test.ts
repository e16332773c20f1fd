// The tick as `leviathan tick` and the tick function run it (composeTick): a real control plane,
// the local forge (real branches and PRs; the replies of the tick's reads held against GitHub's
// published description), and a real HTTP worker endpoint that records what it receives.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ControlPlaneClient } from "../../shared/control-plane/client/control-plane-client.ts";
import { createGitHubForge } from "../../shared/forge/github/create-github-forge.ts";
import { composeTick } from "../../shared/scheduler/compose-tick.ts";
import { parseTickEnv } from "../../shared/scheduler/tick-env.ts";
import { startTestControlPlane, type TestControlPlane, TOKEN } from "../control-plane/support.ts";
import {
  api,
  apiRequestsSince,
  checkedOctokit,
  cloneRepo,
  OWNER,
  openPull,
  openPulls,
  pushBranch,
  pushBranches,
  pushToFork,
  REPO,
  startTestForge,
  type TestForge,
} from "../support/forge-fixtures.ts";
import { repoPath } from "../support/repo-root.ts";
import { filesOf, silentLogger } from "../support/store/store-helpers.ts";

const BACKLOG = `# the target's backlog
tasks:
  - id: docs-1
    title: Write the guide
    ready: true
    allowed_paths: [docs/guide.md]
`;

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

let cp: TestControlPlane;
let forge: TestForge;
let worker: Server;
let received: Received[];
let dir: string;
let env: NodeJS.ProcessEnv;

async function startWorker(): Promise<string> {
  worker = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => {
      body += chunk.toString("utf8");
    });
    req.on("end", () => {
      received.push({ headers: req.headers, body });
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ job_name: "worker-x", created: true }));
    });
  });
  await new Promise<void>((resolve) => worker.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(worker.address() as AddressInfo).port}/`;
}

beforeEach(async () => {
  received = [];
  cp = await startTestControlPlane();
  forge = await startTestForge({ ".leviathan/backlog.yaml": BACKLOG, "README.md": "radix\n" });
  const workerUrl = await startWorker();
  dir = await mkdtemp(join(tmpdir(), "leviathan-tick-"));
  const seed = await readFile(repoPath("ops", "autonomy", "dev.yaml"), "utf8");
  await writeFile(
    join(dir, "dev.yaml"),
    seed.replace(
      "https://github.com/iangreen74/radix.git",
      `https://github.example/${OWNER}/${REPO}.git`,
    ) + `github_api_url: ${forge.forge.apiUrl}\nworker_url: ${workerUrl}\n`,
  );
  env = {
    LEVIATHAN_CONFIG: join(dir, "dev.yaml"),
    GITHUB_TOKEN: forge.token,
    CONTROL_PLANE_URL: cp.url,
    CONTROL_PLANE_TOKEN: TOKEN,
    LEVIATHAN_HOME: dir,
  };
});

afterEach(async () => {
  await new Promise<void>((resolve) => worker.close(() => resolve()));
  await forge.cleanup();
  await cp.cleanup();
  await rm(dir, { recursive: true, force: true });
});

const tick = (tickId: string, dryRun = false) =>
  composeTick(parseTickEnv(env), {
    logger: silentLogger,
    // forgeFromConfig as production builds it, with short retry pauses to keep the suite fast.
    createForge: (config, token, logger) =>
      createGitHubForge({
        apiUrl: config.github_api_url,
        owner: OWNER,
        repo: REPO,
        token,
        logger,
        retryBaseDelayMs: 10,
      }),
    // Reconciliation through a job runner is covered elsewhere; here only deadlines apply.
    dependencies: (deps) => ({ ...deps, jobs: undefined }),
  }).run({ tickId, dryRun });

async function storedTypes(): Promise<string[]> {
  const client = new ControlPlaneClient({ url: cp.url, token: TOKEN });
  return (await client.getEvents(0, 1000)).records.map((r) => r.event.event_type);
}

/** `count` open PRs, each from a branch of its own (pushed at once), in the order of `head`. */
async function addPulls(count: number, head: (n: number) => string): Promise<number[]> {
  const heads = Array.from({ length: count }, (_, i) => head(i + 1));
  await pushBranches(forge, await cloneRepo(forge), heads);
  return openPulls(forge, heads);
}

/**
 * The tick's reads (every page of open PRs, then the backlog) made again through Octokit, each
 * reply held against GitHub's description; how many were checked.
 */
async function checkedTickReads(): Promise<number> {
  const { octokit, checked } = checkedOctokit(forge);
  await octokit.paginate(octokit.rest.pulls.list, {
    owner: OWNER,
    repo: REPO,
    state: "open",
    per_page: 100,
  });
  await octokit.rest.repos.getContent({
    owner: OWNER,
    repo: REPO,
    path: ".leviathan/backlog.yaml",
    ref: "main",
  });
  return checked();
}

describe("tick against the local forge and a real control plane", () => {
  it("counts only agent/ PRs, across more than 100 of them, and dispatches in binary mode with the token", async () => {
    await addPulls(150, (n) => `feature/${n}`);
    const outcome = await tick("ping-1");
    expect(outcome.decision).toMatchObject({
      action: "dispatch",
      task_id: "docs-1",
      attempt_number: 1,
    });
    expect(outcome.forgeRequests).toBe(3); // two pages of PRs, one backlog read
    expect(received).toHaveLength(1);
    const [request] = received;
    expect(request!.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(request!.headers["ce-type"]).toBe("dev.leviathan.attempt.requested");
    expect(request!.headers["ce-id"]).toBe(
      `${(outcome.decision as { attempt_id: string }).attempt_id}.attempt.requested`,
    );
    expect(JSON.parse(request!.body)).toMatchObject({
      task_id: "docs-1",
      attempt_number: 1,
      config: "dev.yaml",
    });
    expect(await storedTypes()).toEqual(["attempt.requested", "scheduler.decided"]);
    expect(await checkedTickReads()).toBe(3);
  });

  it("skips with max_open_prs when an agent PR is open beyond the first page", async () => {
    // The forge lists newest first: one of the first PRs opened is on the second page.
    const agent = "agent/backlog-propose-attempt-x-00000000";
    const numbers = await addPulls(120, (n) => (n === 4 ? agent : `feature/${n}`));
    const firstPage = (await api(forge, "GET", `/repos/${OWNER}/${REPO}/pulls?per_page=100`))
      .body as Array<{ number: number }>;
    expect(firstPage.some((pull) => pull.number === numbers[3])).toBe(false);
    const outcome = await tick("ping-2");
    expect(outcome.decision).toEqual({
      action: "skip",
      reason: "max_open_prs",
      details: expect.anything(),
    });
    expect(received).toEqual([]);
    expect(await storedTypes()).toEqual(["scheduler.skipped", "scheduler.decided"]);
  });

  it("is not stalled by a fork's agent/ branch carrying a copied marker", async () => {
    const branch = "agent/backlog-propose-attempt-docs-1-0badf00d";
    await pushToFork(forge, await cloneRepo(forge), "mallory", branch, { "docs/guide.md": "x\n" });
    await openPull(
      forge,
      `mallory:${branch}`,
      "Write the guide",
      "Copied.\n\n<!-- leviathan: target=radix task=docs-1 attempt=attempt-docs-1-0badf00d -->\n",
    );
    const outcome = await tick("ping-fork");
    expect(outcome.decision).toMatchObject({ action: "dispatch", task_id: "docs-1" });
    expect(received).toHaveLength(1);
    expect(await checkedTickReads()).toBe(2);
  });

  it("fails safe when the forge keeps failing: forge_unavailable, nothing dispatched", async () => {
    forge.forge.faults.add({
      path: /\/repos\//,
      status: 503,
      body: { message: "Service Unavailable" },
      times: 100,
    });
    const outcome = await tick("ping-3");
    expect(outcome.decision).toMatchObject({ action: "skip", reason: "forge_unavailable" });
    expect(received).toEqual([]);
    expect(await storedTypes()).toEqual(["scheduler.skipped", "scheduler.decided"]);
  });

  it("waits out a rate limit, then decides", async () => {
    const reset = Math.ceil(Date.now() / 1000) + 1;
    forge.forge.faults.add({
      path: /\/repos\//,
      status: 403,
      headers: {
        "x-ratelimit-remaining": "0",
        "x-ratelimit-reset": String(reset),
        "x-ratelimit-limit": "5000",
      },
      body: {
        message: "API rate limit exceeded",
        documentation_url: "https://docs.github.com/rest",
      },
      times: 1,
    });
    const outcome = await tick("ping-4");
    expect(outcome.decision).toMatchObject({ action: "dispatch", task_id: "docs-1" });
  });

  it("records an invalid backlog's reason with its line and schedules nothing", async () => {
    await pushBranch(forge, await cloneRepo(forge), "main", {
      ".leviathan/backlog.yaml": "tasks:\n  - id: a\n    title: A\n  - id: a\n    title: again\n",
    });
    const outcome = await tick("ping-5");
    expect(outcome.decision).toMatchObject({ action: "skip", reason: "backlog_invalid" });
    const client = new ControlPlaneClient({ url: cp.url, token: TOKEN });
    const [skip] = (await client.getEvents(0, 10)).records;
    expect(skip?.event.payload.reason).toBe("backlog_invalid");
    expect(JSON.stringify(skip?.event.payload)).toMatch(/line/);
    expect(received).toEqual([]);
  });

  it("makes zero writes in a dry run: no event, no dispatch, only reads of the forge", async () => {
    const before = await filesOf(cp.dir);
    const from = forge.forge.requests.length;
    const outcome = await tick("ping-6", true);
    expect(outcome.decision.action).toBe("dispatch");
    expect(received).toEqual([]);
    const asked = apiRequestsSince(forge, from);
    expect(asked.length).toBeGreaterThan(0);
    expect(asked.every((request) => request.method === "GET")).toBe(true);
    expect(await filesOf(cp.dir)).toEqual(before);
  });
});
