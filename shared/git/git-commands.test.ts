import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { createServer as createTcpServer, type Socket } from "node:net";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import {
  createOrigin,
  plainGit,
  quietLogger,
  removeTempDirs,
  tempDir,
  writeFiles,
} from "../../test/attempt/git-fixtures.ts";
import { errorMessage } from "../errors/error-message.ts";
import { buildCommit } from "./build-commit.ts";
import { cloneShallow } from "./clone-shallow.ts";
import { LEVIATHAN_GIT_IDENTITY } from "./git-environment.ts";
import { GitCommandError, GitTimeoutError } from "./git-errors.ts";
import { headSha } from "./head-sha.ts";
import { changedPathsBetween, pushBranch, remoteBranchSha } from "./push-branch.ts";
import { readBlobs } from "./read-blobs.ts";
import { writeBlob } from "./write-blob.ts";

const TOKEN = "test-token-FAKEtoken4leviathanTESTS0123456789";
const BASIC = Buffer.from(`x-access-token:${TOKEN}`).toString("base64");

afterAll(removeTempDirs);

function expectNoToken(text: string): void {
  expect(text).not.toContain(TOKEN);
  expect(text).not.toContain(BASIC);
}

describe("cloneShallow", () => {
  it("clones one branch at depth 1 without tags, and keeps the token out of .git/config", async () => {
    const origin = createOrigin({ "README.md": "one\n" }, (work) => {
      writeFiles(work, { "README.md": "two\n" });
      plainGit(work, ["commit", "-q", "-am", "second"]);
      plainGit(work, ["tag", "v1"]);
      plainGit(work, ["branch", "other"]);
    });
    const dir = join(tempDir(), "checkout");
    await cloneShallow({ url: origin.url, branch: "main", dir, token: TOKEN, logger: quietLogger });

    expect(readFileSync(join(dir, "README.md"), "utf8")).toBe("two\n");
    expect(plainGit(dir, ["rev-list", "--count", "HEAD"]).trim()).toBe("1");
    expect(existsSync(join(dir, ".git", "shallow"))).toBe(true);
    expect(plainGit(dir, ["tag"]).trim()).toBe("");
    const remoteBranches = plainGit(dir, ["for-each-ref", "--format=%(refname)", "refs/remotes"]);
    expect(
      remoteBranches
        .trim()
        .split("\n")
        .filter((ref) => !ref.endsWith("/HEAD")),
    ).toEqual(["refs/remotes/origin/main"]);
    const config = readFileSync(join(dir, ".git", "config"), "utf8");
    expectNoToken(config);
    expect(config.toLowerCase()).not.toContain("extraheader");
    expect(config).toContain(`url = ${origin.url}`);
  });

  it("refuses a URL that carries credentials or an unknown scheme, before running git", async () => {
    const dir = join(tempDir(), "checkout");
    await expect(
      cloneShallow({ url: `https://user:${TOKEN}@example.test/o/r.git`, branch: "main", dir }),
    ).rejects.toThrow(/must not carry credentials/);
    await expect(cloneShallow({ url: "ext::sh -c evil", branch: "main", dir })).rejects.toThrow(
      GitCommandError,
    );
    await expect(
      cloneShallow({ url: "file:///x", branch: "--upload-pack=evil", dir }),
    ).rejects.toThrow(/not a safe branch name/);
    expect(existsSync(dir)).toBe(false);
  });

  it("sends the token only as a Basic header: not in any process's argv, not in the error", async () => {
    const seen: { headers: IncomingHttpHeaders; argvWithToken: string[] }[] = [];
    const server = createServer((request, response) => {
      // While git waits for this answer, look at every process's command line (what `ps` shows).
      listArgvContaining(TOKEN).then((argvWithToken) => {
        seen.push({ headers: request.headers, argvWithToken });
        response.writeHead(500, { "content-type": "text/plain" });
        response.end(`no repository here for ${request.headers.authorization}\n`);
      });
    });
    const url = await listen(server);
    try {
      const dir = join(tempDir(), "checkout");
      const error = await cloneShallow({
        url: `${url}/owner/repo.git`,
        branch: "main",
        dir,
        token: TOKEN,
        timeoutMs: 30_000,
      }).catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(GitCommandError);
      expect(errorMessage(error)).toMatch(/^git clone failed/);
      expectNoToken(errorMessage(error));
      expectNoToken(String((error as Error).stack));
      expect(seen.length).toBeGreaterThan(0);
      expect(seen[0]?.headers.authorization).toBe(`Basic ${BASIC}`);
      expect(seen[0]?.argvWithToken).toEqual([]);
    } finally {
      server.close();
    }
  });

  it("stops a clone that gets no answer at its time limit, with a clear error", async () => {
    const sockets: Socket[] = [];
    const silent = createTcpServer((socket) => {
      sockets.push(socket); // accept and never answer
    });
    const url = await listen(silent);
    try {
      const error = await cloneShallow({
        url: `${url}/owner/repo.git`,
        branch: "main",
        dir: join(tempDir(), "checkout"),
        token: TOKEN,
        timeoutMs: 1_000,
      }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(GitTimeoutError);
      expect(errorMessage(error)).toBe("git clone timed out after 1000 ms and was stopped");
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });
});

describe("buildCommit, pushBranch and the pushed branch", () => {
  it("commits exactly the given blobs on the base as Leviathan, from objects alone", async () => {
    const origin = createOrigin({
      ".gitignore": "cache/\n",
      "docs/old.md": "old\n",
      "docs/keep.md": "keep\n",
      "src/app.ts": "app\n",
    });
    const dir = join(tempDir(), "trusted");
    await cloneShallow({ url: origin.url, branch: "main", dir, noCheckout: true });
    const base = await headSha(dir);
    expect(existsSync(join(dir, "docs"))).toBe(false); // no work tree at all
    const gitDir = join(dir, ".git");
    const added = await writeBlob(gitDir, Buffer.from("new\n"));
    const script = await writeBlob(gitDir, Buffer.from("#!/bin/sh\n"));
    // What git itself would name the same bytes: the object format is git's own.
    expect(added).toBe(plainGit(dir, ["hash-object", "--stdin"], {}, "new\n").trim());

    const sha = await buildCommit({
      dir,
      base,
      changes: [
        { path: "docs/new file ü.md", mode: "100644", sha: added },
        { path: "cache/run.sh", mode: "100755", sha: script },
        { path: "docs/old.md", deleted: true },
      ],
      message: "attempt: test",
      logger: quietLogger,
    });

    expect(plainGit(dir, ["rev-parse", `${sha}^`]).trim()).toBe(base);
    const files = plainGit(dir, [
      "-c",
      "core.quotePath=false",
      "diff-tree",
      "-r",
      "--name-status",
      base,
      sha,
    ]);
    expect(files.trim().split("\n").sort()).toEqual([
      "A\tcache/run.sh",
      "A\tdocs/new file ü.md",
      "D\tdocs/old.md",
    ]);
    expect(plainGit(dir, ["ls-tree", sha, "cache/run.sh"])).toMatch(/^100755 /);
    expect(plainGit(dir, ["show", `${sha}:docs/keep.md`])).toBe("keep\n");
    const who = plainGit(dir, ["show", "-s", "--format=%an <%ae>|%cn <%ce>", sha]).trim();
    const identity = `${LEVIATHAN_GIT_IDENTITY.name} <${LEVIATHAN_GIT_IDENTITY.email}>`;
    expect(who).toBe(`${identity}|${identity}`);
    expect(
      await changedPathsBetween({ dir, from: base, to: sha }).then((paths) => paths.sort()),
    ).toEqual(["cache/run.sh", "docs/new file ü.md", "docs/old.md"]);
  });

  it("refuses a path that macOS or Windows would read as .git", async () => {
    const origin = createOrigin({ "docs/a.md": "a\n" });
    const dir = join(tempDir(), "trusted");
    await cloneShallow({ url: origin.url, branch: "main", dir, noCheckout: true });
    const base = await headSha(dir);
    const blob = await writeBlob(join(dir, ".git"), Buffer.from("[core]\n"));
    for (const path of [".g\u200cit/config", "git~1/config"]) {
      await expect(
        buildCommit({ dir, base, changes: [{ path, mode: "100644", sha: blob }], message: "x" }),
      ).rejects.toThrow(GitCommandError);
    }
  });

  it("pushes a commit by its sha and force-pushes a rewritten one; without force it is refused", async () => {
    const origin = createOrigin({ "docs/a.md": "a\n" });
    const branch = "agent/docs-attempt-x-0000abcd";
    const commitOn = async (content: string) => {
      const dir = join(tempDir(), "trusted");
      await cloneShallow({ url: origin.url, branch: "main", dir, noCheckout: true });
      const sha = await writeBlob(join(dir, ".git"), Buffer.from(content));
      const base = await headSha(dir);
      const commit = await buildCommit({
        dir,
        base,
        changes: [{ path: "docs/a.md", mode: "100644", sha }],
        message: content,
      });
      return { dir, commit };
    };
    const first = await commitOn("first\n");
    await pushBranch({ dir: first.dir, commit: first.commit, branch, token: TOKEN });
    expect(plainGit(origin.bare, ["rev-parse", `refs/heads/${branch}`]).trim()).toBe(first.commit);
    expect(await remoteBranchSha({ dir: first.dir, branch })).toBe(first.commit);
    expect(await remoteBranchSha({ dir: first.dir, branch: "agent/none" })).toBeNull();

    // A retried attempt starts from a fresh clone: its commit is not a descendant of the first.
    const again = await commitOn("second\n");
    await expect(
      pushBranch({ dir: again.dir, commit: again.commit, branch, force: false }),
    ).rejects.toThrow(GitCommandError);
    await pushBranch({ dir: again.dir, commit: again.commit, branch });
    expect(plainGit(origin.bare, ["rev-parse", `refs/heads/${branch}`]).trim()).toBe(again.commit);
    expectNoToken(readFileSync(join(again.dir, ".git", "config"), "utf8"));
    await expect(pushBranch({ dir: again.dir, commit: "HEAD", branch })).rejects.toThrow(
      /full commit sha/,
    );
  });

  it("reads many blobs' exact bytes through one cat-file, binary and empty ones included", async () => {
    const origin = createOrigin({ "docs/a.md": "a\n" });
    const dir = join(tempDir(), "trusted");
    await cloneShallow({ url: origin.url, branch: "main", dir, noCheckout: true });
    const contents = [Buffer.alloc(0), Buffer.from([0, 10, 255, 13, 10]), Buffer.alloc(300_000, 7)];
    const shas = await Promise.all(contents.map((bytes) => writeBlob(join(dir, ".git"), bytes)));
    const read: Buffer[] = [];
    await readBlobs(
      shas,
      (index, bytes) => {
        read[index] = bytes;
      },
      { dir },
    );
    expect(read).toEqual(contents);
    await expect(readBlobs(["0".repeat(40)], () => undefined, { dir })).rejects.toThrow(/missing/);
  });
});

describe("the attempt's git runs without hooks, fsmonitor or the machine's config", () => {
  const saved = { HOME: process.env.HOME, XDG_CONFIG_HOME: process.env.XDG_CONFIG_HOME };
  afterEach(() => {
    process.env.HOME = saved.HOME;
    if (saved.XDG_CONFIG_HOME === undefined) delete process.env.XDG_CONFIG_HOME;
    else process.env.XDG_CONFIG_HOME = saved.XDG_CONFIG_HOME;
  });

  it("runs no hook and no fsmonitor command planted in .git, which plain git would run", async () => {
    const origin = createOrigin({ "docs/a.md": "a\n" });
    const dir = join(tempDir(), "checkout");
    await cloneShallow({ url: origin.url, branch: "main", dir });
    const marker = join(tempDir(), "ran");
    const script = `#!/bin/sh\necho "$0" >> '${marker}'\n`;
    for (const hook of ["pre-commit", "post-commit", "pre-push", "reference-transaction"]) {
      writeFileSync(join(dir, `.git/hooks/${hook}`), script, { mode: 0o755 });
    }
    const monitor = join(tempDir(), "fsmonitor.sh");
    writeFileSync(monitor, script, { mode: 0o755 });
    plainGit(dir, ["config", "core.fsmonitor", monitor]);

    const base = await headSha(dir);
    const sha = await writeBlob(join(dir, ".git"), Buffer.from("changed\n"));
    const commit = await buildCommit({
      dir,
      base,
      changes: [{ path: "docs/a.md", mode: "100644", sha }],
      message: "no hooks",
    });
    await pushBranch({ dir, commit, branch: "agent/x" });
    expect(existsSync(marker)).toBe(false);

    // The same planted files do run under plain git, so the absence above means something.
    writeFiles(dir, { "docs/a.md": "changed\n" });
    plainGit(dir, ["commit", "-q", "-am", "with hooks"]);
    const ran = readFileSync(marker, "utf8");
    expect(ran).toContain("pre-commit");
    expect(ran).toContain("fsmonitor.sh");
  });

  it("ignores the user's global git config (HOME and XDG): no url rewrite reaches the clone", async () => {
    const origin = createOrigin({ "docs/a.md": "from the real origin\n" });
    const decoy = createOrigin({ "docs/a.md": "from the decoy\n" });
    const home = tempDir();
    const rewrite = `[url "${decoy.url}"]\n\tinsteadOf = ${origin.url}\n`;
    writeFiles(home, { ".gitconfig": rewrite, ".config/git/config": rewrite });
    process.env.HOME = home;
    process.env.XDG_CONFIG_HOME = join(home, ".config");
    const plain = join(tempDir(), "plain");
    plainGit(tempDir(), ["clone", "-q", origin.url, plain], { HOME: home });
    expect(readFileSync(join(plain, "docs/a.md"), "utf8")).toBe("from the decoy\n");

    const dir = join(tempDir(), "checkout");
    await cloneShallow({ url: origin.url, branch: "main", dir });
    expect(readFileSync(join(dir, "docs/a.md"), "utf8")).toBe("from the real origin\n");
  });
});

/** Listens on 127.0.0.1, any free port; returns the base URL. */
async function listen(server: Server | ReturnType<typeof createTcpServer>): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no address");
  return `http://127.0.0.1:${address.port}`;
}

/** Command lines of running processes that contain `needle`. */
async function listArgvContaining(needle: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of await readdir("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const argv = (await readFile(`/proc/${pid}/cmdline`, "utf8")).split("\0").join(" ");
      if (argv.includes(needle) || argv.includes(BASIC)) found.push(`${pid}: ${argv}`);
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}
