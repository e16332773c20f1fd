// The App's token client (@octokit/auth-app underneath) against the local forge: what each token
// may do, when a cached one is renewed, and which failures are retried.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ATTEMPT_PERMISSIONS,
  createGitHubAppTokens,
  GitHubAppTokenError,
  TICK_PERMISSIONS,
} from "../../shared/forge/github/app/github-app-tokens.ts";
import { api, startTestForge, type TestForge } from "../support/forge-fixtures.ts";
import { installTestApp, type TestApp } from "../support/github-app-fixtures.ts";

let test: TestForge;
let app: TestApp;

beforeAll(async () => {
  test = await startTestForge();
  await test.forge.createRepository("acme", "sibling");
  app = installTestApp(test.forge, "acme");
});

afterAll(async () => {
  await test.cleanup();
});

function tokensFor(repo: string, options: { now?: () => Date; installationId?: number } = {}) {
  return createGitHubAppTokens(
    {
      appId: app.appId,
      privateKey: app.privateKey,
      apiUrl: test.forge.apiUrl,
      owner: "acme",
      repo,
      ...(options.installationId ? { installationId: options.installationId } : {}),
    },
    { retryBaseDelayMs: 1, ...(options.now ? { now: options.now } : {}) },
  );
}

const mints = () =>
  test.forge.requests.filter((r) => r.method === "POST" && r.path.endsWith("/access_tokens"));

describe("GitHub App tokens", () => {
  it("each token reaches the target repository only, with the permissions asked", async () => {
    const tokens = tokensFor("demo");
    for (const permissions of [TICK_PERMISSIONS, ATTEMPT_PERMISSIONS]) {
      const { token, expiresAt } = await tokens.mint(permissions);
      expect(expiresAt.getTime()).toBeGreaterThan(Date.now() + 55 * 60_000);
      const listed = await api(test, "GET", "/installation/repositories", {
        authorization: `token ${token}`,
      });
      expect(listed.body).toMatchObject({
        total_count: 1,
        repositories: [{ full_name: "acme/demo" }],
      });
      const sibling = await api(test, "GET", "/repos/acme/sibling", {
        authorization: `token ${token}`,
      });
      expect(sibling.status).toBe(404);
    }
  });

  it("a cached token is reused until five minutes before it expires, then renewed", async () => {
    let clock = Date.now();
    const tokens = tokensFor("demo", {
      now: () => new Date(clock),
      installationId: app.installationId,
    });
    const source = tokens.cached(TICK_PERMISSIONS);
    expect(tokens.cached(TICK_PERMISSIONS)).toBe(source);
    const before = mints().length;
    const first = await source.token();
    clock += 54 * 60_000;
    expect(await source.token()).toBe(first);
    expect(mints().length).toBe(before + 1);
    clock += 2 * 60_000;
    const renewed = await source.token();
    expect(renewed).not.toBe(first);
    expect(mints().length).toBe(before + 2);
    expect(source.issued).toEqual(expect.arrayContaining([first, renewed]));
  });

  it("retries a 5xx, not a refusal; the error names the App and the repository, never a token", async () => {
    const flaky = test.forge.faults.add({
      method: "POST",
      path: /\/access_tokens$/,
      status: 502,
      times: 1,
    });
    await tokensFor("demo").mint(ATTEMPT_PERMISSIONS);
    expect(flaky.used).toBe(1);

    const before = test.forge.requests.length;
    const missing = tokensFor("no-such-repo");
    const error = await missing.mint(ATTEMPT_PERMISSIONS).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GitHubAppTokenError);
    expect((error as GitHubAppTokenError).httpStatus).toBe(404);
    expect((error as Error).message).toMatch(
      /GitHub App \d+: finding its installation on acme\/no-such-repo: HTTP 404/,
    );
    expect(test.forge.requests.length - before).toBe(1);

    const narrow = installTestApp(test.forge, "acme", {
      repositories: ["demo"],
      permissions: { contents: "read", metadata: "read" },
    });
    const tooMuch = createGitHubAppTokens({
      appId: narrow.appId,
      privateKey: narrow.privateKey,
      apiUrl: test.forge.apiUrl,
      owner: "acme",
      repo: "demo",
    });
    const refused = await tooMuch.mint(ATTEMPT_PERMISSIONS).catch((e: unknown) => e);
    expect((refused as GitHubAppTokenError).httpStatus).toBe(422);
    expect((refused as Error).message).not.toMatch(/ghs_|eyJ/);
  });
});
