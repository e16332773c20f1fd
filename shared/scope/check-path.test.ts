import { describe, expect, it } from "vitest";
import { checkAllowedPaths, isChangeAllowed, normalizeRepoPath } from "./check-path.ts";

const PREFIXES = [".leviathan/", "docs/"];

describe("normalizeRepoPath", () => {
  it.each([
    ["docs/a.md", "docs/a.md"],
    ["./docs/a.md", "docs/a.md"],
    ["docs//a.md", "docs/a.md"],
    ["docs/", "docs/"],
    ["docs/../secrets/x", "secrets/x"],
  ])("%s → %s", (raw, expected) => {
    expect(normalizeRepoPath(raw)).toEqual({ ok: true, path: expected });
  });

  it.each([
    ["", "empty path"],
    ["/etc/x", "absolute path"],
    ["C:/x", "absolute path"],
    ["../docs/a", "path escapes the repository"],
    ["docs/../../x", "path escapes the repository"],
    ["docs\\a.md", "backslash in path"],
    ["docs/a\u0000.md", "control character in path"],
    ["docs/*.md", "glob characters are not allowed"],
    [".git/hooks/pre-commit", "paths inside .git are not allowed"],
    ["docs/.GIT/config", "paths inside .git are not allowed"],
    [".g\u200cit/config", "a name that macOS or Windows would read as .git"],
    ["docs/.\ufeffGit/hooks/x", "a name that macOS or Windows would read as .git"],
    [".git./config", "a name that macOS or Windows would read as .git"],
    [".git ./hooks", "a name that macOS or Windows would read as .git"],
    [".git::$INDEX_ALLOCATION/config", "a name that macOS or Windows would read as .git"],
    ["GIT~1/config", "a name that macOS or Windows would read as .git"],
    [".", "path names the repository root"],
  ])("rejects %j (%s)", (raw, reason) => {
    expect(normalizeRepoPath(raw)).toEqual({ ok: false, reason });
  });

  it.each([".github/workflows/ci.yml", "docs/.gitignore", "docs/git~x.md", "docs/.gitkeep"])(
    "accepts %j, which no file system reads as .git",
    (raw) => {
      expect(normalizeRepoPath(raw)).toEqual({ ok: true, path: raw });
    },
  );
});

describe("checkAllowedPaths", () => {
  it.each([
    [["docs/"], true],
    [["docs/README.md", ".leviathan/notes.md"], true],
    [["./docs/a.md"], true],
    [["docs"], false],
    [["docsx/a.md"], false],
    [["docs/../secrets/x"], false],
    [["/etc/x"], false],
    [["../docs/a"], false],
    [["docs/*.md"], false],
    [["docs/a.md", "src/index.ts"], false],
    [[], false],
  ])("%j allowed: %s", (paths, ok) => {
    expect(checkAllowedPaths(paths, PREFIXES).ok).toBe(ok);
  });

  it("names every bad path", () => {
    const result = checkAllowedPaths(["docs/a.md", "src/x", "../y"], PREFIXES);
    expect(result).toEqual({
      ok: false,
      problems: [
        { path: "src/x", reason: "outside allowed_path_prefixes (.leviathan/, docs/)" },
        { path: "../y", reason: "path escapes the repository" },
      ],
    });
  });
});

describe("isChangeAllowed", () => {
  const allowed = ["docs/guide/"];
  it.each([
    ["docs/guide/a.md", true],
    ["docs/guide", false],
    ["docs/guidex/a.md", false],
    ["docs/other.md", false],
    [".leviathan/backlog.yaml", true],
    [".leviathan/other.yaml", false],
    ["docs/guide/../../secrets", false],
    [".git/config", false],
  ])("%s → %s", (path, ok) => {
    expect(isChangeAllowed(path, allowed, PREFIXES).ok).toBe(ok);
  });

  it("requires both the task's paths and the target's prefixes", () => {
    expect(isChangeAllowed("src/a.ts", ["src/"], PREFIXES).ok).toBe(false);
  });
});
