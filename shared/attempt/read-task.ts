import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { BACKLOG_FILE, parseBacklog } from "../backlog/parse-backlog.ts";
import type { BacklogTask } from "../backlog/types.ts";
import { AttemptFailure } from "./attempt-failure.ts";
import { symlinkProblem } from "./check-invariants.ts";

export interface TaskInCheckout {
  task: BacklogTask;
  /** The backlog's text as cloned: the executor may not change it unless its paths cover it. */
  backlogText: string;
}

/**
 * The task from the checkout's `.leviathan/backlog.yaml` (the target branch, as cloned). A
 * missing or unreadable backlog, or one without the task, is `task_not_found`.
 */
export async function readTaskFromCheckout(dir: string, taskId: string): Promise<TaskInCheckout> {
  // Never read through a link: it could point anywhere on this machine.
  const linked = await symlinkProblem(dir, BACKLOG_FILE);
  if (linked) throw new AttemptFailure("task_not_found", "task", `${BACKLOG_FILE} ${linked}`);
  let backlogText: string;
  try {
    backlogText = await readFile(join(dir, BACKLOG_FILE), "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "does not exist" : `cannot be read (${code ?? "error"})`;
    throw new AttemptFailure("task_not_found", "task", `${BACKLOG_FILE} ${why} on the branch`);
  }
  const parsed = parseBacklog(backlogText, BACKLOG_FILE);
  if (!parsed.ok) {
    const first = parsed.problems[0];
    const where = first?.line ? ` (line ${first.line}${first.path ? `, ${first.path}` : ""})` : "";
    throw new AttemptFailure(
      "task_not_found",
      "task",
      `${BACKLOG_FILE} is invalid${where}: ${first?.message ?? "unknown problem"}`,
    );
  }
  const task = parsed.tasks.find((candidate) => candidate.id === taskId);
  if (!task) {
    throw new AttemptFailure("task_not_found", "task", `task ${taskId} is not in ${BACKLOG_FILE}`);
  }
  return { task, backlogText };
}
