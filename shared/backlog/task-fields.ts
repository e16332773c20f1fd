import { z } from "zod";
import { EXECUTORS } from "../config/schema.ts";
import { TASK_STATUSES } from "./types.ts";

/** Letters, digits, `-`, `_` and single dots (none leading, trailing or doubled). */
export const TASK_ID_PATTERN = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;
export const MAX_TASK_ID_LENGTH = 100;

export const taskIdSchema = z
  .string()
  .max(MAX_TASK_ID_LENGTH, `must be at most ${MAX_TASK_ID_LENGTH} characters`)
  .regex(TASK_ID_PATTERN, "may hold only letters, digits, '-', '_' and single dots");

const text = z.string({ error: "must be a string" });
const stringList = z.array(z.string({ error: "must be a string" }), {
  error: "must be a list of strings",
});

interface FieldRule {
  required: boolean;
  schema: z.ZodType;
}

/**
 * Every field a task may have, as data: required ones must be present, the rest may be
 * missing or null. The write-back's fields are known (no warning) but not checked, since the
 * system writes them and nothing here reads them.
 */
export const TASK_FIELDS: Record<string, FieldRule> = {
  id: { required: true, schema: taskIdSchema },
  title: { required: true, schema: text.min(1, "must not be empty") },
  ready: { required: true, schema: z.boolean({ error: "must be true or false" }) },
  allowed_paths: { required: true, schema: stringList.min(1, "must list at least one path") },
  status: {
    required: false,
    schema: z.enum(TASK_STATUSES, {
      error: (issue) =>
        `${JSON.stringify(issue.input)} is not a status (pending, in_progress, completed or blocked)`,
    }),
  },
  description: { required: false, schema: text },
  scope: { required: false, schema: text },
  acceptance_criteria: { required: false, schema: stringList },
  dependencies: { required: false, schema: stringList },
  executor: {
    required: false,
    schema: z.enum(EXECUTORS, {
      error: (issue) =>
        `${JSON.stringify(issue.input)} is not an executor (${EXECUTORS.join(", ")})`,
    }),
  },
  last_attempt_id: { required: false, schema: z.unknown() },
  branch_name: { required: false, schema: z.unknown() },
  completed_at: { required: false, schema: z.unknown() },
};
