import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, readlink, rm } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { splitCgiHeaders } from "../../shared/forge/local/git-http-backend.ts";
import { startLocalForge } from "../../shared/forge/local/start-local-forge.ts";
import {
  basicHeader,
  cloneRepo,
  git,
  OWNER,
  pushBranch,
  REPO,
  runGit,
  useTestForge,
  writeFiles,
} from "../support/forge-fixtures.ts";

const setup = useTestForge();

describe("local forge: git over smart HTTP", () => {
  it("refuses a clone without a token or with a wrong one: 401 with a Basic challenge", async () => {
    const test = await setup();
    const url = test.forge.gitUrl(OWNER, REPO);
    const bare = await runGit(["clone", url, "no-token"], test.scratch);
    expect(bare.code).not.toBe(0);
    const wrong = await runGit(
      ["-c", `http.extraHeader=${basicHeader("not-the-token")}`, "clone", url, "wrong-token"],
      test.scratch,
    );
    expect(wrong.code).not.toBe(0);
    // Neither run got past the refs advertisement, and the refusal is what git reported.
    const statuses = test.forge.requests.map((request) => `${request.status} ${request.path}`);
    expect(statuses).toEqual([
      `401 /${OWNER}/${REPO}.git/info/refs?service=git-upload-pack`,
      `401 /${OWNER}/${REPO}.git/info/refs?service=git-upload-pack`,
    ]);
    const reply = await fetch(`${url}/info/refs?service=git-upload-pack`);
    expect(reply.status).toBe(401);
    expect(reply.headers.get("www-authenticate")).toBe('Basic realm="leviathan-forge"');
  });

  it("clones with the token as a Basic header (any user name) or as a Bearer token", async () => {
    const test = await setup({ "README.md": "demo\n", "docs/guide.md": "# Guide\n" });
    const clone = await cloneRepo(test);
    expect(await readFile(join(clone, "docs/guide.md"), "utf8")).toBe("# Guide\n");
    expect(await git(["log", "--format=%s", "-1"], clone)).toBe("Initial commit");

    const url = test.forge.gitUrl(OWNER, REPO);
    const other = await runGit(
      ["-c", `http.extraHeader=${basicHeader(test.token, "someone")}`, "clone", "-q", url, "other"],
      test.scratch,
    );
    expect(other.code).toBe(0);
    const bearer = await runGit(
      ["-c", `http.extraHeader=Authorization: Bearer ${test.token}`, "clone", "-q", url, "bearer"],
      test.scratch,
    );
    expect(bearer.code).toBe(0);
    // A shallow single-branch clone, as the attempt makes it, through protocol v2.
    const shallow = await runGit(
      [
        "-c",
        `http.extraHeader=${basicHeader(test.token)}`,
        "-c",
        "protocol.version=2",
        "clone",
        "-q",
        "--depth=1",
        "--single-branch",
        "--branch=main",
        url,
        "shallow",
      ],
      test.scratch,
    );
    expect(shallow.code).toBe(0);
    expect(await git(["rev-parse", "--is-shallow-repository"], join(test.scratch, "shallow"))).toBe(
      "true",
    );
  });

  it("takes a push of a new branch and serves it to the next clone", async () => {
    const test = await setup();
    const clone = await cloneRepo(test);
    const sha = await pushBranch(test, clone, "agent/docs-attempt-1", { "docs/new.md": "new\n" });
    const fresh = await cloneRepo(test, "fresh");
    const lsRemote = ["-c", `http.extraHeader=${basicHeader(test.token)}`, "ls-remote", "origin"];
    const remote = await git([...lsRemote, "refs/heads/agent/docs-attempt-1"], fresh);
    expect(remote.split("\t")[0]).toBe(sha);
    // A force-push (a retried attempt) replaces the branch.
    await git(["commit", "-q", "--amend", "-m", "amended"], clone);
    await git(
      [
        "-c",
        `http.extraHeader=${basicHeader(test.token)}`,
        "push",
        "-q",
        "-f",
        "origin",
        "agent/docs-attempt-1",
      ],
      clone,
    );
    const after = await git([...lsRemote, "refs/heads/agent/docs-attempt-1"], fresh);
    expect(after.split("\t")[0]).toBe(await git(["rev-parse", "HEAD"], clone));
  });

  it("refuses a push without the token before reading its pack", async () => {
    const test = await setup();
    const clone = await cloneRepo(test);
    await git(["checkout", "-q", "-b", "sneaky"], clone);
    const push = await runGit(["push", "origin", "sneaky"], clone);
    expect(push.code).not.toBe(0);
    const refs = await git(
      ["-c", `http.extraHeader=${basicHeader(test.token)}`, "ls-remote", "origin"],
      clone,
    );
    expect(refs).not.toContain("sneaky");
    expect(
      test.forge.requests.some((r) => r.path.includes("git-receive-pack") && r.status === 401),
    ).toBe(true);
  });

  it("answers 404 for a repository that does not exist, token or not", async () => {
    const test = await setup();
    const missing = await runGit(
      [
        "-c",
        `http.extraHeader=${basicHeader(test.token)}`,
        "clone",
        test.forge.gitUrl(OWNER, "nothing-here"),
        "x",
      ],
      test.scratch,
    );
    expect(missing.code).not.toBe(0);
    expect(test.forge.requests.at(-1)?.status).toBe(404);
  });

  it("streams a chunked push bigger than git's post buffer through to git", async () => {
    const test = await setup();
    const clone = await cloneRepo(test);
    // Incompressible content: the pack is far over the 64 KiB buffer, so git sends it chunked.
    const files: Record<string, string> = {};
    for (let n = 0; n < 200; n++)
      files[`docs/bulk/file-${n}.md`] = randomBytes(1024).toString("base64");
    await writeFiles(clone, files);
    await git(["checkout", "-q", "-b", "bulk"], clone);
    await git(["add", "--all"], clone);
    await git(["commit", "-q", "-m", "bulk"], clone);
    const push = await runGit(
      [
        "-c",
        `http.extraHeader=${basicHeader(test.token)}`,
        "-c",
        "http.postBuffer=65536",
        "push",
        "-v",
        "origin",
        "bulk",
      ],
      clone,
    );
    expect(push.code, push.stderr).toBe(0);
    expect(push.stderr).toContain("POST git-receive-pack (chunked)");
    const fresh = await cloneRepo(test, "fresh");
    await git(
      ["-c", `http.extraHeader=${basicHeader(test.token)}`, "fetch", "-q", "origin", "bulk"],
      fresh,
    );
    expect(await git(["rev-parse", "FETCH_HEAD"], fresh)).toBe(
      await git(["rev-parse", "HEAD"], clone),
    );
  });

  it("hands a gzip-encoded upload-pack request to git, which inflates it", async () => {
    const test = await setup();
    const url = test.forge.gitUrl(OWNER, REPO);
    const authorization = basicHeader(test.token).slice("Authorization: ".length);
    const clone = await cloneRepo(test);
    const head = await git(["rev-parse", "HEAD"], clone);
    const pkt = (line: string) => `${(line.length + 4).toString(16).padStart(4, "0")}${line}`;
    const request = `${pkt(`want ${head} ofs-delta\n`)}0000${pkt("done\n")}`;
    const reply = await fetch(`${url}/git-upload-pack`, {
      method: "POST",
      headers: {
        authorization,
        "content-type": "application/x-git-upload-pack-request",
        "content-encoding": "gzip",
      },
      body: gzipSync(request),
      signal: AbortSignal.timeout(30_000),
    });
    expect(reply.status).toBe(200);
    expect(reply.headers.get("content-type")).toBe("application/x-git-upload-pack-result");
    const bytes = Buffer.from(await reply.arrayBuffer());
    expect(bytes.subarray(0, 8).toString()).toBe("0008NAK\n");
    expect(bytes.includes(Buffer.from("PACK"))).toBe(true);
  });
});

describe("local forge: git's time limit", () => {
  it("stops git http-backend and the git it started once the limit passes", async () => {
    const scratch = await mkdtemp(join(tmpdir(), "forge-timeout-"));
    const forge = await startLocalForge({ root: scratch, token: "limit-token", gitTimeoutMs: 300 });
    try {
      await forge.createRepository(OWNER, REPO);
      const url = new URL(`${forge.gitUrl(OWNER, REPO)}/git-receive-pack`);
      // A push whose body never finishes: git waits on its stdin until the limit stops it.
      const outcome = await new Promise<string>((resolve) => {
        const req = request(
          url,
          {
            method: "POST",
            headers: {
              authorization: basicHeader("limit-token").slice("Authorization: ".length),
              "content-type": "application/x-git-receive-pack-request",
              "content-length": "100000",
            },
            timeout: 30_000,
          },
          (res) => {
            res.on("data", () => undefined);
            res.on("end", () => resolve(`ended ${res.statusCode}`));
            res.on("error", () => resolve(`cut ${res.statusCode}`));
          },
        );
        req.on("timeout", () => req.destroy(new Error("no reply")));
        req.on("error", (error) => resolve(`error ${error.message}`));
        req.write("0000");
      });
      // git sends its headers before it reads the body: the cut connection is the signal then;
      // had it said nothing yet, the reply would be a 504.
      expect(outcome).toMatch(/^(ended 504|cut 200|error socket hang up)$/);
      expect(outcome).not.toBe("error no reply");
      // The forge notes the request once its side of the connection has closed too.
      await waitUntil(async () => forge.requests.length === 1);
      expect([499, 504]).toContain(forge.requests[0]?.status);
      // Nothing git started is left running in the repository.
      await waitUntil(async () => (await processesIn(scratch)).length === 0);
    } finally {
      await forge.close();
      await rm(scratch, { recursive: true, force: true });
    }
  });
});

/** Polls `condition` (every 20 ms, at most 10 s) and fails if it never holds. */
async function waitUntil(condition: () => Promise<boolean>): Promise<void> {
  for (let tries = 0; tries < 500; tries++) {
    if (await condition()) return;
    await delay(20);
  }
  throw new Error("the condition never held");
}

/** Processes whose working directory is under `dir` (git runs inside the bare repository). */
async function processesIn(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of await readdir("/proc")) {
    if (!/^[0-9]+$/.test(pid)) continue;
    const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => "");
    if (cwd.startsWith(dir)) found.push(pid);
  }
  return found;
}

describe("CGI reply head", () => {
  it("reads the Status line and headers, CRLF or LF, and keeps the body bytes after them", () => {
    const crlf = splitCgiHeaders(
      Buffer.from("Status: 404 Not Found\r\nContent-Type: text/plain\r\n\r\nnope"),
    );
    expect(crlf?.status).toBe(404);
    expect(crlf?.headers).toEqual({ "content-type": "text/plain" });
    expect(crlf?.rest.toString()).toBe("nope");
    const lf = splitCgiHeaders(Buffer.from("Content-Type: application/x-git\n\n\0\x01"));
    expect(lf?.status).toBe(200);
    expect([...(lf?.rest ?? [])]).toEqual([0, 1]);
    expect(splitCgiHeaders(Buffer.from("Content-Type: text/plain\r\n"))).toBeUndefined();
  });
});
