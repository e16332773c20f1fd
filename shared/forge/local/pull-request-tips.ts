import type { PullRequestTips } from "./github-objects.ts";
import type { StoredPullRequest } from "./types.ts";

/**
 * Where a PR's branches point. An open PR follows its branches (a push moves its head); a
 * closed one keeps the commits it had when it closed, so a merged PR still shows what merged.
 * A fork's head is the commit fetched when the PR opened: `branches` are this repository's.
 */
export function pullRequestTips(
  pull: StoredPullRequest,
  branches: ReadonlyMap<string, string>,
): PullRequestTips {
  if (pull.state === "closed") return { headSha: pull.head_sha, baseSha: pull.base_sha };
  const headSha =
    pull.head_repository === undefined
      ? (branches.get(pull.head_ref) ?? pull.head_sha)
      : pull.head_sha;
  return { headSha, baseSha: branches.get(pull.base_ref) ?? pull.base_sha };
}
