import { describe, expect, it } from "vitest";
import { errorMessage } from "../../shared/errors/error-message.ts";
import type { GitHubForgeOptions } from "../../shared/forge/github/create-github-forge.ts";
import { ForgeUnavailableError } from "../../shared/forge/types.ts";
import {
  checkedOctokit,
  OWNER,
  openOnePull,
  productionClient,
  REPO,
  type TestForge,
  useTestForge,
} from "../support/forge-fixtures.ts";

const PRIMARY = {
  message: "API rate limit exceeded for user ID 1.",
  documentation_url: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
};
const SECONDARY = {
  message:
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
  documentation_url: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
};
const start = useTestForge();
/** More uses than any client retries: a limit that persists. */
const PERSISTENT = 100;

/**
 * The local forge with one open PR to list and `a.md` to read, so every call below makes exactly
 * one request when nothing is limited; the limits themselves are forge.faults rules.
 */
async function setup(overrides: Partial<GitHubForgeOptions> = {}) {
  const test = await start({ "a.md": "a\n", "README.md": "r\n" });
  const number = await openOnePull(test);
  const { forge, lines } = productionClient(test, overrides);
  const limit = (
    rule: { status: number; headers: Record<string, string>; body: unknown },
    times = 1,
  ) => test.forge.faults.add({ path: /\/repos\//, ...rule, times });
  return { test, forge, lines, number, limit };
}

/** The replies of the calls below, as the forge sends them unlimited, held to GitHub's description. */
async function checkedReplies(test: TestForge, number: number): Promise<number> {
  const { octokit, checked } = checkedOctokit(test);
  await octokit.rest.pulls.list({ owner: OWNER, repo: REPO, state: "open", per_page: 100 });
  await octokit.rest.pulls.get({ owner: OWNER, repo: REPO, pull_number: number });
  return checked();
}

function primaryLimit(resetInSeconds: number) {
  const reset = Math.ceil(Date.now() / 1000) + resetInSeconds;
  return {
    status: 403,
    headers: {
      "x-ratelimit-limit": "5000",
      "x-ratelimit-remaining": "0",
      "x-ratelimit-used": "5000",
      "x-ratelimit-reset": String(reset),
      "x-ratelimit-resource": "core",
    },
    body: PRIMARY,
  };
}

function waits(lines: string[]): string[] {
  return lines.filter((line) => line.includes("forge rate limit: waiting"));
}

describe("GitHub forge: rate limits", () => {
  it("waits out a primary rate limit whose reset is a second away, then succeeds", async () => {
    const { test, forge, lines, number, limit } = await setup();
    limit(primaryLimit(0));
    expect(await forge.listOpenPullRequests()).toHaveLength(1);
    expect(forge.requestCount).toBe(2);
    expect(waits(lines)).toHaveLength(1);
    expect(waits(lines)[0]).toContain('"kind":"primary"');
    expect(await checkedReplies(test, number)).toBe(2);
  });

  it("waits out a secondary rate limit (429, retry-after: 1), then succeeds", async () => {
    const { forge, lines, number, limit } = await setup();
    limit({ status: 429, headers: { "retry-after": "1" }, body: SECONDARY });
    expect(await forge.getPullRequest(number)).toMatchObject({ number });
    expect(forge.requestCount).toBe(2);
    expect(waits(lines)).toHaveLength(1);
    expect(waits(lines)[0]).toMatch(/"kind":"secondary".*"retry_after_s":1/);
  });

  it("gives up at once when the reset is further away than maxRateLimitWaitSeconds", async () => {
    const { forge, lines, limit } = await setup({ maxRateLimitWaitSeconds: 60 });
    limit(primaryLimit(3600), PERSISTENT);
    // Waiting would outlast the test's timeout: the rejection itself shows no wait happened.
    const error = await forge.listOpenPullRequests().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ForgeUnavailableError);
    expect(error).toMatchObject({ status: 403 });
    expect(errorMessage(error)).toMatch(
      /rate limited \(HTTP 403; GitHub advises waiting 36\d\d s\)/,
    );
    expect(forge.requestCount).toBe(1);
    expect(waits(lines)).toHaveLength(0);
    expect(lines.some((line) => line.includes("forge rate limit: giving up"))).toBe(true);
  });

  it("gives up at once on a secondary limit asking for more than the allowed wait", async () => {
    const { forge, limit } = await setup({ maxRateLimitWaitSeconds: 5 });
    limit({ status: 403, headers: { "retry-after": "120" }, body: SECONDARY }, PERSISTENT);
    const error = await forge.readFile("a.md", "main").catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ForgeUnavailableError);
    expect(errorMessage(error)).toMatch(/rate limited \(HTTP 403; GitHub advises waiting 120 s\)/);
    expect(forge.requestCount).toBe(1);
  });

  it("waits a bounded number of times when the limit persists", async () => {
    const { forge, lines, limit } = await setup({ retries: 1 });
    limit({ status: 429, headers: { "retry-after": "1" }, body: SECONDARY }, PERSISTENT);
    const error = await forge.listOpenPullRequests().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ForgeUnavailableError);
    expect(error).toMatchObject({ status: 429 });
    expect(forge.requestCount).toBe(2);
    expect(waits(lines)).toHaveLength(1);
  });
});
