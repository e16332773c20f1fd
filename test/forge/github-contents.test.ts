import { describe, expect, it } from "vitest";
import { assertRepliesMatchGitHub, useGitHubFakeWithForge } from "../support/github-fake.ts";

const BACKLOG = "tasks:\n  - id: task-1 # ünïcode survives base64\n    title: Fix links\n";
const setup = useGitHubFakeWithForge();

describe("GitHub forge: readFile through the contents API", () => {
  it("reads a file's text at a branch, and null when the file is absent there", async () => {
    const { fake, forge } = await setup();
    fake.files.set("main:.leviathan/backlog.yaml", BACKLOG);
    fake.files.set("other:.leviathan/backlog.yaml", "tasks: []\n");
    expect(await forge.readFile(".leviathan/backlog.yaml", "main")).toBe(BACKLOG);
    expect(await forge.readFile(".leviathan/backlog.yaml", "other")).toBe("tasks: []\n");
    expect(await forge.readFile(".leviathan/backlog.yaml", "gone")).toBeNull();
    expect(await forge.readFile("docs/missing.md", "main")).toBeNull();
    expect(fake.exchanges.map((exchange) => exchange.request.query.get("ref"))).toEqual([
      "main",
      "other",
      "gone",
      "main",
    ]);
    expect(forge.requestCount).toBe(4);
    expect(assertRepliesMatchGitHub(fake)).toBe(4);
  });

  it("a folder at the path is no file (null); a reply that is not contents is unavailability", async () => {
    const { fake, forge } = await setup();
    fake.inject({ status: 200, body: [] }, { when: (request) => request.path.endsWith("/docs") });
    expect(await forge.readFile("docs", "main")).toBeNull();
    fake.inject({
      status: 200,
      body: "<html>maintenance</html>",
      headers: { "content-type": "text/html" },
    });
    await expect(forge.readFile(".leviathan/backlog.yaml", "main")).rejects.toMatchObject({
      name: "ForgeUnavailableError",
      message: expect.stringMatching(/something other than contents/),
    });
  });

  it("reads a file over 1 MB, which GitHub sends only through the raw media type", async () => {
    const { fake, forge } = await setup();
    const large = `${"# a long backlog line\n".repeat(60_000)}end\n`;
    fake.files.set("main:docs/big.md", large);
    expect(await forge.readFile("docs/big.md", "main")).toBe(large);
    expect(fake.exchanges.map((exchange) => exchange.contentType.split(";")[0])).toEqual([
      "application/json",
      "application/vnd.github.raw",
    ]);
    expect(forge.requestCount).toBe(2);
    expect(assertRepliesMatchGitHub(fake)).toBe(1);
  });

  it("the tick's common path (open PRs on one page, then the backlog) is two requests", async () => {
    const { fake, forge } = await setup({}, "/api/v3");
    fake.pulls.push({
      number: 4,
      title: "t",
      body: null,
      head: "agent/docs-attempt-task-1-00000000",
      base: "main",
      state: "open",
    });
    fake.files.set("main:.leviathan/backlog.yaml", BACKLOG);
    expect(await forge.listOpenPullRequests()).toHaveLength(1);
    expect(await forge.readFile(".leviathan/backlog.yaml", "main")).toBe(BACKLOG);
    expect(forge.requestCount).toBe(2);
    expect(fake.exchanges.map((exchange) => new URL(exchange.url, "http://x").pathname)).toEqual([
      "/api/v3/repos/acme/radix/pulls",
      expect.stringMatching(
        /^\/api\/v3\/repos\/acme\/radix\/contents\/\.leviathan(\/|%2F)backlog\.yaml$/,
      ),
    ]);
    expect(assertRepliesMatchGitHub(fake)).toBe(2);
  });
});
