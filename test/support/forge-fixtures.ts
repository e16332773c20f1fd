// Shared set-up for the local forge's tests: a forge on a temporary root, git run as a real
// client (async, bounded), REST calls through fetch and through Octokit — every reply held to
// GitHub's published OpenAPI description unless a test says the status is one GitHub leaves
// undocumented (401 on most operations).
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Octokit } from "@octokit/rest";
import { afterEach } from "vitest";
import {
  createGitHubForge,
  type GitHubForgeOptions,
} from "../../shared/forge/github/create-github-forge.ts";
import { startLocalForge } from "../../shared/forge/local/start-local-forge.ts";
import type { LocalForge } from "../../shared/forge/local/types.ts";
import type { Forge } from "../../shared/forge/types.ts";
import type { Logger } from "../../shared/log/logger.ts";
import { captureLogger } from "./capture-logger.ts";
import { assertGitHubExchange } from "./openapi.ts";

export const OWNER = "acme";
export const REPO = "demo";

export interface TestForge {
  forge: LocalForge;
  root: string;
  token: string;
  /** A scratch folder removed with the forge. */
  scratch: string;
  /** Stops the forge (if still running) and removes every folder. */
  cleanup(): Promise<void>;
}

/** A forge on a fresh root with `acme/demo` holding `files` as its first commit. */
export async function startTestForge(
  files: Record<string, string> = { "README.md": "demo\n", "docs/guide.md": "# Guide\n" },
  options: { logger?: Logger } = {},
): Promise<TestForge> {
  const scratch = await mkdtemp(join(tmpdir(), "forge-test-"));
  const root = join(scratch, "root");
  const token = `forge-token-${randomBytes(8).toString("hex")}`;
  const source = join(scratch, "source");
  await writeFiles(source, files);
  const forge = await startLocalForge({ root, token, ...options });
  await forge.createRepository(OWNER, REPO, { fromDir: source });
  return {
    forge,
    root,
    token,
    scratch,
    cleanup: async () => {
      await forge.close();
      await rm(scratch, { recursive: true, force: true });
    },
  };
}

/**
 * For a test file: each call starts a forge as `startTestForge` does; the one a test started is
 * stopped and removed after it.
 */
export function useTestForge(): (files?: Record<string, string>) => Promise<TestForge> {
  let current: TestForge | undefined;
  afterEach(async () => {
    await current?.cleanup();
    current = undefined;
  });
  return async (files) => {
    await current?.cleanup();
    current = await startTestForge(files);
    return current;
  };
}

/** The production client on the forge's `acme/demo`, logging into `lines`. */
export function productionClient(
  test: TestForge,
  options: Partial<GitHubForgeOptions> = {},
): { forge: Forge; lines: string[] } {
  const { logger, lines } = captureLogger();
  const forge = createGitHubForge({
    apiUrl: test.forge.apiUrl,
    owner: OWNER,
    repo: REPO,
    token: test.token,
    logger,
    ...options,
  });
  return { forge, lines };
}

export async function writeFiles(dir: string, files: Record<string, string>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
}

export interface GitRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `Authorization: Basic base64(x-access-token:<token>)`, the way the attempt sends it. */
export function basicHeader(token: string, user = "x-access-token"): string {
  return `Authorization: Basic ${Buffer.from(`${user}:${token}`).toString("base64")}`;
}

/**
 * git as a client, without the machine's config, never prompting, killed after 30 s. Resolves
 * with the exit code; `git()` below rejects on a non-zero one.
 */
export function runGit(args: readonly string[], cwd: string): Promise<GitRun> {
  return new Promise((resolve, reject) => {
    const child = spawn("git", [...args], {
      cwd,
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: "/dev/null",
        GIT_CONFIG_NOSYSTEM: "1",
        GIT_TERMINAL_PROMPT: "0",
        GIT_ASKPASS: "",
        LANG: "C",
        GIT_AUTHOR_NAME: "Test",
        GIT_AUTHOR_EMAIL: "test@example.com",
        GIT_COMMITTER_NAME: "Test",
        GIT_COMMITTER_EMAIL: "test@example.com",
      },
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 30_000,
      killSignal: "SIGKILL",
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

export async function git(args: readonly string[], cwd: string): Promise<string> {
  const run = await runGit(args, cwd);
  if (run.code !== 0) throw new Error(`git ${args.join(" ")} exited ${run.code}: ${run.stderr}`);
  return run.stdout.trim();
}

/** A fresh clone of the default branch with the token as a header. */
export async function cloneRepo(test: TestForge, name = "clone"): Promise<string> {
  const dir = join(test.scratch, `${name}-${randomBytes(4).toString("hex")}`);
  await git(
    [
      "-c",
      `http.extraHeader=${basicHeader(test.token)}`,
      "clone",
      test.forge.gitUrl(OWNER, REPO),
      dir,
    ],
    test.scratch,
  );
  return dir;
}

/** Commits `files` on a new branch `branch` (from the clone's HEAD) and pushes it. */
export async function pushBranch(
  test: TestForge,
  clone: string,
  branch: string,
  files: Record<string, string>,
  from = "origin/main",
): Promise<string> {
  await git(["checkout", "-q", "-B", branch, from], clone);
  await writeFiles(clone, files);
  await git(["add", "--all"], clone);
  await git(["commit", "-q", "-m", `change on ${branch}`], clone);
  await pushRefs(test, clone, "origin", [`${branch}:${branch}`]);
  return git(["rev-parse", "HEAD"], clone);
}

/** `git push` of these refspecs to `remote` (a name or a URL), with the token as a header. */
async function pushRefs(
  test: TestForge,
  clone: string,
  remote: string,
  refspecs: readonly string[],
): Promise<void> {
  await git(
    ["-c", `http.extraHeader=${basicHeader(test.token)}`, "push", "-q", remote, ...refspecs],
    clone,
  );
}

/**
 * Another owner's repository of the same name (as a fork is), empty at first, with `files`
 * committed on `branch` from the clone's `origin/main` and pushed there, not to the original.
 */
export async function pushToFork(
  test: TestForge,
  clone: string,
  forkOwner: string,
  branch: string,
  files: Record<string, string>,
): Promise<string> {
  await test.forge.createRepository(forkOwner, REPO);
  await git(["checkout", "-q", "-B", branch, "origin/main"], clone);
  await writeFiles(clone, files);
  await git(["add", "--all"], clone);
  await git(["commit", "-q", "-m", `change on ${forkOwner}'s ${branch}`], clone);
  await pushRefs(test, clone, test.forge.gitUrl(forkOwner, REPO), [`${branch}:${branch}`]);
  return git(["rev-parse", "HEAD"], clone);
}

export interface ApiReply {
  status: number;
  headers: Headers;
  body: unknown;
}

export interface ApiOptions {
  body?: unknown;
  /** Default: the forge's token as `token X`; null sends no Authorization header. */
  authorization?: string | null;
  accept?: string;
  /** The status is one GitHub does not document for this operation (e.g. 401): skip the check. */
  undocumented?: boolean;
}

/**
 * One REST call through fetch; the reply is checked against GitHub's description for the
 * operation and status it answered, unless `undocumented`.
 */
export async function api(
  test: TestForge,
  method: string,
  path: string,
  options: ApiOptions = {},
): Promise<ApiReply> {
  const headers: Record<string, string> = {
    accept: options.accept ?? "application/vnd.github+json",
  };
  const authorization =
    options.authorization === undefined ? `token ${test.token}` : options.authorization;
  if (authorization !== null) headers.authorization = authorization;
  if (options.body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(`${test.forge.apiUrl}${path}`, {
    method,
    headers,
    ...(options.body === undefined
      ? {}
      : { body: typeof options.body === "string" ? options.body : JSON.stringify(options.body) }),
    signal: AbortSignal.timeout(30_000),
  });
  const contentType = response.headers.get("content-type") ?? "";
  const text = await response.text();
  const body: unknown = contentType.startsWith("application/json") ? JSON.parse(text) : text;
  if (!options.undocumented && contentType.startsWith("application/json")) {
    assertGitHubExchange({
      method,
      path: `/api/v3${path}`,
      basePath: "/api/v3",
      status: response.status,
      body,
      contentType,
    });
  }
  return { status: response.status, headers: response.headers, body };
}

/**
 * Octokit pointed at the forge, as production code builds it, with every reply (errors
 * included) checked against GitHub's description. `checked` counts the checked replies.
 */
export function checkedOctokit(test: TestForge): { octokit: Octokit; checked: () => number } {
  const octokit = new Octokit({
    baseUrl: test.forge.apiUrl,
    auth: test.token,
    // Refusals are what the tests ask for; Octokit need not print them.
    log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
  });
  let checked = 0;
  const check = (
    method: string,
    url: string,
    status: number,
    body: unknown,
    headers: Record<string, unknown>,
  ) => {
    const contentType = String(headers["content-type"] ?? "");
    // GitHub's description documents the JSON forms only (not the raw media type).
    if (!contentType.startsWith("application/json")) return;
    assertGitHubExchange({ method, path: url, basePath: "/api/v3", status, body, contentType });
    checked++;
  };
  octokit.hook.after("request", (response, options) => {
    check(options.method, response.url, response.status, response.data, response.headers);
  });
  octokit.hook.error("request", (error, options) => {
    const failure = error as {
      status?: number;
      response?: { url: string; data: unknown; headers: Record<string, unknown> };
    };
    if (failure.response && failure.status !== undefined) {
      const { url, data, headers } = failure.response;
      check(options.method, url, failure.status, data, headers);
    }
    throw error;
  });
  return { octokit, checked: () => checked };
}

/** Asks the forge to open a PR and returns its number. */
export async function openPull(
  test: TestForge,
  head: string,
  title = `PR from ${head}`,
  body: string | null = null,
): Promise<number> {
  const reply = await api(test, "POST", `/repos/${OWNER}/${REPO}/pulls`, {
    body: { title, head, base: "main", body },
  });
  if (reply.status !== 201)
    throw new Error(`PR for ${head}: ${reply.status} ${JSON.stringify(reply.body)}`);
  return (reply.body as { number: number }).number;
}

/**
 * Many branches at once: one commit of `files` on top of `origin/main`, pushed under every name
 * in `branches` in a single `git push` (each then has a commit the base lacks, as a PR needs).
 */
export async function pushBranches(
  test: TestForge,
  clone: string,
  branches: readonly string[],
  files: Record<string, string> = { "docs/seed.md": "seed\n" },
): Promise<string> {
  const sha = await pushBranch(test, clone, `seed-${randomBytes(4).toString("hex")}`, files);
  await pushRefs(
    test,
    clone,
    "origin",
    branches.map((branch) => `${sha}:refs/heads/${branch}`),
  );
  return sha;
}

/**
 * Opens a PR for each head over REST, ten at a time, and returns their numbers in the order of
 * `heads` (the forge numbers them in the order it takes them, which this does not fix).
 */
export async function openPulls(
  test: TestForge,
  heads: readonly string[],
  bodyOf: (head: string, index: number) => string | null = () => null,
): Promise<number[]> {
  const numbers: number[] = [];
  for (let at = 0; at < heads.length; at += 10) {
    const batch = heads.slice(at, at + 10);
    numbers.push(
      ...(await Promise.all(
        batch.map((head, i) => openPull(test, head, `PR from ${head}`, bodyOf(head, at + i))),
      )),
    );
  }
  return numbers;
}

/** One open PR from a fresh clone's new branch `head` (one commit ahead of main); its number. */
export async function openOnePull(test: TestForge, head = "agent/a", title = "t"): Promise<number> {
  await pushBranch(test, await cloneRepo(test), head, { [`docs/${head}.md`]: `${head}\n` });
  return openPull(test, head, title);
}

/** Closes a PR unmerged, as `PATCH .../pulls/{n}` with `state: closed` does. */
export async function closePull(test: TestForge, number: number): Promise<void> {
  const reply = await api(test, "PATCH", `/repos/${OWNER}/${REPO}/pulls/${number}`, {
    body: { state: "closed" },
  });
  if (reply.status !== 200) throw new Error(`closing PR #${number}: ${reply.status}`);
}

/** The requests the forge answered since `from` (an index into its log) under `/repos/`. */
export function apiRequestsSince(test: TestForge, from: number): ForgeRequestSeen[] {
  return test.forge.requests
    .slice(from)
    .filter((request) => request.path.startsWith("/api/v3/repos/"))
    .map((request) => {
      const url = new URL(request.path, "http://forge");
      return { ...request, pathname: decodeURIComponent(url.pathname), query: url.searchParams };
    });
}

export interface ForgeRequestSeen {
  method: string;
  path: string;
  status: number;
  /** Decoded: `contents/docs/big.md` whether the client sent `/` or `%2F`. */
  pathname: string;
  query: URLSearchParams;
}
