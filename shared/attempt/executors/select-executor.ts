import { EXECUTORS, type ExecutorName } from "../../config/schema.ts";
import { AttemptFailure } from "../attempt-failure.ts";
import { backlogProposeExecutor } from "./backlog-propose.ts";
import { type CommandExecutorOptions, createCommandExecutor } from "./command.ts";
import { docsExecutor } from "./docs.ts";
import type { Executor, ExecutorTask } from "./types.ts";

/** The task's `executor`, else `LEVIATHAN_DEFAULT_EXECUTOR`, else `backlog-propose` (DESIGN §5). */
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

/** The executor by name; `command` needs its argv (`parseExecutorCommand`). */
export function selectExecutor(
  name: ExecutorName,
  options: Partial<CommandExecutorOptions> = {},
): Executor {
  switch (name) {
    case "backlog-propose":
      return backlogProposeExecutor;
    case "docs":
      return docsExecutor;
    case "command":
      if (!options.command || options.command.length === 0) {
        throw new AttemptFailure(
          "executor_failed",
          "task",
          "the command executor needs LEVIATHAN_EXECUTOR_COMMAND",
        );
      }
      return createCommandExecutor({ ...options, command: options.command });
  }
}
