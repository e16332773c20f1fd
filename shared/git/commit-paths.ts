import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Logger } from "../log/logger.ts";
import { headSha } from "./head-sha.ts";
import { runGit } from "./run-git.ts";

export interface CommitPathsOptions {
  dir: string;
  /** Repository-relative paths, exactly as checked; deletions included. */
  paths: readonly string[];
  message: string;
  logger?: Logger;
}

/**
 * `git add -f` exactly these paths (`-f`: an allowed path may be an ignored one) and commit
 * only them (`--only`), so nothing else that happens to be staged rides along. The paths go
 * through a NUL-separated file outside the checkout: any name is safe and argv stays short.
 * Returns the new commit's sha.
 */
export async function commitPaths(options: CommitPathsOptions): Promise<string> {
  if (options.paths.length === 0) throw new Error("commitPaths needs at least one path");
  const scratch = await mkdtemp(join(tmpdir(), "leviathan-pathspec-"));
  try {
    const list = join(scratch, "paths");
    await writeFile(list, `${options.paths.join("\0")}\0`, { mode: 0o600 });
    const pathspec = [`--pathspec-from-file=${list}`, "--pathspec-file-nul"];
    const call = { dir: options.dir, logger: options.logger };
    await runGit(["add", "-f", ...pathspec], call);
    await runGit(
      ["commit", "--quiet", "--no-verify", "--only", ...pathspec, "-m", options.message],
      call,
    );
    return await headSha(options.dir, { logger: options.logger });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
