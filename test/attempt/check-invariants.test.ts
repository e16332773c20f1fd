import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AttemptFailure } from "../../shared/attempt/attempt-failure.ts";
import {
  type CommitInvariantsResult,
  checkCommitInvariants,
} from "../../shared/attempt/check-invariants.ts";
import { createCommandExecutor } from "../../shared/attempt/executors/command.ts";
import { cloneShallow } from "../../shared/git/clone-shallow.ts";
import { commitPaths } from "../../shared/git/commit-paths.ts";
import { fingerprintGitDir } from "../../shared/git/fingerprint-git-dir.ts";
import { listChanges } from "../../shared/git/list-changes.ts";
import { shellScript, taskFromYaml } from "./executor-fixtures.ts";
import {
  createOrigin,
  type Origin,
  plainGit,
  quietLogger,
  removeTempDirs,
  tempDir,
} from "./git-fixtures.ts";

const PREFIXES = [".leviathan/", "docs/"];
const TASK = taskFromYaml(`
  - id: scoped
    title: Scoped task
    ready: true
    allowed_paths: [docs/]
`);

let origin: Origin;
beforeAll(() => {
  origin = createOrigin({
    ".gitignore": "build/\ndocs/cache/\n",
    ".leviathan/backlog.yaml": "tasks:\n  - id: scoped\n",
    "docs/a.md": "a\n",
    "docs/guide/intro.md": "intro\n",
    "src/app.ts": "app\n",
  });
});
afterAll(removeTempDirs);

interface Outcome {
  dir: string;
  result: CommitInvariantsResult;
}

/**
 * What the attempt does around an executor: clone, fingerprint `.git/`, run a real shell
 * script as the `command` executor, fingerprint again, list the changes, check.
 */
async function runExecutor(script: string): Promise<Outcome> {
  const dir = join(tempDir(), "checkout");
  await cloneShallow({ url: origin.url, branch: "main", dir });
  const gitBefore = await fingerprintGitDir(dir);
  const executor = createCommandExecutor({ command: [shellScript(`set -e\n${script}`)] });
  await executor.run({
    dir,
    task: TASK,
    deadline: new Date(Date.now() + 60_000),
    logger: quietLogger,
  });
  const gitAfter = await fingerprintGitDir(dir);
  const changes = await listChanges(dir);
  const allowedPaths = TASK.allowed_paths ?? [];
  const result = await checkCommitInvariants({
    dir,
    changes,
    allowedPaths,
    prefixes: PREFIXES,
    gitBefore,
    gitAfter,
  });
  return { dir, result };
}

const OUTSIDE = "outside the task's allowed_paths";

describe("commit-time invariants on what a command executor really did", () => {
  it.each([
    {
      name: "writes outside allowed_paths",
      script: "echo x > src/evil.ts",
      violations: [{ path: "src/evil.ts", reason: OUTSIDE }],
    },
    {
      name: "escapes through ..",
      script: "mkdir -p docs/sub\necho x > docs/sub/../../secrets.txt",
      violations: [{ path: "secrets.txt", reason: OUTSIDE }],
    },
    {
      name: "adds a file symlink inside allowed_paths",
      script: "ln -s /etc/passwd docs/passwd.md",
      violations: [{ path: "docs/passwd.md", reason: "is a symbolic link" }],
    },
    {
      name: "writes through a symlinked folder",
      script: "ln -s ../src docs/src-link\necho more >> docs/src-link/app.ts",
      violations: [
        { path: "docs/src-link", reason: "is a symbolic link" },
        { path: "src/app.ts", reason: OUTSIDE },
      ],
    },
    {
      name: "replaces a tracked folder with a symlink",
      script: "mv docs/guide docs/guide-real\nln -s guide-real docs/guide",
      violations: [
        { path: "docs/guide", reason: "is a symbolic link" },
        { path: "docs/guide/intro.md", reason: "lies under the symbolic link docs/guide" },
      ],
    },
    {
      name: "writes into an ignored folder outside allowed_paths",
      script: "mkdir -p build\necho x > build/out.js",
      violations: [{ path: "build/out.js", reason: OUTSIDE }],
    },
    {
      name: "deletes and moves tracked files out of scope",
      script: "rm src/app.ts\nmv docs/a.md src/a.md",
      violations: [
        { path: "src/a.md", reason: OUTSIDE },
        { path: "src/app.ts", reason: OUTSIDE },
      ],
    },
    {
      name: "names a file with a newline",
      script: "echo x > 'docs/new\nline.md'",
      violations: [{ path: "docs/new\nline.md", reason: "control character in path" }],
    },
    {
      name: "creates a nested repository",
      script: "mkdir docs/nested\ncd docs/nested\ngit init -q\necho x > inside.md",
      violations: [{ path: "docs/nested/", reason: "a folder is not a file" }],
    },
    {
      name: "stages a file itself",
      script: "echo x > docs/staged.md\ngit add docs/staged.md",
      // The index changed, and `git add` wrote the blob of "x\n" as a loose object.
      violations: [
        { path: ".git/index", reason: "git metadata changed" },
        { path: ".git/objects/58", reason: "git metadata added" },
        {
          path: ".git/objects/58/7be6b4c3f93f93c489c0111bba5596147a26cb",
          reason: "git metadata added",
        },
      ],
    },
  ])("refuses an executor that $name", async ({ script, violations }) => {
    const { result } = await runExecutor(script);
    expect(result).toEqual({ ok: false, violations });
  });

  it("accepts changes inside allowed_paths (ignored ones included) and the backlog write-back", async () => {
    const { result } = await runExecutor(
      [
        "echo new > docs/new.md",
        "echo more >> docs/a.md",
        "rm docs/guide/intro.md",
        "mkdir -p docs/cache && echo c > docs/cache/data.md",
        "echo '# written back' >> .leviathan/backlog.yaml",
      ].join("\n"),
    );
    expect(result).toEqual({
      ok: true,
      paths: [
        ".leviathan/backlog.yaml",
        "docs/a.md",
        "docs/cache/data.md",
        "docs/guide/intro.md",
        "docs/new.md",
      ],
    });
  });

  it("returns no paths when nothing changed (the caller reports nothing_to_commit)", async () => {
    expect((await runExecutor("true")).result).toEqual({ ok: true, paths: [] });
  });

  it("refuses a new hook and a config line, and neither runs in the attempt's later git commands", async () => {
    const markers = tempDir();
    const hookBody = `#!/bin/sh\necho "$0" >> '${markers}/ran'\n`;
    const { dir, result } = await runExecutor(
      [
        `printf '%s' '${hookBody}' > .git/hooks/pre-commit`,
        "chmod +x .git/hooks/pre-commit",
        `mkdir -p '${markers}/hooks'`,
        `printf '%s' '${hookBody}' > '${markers}/hooks/post-commit'`,
        `chmod +x '${markers}/hooks/post-commit'`,
        `printf '%s' '${hookBody}' > '${markers}/fsmonitor'`,
        `chmod +x '${markers}/fsmonitor'`,
        `git config core.hooksPath '${markers}/hooks'`,
        `git config core.fsmonitor '${markers}/fsmonitor'`,
        "echo ok > docs/ok.md",
      ].join("\n"),
    );
    expect(result).toEqual({
      ok: false,
      violations: [
        { path: ".git/config", reason: "git metadata changed" },
        { path: ".git/hooks/pre-commit", reason: "git metadata added" },
      ],
    });
    // listChanges already ran above; a commit is the other command that would run them.
    await commitPaths({ dir, paths: ["docs/ok.md"], message: "no hooks", logger: quietLogger });
    expect(existsSync(join(markers, "ran"))).toBe(false);
    // Plain git in the same checkout runs the planted hooksPath and fsmonitor, so they were live
    // (the .git/hooks case is shown the same way in git-commands.test.ts).
    plainGit(dir, ["commit", "-q", "--allow-empty", "-m", "plain"]);
    plainGit(dir, ["status"]);
    const ran = readFileSync(join(markers, "ran"), "utf8");
    expect(ran).toContain("post-commit");
    expect(ran).toContain("fsmonitor");
  });
});

describe("checkCommitInvariants on given changes", () => {
  it("checks both sides of a rename and every path, and refuses names git could not give as UTF-8", async () => {
    const dir = tempDir();
    const fingerprint = await fingerprintGitDir(dir);
    const result = await checkCommitInvariants({
      dir,
      changes: [
        { path: "src/moved.md", kind: "renamed-from" },
        { path: "docs/moved.md", kind: "renamed-to" },
        { path: "docs/bad-\uFFFD.md", kind: "untracked" },
        { path: "docsx/a.md", kind: "untracked" },
      ],
      allowedPaths: ["docs/"],
      prefixes: PREFIXES,
      gitBefore: fingerprint,
      gitAfter: fingerprint,
    });
    expect(result).toEqual({
      ok: false,
      violations: [
        { path: "docs/bad-\uFFFD.md", reason: "file name is not valid UTF-8" },
        { path: "docsx/a.md", reason: OUTSIDE },
        { path: "src/moved.md", reason: OUTSIDE },
      ],
    });
  });

  it("turns violations into a scope_violation AttemptFailure with the paths", () => {
    const failure = new AttemptFailure("scope_violation", "task", "2 paths out of scope", {
      violations: [
        { path: "src/a.ts", reason: OUTSIDE },
        { path: ".git/config", reason: "git metadata changed" },
      ],
    });
    expect(failure.toPayload()).toEqual({
      reason: "scope_violation",
      failure_kind: "task",
      error_summary: "2 paths out of scope",
      paths: ["src/a.ts", ".git/config"],
      violations: [
        { path: "src/a.ts", reason: OUTSIDE },
        { path: ".git/config", reason: "git metadata changed" },
      ],
    });
    // The kind must match the reason (DESIGN §5).
    expect(() => new AttemptFailure("push_failed", "task" as never, "x")).toThrow(TypeError);
  });
});
