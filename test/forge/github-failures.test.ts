// The production client's failures against the local forge misbehaving on purpose
// (forge.faults): each becomes a ForgeUnavailableError after a bounded number of requests.
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import {
  createGitHubForge,
  type GitHubForgeOptions,
} from "../../shared/forge/github/create-github-forge.ts";
import { ForgeUnavailableError } from "../../shared/forge/types.ts";
import { captureLogger } from "../support/capture-logger.ts";
import {
  apiRequestsSince,
  checkedOctokit,
  OWNER,
  openOnePull,
  productionClient,
  REPO,
  useTestForge,
} from "../support/forge-fixtures.ts";

const start = useTestForge();
/** Every fault below is used this many times at most: more than any client retries. */
const PERSISTENT = 100;

/** A forge with one open PR; its client keeps retries quick (their number is what is tested). */
async function setup(options: Partial<GitHubForgeOptions> = {}) {
  const test = await start({ ".leviathan/backlog.yaml": "tasks: []\n", "README.md": "r\n" });
  const number = await openOnePull(test);
  const from = test.forge.requests.length;
  // Octokit's backoff is n² × retryBaseDelayMs.
  const { forge, lines } = productionClient(test, { retryBaseDelayMs: 20, ...options });
  return { test, forge, lines, number, from };
}

async function failure(promise: Promise<unknown>): Promise<ForgeUnavailableError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ForgeUnavailableError);
  return error as ForgeUnavailableError;
}

describe("GitHub forge: failures become ForgeUnavailableError, bounded", () => {
  it("retries a 503 and succeeds; both requests are counted", async () => {
    const { test, forge, from } = await setup();
    test.forge.faults.add({
      path: /\/pulls\?/,
      status: 503,
      body: { message: "Service Unavailable" },
      times: 1,
    });
    expect(await forge.listOpenPullRequests()).toHaveLength(1);
    expect(forge.requestCount).toBe(2);
    expect(apiRequestsSince(test, from).map((request) => request.status)).toEqual([503, 200]);
    const { octokit, checked } = checkedOctokit(test);
    await octokit.rest.pulls.list({ owner: OWNER, repo: REPO, state: "open", per_page: 100 });
    expect(checked()).toBe(1);
  });

  it("gives up on a persistent 503 after the configured retries", async () => {
    const { test, forge, from } = await setup({ retries: 2 });
    test.forge.faults.add({
      path: /\/pulls\?/,
      status: 503,
      body: { message: "Service Unavailable" },
      times: PERSISTENT,
    });
    const error = await failure(forge.listOpenPullRequests());
    expect(error.status).toBe(503);
    expect(error.message).toMatch(/listing the open PRs of acme\/demo: HTTP 503.*\(3 requests\)/);
    expect(forge.requestCount).toBe(3);
    expect(apiRequestsSince(test, from).map((request) => request.status)).toEqual([503, 503, 503]);
  });

  it("a 5xx while reading a file is unavailability, not absence", async () => {
    const { test, forge } = await setup({ retries: 1 });
    test.forge.faults.add({
      path: /\/contents\//,
      status: 502,
      body: "<html>Bad Gateway</html>",
      headers: { "content-type": "text/html" },
      times: PERSISTENT,
    });
    const error = await failure(forge.readFile(".leviathan/backlog.yaml", "main"));
    expect(error.status).toBe(502);
    expect(forge.requestCount).toBe(2);
  });

  it("ends a request the server never answers at its deadline, and retries it boundedly", async () => {
    const { test, forge, lines, number } = await setup({ timeoutMs: 200, retries: 1 });
    // Held far beyond the client's deadline; the hold ends when the client goes away.
    test.forge.faults.add({ path: /\/pulls\/\d+/, status: 0, delayMs: 600_000, times: PERSISTENT });
    const error = await failure(forge.getPullRequest(number));
    expect(error.message).toMatch(
      new RegExp(`reading PR #${number} of acme/demo: no reply within 200 ms \\(2 requests\\)`),
    );
    expect(error.status).toBeUndefined();
    expect(forge.requestCount).toBe(2);
    expect(lines.filter((line) => line.includes('"err":"timeout"'))).toHaveLength(2);
  });

  it("does not retry a 401 (bad credentials)", async () => {
    const { test } = await setup();
    const wrongToken = `test-token-${randomBytes(8).toString("hex")}`;
    const { logger, lines } = captureLogger();
    const forge = createGitHubForge({
      apiUrl: test.forge.apiUrl,
      owner: OWNER,
      repo: REPO,
      token: wrongToken,
      logger,
    });
    const error = await failure(forge.listOpenPullRequests());
    expect(error.status).toBe(401);
    expect(error.message).toMatch(/HTTP 401: Bad credentials/);
    expect(forge.requestCount).toBe(1);
    expect(error.message).not.toContain(wrongToken);
    expect(lines.join("")).not.toContain(wrongToken);
    expect(lines.join("")).toContain('"status":401');
  });

  it("retries a refused connection boundedly, then reports it", async () => {
    const port = await closedPort();
    const forge = createGitHubForge({
      apiUrl: `http://127.0.0.1:${port}`,
      owner: OWNER,
      repo: REPO,
      token: "test-token-unused",
      retries: 2,
      retryBaseDelayMs: 20,
    });
    const error = await failure(forge.readFile("a.md", "main"));
    expect(error.message).toMatch(
      /reading a\.md at main of acme\/demo: no reply: .*\(3 requests\)/,
    );
    expect(forge.requestCount).toBe(3);
  });

  it("a reply that is not what GitHub sends is unavailability, not a crash", async () => {
    const { test, forge, number } = await setup();
    test.forge.faults.add({ path: /\/pulls\?/, status: 200, body: { not: "a list" }, times: 1 });
    const error = await failure(forge.listOpenPullRequests());
    expect(error.message).toMatch(/not a pull request: an object with keys not/);
    test.forge.faults.add({
      path: /\/pulls\/\d+/,
      status: 200,
      body: "<html>maintenance</html>",
      headers: { "content-type": "text/html" },
      times: 1,
    });
    expect((await failure(forge.getPullRequest(number))).message).toMatch(
      /not a pull request: string/,
    );
  });

  it("never lets the token into an error or a log line, even when the server echoes it", async () => {
    const { test, forge, lines, number } = await setup({ retries: 1 });
    const token = test.token;
    const echo = { message: `token ${token} is not allowed here`, documentation_url: "x" };
    test.forge.faults.add({ path: /\/pulls\/\d+/, status: 400, body: echo, times: 1 });
    test.forge.faults.add({ path: /\/pulls\?/, status: 500, body: echo, times: PERSISTENT });
    const first = await failure(forge.getPullRequest(number));
    const second = await failure(forge.listOpenPullRequests());
    for (const error of [first, second]) {
      expect(error.message).toContain("[redacted]");
      expect(error.message).not.toContain(token);
      expect(JSON.stringify(error)).not.toContain(token);
      expect(String(error.stack)).not.toContain(token);
    }
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join("")).not.toContain(token);
  });
});

/** A loopback port with nothing listening: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}
