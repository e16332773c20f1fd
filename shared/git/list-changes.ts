import type { Logger } from "../log/logger.ts";
import { runGit } from "./run-git.ts";

export type ChangeKind =
  | "modified"
  | "added"
  | "deleted"
  | "renamed-from"
  | "renamed-to"
  | "copied-from"
  | "copied-to"
  | "untracked"
  | "ignored"
  | "typechange";

export interface ChangedPath {
  /** Repository-relative, exactly as git printed it (a trailing `/` means a folder git did not enter, such as a nested repository). */
  path: string;
  kind: ChangeKind;
}

/**
 * Everything that differs from HEAD in the checkout, file by file: untracked and ignored files
 * one by one (never as folders), both sides of a rename or copy.
 */
export async function listChanges(
  dir: string,
  options: { timeoutMs?: number; logger?: Logger } = {},
): Promise<ChangedPath[]> {
  const out = await runGit(
    ["status", "--porcelain=v1", "-z", "--untracked-files=all", "--ignored=traditional"],
    { dir, timeoutMs: options.timeoutMs, logger: options.logger },
  );
  return parsePorcelainZ(out);
}

/**
 * Parses `git status --porcelain=v1 -z`: records `XY <path>` separated by NUL; a rename or
 * copy is followed by one more field, its source. With -z names are never quoted, so a name
 * may hold spaces, newlines or any other character but NUL.
 */
export function parsePorcelainZ(output: string): ChangedPath[] {
  const fields = output.split("\0");
  const changes: ChangedPath[] = [];
  for (let i = 0; i < fields.length; i++) {
    const record = fields[i] ?? "";
    if (record === "") continue;
    if (record.length < 4 || record[2] !== " ") {
      throw new Error(`unexpected git status record ${JSON.stringify(record.slice(0, 80))}`);
    }
    const x = record[0] ?? " ";
    const y = record[1] ?? " ";
    const path = record.slice(3);
    if (x === "R" || x === "C" || y === "R" || y === "C") {
      const source = fields[++i];
      if (source === undefined || source === "")
        throw new Error(`rename without a source: ${path}`);
      const renamed = x === "R" || y === "R";
      changes.push({ path: source, kind: renamed ? "renamed-from" : "copied-from" });
      changes.push({ path, kind: renamed ? "renamed-to" : "copied-to" });
      continue;
    }
    changes.push({ path, kind: kindOf(x, y) });
  }
  return changes;
}

function kindOf(x: string, y: string): ChangeKind {
  if (x === "?" && y === "?") return "untracked";
  if (x === "!" && y === "!") return "ignored";
  if (x === "D" || y === "D") return "deleted";
  if (x === "T" || y === "T") return "typechange";
  if (x === "A") return "added";
  // M in either column, and unmerged states (U, AA, DD are impossible in a fresh clone).
  return "modified";
}
