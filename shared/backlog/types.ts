import type { ExecutorName } from "../config/schema.ts";

export const TASK_STATUSES = ["pending", "in_progress", "completed", "blocked"] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** Makes the whole backlog invalid. `path` is a field path such as `tasks[3].id`. */
export interface BacklogProblem {
  path: string;
  /** 1-based line in the YAML file; absent when the file could not be read at all. */
  line?: number;
  message: string;
}

/**
 * Something wrong inside one task. As a problem it makes only that task ineligible; as a
 * warning (an unknown field) it is only reported.
 */
export interface TaskProblem {
  /** The task's field, with an index for one element: `allowed_paths[1]`. */
  field: string;
  line?: number;
  message: string;
}

/** A task's known fields, each present only when it passed validation. */
export interface TaskFields {
  title?: string;
  ready?: boolean;
  status?: TaskStatus;
  allowed_paths?: string[];
  description?: string;
  scope?: string;
  acceptance_criteria?: string[];
  dependencies?: string[];
  executor?: ExecutorName;
}

/**
 * One task as written. `raw` keeps every field (unknown ones and the write-back's
 * `last_attempt_id`, `branch_name`, `completed_at` included); the typed fields are set only
 * when they passed validation, so a field with a problem is absent from them.
 */
export interface BacklogTask extends TaskFields {
  id: string;
  /** 0-based position in the file: selection goes in this order. */
  index: number;
  /** Line of the task's entry (its `- `). */
  line: number;
  raw: Record<string, unknown>;
  /** Any entry here makes the task ineligible. */
  problems: TaskProblem[];
  /** Unknown fields: kept in `raw`, ignored, reported by `backlog lint`. */
  warnings: TaskProblem[];
}

export type BacklogParse =
  | {
      ok: true;
      /** The file it came from, when the caller named it. */
      file?: string;
      tasks: BacklogTask[];
      /** Unknown top-level fields. */
      warnings: BacklogProblem[];
    }
  | { ok: false; file?: string; problems: BacklogProblem[] };
