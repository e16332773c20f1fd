import type { StateModel, TargetEntry } from "./model.ts";

// The summary's graph (DESIGN §8) is only counted, never built: each node and edge is a key
// in a set, and the totals move when a key is first added.

/** A Task node (and its task→target DEPENDS_ON edge), once per target and task id. */
export function nameTask(model: StateModel, target: TargetEntry, taskId: string): void {
  if (target.taskNodes.has(taskId)) return;
  target.taskNodes.add(taskId);
  model.taskNodes += 1;
}

/** A PullRequest node, once per target and PR URL. */
export function namePullRequest(model: StateModel, target: TargetEntry, prUrl: string): void {
  if (target.pullRequestNodes.has(prUrl)) return;
  target.pullRequestNodes.add(prUrl);
  model.pullRequestNodes += 1;
}

export function producedEdgeKey(attemptId: string, prUrl: string): string {
  return `${attemptId}\u0000${prUrl}`;
}

/** A PRODUCED edge, once per attempt and PR. */
export function nameProduced(
  model: StateModel,
  target: TargetEntry,
  attemptId: string,
  prUrl: string,
): void {
  const key = producedEdgeKey(attemptId, prUrl);
  if (target.producedEdges.has(key)) return;
  target.producedEdges.add(key);
  model.producedEdges += 1;
}
