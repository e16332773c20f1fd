import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  createGitHubForge,
  type GitHubForgeOptions,
} from "../../shared/forge/github/create-github-forge.ts";
import { ForgeUnavailableError, type PullRequest } from "../../shared/forge/types.ts";
import {
  cloneRepo,
  OWNER,
  openPull,
  pushBranch,
  REPO,
  startTestForge,
  type TestForge,
} from "../support/forge-fixtures.ts";
import { waitFor } from "../support/wait-for.ts";

// The production client against the local forge while the forge misbehaves on purpose: the
// retries, rate-limit waits and deadlines the tick relies on, seen from both sides (what the
// client returns or throws, and the requests the forge actually received).

let test: TestForge;
let expected: PullRequest[];
const PULLS = /\/pulls\?/;

beforeAll(async () => {
  test = await startTestForge();
  const clone = await cloneRepo(test);
  await pushBranch(test, clone, "agent/docs-attempt-1", { "docs/a.md": "a\n" });
  const number = await openPull(test, "agent/docs-attempt-1", "Docs", "body");
  expected = [
    {
      number,
      html_url: `${test.forge.url}/${OWNER}/${REPO}/pull/${number}`,
      state: "open",
      merged: false,
      title: "Docs",
      body: "body",
      head_ref: "agent/docs-attempt-1",
      head_repo: `${OWNER}/${REPO}`,
      base_ref: "main",
    },
  ];
});

afterEach(() => test.forge.faults.clear());
afterAll(() => test.cleanup());

function client(options: Partial<GitHubForgeOptions> = {}) {
  return createGitHubForge({
    apiUrl: test.forge.apiUrl,
    owner: OWNER,
    repo: REPO,
    token: test.token,
    retries: 2,
    retryBaseDelayMs: 1,
    rateLimitSecondMs: 1,
    ...options,
  });
}

/** Statuses the forge logged for the pulls list since `from` (its request log index). */
function pullListStatuses(from: number): number[] {
  return test.forge.requests
    .slice(from)
    .filter((r) => r.path.includes("/pulls?"))
    .map((r) => r.status);
}

async function failure(promise: Promise<unknown>): Promise<ForgeUnavailableError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ForgeUnavailableError);
  const unavailable = error as ForgeUnavailableError;
  // The token (a recognisable fake) is in no part of what a caller could log.
  const everything = `${unavailable.message} ${String(unavailable)} ${JSON.stringify(unavailable)}`;
  expect(everything).not.toContain(test.token);
  return unavailable;
}

describe("the GitHub forge client against the local forge's faults", () => {
  it("retries 503s and then answers; every request it made is counted", async () => {
    const from = test.forge.requests.length;
    test.forge.faults.add({ method: "GET", path: PULLS, status: 503, times: 2 });
    const forge = client();
    expect(await forge.listOpenPullRequests()).toEqual(expected);
    expect(forge.requestCount).toBe(3);
    expect(pullListStatuses(from)).toEqual([503, 503, 200]);
  });

  it("gives up on a persistent 503 after its bounded retries", async () => {
    const from = test.forge.requests.length;
    const outage = test.forge.faults.add({ path: PULLS, status: 503, times: 50 });
    const forge = client();
    const error = await failure(forge.listOpenPullRequests());
    expect(error.status).toBe(503);
    expect(forge.requestCount).toBe(3);
    expect(outage.used).toBe(3);
    expect(pullListStatuses(from)).toEqual([503, 503, 503]);
  });

  it("waits out a primary rate limit whose reset has come, then answers", async () => {
    const from = test.forge.requests.length;
    test.forge.faults.add({
      path: PULLS,
      status: 403,
      headers: {
        "x-ratelimit-limit": "5000",
        "x-ratelimit-remaining": "0",
        "x-ratelimit-used": "5000",
        "x-ratelimit-reset": String(Math.floor(Date.now() / 1000)),
      },
      body: {
        message: "API rate limit exceeded for user ID 1.",
        documentation_url: "https://docs.github.com/rest/rate-limit",
      },
      times: 1,
    });
    const forge = client();
    expect(await forge.listOpenPullRequests()).toEqual(expected);
    expect(forge.requestCount).toBe(2);
    expect(pullListStatuses(from)).toEqual([403, 200]);
  });

  it("waits out a secondary rate limit (429, retry-after: 0), then answers", async () => {
    const from = test.forge.requests.length;
    test.forge.faults.add({
      path: PULLS,
      status: 429,
      headers: { "retry-after": "0" },
      body: {
        message:
          "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
        documentation_url: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
      },
      times: 1,
    });
    const forge = client();
    expect(await forge.listOpenPullRequests()).toEqual(expected);
    expect(forge.requestCount).toBe(2);
    expect(pullListStatuses(from)).toEqual([429, 200]);
  });

  it("does not wait for a limit that resets beyond its longest wait: one request, then unavailable", async () => {
    test.forge.faults.add({
      path: PULLS,
      status: 403,
      headers: {
        "x-ratelimit-remaining": "0",
        "x-ratelimit-reset": String(Math.floor(Date.now() / 1000) + 3600),
      },
      body: { message: "API rate limit exceeded", documentation_url: "https://docs.github.com" },
      times: 5,
    });
    // Seconds at full length here: a wait that was started would be an hour.
    const forge = client({ rateLimitSecondMs: 1000, maxRateLimitWaitSeconds: 60 });
    const error = await failure(forge.listOpenPullRequests());
    expect(error.status).toBe(403);
    expect(forge.requestCount).toBe(1);
  });

  it("ends a request the forge holds past the client's deadline: unavailable, bounded", async () => {
    const from = test.forge.requests.length;
    test.forge.faults.add({ path: PULLS, status: 0, delayMs: 30_000, times: 10 });
    const forge = client({ timeoutMs: 200, retries: 1 });
    const error = await failure(forge.listOpenPullRequests());
    expect(error.message).toContain("no reply within 200 ms");
    expect(forge.requestCount).toBe(2);
    // The forge saw both requests end without a reply (logged as 499 when the client left).
    await waitFor(() => pullListStatuses(from).length === 2, "both pull-list requests in the log");
    expect(pullListStatuses(from)).toEqual([499, 499]);
  });

  it("answers a slow reply that arrives within the deadline", async () => {
    const slow = test.forge.faults.add({ path: PULLS, status: 0, delayMs: 100, times: 1 });
    const forge = client({ timeoutMs: 10_000 });
    expect(await forge.listOpenPullRequests()).toEqual(expected);
    expect(slow.used).toBe(1);
    expect(forge.requestCount).toBe(1);
  });
});
