import type { AutonomyConfig } from "../../config/schema.ts";
import { isAgentBranch } from "../../forge/provenance.ts";
import type { PullRequest } from "../../forge/types.ts";
import type { Skip } from "../types.ts";

/** The PRs Leviathan opened: head branch under `agent/`; people's PRs are not counted. */
export function agentPullRequests(prs: readonly PullRequest[]): PullRequest[] {
  return prs.filter((pr) => isAgentBranch(pr.head_ref));
}

/**
 * Rule 2 (DESIGN §4): at most `max_open_prs` agent PRs awaiting review. When the forge could
 * not be asked the count is unknown, so the tick fails safe instead of counting zero.
 */
export function checkMaxOpenPullRequests(
  config: AutonomyConfig,
  openPullRequests: readonly PullRequest[] | "unavailable",
): Skip | null {
  if (openPullRequests === "unavailable") return { reason: "forge_unavailable" };
  const agent = agentPullRequests(openPullRequests);
  if (agent.length < config.max_open_prs) return null;
  return {
    reason: "max_open_prs",
    details: {
      open_agent_prs: agent.length,
      max_open_prs: config.max_open_prs,
      pr_urls: agent.map((pr) => pr.html_url),
    },
  };
}
