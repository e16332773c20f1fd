import { BACKLOG_FILE, parseBacklog } from "../backlog/parse-backlog.ts";
import type { BacklogTask } from "../backlog/types.ts";
import type { TreeEntry } from "../git/list-tree.ts";
import { readBlobs } from "../git/read-blobs.ts";
import { AttemptFailure } from "./attempt-failure.ts";

export interface TaskOnBranch {
  task: BacklogTask;
  /** The backlog's text at the base commit: the executor may not change it unless its paths cover it. */
  backlogText: string;
}

/**
 * The backlog's text at the base commit, from the trusted repository's objects (never a file
 * anyone could have written). Missing, a link, or a submodule: `task_not_found`.
 */
export async function readBacklogText(
  trustedDir: string,
  tree: ReadonlyMap<string, TreeEntry>,
): Promise<string> {
  const entry = tree.get(BACKLOG_FILE);
  if (!entry) {
    throw new AttemptFailure(
      "task_not_found",
      "task",
      `${BACKLOG_FILE} does not exist on the branch`,
    );
  }
  if (entry.mode !== "100644" && entry.mode !== "100755") {
    throw new AttemptFailure("task_not_found", "task", `${BACKLOG_FILE} is not a regular file`);
  }
  let text = "";
  await readBlobs(
    [entry.sha],
    (_, bytes) => {
      text = bytes.toString("utf8");
    },
    { dir: trustedDir },
  );
  return text;
}

/** The task from the backlog's text; an invalid backlog, or one without the task, is `task_not_found`. */
export function readTask(backlogText: string, taskId: string): TaskOnBranch {
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
