import {
  appendFileSync,
  chmodSync,
  readdirSync,
  readFileSync,
  renameSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cloneShallow } from "../../shared/git/clone-shallow.ts";
import {
  compareGitFingerprints,
  fingerprintGitDir,
  type GitDirFingerprint,
} from "../../shared/git/fingerprint-git-dir.ts";
import { listChanges } from "../../shared/git/list-changes.ts";
import { createOrigin, type Origin, removeTempDirs, tempDir, writeFiles } from "./git-fixtures.ts";

let origin: Origin;
beforeAll(() => {
  origin = createOrigin({ "docs/a.md": "a\n", "src/app.ts": "app\n" });
});
afterAll(removeTempDirs);

async function freshClone(): Promise<{ dir: string; before: GitDirFingerprint }> {
  const dir = join(tempDir(), "checkout");
  await cloneShallow({ url: origin.url, branch: "main", dir });
  return { dir, before: await fingerprintGitDir(dir) };
}

async function changesAfter(dir: string, before: GitDirFingerprint) {
  return compareGitFingerprints(before, await fingerprintGitDir(dir));
}

describe("fingerprintGitDir", () => {
  it("sees no change when only the worktree changed and the attempt's own git status ran", async () => {
    const { dir, before } = await freshClone();
    writeFiles(dir, { "docs/a.md": "changed\n", "docs/new.md": "new\n" });
    expect(await listChanges(dir)).toHaveLength(2);
    expect(await changesAfter(dir, before)).toEqual([]);
    expect(before.entries.get("")).toMatch(/^dir /);
    expect(before.entries.get("config")).toMatch(/^file /);
  });

  it("reports a new hook, a config line and a changed info/exclude by path", async () => {
    const { dir, before } = await freshClone();
    writeFileSync(join(dir, ".git/hooks/pre-commit"), "#!/bin/sh\ntouch /tmp/x\n", { mode: 0o755 });
    appendFileSync(join(dir, ".git/config"), "[core]\n\tfsmonitor = /tmp/evil\n");
    appendFileSync(join(dir, ".git/info/exclude"), "secret/\n");
    expect(await changesAfter(dir, before)).toEqual([
      { path: ".git/config", change: "changed" },
      { path: ".git/hooks/pre-commit", change: "added" },
      { path: ".git/info/exclude", change: "changed" },
    ]);
  });

  it("reports a mode change, a removed file, a retargeted symlink and an alternates file", async () => {
    const { dir } = await freshClone();
    symlinkSync("pre-commit.sample", join(dir, ".git/hooks/pre-push"));
    const before = await fingerprintGitDir(dir);
    chmodSync(join(dir, ".git/hooks/update.sample"), 0o644);
    unlinkSync(join(dir, ".git/description"));
    unlinkSync(join(dir, ".git/hooks/pre-push"));
    symlinkSync("update.sample", join(dir, ".git/hooks/pre-push"));
    writeFileSync(join(dir, ".git/objects/info/alternates"), "/elsewhere/objects\n");
    writeFileSync(join(dir, ".git/__proto__"), "counts like any name\n");
    expect(await changesAfter(dir, before)).toEqual([
      { path: ".git/__proto__", change: "added" },
      { path: ".git/description", change: "removed" },
      { path: ".git/hooks/pre-push", change: "changed" },
      { path: ".git/hooks/update.sample", change: "changed" },
      { path: ".git/objects/info/alternates", change: "added" },
    ]);
  });

  it("reports a pack rewritten in place with the same bytes, a new loose object, and .git replaced", async () => {
    const { dir, before } = await freshClone();
    const packDir = join(dir, ".git/objects/pack");
    const pack = readdirSync(packDir).find((name) => name.endsWith(".pack"));
    expect(pack).toBeDefined();
    const packPath = join(packDir, pack as string);
    writeFileSync(packPath, readFileSync(packPath));
    writeFiles(dir, { ".git/objects/ab/cdef0123456789abcdef0123456789abcdef01": "x" });
    const changes = await changesAfter(dir, before);
    expect(changes).toContainEqual({ path: `.git/objects/pack/${pack}`, change: "changed" });
    expect(changes).toContainEqual({
      path: ".git/objects/ab/cdef0123456789abcdef0123456789abcdef01",
      change: "added",
    });
    expect(changes).toContainEqual({ path: ".git/objects/ab", change: "added" });

    const { dir: other, before: otherBefore } = await freshClone();
    renameSync(join(other, ".git"), join(other, "real-git"));
    writeFileSync(join(other, ".git"), `gitdir: ${join(other, "real-git")}\n`);
    expect(await changesAfter(other, otherBefore)).toContainEqual({
      path: ".git",
      change: "changed",
    });
  });
});
