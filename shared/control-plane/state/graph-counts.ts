import type { Summary } from "../types.ts";
import type { StateModel } from "./model.ts";

/**
 * `nodes_by_type` / `edges_by_type` of the graph the events name: nodes Target,
 * Task, Attempt, PullRequest; DEPENDS_ON task→target (one per task) and attempt→task (one per
 * attempt whose task is named); PRODUCED attempt→PR. Only non-zero counts appear.
 */
export function graphCounts(model: StateModel): Pick<Summary, "nodes_by_type" | "edges_by_type"> {
  return {
    nodes_by_type: nonZero({
      Target: model.targets.size,
      Task: model.taskNodes,
      Attempt: model.attempts.size,
      PullRequest: model.pullRequestNodes,
    }),
    edges_by_type: nonZero({
      DEPENDS_ON: model.taskNodes + model.attemptsWithTask,
      PRODUCED: model.producedEdges,
    }),
  };
}

function nonZero(counts: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, n] of Object.entries(counts)) if (n > 0) out[name] = n;
  return Object.freeze(out);
}
