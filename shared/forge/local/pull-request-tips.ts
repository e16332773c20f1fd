import type { PullRequestTips } from "./github-objects.ts";
import type { StoredPullRequest } from "./types.ts";

/**
 * Where a PR's branches point. An open PR follows its branches (a push moves its head); a
 * closed one keeps the commits it had when it closed, so a merged PR still shows what merged.
 */
export function pullRequestTips(
  pull: StoredPullRequest,
  branches: ReadonlyMap<string, string>,
): PullRequestTips {
  if (pull.state === "closed") return { headSha: pull.head_sha, baseSha: pull.base_sha };
  return {
    headSha: branches.get(pull.head_ref) ?? pull.head_sha,
    baseSha: branches.get(pull.base_ref) ?? pull.base_sha,
  };
}

/** `owner:branch` → the branch when the owner is this repository's; a bare branch as it is. */
export function headBranch(head: string, repoOwner: string): string | undefined {
  const colon = head.indexOf(":");
  if (colon === -1) return head;
  return head.slice(0, colon) === repoOwner ? head.slice(colon + 1) : undefined;
}
