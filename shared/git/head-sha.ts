import type { Logger } from "../log/logger.ts";
import { runGit } from "./run-git.ts";

/** The full object name of HEAD. */
export async function headSha(dir: string, options: { logger?: Logger } = {}): Promise<string> {
  const out = await runGit(["rev-parse", "--verify", "HEAD^{commit}"], {
    dir,
    logger: options.logger,
  });
  return out.trim();
}
