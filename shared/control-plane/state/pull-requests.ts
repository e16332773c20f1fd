import type { OpenPullRequest } from "../types.ts";
import type { PullRequestEntry, TargetEntry } from "./model.ts";

/**
 * A `pr.created` opens its PR unless a `pr.merged` or `pr.closed` for the same URL was already
 * recorded: a merged PR stays merged, even when a retried post of its creation arrives late.
 */
export function recordPullRequestOpened(
  target: TargetEntry,
  entry: PullRequestEntry,
  pr: OpenPullRequest,
): void {
  if (entry.ended) return;
  const known = target.openPullRequests.get(pr.pr_url);
  if (!known) {
    target.openPullRequests.set(pr.pr_url, Object.freeze({ ...pr }));
    return;
  }
  // A repeated `pr.created` (a retried attempt reuses its PR) may know what the first did not.
  if ((known.pr_number === null && pr.pr_number !== null) || (!known.task_id && pr.task_id)) {
    target.openPullRequests.set(
      pr.pr_url,
      Object.freeze({
        ...known,
        pr_number: known.pr_number ?? pr.pr_number,
        task_id: known.task_id ?? pr.task_id,
      }),
    );
  }
}

/** `pr.merged` / `pr.closed`: the PR is no longer open, for good. */
export function recordPullRequestEnded(
  target: TargetEntry,
  entry: PullRequestEntry,
  prUrl: string,
): void {
  entry.ended = true;
  target.openPullRequests.delete(prUrl);
}
