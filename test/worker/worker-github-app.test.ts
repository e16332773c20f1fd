// The worker with a GitHub App, end to end through the process job runner: it mints a token for
// the one attempt, hands it over as a file, and the real attempt opens its PR with it. The App's
// private key reaches no Job (its spec, its environment, its files) and no log.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as functions from "@google-cloud/functions-framework";
import { getTestServer } from "@google-cloud/functions-framework/testing";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { attemptIdFor } from "../../shared/events/ids.ts";
import type { AttemptRequest } from "../../shared/events/types.ts";
import { createProcessJobRunner } from "../../shared/jobs/process/process-job-runner.ts";
import type { AttemptJob, JobRunner } from "../../shared/jobs/types.ts";
import { attemptRequestedCloudEvent } from "../../shared/scheduler/dispatch-attempt.ts";
import { attemptRequestedEvent } from "../../shared/scheduler/scheduler-events.ts";
import { createWorkerHandler } from "../../shared/worker/worker-http-handler.ts";
import {
  CONTROL_PLANE_TOKEN,
  GITHUB_TOKEN,
  type Harness,
  OWNER,
  pullRequests,
  REPO,
  startHarness,
  TARGET,
} from "../attempt/run-attempt-fixtures.ts";
import { installTestApp, type TestApp } from "../support/github-app-fixtures.ts";
import { removeTempDirs, tempDir } from "../support/temp-dir.ts";
import { binary, send } from "./worker-support.ts";

const BIN = fileURLToPath(new URL("../../bin/leviathan.js", import.meta.url));
const SEED = fileURLToPath(new URL("../../ops/autonomy/dev.yaml", import.meta.url));

let harness: Harness;
let app: TestApp;
let dir: string;
let home: string;
let keyFile: string;
let workerUrl: string;
let server: Server;
const logLines: string[] = [];
const submitted: AttemptJob[] = [];
const exits = new Map<string, (code: number | null) => void>();

/** The body of the PEM, the part that is secret (the armour lines are the same for every key). */
const keyBody = () =>
  app.privateKey
    .split("\n")
    .filter((line) => line && !line.startsWith("-----"))
    .join("");

beforeAll(async () => {
  harness = await startHarness();
  app = installTestApp(harness.forge, OWNER);
  dir = tempDir("leviathan-worker-app-");
  home = join(dir, "home");
  keyFile = join(dir, "private-key.pem");
  writeFileSync(keyFile, app.privateKey, { mode: 0o600 });
  const seed = readFileSync(SEED, "utf8")
    .replace(/^target_id: .*$/m, `target_id: ${TARGET}`)
    .replace(/^target_repo_url: .*$/m, `target_repo_url: ${harness.forge.gitUrl(OWNER, REPO)}`)
    .replace(/^control_plane_url: .*$/m, `control_plane_url: ${harness.controlPlane.url}`)
    .replace(/^attempt_timeout_seconds: .*$/m, "attempt_timeout_seconds: 120")
    .replace(/^workspace_dir: .*$/m, `workspace_dir: ${join(dir, "workspace")}`);
  const configPath = join(dir, "local.yaml");
  writeFileSync(
    configPath,
    `${seed}github_api_url: ${harness.forge.apiUrl}\ngithub_app_id: ${app.appId}\n`,
  );
  // The real attempt, behind a wrapper that first records what the process was given.
  const wrapper = join(dir, "record-then-attempt.mjs");
  writeFileSync(
    wrapper,
    `import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
const files = {};
for (const name of ["GITHUB_TOKEN_FILE", "CONTROL_PLANE_TOKEN_FILE"]) {
  const folder = dirname(process.env[name]);
  for (const entry of readdirSync(folder)) files[join(folder, entry)] = readFileSync(join(folder, entry), "utf8");
}
writeFileSync(${JSON.stringify(join(dir, "given.json"))}, JSON.stringify({ env: process.env, files }));
const run = spawnSync(process.execPath, [${JSON.stringify(BIN)}, "attempt"], { stdio: "inherit" });
process.exit(run.status ?? 1);
`,
  );
  const logger = pino({ level: "debug" }, { write: (line: string) => logLines.push(line) });
  const runner = createProcessJobRunner({
    home,
    command: [process.execPath, wrapper],
    // No GITHUB_TOKEN at all: with an App, the attempt's token comes with its Job.
    secrets: {},
    logger,
    onExit: (name, code) => exits.get(name)?.(code),
  });
  const jobs: JobRunner = {
    ...runner,
    submit: (job) => {
      submitted.push(job);
      return runner.submit(job);
    },
  };
  functions.http(
    "worker-github-app",
    createWorkerHandler({
      env: {
        CONTROL_PLANE_TOKEN,
        LEVIATHAN_CONFIG: configPath,
        CONTROL_PLANE_URL: harness.controlPlane.url,
        LEVIATHAN_HOME: join(dir, "worker-home"),
        GITHUB_APP_PRIVATE_KEY_FILE: keyFile,
      },
      jobs: () => jobs,
      logger,
    }),
  );
  server = getTestServer("worker-github-app");
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  workerUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await harness.close();
  removeTempDirs();
});

async function request(attemptNumber: number, config = "local.yaml"): Promise<AttemptRequest> {
  const attempt: AttemptRequest = {
    target_id: TARGET,
    task_id: "task-1",
    attempt_id: attemptIdFor(TARGET, "task-1", attemptNumber),
    attempt_number: attemptNumber,
    config,
  };
  await harness.client.postEvents(TARGET, [attemptRequestedEvent(attempt, new Date())]);
  return attempt;
}

describe("worker with a GitHub App", () => {
  it("mints a token for the one attempt; the attempt opens its PR with it; the key is nowhere in the Job or a log", async () => {
    const attempt = await request(1);
    const exited = new Promise<number | null>((resolve) =>
      exits.set(`worker-${attempt.attempt_id}`, resolve),
    );
    const reply = await send(
      workerUrl,
      binary(attemptRequestedCloudEvent(attempt)),
      `Bearer ${CONTROL_PLANE_TOKEN}`,
    );
    expect(reply.status).toBe(200);
    expect(await exited).toBe(0);

    const pulls = await pullRequests(harness);
    expect(pulls).toHaveLength(1);
    expect(pulls[0].head.ref).toBe(`agent/backlog-propose-${attempt.attempt_id}`);

    // The Job: its own Secret holds its GitHub token; the shared Secret is not used.
    const job = submitted.at(-1)!;
    const githubFile = job.tokenFiles.find((file) => file.variable === "GITHUB_TOKEN_FILE")!;
    expect(githubFile.secret).toEqual({ name: `${job.name}-token`, key: "github-token" });
    const minted = job.attemptSecret.data["github-token"]!;
    expect(minted).toMatch(/^ghs_/);
    expect(minted).not.toBe(GITHUB_TOKEN);

    // The private key: not in the Job, not in what the attempt process was given, not in a log.
    const given = await readFile(join(dir, "given.json"), "utf8");
    const jobLog = await readFile(join(home, "jobs", `${job.name}.log`), "utf8");
    const stateFiles = readdirSync(join(home, "jobs"))
      .filter((name) => name.endsWith(".json"))
      .map((name) => readFileSync(join(home, "jobs", name), "utf8"))
      .join("\n");
    for (const text of [JSON.stringify(job), given, jobLog, stateFiles, logLines.join("")]) {
      expect(text).not.toContain(keyBody());
      expect(text).not.toContain("PRIVATE KEY");
      expect(text).not.toContain("GITHUB_APP_PRIVATE_KEY_FILE");
    }
    // The minted token reached the attempt only as a file, and no log.
    const { env, files } = JSON.parse(given) as {
      env: Record<string, string>;
      files: Record<string, string>;
    };
    expect(Object.values(env).join("\n")).not.toContain(minted);
    expect(Object.values(files).map((text) => text.trim())).toContain(minted);
    expect(jobLog).not.toContain(minted);
    expect(logLines.join("")).not.toContain(minted);

    // The attempt's token, leaked, does no more than the attempt needs.
    const settings = await fetch(`${harness.forge.apiUrl}/repos/${OWNER}/${REPO}`, {
      method: "PATCH",
      headers: { authorization: `token ${minted}`, "content-type": "application/json" },
      body: JSON.stringify({ default_branch: "main" }),
    });
    expect(settings.status).toBe(403);
  });

  it("503 and no Job when the App is not installed on the repository", async () => {
    const stranger = installTestApp(harness.forge, "someone-else");
    const configPath = join(dir, "stranger.yaml");
    writeFileSync(
      configPath,
      readFileSync(join(dir, "local.yaml"), "utf8").replace(
        /^github_app_id: .*$/m,
        `github_app_id: ${stranger.appId}`,
      ),
    );
    writeFileSync(keyFile, stranger.privateKey, { mode: 0o600 });
    try {
      const attempt = await request(2, "stranger.yaml");
      const before = submitted.length;
      const reply = await send(
        workerUrl,
        binary(attemptRequestedCloudEvent(attempt)),
        `Bearer ${CONTROL_PLANE_TOKEN}`,
      );
      expect(reply.status).toBe(503);
      expect(String(reply.body.error)).toMatch(/GitHub App/);
      expect(JSON.stringify(reply.body)).not.toContain(keyBody());
      expect(submitted.length).toBe(before);
    } finally {
      writeFileSync(keyFile, app.privateKey, { mode: 0o600 });
    }
  });
});
