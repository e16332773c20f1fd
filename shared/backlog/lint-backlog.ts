import { parseBacklog } from "./parse-backlog.ts";
import type { BacklogProblem, BacklogTask, TaskProblem } from "./types.ts";

export interface LintResult {
  /** `file:line: task <id>: <field>: message`; any of them makes the backlog fail the lint. */
  errors: string[];
  /** Same shape, for unknown fields (kept and ignored). */
  warnings: string[];
  /** Tasks read (0 when the whole backlog is invalid). */
  taskCount: number;
  /** Tasks with `ready: true` and no problem. */
  readyCount: number;
}

function where(file: string, line: number | undefined): string {
  return line === undefined ? `${file}:` : `${file}:${line}:`;
}

function fileLine(file: string, problem: BacklogProblem): string {
  const field = problem.path ? ` ${problem.path}:` : "";
  return `${where(file, problem.line)}${field} ${problem.message}`;
}

function taskLine(file: string, task: BacklogTask, problem: TaskProblem): string {
  return `${where(file, problem.line)} task ${task.id}: ${problem.field}: ${problem.message}`;
}

/** Every problem of a backlog as printable lines. */
export function lintBacklog(text: string, file: string): LintResult {
  const backlog = parseBacklog(text, file);
  if (!backlog.ok) {
    return {
      errors: backlog.problems.map((p) => fileLine(file, p)),
      warnings: [],
      taskCount: 0,
      readyCount: 0,
    };
  }
  const errors: string[] = [];
  const warnings = backlog.warnings.map((w) => fileLine(file, w));
  for (const task of backlog.tasks) {
    for (const problem of task.problems) errors.push(taskLine(file, task, problem));
    for (const warning of task.warnings) warnings.push(taskLine(file, task, warning));
  }
  const readyCount = backlog.tasks.filter(
    (t) => t.ready === true && t.problems.length === 0,
  ).length;
  return { errors, warnings, taskCount: backlog.tasks.length, readyCount };
}
