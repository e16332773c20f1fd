import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type HandOver, handOver } from "./hand-over.ts";

/**
 * Where the executor works, and nothing of the trusted part's is: its checkout (a copy of the
 * base commit's files with a throwaway `.git`), its own HOME and TMPDIR, and the task as JSON.
 * In a Job's pod this is the `workspace` volume the executor's container shares; in process
 * mode a folder the executor's user owns. Everything here is the executor's to rewrite, so the
 * trusted part reads back only the checkout's files, and judges them.
 */
export interface ExecutorArea {
  root: string;
  checkout: string;
  home: string;
  tmp: string;
  /** `LEVIATHAN_TASK_FILE`. */
  taskFile: string;
  /** The `execute` container's account of the command (a Job only; untrusted like the rest). */
  resultFile: string;
}

export function executorAreaAt(root: string): ExecutorArea {
  return {
    root,
    checkout: join(root, "checkout"),
    home: join(root, "home"),
    tmp: join(root, "tmp"),
    taskFile: join(root, "task.json"),
    resultFile: join(root, "result.json"),
  };
}

/** Makes the area empty and fresh, each folder handed over to the executor. */
export async function createExecutorArea(
  area: ExecutorArea,
  how: HandOver,
  task: Record<string, unknown>,
): Promise<void> {
  await rm(area.root, { recursive: true, force: true });
  await mkdir(area.root, { recursive: true, mode: 0o700 });
  handOver(area.root, "dir", false, how);
  for (const dir of [area.checkout, area.home, area.tmp]) {
    await mkdir(dir, { mode: 0o700 });
    handOver(dir, "dir", false, how);
  }
  await writeFile(area.taskFile, `${JSON.stringify(task, null, 2)}\n`, { mode: 0o644 });
  handOver(area.taskFile, "file", false, how);
}
