import type { BacklogTask } from "../../backlog/types.ts";
import type { IneligibleTask } from "../types.ts";
import { checkTaskEligibility, type EligibilityContext } from "./task-eligibility.ts";

export interface Selection {
  /** The first eligible task in file order, or null. */
  task: BacklogTask | null;
  /** Every task before it (all of them when none was chosen), with its reason. */
  ineligible: IneligibleTask[];
  /** Tasks out of attempts whose `task.blocked` is not recorded yet, with their charged count. */
  newlyBlocked: Array<{ task_id: string; attempts: number }>;
}

/** Rule 5: the first eligible task in file order wins. */
export function selectTask(tasks: readonly BacklogTask[], context: EligibilityContext): Selection {
  const ineligible: IneligibleTask[] = [];
  const newlyBlocked: Selection["newlyBlocked"] = [];
  for (const task of tasks) {
    const problem = checkTaskEligibility(task, context);
    if (!problem) return { task, ineligible, newlyBlocked };
    ineligible.push({ task_id: task.id, line: task.line, ...problem });
    const state = context.target.tasks[task.id];
    if (problem.reason === "attempts_exhausted" && !state?.blocked) {
      newlyBlocked.push({ task_id: task.id, attempts: state?.charged_attempts ?? 0 });
    }
  }
  return { task: null, ineligible, newlyBlocked };
}
