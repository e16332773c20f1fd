import { isSafeBranchName } from "../../git/check-branch-name.ts";
import type { Logger } from "../../log/logger.ts";
import { forgeGit, forgeGitText } from "./run-forge-git.ts";

/** Where and how git commands on one bare repository run. */
export interface GitTarget {
  gitDir: string;
  timeoutMs?: number;
  logger?: Logger;
}

/** One entry of a tree, as `git ls-tree -l` lists it. */
export interface TreeEntry {
  mode: string;
  type: "blob" | "tree" | "commit";
  sha: string;
  /** Bytes of a blob; 0 for trees and submodules. */
  size: number;
  path: string;
}

/** Every branch and the commit it points at, in one git call (a list of 150 PRs needs it once). */
export async function listBranches(target: GitTarget): Promise<Map<string, string>> {
  const text = await forgeGitText(
    ["for-each-ref", "--format=%(objectname) %(refname)", "refs/heads/"],
    target,
  );
  const branches = new Map<string, string>();
  for (const line of text.split("\n")) {
    const space = line.indexOf(" ");
    if (space === -1) continue;
    branches.set(line.slice(space + 1 + "refs/heads/".length), line.slice(0, space));
  }
  return branches;
}

/**
 * A ref as a client may give one (a branch, a tag or a commit sha) as the revision of its
 * commit, for `listTree`; undefined for anything that could read as an option or a revision
 * expression (the same rule the attempt applies to its branch names).
 */
export function commitRevision(ref: string): string | undefined {
  return isSafeBranchName(ref) ? `${ref}^{commit}` : undefined;
}

/**
 * The entry at `path` in a tree-ish (a commit id, a tree id, or a `commitRevision`), or the
 * entries inside it when `list` is set; undefined when the tree-ish names nothing. Resolving a
 * ref and listing are one git process: a read of the tick's backlog needs no `rev-parse`.
 */
export async function listTree(
  target: GitTarget,
  treeish: string,
  path: string,
  list: boolean,
): Promise<TreeEntry[] | undefined> {
  const spec = list ? (path === "" ? "" : `${path}/`) : path;
  const args = ["ls-tree", "-l", "-z", treeish];
  if (spec !== "") args.push("--", spec);
  // 128 is git's "not a valid object name"; a missing path is an empty list, exit 0.
  const { stdout, exitCode } = await forgeGit(args, { ...target, okExitCodes: [128] });
  return exitCode === 0 ? parseTreeEntries(stdout) : undefined;
}

function parseTreeEntries(stdout: Buffer): TreeEntry[] {
  const entries: TreeEntry[] = [];
  for (const record of stdout.toString("utf8").split("\0")) {
    const tab = record.indexOf("\t");
    if (tab === -1) continue;
    const [mode = "", type = "", sha = "", size = "-"] = record.slice(0, tab).trim().split(/\s+/);
    entries.push({
      mode,
      type: type as TreeEntry["type"],
      sha,
      size: size === "-" ? 0 : Number(size),
      path: record.slice(tab + 1),
    });
  }
  return entries;
}

export async function readBlob(target: GitTarget, sha: string): Promise<Buffer> {
  const { stdout } = await forgeGit(["cat-file", "blob", sha], target);
  return stdout;
}

/** True when `ancestor` is reachable from `descendant` (its changes are already in). */
export async function isAncestor(
  target: GitTarget,
  ancestor: string,
  descendant: string,
): Promise<boolean> {
  const { exitCode } = await forgeGit(["merge-base", "--is-ancestor", ancestor, descendant], {
    ...target,
    okExitCodes: [1],
  });
  return exitCode === 0;
}

export interface ChangeStats {
  commits: number;
  additions: number;
  deletions: number;
  changedFiles: number;
  /** `path | +a -d` lines, for the PR page. */
  files: { path: string; additions: number; deletions: number }[];
}

/** What a PR changes: the head's commits and diff since it left the base (`base...head`). */
export async function changeStats(
  target: GitTarget,
  base: string,
  head: string,
): Promise<ChangeStats> {
  const [count, numstat] = await Promise.all([
    forgeGitText(["rev-list", "--count", `${base}..${head}`], target),
    forgeGitText(["diff", "--numstat", "--no-renames", `${base}...${head}`], target),
  ]);
  const files: ChangeStats["files"] = [];
  for (const line of numstat.split("\n")) {
    const [added = "", deleted = "", ...rest] = line.split("\t");
    if (rest.length === 0) continue;
    // Binary files show "-": they count as changed, with no lines.
    files.push({
      path: rest.join("\t"),
      additions: Number(added) || 0,
      deletions: Number(deleted) || 0,
    });
  }
  return {
    commits: Number(count) || 0,
    additions: files.reduce((sum, file) => sum + file.additions, 0),
    deletions: files.reduce((sum, file) => sum + file.deletions, 0),
    changedFiles: files.length,
    files,
  };
}
