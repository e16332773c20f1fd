import { EXECUTORS, type ExecutorName } from "../../config/schema.ts";
import { AttemptFailure } from "../attempt-failure.ts";
import { backlogProposeExecutor } from "./backlog-propose.ts";
import { docsExecutor } from "./docs.ts";
import type { Executor, ExecutorTask } from "./types.ts";

/** The task's `executor`, else `LEVIATHAN_DEFAULT_EXECUTOR`, else `backlog-propose`. */
export function executorNameFor(
  task: Pick<ExecutorTask, "raw"> & { executor?: ExecutorName },
  defaultExecutor?: string,
): ExecutorName {
  const chosen = task.executor ?? task.raw.executor ?? defaultExecutor ?? "backlog-propose";
  if (typeof chosen === "string" && (EXECUTORS as readonly string[]).includes(chosen)) {
    return chosen as ExecutorName;
  }
  throw new AttemptFailure(
    "executor_failed",
    "task",
    `unknown executor ${JSON.stringify(chosen)} (known: ${EXECUTORS.join(", ")})`,
  );
}

/**
 * A built-in executor by name: Leviathan's own code, run in the trusted part on the executor's
 * checkout. `command` is not one: it runs isolated (`runCommand`).
 */
export function builtInExecutor(name: Exclude<ExecutorName, "command">): Executor {
  switch (name) {
    case "backlog-propose":
      return backlogProposeExecutor;
    case "docs":
      return docsExecutor;
  }
}
