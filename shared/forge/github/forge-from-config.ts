import { type AutonomyConfig, parseRepoUrl } from "../../config/schema.ts";
import type { Logger } from "../../log/logger.ts";
import type { Forge, GitHubCredential } from "../types.ts";
import type { ResponseCache } from "./conditional-fetch.ts";
import { createGitHubForge } from "./create-github-forge.ts";

/**
 * The target's forge: owner and repository from `target_repo_url`, the API at
 * `github_api_url` (api.github.com, GitHub Enterprise or the local forge). With a response cache
 * its reads are conditional requests.
 */
export function forgeFromConfig(
  config: AutonomyConfig,
  token: GitHubCredential,
  logger: Logger,
  responseCache?: ResponseCache,
): Forge {
  const coordinates = parseRepoUrl(config.target_repo_url);
  // The config schema already refused such a URL; this guards configs built in code.
  if ("error" in coordinates) {
    throw new Error(`target_repo_url ${coordinates.error}`);
  }
  return createGitHubForge({
    apiUrl: config.github_api_url,
    owner: coordinates.owner,
    repo: coordinates.repo,
    token,
    logger,
    ...(responseCache ? { responseCache } : {}),
  });
}
