import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cloneShallow } from "../../shared/git/clone-shallow.ts";
import { type ChangedPath, listChanges, parsePorcelainZ } from "../../shared/git/list-changes.ts";
import { createOrigin, plainGit, removeTempDirs, tempDir, writeFiles } from "./git-fixtures.ts";

afterAll(removeTempDirs);

function sorted(changes: ChangedPath[]): ChangedPath[] {
  return [...changes].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

describe("parsePorcelainZ", () => {
  it("gives both sides of renames and copies (the new name comes first in -z output)", () => {
    expect(parsePorcelainZ("R  new.md\0old.md\0C  copy.md\0orig.md\0 M kept.md\0")).toEqual([
      { path: "old.md", kind: "renamed-from" },
      { path: "new.md", kind: "renamed-to" },
      { path: "orig.md", kind: "copied-from" },
      { path: "copy.md", kind: "copied-to" },
      { path: "kept.md", kind: "modified" },
    ]);
  });

  it("maps every status column to a kind", () => {
    const output = [
      " M a",
      "M  b",
      "A  c",
      "AM d",
      " D e",
      "D  f",
      "AD g",
      " T h",
      "T  i",
      "?? j",
      "!! k",
      "UU l",
    ].join("\0");
    expect(parsePorcelainZ(`${output}\0`).map((change) => `${change.path}:${change.kind}`)).toEqual(
      [
        "a:modified",
        "b:modified",
        "c:added",
        "d:added",
        "e:deleted",
        "f:deleted",
        "g:deleted",
        "h:typechange",
        "i:typechange",
        "j:untracked",
        "k:ignored",
        "l:modified",
      ],
    );
  });

  it("keeps names with spaces, newlines, quotes and arrows intact", () => {
    expect(parsePorcelainZ('?? a b\0?? line\nbreak\0?? "quoted"\0R  x -> y\0w\0')).toEqual([
      { path: "a b", kind: "untracked" },
      { path: "line\nbreak", kind: "untracked" },
      { path: '"quoted"', kind: "untracked" },
      { path: "w", kind: "renamed-from" },
      { path: "x -> y", kind: "renamed-to" },
    ]);
  });

  it("refuses output it does not understand rather than guessing", () => {
    expect(() => parsePorcelainZ("garbage\0")).toThrow(/unexpected git status record/);
    expect(() => parsePorcelainZ("R  only-new\0")).toThrow(/rename without a source/);
  });
});

describe("listChanges on a real checkout", () => {
  it("lists every changed file one by one: renames, deletions, new folders, ignored files, odd names", async () => {
    const origin = createOrigin({
      ".gitignore": "build/\n*.log\n",
      "docs/a.md": "a\n",
      "docs/b.md": "b\n",
      "docs/moved.md": "moved\n",
      "src/gone.ts": "gone\n",
      "link-target.md": "t\n",
    });
    const dir = join(tempDir(), "checkout");
    await cloneShallow({ url: origin.url, branch: "main", dir });

    writeFiles(dir, {
      "docs/a.md": "changed\n",
      "new/deep/folder/file.md": "new\n",
      "build/out/bundle.js": "ignored\n",
      "build/second.js": "ignored too\n",
      "docs/debug.log": "ignored by pattern\n",
      "docs/with space.md": "s\n",
      "docs/line\nbreak.md": "n\n",
      "docs/ünïcödé-文档.md": "u\n",
      "docs/-leading-dash.md": "d\n",
    });
    rmSync(join(dir, "src/gone.ts"));
    // A rename git knows about (staged) gives both sides.
    plainGit(dir, ["mv", "docs/moved.md", "docs/renamed.md"]);
    // A rename git does not know about is a deletion plus a new file.
    renameSync(join(dir, "docs/b.md"), join(dir, "docs/b2.md"));
    // A file that becomes a symlink.
    rmSync(join(dir, "link-target.md"));
    symlinkSync("docs/a.md", join(dir, "link-target.md"));

    expect(sorted(await listChanges(dir))).toEqual(
      sorted([
        { path: "docs/a.md", kind: "modified" },
        { path: "docs/moved.md", kind: "renamed-from" },
        { path: "docs/renamed.md", kind: "renamed-to" },
        { path: "docs/b.md", kind: "deleted" },
        { path: "docs/b2.md", kind: "untracked" },
        { path: "src/gone.ts", kind: "deleted" },
        { path: "link-target.md", kind: "typechange" },
        { path: "new/deep/folder/file.md", kind: "untracked" },
        { path: "build/out/bundle.js", kind: "ignored" },
        { path: "build/second.js", kind: "ignored" },
        { path: "docs/debug.log", kind: "ignored" },
        { path: "docs/with space.md", kind: "untracked" },
        { path: "docs/line\nbreak.md", kind: "untracked" },
        { path: "docs/ünïcödé-文档.md", kind: "untracked" },
        { path: "docs/-leading-dash.md", kind: "untracked" },
      ]),
    );
  });

  it("shows a nested repository as a folder (which the invariants refuse), and nothing for a clean tree", async () => {
    const origin = createOrigin({ "docs/a.md": "a\n" });
    const dir = join(tempDir(), "checkout");
    await cloneShallow({ url: origin.url, branch: "main", dir });
    expect(await listChanges(dir)).toEqual([]);

    mkdirSync(join(dir, "docs/nested"));
    plainGit(join(dir, "docs/nested"), ["init", "-q"]);
    writeFileSync(join(dir, "docs/nested/inside.md"), "x\n");
    expect(await listChanges(dir)).toEqual([{ path: "docs/nested/", kind: "untracked" }]);
  });
});
