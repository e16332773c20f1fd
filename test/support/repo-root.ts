import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

/**
 * The clone's root. Tests run in a temporary working directory of their own (see
 * `hermetic-setup.ts`), so a file of the repository is named from here, never relative to cwd.
 */
export const REPO_ROOT = join(import.meta.dirname, "..", "..");

/** A file or folder of the repository, e.g. `repoPath("ops", "autonomy", "dev.yaml")`. */
export function repoPath(...parts: string[]): string {
  return join(REPO_ROOT, ...parts);
}

/**
 * What `node --import` takes to run TypeScript: tsx's loader named by its URL, so a child
 * started in a test's own working directory (which has no node_modules) still finds it.
 */
export const TSX_IMPORT = pathToFileURL(
  createRequire(join(REPO_ROOT, "package.json")).resolve("tsx"),
).href;
