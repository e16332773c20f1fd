// Shared by the attempt's end-to-end tests: a real local forge (git smart HTTP + REST, token
// checked), a real control plane on a temp dir, a logger whose lines are kept, and the
// attempt's environment pointing at them.

import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import { type AttemptEnv, parseAttemptEnv } from "../../shared/attempt/attempt-env.ts";
import { type AttemptResult, runAttempt } from "../../shared/attempt/run-attempt.ts";
import { ControlPlaneClient } from "../../shared/control-plane/client/control-plane-client.ts";
import {
  type RunningControlPlane,
  startControlPlane,
} from "../../shared/control-plane/server/start-control-plane.ts";
import type { StoredRecord } from "../../shared/events/types.ts";
import { createGitHubForge } from "../../shared/forge/github/create-github-forge.ts";
import { startLocalForge } from "../../shared/forge/local/start-local-forge.ts";
import type { LocalForge } from "../../shared/forge/local/types.ts";
import { tokenForms } from "../../shared/git/git-environment.ts";
import { assertGitHubResponse } from "../support/openapi.ts";
import { plainGit, quietLogger, tempDir, writeFiles } from "./git-fixtures.ts";

export const OWNER = "demo";
export const REPO = "site";
export const TARGET = "demo";

/** Recognisable in any output, and unlike a real token's shape (the leak check forbids those). */
export const GITHUB_TOKEN = `test-token-${randomBytes(6).toString("hex")}`;
export const CONTROL_PLANE_TOKEN = `test-cp-token-${randomBytes(6).toString("hex")}`;

/** Comments, blank lines and a flow list: the write-back must keep every byte of them. */
export const BACKLOG = `# The demo backlog: people write tasks, Leviathan runs the ready ones.
tasks:
  # The first task proves the loop.
  - id: task-1
    title: "Record the first proposal"   # shown as the PR title
    ready: true
    allowed_paths: [docs/proposals/]
    description: The write-back is the whole change.
    acceptance_criteria: ["the backlog records the attempt"]

  - id: task-2
    title: Write the guide
    ready: true
    executor: command
    allowed_paths:
      - docs/guide.md
      - docs/cache/
    status: pending # until a PR is merged
`;

export const REPOSITORY_FILES: Record<string, string> = {
  ".gitignore": "cache/\n",
  ".leviathan/backlog.yaml": BACKLOG,
  "docs/README.md": "# Demo\n",
  "src/app.ts": "export const app = 1;\n",
};

export interface Harness {
  forge: LocalForge;
  controlPlane: RunningControlPlane;
  client: ControlPlaneClient;
  /** The forge's bare repository, to look at refs and commits with plain git. */
  bare: string;
  workspaceDir: string;
  close(): Promise<void>;
}

export async function startHarness(): Promise<Harness> {
  const root = tempDir("leviathan-run-attempt-");
  const forge = await startLocalForge({ root: join(root, "forge"), token: GITHUB_TOKEN });
  const seed = join(root, "seed");
  writeFiles(seed, REPOSITORY_FILES);
  await forge.createRepository(OWNER, REPO, { fromDir: seed });
  const controlPlane = await startControlPlane({
    dataDir: join(root, "events"),
    token: CONTROL_PLANE_TOKEN,
    port: 0,
    host: "127.0.0.1",
    logger: quietLogger,
  });
  const client = new ControlPlaneClient({ url: controlPlane.url, token: CONTROL_PLANE_TOKEN });
  return {
    forge,
    controlPlane,
    client,
    bare: join(root, "forge", "repos", OWNER, `${REPO}.git`),
    workspaceDir: join(root, "workspace"),
    async close() {
      await controlPlane.close();
      await forge.close();
    },
  };
}

/** The attempt's variables for one attempt against the harness, through the real parser. */
export function attemptEnvFor(
  harness: Harness,
  overrides: Record<string, string | undefined> = {},
): Record<string, string> {
  const env: Record<string, string | undefined> = {
    GITHUB_TOKEN,
    TARGET_NAME: TARGET,
    TARGET_REPO_URL: harness.forge.gitUrl(OWNER, REPO),
    TARGET_BRANCH: "main",
    TASK_ID: "task-1",
    ATTEMPT_ID: "attempt-task-1-0000a001",
    CONTROL_PLANE_URL: harness.controlPlane.url,
    CONTROL_PLANE_TOKEN,
    LEVIATHAN_WORKSPACE_DIR: harness.workspaceDir,
    GITHUB_API_URL: harness.forge.apiUrl,
    ATTEMPT_NUMBER: "1",
    ATTEMPT_TIMEOUT_SECONDS: "120",
    LEVIATHAN_ALLOWED_PATH_PREFIXES: ".leviathan/,docs/",
    LEVIATHAN_DEFAULT_EXECUTOR: "backlog-propose",
    ...overrides,
  };
  return Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}

export interface AttemptRun {
  env: AttemptEnv;
  result: AttemptResult;
  /** Every log line the attempt (and its forge client) wrote. */
  logs: string;
}

/** Runs one attempt in-process, its log captured. */
export async function runOnce(
  harness: Harness,
  overrides: Record<string, string | undefined> = {},
  options: { now?: () => Date; forgeRetries?: number } = {},
): Promise<AttemptRun> {
  const env = parseAttemptEnv(attemptEnvFor(harness, overrides));
  const lines: string[] = [];
  const logger = pino({ level: "debug" }, { write: (line: string) => lines.push(line) });
  const forge = createGitHubForge({
    apiUrl: env.githubApiUrl,
    owner: env.owner,
    repo: env.repo,
    token: env.githubToken,
    // Octokit's own backoff is a second per retry; the retries themselves are what is tested.
    retryBaseDelayMs: 10,
    ...(options.forgeRetries === undefined ? {} : { retries: options.forgeRetries }),
    logger,
  });
  const controlPlane = new ControlPlaneClient({
    url: env.controlPlaneUrl,
    token: env.controlPlaneToken,
    baseDelayMs: 10,
    logger,
  });
  const result = await runAttempt(env, {
    controlPlane,
    forge,
    logger,
    ...(options.now ? { now: options.now } : {}),
  });
  return { env, result, logs: lines.join("") };
}

/** The attempt's records in the control plane, in store order. */
export async function eventsOf(harness: Harness, attemptId: string): Promise<StoredRecord[]> {
  const page = await harness.client.getEvents(0, 10_000);
  return page.records.filter((record) => record.event.payload.attempt_id === attemptId);
}

/** Every branch of the forge's repository. */
export function remoteBranches(harness: Harness): string[] {
  return plainGit(harness.bare, ["for-each-ref", "--format=%(refname:short)", "refs/heads"])
    .trim()
    .split("\n")
    .filter(Boolean)
    .sort();
}

/** A REST call to the forge, its reply checked against GitHub's published description. */
export async function forgeGet(
  harness: Harness,
  path: string,
  template: string,
  // biome-ignore lint/suspicious/noExplicitAny: replies are inspected field by field in tests
): Promise<any> {
  const response = await fetch(`${harness.forge.apiUrl}${path}`, {
    headers: { authorization: `token ${GITHUB_TOKEN}`, accept: "application/vnd.github+json" },
    signal: AbortSignal.timeout(20_000),
  });
  const body = await response.json();
  assertGitHubResponse("GET", template, response.status, body);
  return body;
}

/** Every pull request of the repository, open or closed. */
// biome-ignore lint/suspicious/noExplicitAny: replies are inspected field by field in tests
export async function pullRequests(harness: Harness): Promise<any[]> {
  return forgeGet(
    harness,
    `/repos/${OWNER}/${REPO}/pulls?state=all&per_page=100`,
    "/repos/{owner}/{repo}/pulls",
  );
}

/** Fails if any form of either token is in `text`. */
export function leakedTokens(text: string): string[] {
  return [...tokenForms(GITHUB_TOKEN), ...tokenForms(CONTROL_PLANE_TOKEN)].filter((form) =>
    text.includes(form),
  );
}

export function workspaceOf(harness: Harness, attemptId: string): string {
  return join(harness.workspaceDir, attemptId);
}

export function exists(path: string): boolean {
  return existsSync(path);
}
