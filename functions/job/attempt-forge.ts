import type { AttemptEnv } from "../../shared/attempt/attempt-env.ts";
import { createGitHubForge } from "../../shared/forge/github/create-github-forge.ts";
import type { Forge } from "../../shared/forge/types.ts";
import type { Logger } from "../../shared/log/logger.ts";

/** The attempt's forge: `GITHUB_API_URL`, the repository of `TARGET_REPO_URL`, `GITHUB_TOKEN`. */
export function attemptForge(env: AttemptEnv, logger: Logger): Forge {
  return createGitHubForge({
    apiUrl: env.githubApiUrl,
    owner: env.owner,
    repo: env.repo,
    token: env.githubToken,
    logger,
  });
}
