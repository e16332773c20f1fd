import type { PullRequestEntry, StateModel, TargetEntry } from "./model.ts";

// The summary's graph is only counted, never built: the totals move when a task,
// PR or attempt→PR pair is first named.

/** A Task node (and its task→target DEPENDS_ON edge), once per target and task id. */
export function nameTask(model: StateModel, target: TargetEntry, taskId: string): void {
  if (target.taskNodes.has(taskId)) return;
  target.taskNodes.add(taskId);
  model.taskNodes += 1;
}

/** A PullRequest node, once per target and PR URL. */
export function namePullRequest(
  model: StateModel,
  target: TargetEntry,
  prUrl: string,
): PullRequestEntry {
  let pr = target.pullRequests.get(prUrl);
  if (!pr) {
    pr = { ended: false, producers: [] };
    target.pullRequests.set(prUrl, pr);
    model.pullRequestNodes += 1;
  }
  return pr;
}

/** A PRODUCED edge, once per attempt and PR. */
export function nameProduced(model: StateModel, pr: PullRequestEntry, attemptId: string): void {
  if (pr.producers.includes(attemptId)) return;
  // Copied to its exact size: a pushed array keeps room for ~16 more (see `appendSeq`).
  pr.producers = pr.producers.concat(attemptId);
  model.producedEdges += 1;
}
