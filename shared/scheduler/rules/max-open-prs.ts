import type { AutonomyConfig } from "../../config/schema.ts";
import { isAgentBranch } from "../../forge/provenance.ts";
import type { PullRequest } from "../../forge/types.ts";
import type { Skip } from "../types.ts";
import { ownPullRequests } from "./own-pull-requests.ts";

/** The PRs Leviathan opened: head branch under `agent/`; people's PRs are not counted. */
export function agentPullRequests(prs: readonly PullRequest[]): PullRequest[] {
  return prs.filter((pr) => isAgentBranch(pr.head_ref));
}

/**
 * Rule 2: at most `max_open_prs` agent PRs awaiting review, counting only those whose head is a
 * branch of the target repository. When the forge could not be asked the count is unknown, so
 * the tick fails safe instead of counting zero.
 */
export function checkMaxOpenPullRequests(
  config: AutonomyConfig,
  openPullRequests: readonly PullRequest[] | "unavailable",
): Skip | null {
  if (openPullRequests === "unavailable") return { reason: "forge_unavailable" };
  const agent = agentPullRequests(ownPullRequests(config, openPullRequests));
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
