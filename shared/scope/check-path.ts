/**
 * Scope rules, one implementation for the scheduler (before it selects a task),
 * the attempt (before it executes) and the commit-time invariants (on the real diff).
 */

/** The system's own write-back: the only change allowed outside a task's paths. */
export const BACKLOG_PATH = ".leviathan/backlog.yaml";

export type NormalizedPath = { ok: true; path: string } | { ok: false; reason: string };

const GLOB = /[*?[\]{}]/;

/**
 * A repository-relative path in canonical form: `./docs/a.md` → `docs/a.md`,
 * `docs/../secrets/x` → `secrets/x`. A trailing `/` (a folder) is kept. Rejected: empty,
 * absolute, escaping with `..`, backslashes, NUL and other control characters, globs, `.git`.
 */
export function normalizeRepoPath(raw: string): NormalizedPath {
  if (typeof raw !== "string" || raw.length === 0) return { ok: false, reason: "empty path" };
  if (/[\u0000-\u001f\u007f]/.test(raw)) return { ok: false, reason: "control character in path" };
  if (raw.includes("\\")) return { ok: false, reason: "backslash in path" };
  if (raw.startsWith("/") || /^[A-Za-z]:/.test(raw)) return { ok: false, reason: "absolute path" };
  if (GLOB.test(raw)) return { ok: false, reason: "glob characters are not allowed" };
  const folder = raw.endsWith("/");
  const out: string[] = [];
  for (const segment of raw.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      if (out.length === 0) return { ok: false, reason: "path escapes the repository" };
      out.pop();
      continue;
    }
    out.push(segment);
  }
  if (out.length === 0) return { ok: false, reason: "path names the repository root" };
  if (out.some((segment) => segment.toLowerCase() === ".git")) {
    return { ok: false, reason: "paths inside .git are not allowed" };
  }
  if (out.some(readsAsDotGitElsewhere)) {
    return { ok: false, reason: "a name that macOS or Windows would read as .git" };
  }
  return { ok: true, path: out.join("/") + (folder ? "/" : "") };
}

/**
 * Code points HFS+ ignores when it compares names (git's `is_hfs_dotgit`): `.g\u200cit` is
 * `.git` on a Mac.
 */
const HFS_IGNORED = /[\u200c-\u200f\u202a-\u202e\u206a-\u206f\ufeff]/g;

/**
 * A segment git refuses with `core.protectHFS` / `core.protectNTFS`: `.git` once HFS+ drops
 * its ignorable code points, or once NTFS drops trailing dots and spaces and an alternate
 * stream (`.git.`, `.git::$INDEX_ALLOCATION`), or the 8.3 short name `git~1`.
 */
function readsAsDotGitElsewhere(segment: string): boolean {
  const lower = segment.toLowerCase();
  if (lower.replace(HFS_IGNORED, "") === ".git") return true;
  const ntfs = lower.split(":")[0]?.replace(/[. ]+$/, "");
  return ntfs === ".git" || /^git~\d+$/.test(ntfs ?? "");
}

/**
 * Segment-boundary match: `docs/` allows `docs/a.md` (and the folder `docs/` itself),
 * never `docsx/a.md`; `docs/README.md` and `docs` allow exactly that file.
 * Both sides must already be normalised.
 */
export function withinPrefix(path: string, prefix: string): boolean {
  if (prefix.endsWith("/")) return path.startsWith(prefix);
  return path === prefix;
}

function withinAny(path: string, prefixes: readonly string[]): boolean {
  return prefixes.some((prefix) => {
    const normalized = normalizeRepoPath(prefix);
    return normalized.ok && withinPrefix(path, normalized.path);
  });
}

export interface AllowedPathProblem {
  path: string;
  reason: string;
}

/**
 * Checks a task's `allowed_paths` against the target's `allowed_path_prefixes` before anything
 * runs. Returns the normalised paths, or every problem found.
 */
export function checkAllowedPaths(
  allowedPaths: readonly string[],
  prefixes: readonly string[],
): { ok: true; paths: string[] } | { ok: false; problems: AllowedPathProblem[] } {
  if (allowedPaths.length === 0) {
    return { ok: false, problems: [{ path: "", reason: "allowed_paths is empty" }] };
  }
  const paths: string[] = [];
  const problems: AllowedPathProblem[] = [];
  for (const raw of allowedPaths) {
    const normalized = normalizeRepoPath(raw);
    if (!normalized.ok) {
      problems.push({ path: String(raw), reason: normalized.reason });
    } else if (!withinAny(normalized.path, prefixes)) {
      problems.push({
        path: raw,
        reason: `outside allowed_path_prefixes (${prefixes.join(", ")})`,
      });
    } else {
      paths.push(normalized.path);
    }
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, paths };
}

/**
 * Whether one changed file may be committed: inside the task's paths and the target's
 * prefixes, or the backlog write-back. Symlinks are judged by the caller (it sees the disk).
 */
export function isChangeAllowed(
  changedPath: string,
  allowedPaths: readonly string[],
  prefixes: readonly string[],
): { ok: true } | { ok: false; reason: string } {
  const normalized = normalizeRepoPath(changedPath);
  if (!normalized.ok) return normalized;
  // A changed path is a file; a trailing slash would make it match as a folder.
  if (normalized.path.endsWith("/")) return { ok: false, reason: "a folder is not a file" };
  if (normalized.path !== changedPath)
    return { ok: false, reason: "path is not in canonical form" };
  if (normalized.path === BACKLOG_PATH) return { ok: true };
  if (!withinAny(normalized.path, allowedPaths)) {
    return { ok: false, reason: "outside the task's allowed_paths" };
  }
  if (!withinAny(normalized.path, prefixes)) {
    return { ok: false, reason: "outside allowed_path_prefixes" };
  }
  return { ok: true };
}
