import { type AutonomyConfig, parseRepoUrl } from "../../config/schema.ts";
import type { PullRequest } from "../../forge/types.ts";

/**
 * The open PRs whose head branch lives in the target repository itself. Only these count toward
 * `max_open_prs` and tie a task through their marker: anyone can open a PR from a fork with an
 * `agent/…` branch or a copied marker, and such a PR must not stall the loop. Names compare
 * without case, as GitHub's do.
 */
export function ownPullRequests(
  config: AutonomyConfig,
  prs: readonly PullRequest[],
): PullRequest[] {
  const coordinates = parseRepoUrl(config.target_repo_url);
  // The config schema already refused such a URL; without coordinates nothing can be ours.
  if ("error" in coordinates) return [];
  const own = `${coordinates.owner}/${coordinates.repo}`.toLowerCase();
  return prs.filter((pr) => pr.head_repo?.toLowerCase() === own);
}
