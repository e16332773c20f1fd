import type { BacklogTask } from "../../backlog/types.ts";
import type { ExecutorName } from "../../config/schema.ts";
import type { Logger } from "../../log/logger.ts";

/** What an executor may know of its task: the fields as parsed, and every field as written. */
export type ExecutorTask = Pick<
  BacklogTask,
  "id" | "title" | "description" | "acceptance_criteria" | "allowed_paths" | "scope" | "raw"
>;

export interface ExecutorContext {
  /** The executor's checkout; the executor changes files only inside the task's allowed paths. */
  dir: string;
  task: ExecutorTask;
  /** The attempt's deadline: an executor still running then fails with `timeout`. */
  deadline: Date;
  logger: Logger;
}

/**
 * Makes the task's change in the checkout. Throws `AttemptFailure` (`executor_failed`,
 * `timeout`, `scope_violation`); whatever it did is judged afterwards by the commit-time
 * invariants, never trusted.
 */
export interface Executor {
  readonly name: Exclude<ExecutorName, "command">;
  run(context: ExecutorContext): Promise<void>;
}
