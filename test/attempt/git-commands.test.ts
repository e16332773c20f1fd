import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { createServer as createTcpServer, type Socket } from "node:net";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { cloneShallow } from "../../shared/git/clone-shallow.ts";
import { commitPaths } from "../../shared/git/commit-paths.ts";
import { LEVIATHAN_GIT_IDENTITY } from "../../shared/git/git-environment.ts";
import { GitCommandError, GitTimeoutError } from "../../shared/git/git-errors.ts";
import { headSha } from "../../shared/git/head-sha.ts";
import { listChanges } from "../../shared/git/list-changes.ts";
import { pushBranch } from "../../shared/git/push-branch.ts";
import {
  createOrigin,
  plainGit,
  quietLogger,
  removeTempDirs,
  tempDir,
  writeFiles,
} from "./git-fixtures.ts";

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
      expect((error as Error).message).toMatch(/^git clone failed/);
      expectNoToken((error as Error).message);
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
      expect((error as Error).message).toBe("git clone timed out after 1000 ms and was stopped");
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });
});

describe("commitPaths and pushBranch", () => {
  it("commits exactly the given paths as Leviathan, deletions and ignored files included", async () => {
    const origin = createOrigin({
      ".gitignore": "cache/\n",
      "docs/old.md": "old\n",
      "docs/keep.md": "keep\n",
      "src/app.ts": "app\n",
    });
    const dir = join(tempDir(), "checkout");
    await cloneShallow({ url: origin.url, branch: "main", dir });
    const before = await headSha(dir);
    writeFiles(dir, {
      "docs/new file ü.md": "new\n",
      "cache/generated.md": "ignored but allowed\n",
      "src/app.ts": "changed but not listed\n",
    });
    execFileSync("rm", [join(dir, "docs/old.md")]);
    // Something staged behind the attempt's back must not ride along.
    writeFiles(dir, { "staged.txt": "sneaky\n" });
    plainGit(dir, ["add", "staged.txt"]);

    const sha = await commitPaths({
      dir,
      paths: ["cache/generated.md", "docs/new file ü.md", "docs/old.md"],
      message: "attempt: test",
      logger: quietLogger,
    });

    expect(sha).toBe(await headSha(dir));
    expect(sha).not.toBe(before);
    const files = plainGit(dir, [
      "-c",
      "core.quotePath=false",
      "show",
      "--name-status",
      "--format=",
      "HEAD",
    ]);
    expect(files.trim().split("\n").sort()).toEqual([
      "A\tcache/generated.md",
      "A\tdocs/new file ü.md",
      "D\tdocs/old.md",
    ]);
    const who = plainGit(dir, ["show", "-s", "--format=%an <%ae>|%cn <%ce>", "HEAD"]).trim();
    const identity = `${LEVIATHAN_GIT_IDENTITY.name} <${LEVIATHAN_GIT_IDENTITY.email}>`;
    expect(who).toBe(`${identity}|${identity}`);
  });

  it("pushes HEAD to the branch and force-pushes a rewritten one; without force it is refused", async () => {
    const origin = createOrigin({ "docs/a.md": "a\n" });
    const dir = join(tempDir(), "checkout");
    await cloneShallow({ url: origin.url, branch: "main", dir });
    writeFiles(dir, { "docs/a.md": "first\n" });
    const first = await commitPaths({ dir, paths: ["docs/a.md"], message: "first" });
    await pushBranch({ dir, branch: "agent/docs-attempt-x-0000abcd", token: TOKEN });
    expect(
      plainGit(origin.bare, ["rev-parse", "refs/heads/agent/docs-attempt-x-0000abcd"]).trim(),
    ).toBe(first);

    // A retried attempt starts from a fresh clone: its commit is not a descendant of the first.
    const again = join(tempDir(), "checkout");
    await cloneShallow({ url: origin.url, branch: "main", dir: again });
    writeFiles(again, { "docs/a.md": "second\n" });
    const second = await commitPaths({ dir: again, paths: ["docs/a.md"], message: "second" });
    await expect(
      pushBranch({ dir: again, branch: "agent/docs-attempt-x-0000abcd", force: false }),
    ).rejects.toThrow(GitCommandError);
    await pushBranch({ dir: again, branch: "agent/docs-attempt-x-0000abcd" });
    expect(
      plainGit(origin.bare, ["rev-parse", "refs/heads/agent/docs-attempt-x-0000abcd"]).trim(),
    ).toBe(second);
    expectNoToken(readFileSync(join(again, ".git", "config"), "utf8"));
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
    writeFileSync(join(dir, ".git/hooks/pre-commit"), script, { mode: 0o755 });
    writeFileSync(join(dir, ".git/hooks/post-commit"), script, { mode: 0o755 });
    const monitor = join(tempDir(), "fsmonitor.sh");
    writeFileSync(monitor, script, { mode: 0o755 });
    plainGit(dir, ["config", "core.fsmonitor", monitor]);

    writeFiles(dir, { "docs/a.md": "changed\n" });
    expect(await listChanges(dir)).toEqual([{ path: "docs/a.md", kind: "modified" }]);
    await commitPaths({ dir, paths: ["docs/a.md"], message: "no hooks" });
    expect(existsSync(marker)).toBe(false);

    // The same planted files do run under plain git, so the absence above means something.
    plainGit(dir, ["commit", "-q", "--allow-empty", "-m", "with hooks"]);
    const ran = readFileSync(marker, "utf8");
    expect(ran).toContain("pre-commit");
    expect(ran).toContain("fsmonitor.sh");
  });

  it("ignores the user's global git config (HOME and XDG)", async () => {
    const origin = createOrigin({ "docs/a.md": "a\n" });
    const dir = join(tempDir(), "checkout");
    await cloneShallow({ url: origin.url, branch: "main", dir });
    const home = tempDir();
    writeFiles(home, {
      ".gitconfig": "[core]\n\texcludesFile = ~/.ignore-everything\n",
      ".ignore-everything": "*.md\n",
      ".config/git/config": "[core]\n\texcludesFile = ~/.ignore-everything\n",
    });
    process.env.HOME = home;
    process.env.XDG_CONFIG_HOME = join(home, ".config");
    writeFiles(dir, { "docs/b.md": "b\n" });
    expect(plainGit(dir, ["status", "--porcelain", "--ignored"], { HOME: home })).toContain(
      "!! docs/b.md",
    );
    expect(await listChanges(dir)).toEqual([{ path: "docs/b.md", kind: "untracked" }]);
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
