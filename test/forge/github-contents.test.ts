// The production client's readFile against the local forge's contents API, with the replies of
// the same reads held against GitHub's description.
import { describe, expect, it } from "vitest";
import {
  apiRequestsSince,
  checkedOctokit,
  cloneRepo,
  OWNER,
  openOnePull,
  productionClient,
  pushBranch,
  REPO,
  useTestForge,
} from "../support/forge-fixtures.ts";

const BACKLOG = "tasks:\n  - id: task-1 # ünïcode survives base64\n    title: Fix links\n";
const setup = useTestForge();

describe("GitHub forge: readFile through the contents API", () => {
  it("reads a file's text at a branch, and null when the file is absent there", async () => {
    const test = await setup({ ".leviathan/backlog.yaml": BACKLOG, "README.md": "r\n" });
    const clone = await cloneRepo(test);
    await pushBranch(test, clone, "other", { ".leviathan/backlog.yaml": "tasks: []\n" });
    const from = test.forge.requests.length;
    const { forge } = productionClient(test);
    expect(await forge.readFile(".leviathan/backlog.yaml", "main")).toBe(BACKLOG);
    expect(await forge.readFile(".leviathan/backlog.yaml", "other")).toBe("tasks: []\n");
    expect(await forge.readFile(".leviathan/backlog.yaml", "gone")).toBeNull();
    expect(await forge.readFile("docs/missing.md", "main")).toBeNull();
    const asked = apiRequestsSince(test, from);
    expect(asked.map((request) => request.query.get("ref"))).toEqual([
      "main",
      "other",
      "gone",
      "main",
    ]);
    expect(asked.map((request) => request.status)).toEqual([200, 200, 404, 404]);
    expect(forge.requestCount).toBe(4);
    const { octokit, checked } = checkedOctokit(test);
    for (const [path, ref] of [
      [".leviathan/backlog.yaml", "main"],
      [".leviathan/backlog.yaml", "other"],
      [".leviathan/backlog.yaml", "gone"],
      ["docs/missing.md", "main"],
    ] as const) {
      await octokit.rest.repos.getContent({ owner: OWNER, repo: REPO, path, ref }).catch(() => {});
    }
    expect(checked()).toBe(4);
  });

  it("a folder at the path is no file (null); a reply that is not contents is unavailability", async () => {
    const test = await setup();
    const { forge } = productionClient(test);
    // The default repository has docs/guide.md: docs is a folder.
    expect(await forge.readFile("docs", "main")).toBeNull();
    test.forge.faults.add({
      method: "GET",
      path: /\/contents\//,
      status: 200,
      body: "<html>maintenance</html>",
      headers: { "content-type": "text/html" },
      times: 1,
    });
    await expect(forge.readFile(".leviathan/backlog.yaml", "main")).rejects.toMatchObject({
      name: "ForgeUnavailableError",
      message: expect.stringMatching(/something other than contents/),
    });
  });

  it("reads a file over 1 MB, which GitHub sends only through the raw media type", async () => {
    const large = `${"# a long backlog line\n".repeat(60_000)}end\n`;
    const test = await setup({ "docs/big.md": large });
    const from = test.forge.requests.length;
    const { forge } = productionClient(test);
    expect(await forge.readFile("docs/big.md", "main")).toBe(large);
    // The JSON form carries no content over 1 MB; the second request asks for the raw one.
    expect(apiRequestsSince(test, from).map((r) => [r.pathname, r.status])).toEqual([
      [`/api/v3/repos/${OWNER}/${REPO}/contents/docs/big.md`, 200],
      [`/api/v3/repos/${OWNER}/${REPO}/contents/docs/big.md`, 200],
    ]);
    expect(forge.requestCount).toBe(2);
    const { octokit, checked } = checkedOctokit(test);
    const json = await octokit.rest.repos.getContent({
      owner: OWNER,
      repo: REPO,
      path: "docs/big.md",
      ref: "main",
    });
    expect(json.data).toMatchObject({ encoding: "none", content: "" });
    expect(checked()).toBe(1);
  });

  it("the tick's common path (open PRs on one page, then the backlog) is two requests", async () => {
    const test = await setup({ ".leviathan/backlog.yaml": BACKLOG });
    await openOnePull(test, "agent/docs-attempt-task-1-00000000");
    const from = test.forge.requests.length;
    const { forge } = productionClient(test);
    expect(await forge.listOpenPullRequests()).toHaveLength(1);
    expect(await forge.readFile(".leviathan/backlog.yaml", "main")).toBe(BACKLOG);
    expect(forge.requestCount).toBe(2);
    expect(apiRequestsSince(test, from).map((request) => request.pathname)).toEqual([
      `/api/v3/repos/${OWNER}/${REPO}/pulls`,
      expect.stringMatching(
        /^\/api\/v3\/repos\/acme\/demo\/contents\/\.leviathan(\/|%2F)backlog\.yaml$/,
      ),
    ]);
    const { octokit, checked } = checkedOctokit(test);
    await octokit.rest.pulls.list({ owner: OWNER, repo: REPO, state: "open", per_page: 100 });
    await octokit.rest.repos.getContent({
      owner: OWNER,
      repo: REPO,
      path: ".leviathan/backlog.yaml",
      ref: "main",
    });
    expect(checked()).toBe(2);
  });
});
