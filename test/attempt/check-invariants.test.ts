import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AttemptFailure } from "../../shared/attempt/attempt-failure.ts";
import { checkCommitInvariants } from "../../shared/attempt/check-invariants.ts";
import { buildCommit } from "../../shared/git/build-commit.ts";
import { pushBranch } from "../../shared/git/push-branch.ts";
import { writeBlob } from "../../shared/git/write-blob.ts";
import { createOrigin, type Origin, openDir, plainGit, removeTempDirs } from "./git-fixtures.ts";
import { prepareWorkspace, runScript, scan } from "./workspace-fixtures.ts";

const PREFIXES = [".leviathan/", "docs/"];
const ALLOWED = ["docs/"];

let origin: Origin;
beforeAll(() => {
  origin = createOrigin(
    {
      ".gitignore": "build/\ndocs/cache/\n",
      ".leviathan/backlog.yaml": "tasks:\n  - id: scoped\n",
      "docs/a.md": "a\n",
      "docs/guide/intro.md": "intro\n",
      "src/app.ts": "app\n",
    },
    (work) => {
      plainGit(work, ["update-index", "--chmod=+x", "docs/a.md"]);
      plainGit(work, ["commit", "-q", "-m", "a.md is executable"]);
    },
  );
});
afterAll(removeTempDirs);

/** What the trusted part finds after a real executor ran `script` in its own checkout. */
async function violationsAfter(script: string, mayEditBacklog = false) {
  const prepared = await prepareWorkspace(origin);
  await runScript(prepared, script);
  const changes = await scan(prepared);
  return {
    changes,
    violations: checkCommitInvariants({
      changes,
      allowedPaths: ALLOWED,
      prefixes: PREFIXES,
      mayEditBacklog,
    }),
  };
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
      violations: [{ path: "docs/guide", reason: "is a symbolic link" }],
    },
    {
      name: "writes into an ignored folder outside allowed_paths",
      script: "mkdir -p build\necho x > build/out.js",
      violations: [{ path: "build/out.js", reason: OUTSIDE }],
    },
    {
      name: "deletes and moves tracked files out of scope",
      script: "rm src/app.ts\nmv docs/guide/intro.md src/intro.md",
      violations: [
        { path: "src/app.ts", reason: OUTSIDE },
        { path: "src/intro.md", reason: OUTSIDE },
      ],
    },
    {
      name: "names a file with a newline",
      script: "echo x > 'docs/new\nline.md'",
      violations: [{ path: "docs/new\nline.md", reason: "control character in path" }],
    },
    {
      name: "names a file with bytes that are not UTF-8",
      script: "echo x > \"docs/bad-$(printf '\\377').md\"",
      violations: [{ path: "docs/bad-\uFFFD.md", reason: "file name is not valid UTF-8" }],
    },
    {
      name: "makes a file executable",
      script: "chmod +x docs/guide/intro.md",
      violations: [
        {
          path: "docs/guide/intro.md",
          reason: "file mode changed from 100644 to 100755 (a file made executable or not)",
        },
      ],
    },
    {
      name: "takes the executable bit away",
      script: "chmod -x docs/a.md",
      violations: [
        {
          path: "docs/a.md",
          reason: "file mode changed from 100755 to 100644 (a file made executable or not)",
        },
      ],
    },
    {
      name: "leaves a FIFO",
      script: "mkfifo docs/pipe.md",
      violations: [
        { path: "docs/pipe.md", reason: "is not a regular file (a FIFO, socket or device)" },
      ],
    },
    {
      name: "gives a file a second name",
      script: "ln docs/guide/intro.md docs/copy.md",
      violations: [
        { path: "docs/copy.md", reason: "is a hard link (a second name of another file)" },
      ],
    },
    {
      name: "writes a folder that macOS would read as .git",
      script:
        "mkdir -p \"docs/.g$(printf '\\342\\200\\214')it\"\necho x > \"docs/.g$(printf '\\342\\200\\214')it/config\"",
      violations: [
        {
          path: "docs/.g\u200cit/config",
          reason: "a name that macOS or Windows would read as .git",
        },
      ],
    },
    {
      name: "changes the backlog when its paths do not cover it",
      script: "echo '# mine' >> .leviathan/backlog.yaml",
      violations: [
        {
          path: ".leviathan/backlog.yaml",
          reason: "changed by the executor, outside the task's allowed_paths",
        },
      ],
    },
  ])("refuses an executor that $name", async ({ script, violations }) => {
    expect((await violationsAfter(script)).violations).toEqual(violations);
  });

  it("refuses every file of a repository nested in the task's paths", async () => {
    const { violations } = await violationsAfter(
      "mkdir docs/nested\ncd docs/nested\ngit init -q\necho x > inside.md",
    );
    expect(violations.length).toBeGreaterThan(0);
    for (const violation of violations) {
      expect(violation.path.startsWith("docs/nested/.git/")).toBe(true);
      expect(violation.reason).toBe("paths inside .git are not allowed");
    }
    expect(violations.map((v) => v.path)).toContain("docs/nested/.git/HEAD");
  });

  it("accepts changes inside allowed_paths, ignored files and its own git use included", async () => {
    const { changes, violations } = await violationsAfter(
      [
        "echo new > docs/new.md",
        "echo more >> docs/guide/intro.md",
        "rm docs/a.md",
        "mkdir -p docs/cache && echo c > docs/cache/data.md",
        "echo '# its own' >> .leviathan/backlog.yaml",
        // An agent may use git in its checkout: nothing of its `.git` is judged or kept.
        "git -c user.name=a -c user.email=a@b add -A && git -c user.name=a -c user.email=a@b commit -qm mine",
      ].join("\n"),
      true,
    );
    expect(violations).toEqual([]);
    expect(changes.map((change) => [change.path, change.kind])).toEqual([
      [".leviathan/backlog.yaml", "modified"],
      ["docs/a.md", "deleted"],
      ["docs/cache/data.md", "added"],
      ["docs/guide/intro.md", "modified"],
      ["docs/new.md", "added"],
    ]);
  });

  it("sees no change when the executor changed nothing, or rewrote a file with the same bytes", async () => {
    expect((await violationsAfter("true")).changes).toEqual([]);
    const same = await violationsAfter(
      "cp docs/guide/intro.md /tmp/$$ && cat /tmp/$$ > docs/guide/intro.md",
    );
    expect(same.changes).toEqual([]);
  });

  it("ignores the executor's .git: a planted hook, hooksPath or fsmonitor never runs in the trusted part", async () => {
    const markers = openDir();
    const hook = `#!/bin/sh\necho "$0" >> '${markers}/ran'\n`;
    const prepared = await prepareWorkspace(origin);
    await runScript(
      prepared,
      [
        `printf '%s' '${hook}' > .git/hooks/pre-commit && chmod +x .git/hooks/pre-commit`,
        `printf '%s' '${hook}' > .git/hooks/pre-push && chmod +x .git/hooks/pre-push`,
        `printf '%s' '${hook}' > '${markers}/fsmonitor' && chmod +x '${markers}/fsmonitor'`,
        `git config core.fsmonitor '${markers}/fsmonitor'`,
        `git config core.hooksPath '${join(prepared.area.checkout, ".git/hooks")}'`,
        `git config url.file:///nowhere.insteadOf '${origin.url}'`,
        "git update-ref refs/heads/main HEAD~0 && git symbolic-ref HEAD refs/heads/elsewhere",
        "echo ok > docs/ok.md",
      ].join("\n"),
    );
    const changes = await scan(prepared);
    expect(changes.map((change) => change.path)).toEqual(["docs/ok.md"]);
    // The trusted part commits and pushes from its own git directory: none of it runs.
    const sha = await writeBlob(join(prepared.trusted, ".git"), Buffer.from("ok\n"));
    const commit = await buildCommit({
      dir: prepared.trusted,
      base: prepared.base,
      changes: [{ path: "docs/ok.md", mode: "100644", sha }],
      message: "no hooks",
    });
    await pushBranch({ dir: prepared.trusted, commit, branch: "agent/x" });
    expect(plainGit(origin.bare, ["rev-parse", "agent/x"]).trim()).toBe(commit);
    expect(existsSync(join(markers, "ran"))).toBe(false);
    // Plain git in the executor's checkout does run them, so they were live.
    // (As root, plain git needs telling that a checkout another user owns is fine to use.)
    plainGit(prepared.area.checkout, [
      "-c",
      "safe.directory=*",
      "commit",
      "-q",
      "--allow-empty",
      "-m",
      "plain",
    ]);
    const ran = readFileSync(join(markers, "ran"), "utf8");
    expect(ran).toContain("pre-commit");
    expect(ran).toContain("fsmonitor");
  });
});

describe("checkCommitInvariants on given changes", () => {
  it("checks every path, deletions and unreadable folders included", () => {
    const violations = checkCommitInvariants({
      changes: [
        { path: "src/moved.md", kind: "deleted" },
        {
          path: "docs/moved.md",
          kind: "added",
          now: { type: "file", mode: "100644", size: 1, hardLinked: false },
        },
        { path: "docs/locked", kind: "added", unreadable: "folder cannot be read (EACCES)" },
        {
          path: "docsx/a.md",
          kind: "added",
          now: { type: "file", mode: "100644", size: 1, hardLinked: false },
        },
      ],
      allowedPaths: ALLOWED,
      prefixes: PREFIXES,
      mayEditBacklog: false,
    });
    expect(violations).toEqual([
      { path: "src/moved.md", reason: OUTSIDE },
      { path: "docs/locked", reason: "folder cannot be read (EACCES)" },
      { path: "docsx/a.md", reason: OUTSIDE },
    ]);
  });

  it("turns violations into a scope_violation AttemptFailure with the paths", () => {
    const failure = new AttemptFailure("scope_violation", "task", "2 paths out of scope", {
      violations: [
        { path: "src/a.ts", reason: OUTSIDE },
        { path: "docs/x", reason: "is a symbolic link" },
      ],
    });
    expect(failure.toPayload()).toEqual({
      reason: "scope_violation",
      failure_kind: "task",
      error_summary: "2 paths out of scope",
      paths: ["src/a.ts", "docs/x"],
      violations: [
        { path: "src/a.ts", reason: OUTSIDE },
        { path: "docs/x", reason: "is a symbolic link" },
      ],
    });
    // The kind must match the reason.
    expect(() => new AttemptFailure("push_failed", "task" as never, "x")).toThrow(TypeError);
  });
});
