import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { createGitHubForge } from "../../shared/forge/github/create-github-forge.ts";
import { ForgeUnavailableError } from "../../shared/forge/types.ts";
import { captureLogger } from "../support/capture-logger.ts";
import { assertRepliesMatchGitHub, useGitHubFakeWithForge } from "../support/github-fake.ts";

const OWNER = "acme";
const REPO = "radix";
// Octokit's backoff is n² × retryBaseDelayMs: keep retries quick, their number is what is tested.
const setup = useGitHubFakeWithForge({ retryBaseDelayMs: 20 });

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
    const { fake, forge } = await setup();
    fake.pulls.push({
      number: 1,
      title: "t",
      body: null,
      head: "agent/a",
      base: "main",
      state: "open",
    });
    fake.inject({ status: 503, body: { message: "Service Unavailable" } });
    expect(await forge.listOpenPullRequests()).toHaveLength(1);
    expect(forge.requestCount).toBe(2);
    expect(fake.exchanges.map((exchange) => exchange.status)).toEqual([503, 200]);
    expect(assertRepliesMatchGitHub(fake)).toBe(1);
  });

  it("gives up on a persistent 503 after the configured retries", async () => {
    const { fake, forge } = await setup({ retries: 2 });
    fake.inject({ status: 503, body: { message: "Service Unavailable" } }, { times: Infinity });
    const error = await failure(forge.listOpenPullRequests());
    expect(error.status).toBe(503);
    expect(error.message).toMatch(/listing the open PRs of acme\/radix: HTTP 503.*\(3 requests\)/);
    expect(forge.requestCount).toBe(3);
  });

  it("a 5xx while reading a file is unavailability, not absence", async () => {
    const { fake, forge } = await setup({ retries: 1 });
    fake.files.set("main:.leviathan/backlog.yaml", "tasks: []\n");
    fake.inject(
      { status: 502, body: "<html>Bad Gateway</html>", headers: { "content-type": "text/html" } },
      { times: Infinity },
    );
    const error = await failure(forge.readFile(".leviathan/backlog.yaml", "main"));
    expect(error.status).toBe(502);
    expect(forge.requestCount).toBe(2);
  });

  it("ends a request the server never answers at its deadline, and retries it boundedly", async () => {
    const { fake, forge, lines } = await setup({ timeoutMs: 200, retries: 1 });
    fake.inject({ status: 0, hang: true }, { times: Infinity });
    const error = await failure(forge.getPullRequest(1));
    expect(error.message).toMatch(
      /reading PR #1 of acme\/radix: no reply within 200 ms \(2 requests\)/,
    );
    expect(error.status).toBeUndefined();
    expect(forge.requestCount).toBe(2);
    expect(lines.filter((line) => line.includes('"err":"timeout"'))).toHaveLength(2);
  });

  it("does not retry a 401 (bad credentials)", async () => {
    const { fake } = await setup();
    const wrongToken = `test-token-${randomBytes(8).toString("hex")}`;
    const { logger, lines } = captureLogger();
    const forge = createGitHubForge({
      apiUrl: fake.apiUrl,
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
      /reading a\.md at main of acme\/radix: no reply: .*\(3 requests\)/,
    );
    expect(forge.requestCount).toBe(3);
  });

  it("a reply that is not what GitHub sends is unavailability, not a crash", async () => {
    const { fake, forge } = await setup();
    fake.inject({ status: 200, body: { not: "a list" } });
    const error = await failure(forge.listOpenPullRequests());
    expect(error.message).toMatch(/not a pull request: an object with keys not/);
    fake.inject({
      status: 200,
      body: "<html>maintenance</html>",
      headers: { "content-type": "text/html" },
    });
    expect((await failure(forge.getPullRequest(1))).message).toMatch(/not a pull request: string/);
  });

  it("never lets the token into an error or a log line, even when the server echoes it", async () => {
    const { fake, forge, token, lines } = await setup({ retries: 1 });
    const echo = { message: `token ${token} is not allowed here`, documentation_url: "x" };
    fake.inject({ status: 400, body: echo });
    fake.inject({ status: 500, body: echo }, { times: Infinity });
    const first = await failure(forge.getPullRequest(1));
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
