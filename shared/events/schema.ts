import { z } from "zod";
import { artifactPayloadSchema } from "./artifact-payload.ts";
import { isIsoTimestamp } from "./iso-timestamp.ts";
import { EVENT_TYPE_PATTERN, MAX_ID_LENGTH, TARGET_NAME_PATTERN } from "./names.ts";
import type { LeviathanEvent } from "./types.ts";

export { EVENT_TYPE_PATTERN, MAX_ID_LENGTH, TARGET_NAME_PATTERN } from "./names.ts";

const NO_CONTROL_CHARS = /^[^\u0000-\u001f\u007f]*$/;
export const MAX_PAYLOAD_DEPTH = 32;

function depthOf(value: unknown, limit: number): number {
  // Iterative, so a hostile payload cannot blow the stack while being measured.
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (depth > max) max = depth;
    if (max > limit) return max;
    if (node !== null && typeof node === "object") {
      for (const child of Object.values(node)) stack.push([child, depth + 1]);
    }
  }
  return max;
}

const identifier = (what: string) =>
  z
    .string({ error: `${what} must be a string` })
    .min(1, `${what} must not be empty`)
    .max(MAX_ID_LENGTH, `${what} must be at most ${MAX_ID_LENGTH} characters`)
    .regex(NO_CONTROL_CHARS, `${what} must not contain control characters`);

export const targetNameSchema = z
  .string({ error: "target must be a string" })
  .max(63, "target must be at most 63 characters")
  .regex(TARGET_NAME_PATTERN, "target must match [a-z0-9][a-z0-9-]*");

const optionalString = z.string().min(1).max(2048).optional();
const attemptPayload = z.looseObject({
  attempt_id: identifier("payload.attempt_id"),
  task_id: identifier("payload.task_id"),
  target_id: optionalString,
  attempt_number: z.number().int().positive().optional(),
});

/** Known types whose payload the projections depend on; others only need an object. */
const PAYLOAD_SCHEMAS: Record<string, z.ZodType> = {
  "attempt.requested": attemptPayload,
  "attempt.created": attemptPayload,
  "attempt.started": attemptPayload,
  "attempt.succeeded": attemptPayload,
  "attempt.failed": attemptPayload.extend({
    reason: z.string().min(1).max(200).optional(),
    failure_kind: z.enum(["task", "platform"]).optional(),
  }),
  "pr.created": z.looseObject({
    attempt_id: identifier("payload.attempt_id"),
    task_id: optionalString,
    pr_url: z.string().min(1).max(2048),
    pr_number: z.number().int().positive().optional(),
  }),
  "pr.merged": z.looseObject({ pr_url: z.string().min(1).max(2048) }),
  "pr.closed": z.looseObject({ pr_url: z.string().min(1).max(2048) }),
  "scheduler.skipped": z.looseObject({ reason: z.string().min(1).max(200) }),
  // The tick answers a redelivered ping with `decision`: it must be one the tick can print.
  "scheduler.decided": z.looseObject({
    tick_id: identifier("payload.tick_id"),
    decision: z.discriminatedUnion("action", [
      z.looseObject({
        action: z.literal("dispatch"),
        task_id: identifier("payload.decision.task_id"),
        attempt_id: identifier("payload.decision.attempt_id"),
        attempt_number: z.number().int().positive(),
      }),
      z.looseObject({ action: z.literal("skip"), reason: z.string().min(1).max(200) }),
    ]),
  }),
  "task.blocked": z.looseObject({
    task_id: identifier("payload.task_id"),
    attempts: z.number().int().nonnegative().optional(),
  }),
  "artifact.created": artifactPayloadSchema,
};

export const eventSchema = z
  .strictObject({
    event_id: identifier("event_id"),
    event_type: z
      .string({ error: "event_type must be a string" })
      .max(200)
      .regex(EVENT_TYPE_PATTERN, "event_type must look like area.action (lowercase, dotted)"),
    timestamp: z
      .string({ error: "timestamp must be a string" })
      .refine(isIsoTimestamp, "timestamp must be an ISO 8601 date-time"),
    actor_id: identifier("actor_id"),
    payload: z
      .record(z.string(), z.unknown(), { error: "payload must be an object" })
      .refine(
        (p) => depthOf(p, MAX_PAYLOAD_DEPTH) <= MAX_PAYLOAD_DEPTH,
        `payload must nest at most ${MAX_PAYLOAD_DEPTH} levels`,
      ),
  })
  .superRefine((event, ctx) => {
    const schema = PAYLOAD_SCHEMAS[event.event_type];
    if (!schema) return;
    const result = schema.safeParse(event.payload);
    if (result.success) return;
    for (const issue of result.error.issues) {
      ctx.addIssue({ code: "custom", path: ["payload", ...issue.path], message: issue.message });
    }
  });

export const artifactSchema = z.strictObject({
  sha256: z.string().regex(/^[0-9a-f]{64}$/, "sha256 must be 64 lowercase hex digits"),
  kind: identifier("kind"),
  uri: z.string().min(1).max(2048),
  size: z.number().int().nonnegative(),
});
export type Artifact = z.infer<typeof artifactSchema>;

/** The seed's bundle (`POST /v1/events/ingest`). */
export const bundleSchema = z
  .strictObject({
    target: targetNameSchema,
    bundle_id: identifier("bundle_id"),
    events: z.array(eventSchema, { error: "events must be a list" }).max(100_000),
    artifacts: z.array(artifactSchema).nullish(),
  })
  .superRefine((bundle, ctx) => {
    bundle.events.forEach((event, i) => {
      const named = event.payload.target_id;
      if (named !== undefined && named !== bundle.target) {
        ctx.addIssue({
          code: "custom",
          path: ["events", i, "payload", "target_id"],
          message: `payload.target_id ${JSON.stringify(named)} differs from the bundle's target ${JSON.stringify(bundle.target)}`,
        });
      }
    });
  });
export type Bundle = z.infer<typeof bundleSchema>;

/** One entry of a 422 reply: `{"path": "events[3].timestamp", "message": "…"}`. */
export interface ValidationDetail {
  path: string;
  message: string;
}

export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out === "" ? String(key) : `.${String(key)}`;
  }
  return out;
}

export function detailsFromZod(error: z.ZodError, prefix: PropertyKey[] = []): ValidationDetail[] {
  return error.issues.flatMap((issue) =>
    // An unknown field is named by its own path, so a 422 points at it like at any other field.
    issue.code === "unrecognized_keys"
      ? issue.keys.map((key) => ({
          path: formatPath([...prefix, ...issue.path, key]),
          message: "unknown field",
        }))
      : [{ path: formatPath([...prefix, ...issue.path]), message: issue.message }],
  );
}

export function parseEvent(value: unknown): LeviathanEvent {
  return eventSchema.parse(value) as LeviathanEvent;
}
