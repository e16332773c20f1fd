import { z } from "zod";
import { taskIdSchema } from "../backlog/task-fields.ts";
import { attemptIdFor } from "../events/ids.ts";
import { detailsFromZod, MAX_ID_LENGTH, targetNameSchema } from "../events/schema.ts";
import type { AttemptRequest } from "../events/types.ts";
import { BadAttemptRequestError } from "./worker-errors.ts";

/**
 * A config file's base name: it is joined to the folder of `LEVIATHAN_CONFIG`, so no slash,
 * backslash or leading dot can ever make it point anywhere else.
 */
export const CONFIG_BASENAME = /^[A-Za-z0-9][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*\.yaml$/;

const attemptRequestSchema = z
  .object(
    {
      target_id: targetNameSchema,
      task_id: taskIdSchema,
      attempt_id: z.string().min(1).max(MAX_ID_LENGTH),
      attempt_number: z
        .number({ error: "must be a whole number" })
        .int("must be a whole number")
        .positive("must be at least 1"),
      config: z
        .string({ error: "must be a string" })
        .max(255)
        .regex(
          CONFIG_BASENAME,
          "must be a config file's base name beside LEVIATHAN_CONFIG, e.g. dev.yaml",
        ),
    },
    { error: "the event's data must be a JSON object" },
  )
  .superRefine((request, ctx) => {
    // The id is derived, never chosen; one that does not match was not made by a tick.
    const expected = attemptIdFor(request.target_id, request.task_id, request.attempt_number);
    if (request.attempt_id !== expected) {
      ctx.addIssue({
        code: "custom",
        path: ["attempt_id"],
        message: `must be ${expected} for this target, task and attempt number`,
      });
    }
  });

/** The data of `attempt.requested`, checked field by field. */
export function parseAttemptRequest(data: unknown): AttemptRequest {
  const result = attemptRequestSchema.safeParse(data);
  if (result.success) return result.data;
  const details = detailsFromZod(result.error).map((d) => ({
    ...d,
    path: d.path ? `data.${d.path}` : "data",
  }));
  throw new BadAttemptRequestError(
    `bad attempt request: ${details.map((d) => `${d.path}: ${d.message}`).join("; ")}`,
    details,
  );
}
