// The local forge's conditional requests and rate limit, as GitHub has them: strong ETags,
// 304 without a body when If-None-Match names the current one, and x-ratelimit-* counted per
// token with a 304 costing nothing. Every reply is held to GitHub's published description.
import { afterEach, describe, expect, it } from "vitest";
import {
  cloneRepo,
  OWNER,
  pushBranch,
  REPO,
  startTestForge,
  type TestForge,
} from "../support/forge-fixtures.ts";
import { assertGitHubExchange } from "../support/openapi.ts";

let test: TestForge;
afterEach(async () => {
  await test?.cleanup();
});

interface Reply {
  status: number;
  headers: Headers;
  text: string;
}

async function get(
  path: string,
  headers: Record<string, string> = {},
  authorization: string | null = `token ${test.token}`,
): Promise<Reply> {
  const response = await fetch(`${test.forge.apiUrl}${path}`, {
    headers: {
      accept: "application/vnd.github+json",
      ...(authorization ? { authorization } : {}),
      ...headers,
    },
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  const contentType = response.headers.get("content-type") ?? "application/json";
  if (response.status !== 401 && !contentType.includes("vnd.github.raw")) {
    assertGitHubExchange({
      method: "GET",
      path: `/api/v3${path}`,
      basePath: "/api/v3",
      status: response.status,
      body: text,
      contentType,
    });
  }
  return { status: response.status, headers: response.headers, text };
}

const used = (reply: Reply) => Number(reply.headers.get("x-ratelimit-used"));
const BACKLOG = ".leviathan/backlog.yaml";
const CONTENTS = `/repos/${OWNER}/${REPO}/contents/${BACKLOG}?ref=main`;
const PULLS = `/repos/${OWNER}/${REPO}/pulls?state=open&per_page=100`;

describe("local forge: conditional requests", () => {
  it("answers a matching If-None-Match with a bodiless 304 that costs no rate limit", async () => {
    test = await startTestForge({ [BACKLOG]: "tasks: []\n" });
    for (const path of [PULLS, CONTENTS]) {
      const first = await get(path);
      expect(first.status).toBe(200);
      const etag = first.headers.get("etag") ?? "";
      // Strong: quoted, no W/ prefix.
      expect(etag).toMatch(/^"[0-9a-f]{40}"$/);
      const spent = test.forge.rateLimitUsed(test.token);
      const again = await get(path, { "if-none-match": etag });
      expect(again.status).toBe(304);
      expect(again.text).toBe("");
      expect(again.headers.get("etag")).toBe(etag);
      expect(used(again)).toBe(used(first));
      expect(again.headers.get("x-ratelimit-remaining")).toBe(
        first.headers.get("x-ratelimit-remaining"),
      );
      expect(test.forge.rateLimitUsed(test.token)).toBe(spent);
      // A list of tags, a weak form of the same tag and * all match, as RFC 9110 compares.
      for (const header of [`"nope", ${etag}`, `W/${etag}`, "*"]) {
        expect((await get(path, { "if-none-match": header })).status).toBe(304);
      }
      // A tag that is not the current one is an ordinary, charged 200.
      const stale = await get(path, { "if-none-match": '"0000"' });
      expect(stale.status).toBe(200);
      expect(used(stale)).toBe(used(first) + 1);
    }
  });

  it("gives the JSON and the raw form of a file different tags", async () => {
    test = await startTestForge({ [BACKLOG]: "tasks: []\n" });
    const json = await get(CONTENTS);
    const raw = await get(CONTENTS, { accept: "application/vnd.github.raw" });
    expect(raw.text).toBe("tasks: []\n");
    expect(raw.headers.get("etag")).not.toBe(json.headers.get("etag"));
    const cross = await get(CONTENTS, {
      accept: "application/vnd.github.raw",
      "if-none-match": json.headers.get("etag") ?? "",
    });
    expect(cross.status).toBe(200);
  });

  it("never answers 304 for content that changed: a push gives a new tag and a 200", async () => {
    test = await startTestForge({ [BACKLOG]: "tasks: []\n" });
    const before = await get(CONTENTS);
    const etag = before.headers.get("etag") ?? "";
    const clone = await cloneRepo(test);
    await pushBranch(test, clone, "main", { [BACKLOG]: "tasks: [] # changed\n" });
    const after = await get(CONTENTS, { "if-none-match": etag });
    expect(after.status).toBe(200);
    expect(after.headers.get("etag")).not.toBe(etag);
    const content = (JSON.parse(after.text) as { content: string }).content;
    expect(Buffer.from(content, "base64").toString("utf8")).toBe("tasks: [] # changed\n");
  });

  it("checks the token before the tag: a known tag without the token is a 401, not a 304", async () => {
    test = await startTestForge({ [BACKLOG]: "tasks: []\n" });
    const etag = (await get(PULLS)).headers.get("etag") ?? "";
    for (const authorization of [null, "token wrong-token"]) {
      const probe = await get(PULLS, { "if-none-match": etag }, authorization);
      expect(probe.status).toBe(401);
      expect(probe.headers.get("etag")).toBeNull();
    }
  });

  it("counts each token on its own, as GitHub does", async () => {
    test = await startTestForge();
    const mine = await get(PULLS);
    for (let i = 0; i < 3; i++) await get(PULLS, {}, "token someone-else");
    const again = await get(PULLS);
    expect(used(again)).toBe(used(mine) + 1);
    expect(test.forge.rateLimitUsed(test.token)).toBe(used(again));
    expect(test.forge.rateLimitUsed("someone-else")).toBe(3);
  });
});
