import type { GitTarget } from "./read-repository.ts";
import { forgeGitText } from "./run-forge-git.ts";

/** One line of a unified diff, as the PR page shows it. */
export interface DiffLine {
  kind: "file" | "hunk" | "added" | "removed" | "context";
  text: string;
}

/** Enough for any PR a demo makes; a larger diff is cut and says so. */
const MAX_DIFF_LINES = 2_000;

/**
 * The PR's changes as `git diff base...head` prints them (what GitHub's "Files changed" shows:
 * from the merge base), line by line, cut at a size a page can hold.
 */
export async function pullRequestDiff(
  target: GitTarget,
  base: string,
  head: string,
): Promise<{ lines: DiffLine[]; cut: boolean }> {
  const text = await forgeGitText(
    ["diff", "--no-color", "--no-ext-diff", "--no-renames", `${base}...${head}`],
    target,
  );
  const all = text.split("\n");
  if (all.at(-1) === "") all.pop();
  const lines = all.slice(0, MAX_DIFF_LINES).map(classify);
  return { lines, cut: all.length > MAX_DIFF_LINES };
}

function classify(text: string): DiffLine {
  if (text.startsWith("diff --git ")) return { kind: "file", text };
  if (text.startsWith("@@")) return { kind: "hunk", text };
  if (text.startsWith("+++ ") || text.startsWith("--- ")) return { kind: "file", text };
  if (text.startsWith("+")) return { kind: "added", text };
  if (text.startsWith("-")) return { kind: "removed", text };
  return { kind: "context", text };
}
