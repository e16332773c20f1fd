import { symlink } from "node:fs/promises";
import { request } from "node:http";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createGitHubForge } from "../../shared/forge/github/create-github-forge.ts";
import { captureLogger } from "../support/capture-logger.ts";
import {
  api,
  basicHeader,
  checkedOctokit,
  cloneRepo,
  git,
  OWNER,
  openPull,
  pushBranch,
  REPO,
  startTestForge,
  type TestForge,
} from "../support/forge-fixtures.ts";
import { assertGitHubResponse } from "../support/openapi.ts";

let test: TestForge | undefined;

afterEach(async () => {
  await test?.cleanup();
  test = undefined;
});

const CONTENTS = `/repos/${OWNER}/${REPO}/contents`;
const NOT_FOUND = { message: "Not Found", documentation_url: "https://docs.github.com/rest" };
const BACKLOG = "tasks:\n  - id: task-1 # keep\n    ready: true\n";

interface FileContent {
  type: string;
  encoding: string;
  content: string;
  sha: string;
  size: number;
  name: string;
  path: string;
  url: string;
}

/** A GET sent with its path exactly as written (URL parsing would resolve `..` first). */
function rawGet(path: string, token: string): Promise<{ status: number; body: unknown }> {
  const { hostname, port } = new URL(test!.forge.url);
  return new Promise((resolve, reject) => {
    const req = request(
      { hostname, port, path, headers: { authorization: `token ${token}` }, timeout: 10_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            body: JSON.parse(Buffer.concat(chunks).toString()),
          }),
        );
      },
    );
    req.on("timeout", () => req.destroy(new Error("no reply")));
    req.on("error", reject);
    req.end();
  });
}

function decode(file: FileContent): string {
  return Buffer.from(file.content, "base64").toString("utf8");
}

describe("local forge: the contents API", () => {
  it("reads a file at a branch and at a commit sha, with git's blob id", async () => {
    test = await startTestForge({
      ".leviathan/backlog.yaml": BACKLOG,
      "docs/guide.md": "# Guide\n",
    });
    const clone = await cloneRepo(test);
    const reply = await api(test, "GET", `${CONTENTS}/.leviathan/backlog.yaml?ref=main`);
    expect(reply.status).toBe(200);
    const file = reply.body as FileContent;
    expect(file).toMatchObject({
      type: "file",
      encoding: "base64",
      name: "backlog.yaml",
      path: ".leviathan/backlog.yaml",
      size: Buffer.byteLength(BACKLOG),
      sha: await git(["rev-parse", "main:.leviathan/backlog.yaml"], clone),
    });
    expect(decode(file)).toBe(BACKLOG);
    // GitHub wraps base64 in lines of 60 characters.
    expect(file.content.split("\n").every((line) => line.length <= 60)).toBe(true);
    // Without a ref: the default branch.
    expect(decode((await api(test, "GET", `${CONTENTS}/docs/guide.md`)).body as FileContent)).toBe(
      "# Guide\n",
    );

    const before = await git(["rev-parse", "HEAD"], clone);
    await pushBranch(test, clone, "agent/x", { "docs/guide.md": "# Changed\n" });
    const atBranch = await api(test, "GET", `${CONTENTS}/docs/guide.md?ref=agent/x`);
    expect(decode(atBranch.body as FileContent)).toBe("# Changed\n");
    const atSha = await api(test, "GET", `${CONTENTS}/docs/guide.md?ref=${before}`);
    expect(decode(atSha.body as FileContent)).toBe("# Guide\n");
    const short = await api(test, "GET", `${CONTENTS}/docs/guide.md?ref=${before.slice(0, 10)}`);
    expect(decode(short.body as FileContent)).toBe("# Guide\n");
  });

  it("reads an unchanged file again without git, a changed one afresh", async () => {
    const { logger, lines } = captureLogger();
    test = await startTestForge({ ".leviathan/backlog.yaml": BACKLOG }, { logger });
    const forge = test;
    const gitCommands = () =>
      lines
        .map((line) => JSON.parse(line) as { msg?: string; git?: string })
        .filter((entry) => entry.msg === "forge git command done")
        .map((entry) => entry.git);
    const read = async () => {
      const from = gitCommands().length;
      const reply = await api(forge, "GET", `${CONTENTS}/.leviathan/backlog.yaml`);
      return { text: decode(reply.body as FileContent), git: gitCommands().slice(from) };
    };
    // The tick reads its backlog every few minutes: while no ref moved, from memory.
    expect(await read()).toEqual({ text: BACKLOG, git: ["ls-tree", "cat-file"] });
    expect(await read()).toEqual({ text: BACKLOG, git: [] });
    const clone = await cloneRepo(forge);
    await pushBranch(forge, clone, "main", { ".leviathan/backlog.yaml": "tasks: []\n" });
    expect(await read()).toEqual({ text: "tasks: []\n", git: ["ls-tree", "cat-file"] });
    expect(await read()).toEqual({ text: "tasks: []\n", git: [] });
    // A branch the forge moves itself, as a merge does, is read afresh too.
    await pushBranch(forge, clone, "agent/x", { ".leviathan/backlog.yaml": "tasks: [x]\n" });
    await openPull(forge, "agent/x");
    // Any git request counts as a change of refs: listed again; the blob's id is the same.
    expect(await read()).toEqual({ text: "tasks: []\n", git: ["ls-tree"] });
    expect(
      (await api(forge, "PUT", `/repos/${OWNER}/${REPO}/pulls/1/merge`, { body: {} })).status,
    ).toBe(200);
    expect((await read()).text).toBe("tasks: [x]\n");
  });

  it("answers 404 for a path or ref that does not exist, and for paths that try to escape", async () => {
    test = await startTestForge();
    for (const path of [
      `${CONTENTS}/docs/missing.md`,
      `${CONTENTS}/docs/guide.md?ref=no-such-branch`,
      `${CONTENTS}/docs/guide.md?ref=${"0".repeat(40)}`,
      `${CONTENTS}/docs/guide.md?ref=--output=x`,
      `/repos/${OWNER}/elsewhere/contents/README.md`,
    ]) {
      const reply = await api(test, "GET", path);
      expect(reply.status, path).toBe(404);
      expect(reply.body).toEqual(NOT_FOUND);
    }
    // fetch and Octokit resolve dot segments before sending; a raw request does not.
    for (const path of [`${CONTENTS}/docs/../README.md`, `${CONTENTS}/docs/%2E%2E/README.md`]) {
      const reply = await rawGet(`/api/v3${path}`, test.token);
      expect(reply.status, path).toBe(404);
      assertGitHubResponse("get", "/repos/{owner}/{repo}/contents/{path}", 404, reply.body);
      expect(reply.body).toEqual(NOT_FOUND);
    }
  });

  it("lists a directory, gives a symlink's target, and a file's bytes in the raw media type", async () => {
    test = await startTestForge({ "docs/a.md": "a\n", "docs/sub/b.md": "b\n", "README.md": "r\n" });
    const clone = await cloneRepo(test);
    await git(["checkout", "-q", "-b", "links"], clone);
    await symlink("docs/a.md", join(clone, "link.md"));
    await git(["add", "link.md"], clone);
    await git(["commit", "-q", "-m", "link"], clone);
    await git(
      ["-c", `http.extraHeader=${basicHeader(test.token)}`, "push", "-q", "origin", "links"],
      clone,
    );

    const dir = await api(test, "GET", `${CONTENTS}/docs?ref=main`);
    expect(
      (dir.body as FileContent[]).map(({ type, path, name }) => ({ type, path, name })),
    ).toEqual([
      { type: "file", path: "docs/a.md", name: "a.md" },
      { type: "dir", path: "docs/sub", name: "sub" },
    ]);
    // The root has no `{path}` segment, so the path alone cannot name GitHub's operation.
    const root = await api(test, "GET", `${CONTENTS}?ref=main`, { undocumented: true });
    assertGitHubResponse("get", "/repos/{owner}/{repo}/contents/{path}", 200, root.body);
    expect((root.body as FileContent[]).map((entry) => entry.path)).toEqual(["README.md", "docs"]);
    const link = await api(test, "GET", `${CONTENTS}/link.md?ref=links`);
    expect(link.body).toMatchObject({ type: "symlink", target: "docs/a.md" });

    const raw = await api(test, "GET", `${CONTENTS}/docs/a.md?ref=main`, {
      accept: "application/vnd.github.raw",
    });
    expect(raw.status).toBe(200);
    expect(raw.headers.get("content-type")).toBe("application/vnd.github.raw; charset=utf-8");
    expect(raw.body).toBe("a\n");
  });

  it("leaves a file over 1 MB out of the JSON, as GitHub does; the clients fall back to raw", async () => {
    const big = `${"x".repeat(99)}\n`.repeat(11_000);
    test = await startTestForge({ "docs/big.md": big });
    const reply = await api(test, "GET", `${CONTENTS}/docs/big.md`);
    expect(reply.body).toMatchObject({ encoding: "none", content: "", size: big.length });
    const forge = createGitHubForge({
      apiUrl: test.forge.apiUrl,
      owner: OWNER,
      repo: REPO,
      token: test.token,
    });
    expect(await forge.readFile("docs/big.md", "main")).toBe(big);
    expect(await forge.readFile("docs/none.md", "main")).toBeNull();

    const { octokit, checked } = checkedOctokit(test);
    const raw = await octokit.rest.repos.getContent({
      owner: OWNER,
      repo: REPO,
      path: "docs/big.md",
      mediaType: { format: "raw" },
    });
    expect(raw.data).toBe(big);
    const missing = await octokit.rest.repos
      .getContent({ owner: OWNER, repo: REPO, path: "docs/none.md" })
      .catch((error: { status: number }) => error);
    expect(missing).toMatchObject({ status: 404 });
    expect(checked()).toBeGreaterThanOrEqual(1);
  });
});
