import { join } from "node:path";

/**
 * The clone's root. Tests run in a temporary working directory of their own (see
 * `hermetic-setup.ts`), so a file of the repository is named from here, never relative to cwd.
 */
export const REPO_ROOT = join(import.meta.dirname, "..", "..");

/** A file or folder of the repository, e.g. `repoPath("ops", "autonomy", "dev.yaml")`. */
export function repoPath(...parts: string[]): string {
  return join(REPO_ROOT, ...parts);
}
