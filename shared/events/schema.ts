import { z } from "zod";
import { artifactPayloadSchema } from "./artifact-payload.ts";
import { isIsoTimestamp } from "./iso-timestamp.ts";
import {
  EVENT_TYPE_PATTERN,
  MAX_ID_LENGTH,
  MAX_TARGET_NAME_LENGTH,
  TARGET_NAME_PATTERN,
} from "./names.ts";
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

const MAX_TEXT_LENGTH = 2048;
const MAX_EVENT_TYPE_LENGTH = 200;
const MAX_BUNDLE_EVENTS = 100_000;

const optionalString = z.string().min(1).max(MAX_TEXT_LENGTH).optional();
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
    pr_url: z.string().min(1).max(MAX_TEXT_LENGTH),
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
      .max(MAX_EVENT_TYPE_LENGTH)
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
    events: z.array(eventSchema, { error: "events must be a list" }).max(MAX_BUNDLE_EVENTS),
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

// ---- the same rules without zod, for bundles that pass them ----------------------------------
//
// zod's walk and the copies it makes were the largest cost of batch ingest (about 13% of the
// control plane's CPU in a --cpu-prof of the bench). A bundle that meets every rule above, in
// the common shape (no artifacts, no `__proto__` key), is recognised by hand and used as it
// is; anything else still goes through bundleSchema, which gives the 422 details. A test holds
// the two to the same verdict on every bundle it makes, so a rule changed above and not here
// fails it.

/** An object as JSON.parse makes it, without the one key zod drops (`__proto__`). */
function isJsonObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    Object.getPrototypeOf(value) === Object.prototype &&
    !Object.hasOwn(value, "__proto__")
  );
}

function isIdentifier(value: unknown): boolean {
  return (
    typeof value === "string" &&
    value.length >= 1 &&
    value.length <= MAX_ID_LENGTH &&
    NO_CONTROL_CHARS.test(value)
  );
}

function isText(value: unknown): boolean {
  return typeof value === "string" && value.length >= 1 && value.length <= MAX_TEXT_LENGTH;
}

/** zod's `.int().positive()`: a safe integer above zero. */
function isPositiveInteger(value: unknown): boolean {
  return typeof value === "number" && Number.isSafeInteger(value) && value > 0;
}

function isAttemptPayload(payload: Record<string, unknown>): boolean {
  return (
    isIdentifier(payload.attempt_id) &&
    isIdentifier(payload.task_id) &&
    (payload.target_id === undefined || isText(payload.target_id)) &&
    (payload.attempt_number === undefined || isPositiveInteger(payload.attempt_number))
  );
}

function isPrCreatedPayload(payload: Record<string, unknown>): boolean {
  return (
    isIdentifier(payload.attempt_id) &&
    (payload.task_id === undefined || isText(payload.task_id)) &&
    isText(payload.pr_url) &&
    (payload.pr_number === undefined || isPositiveInteger(payload.pr_number))
  );
}

/** The payload rules of the commonest types, by hand; the other typed payloads use their schema. */
const PAYLOAD_CHECKS: Record<string, (payload: Record<string, unknown>) => boolean> = {
  "attempt.requested": isAttemptPayload,
  "attempt.created": isAttemptPayload,
  "attempt.started": isAttemptPayload,
  "attempt.succeeded": isAttemptPayload,
  "pr.created": isPrCreatedPayload,
};

function payloadPasses(eventType: string, payload: Record<string, unknown>): boolean {
  const check = PAYLOAD_CHECKS[eventType];
  if (check) return check(payload);
  const schema = PAYLOAD_SCHEMAS[eventType];
  return schema === undefined || schema.safeParse(payload).success;
}

function isValidBundleEvent(value: unknown, target: string): boolean {
  if (!isJsonObject(value) || Object.keys(value).length !== 5) return false;
  const { event_id, event_type, timestamp, actor_id, payload } = value;
  return (
    isIdentifier(event_id) &&
    typeof event_type === "string" &&
    event_type.length <= MAX_EVENT_TYPE_LENGTH &&
    EVENT_TYPE_PATTERN.test(event_type) &&
    typeof timestamp === "string" &&
    isIsoTimestamp(timestamp) &&
    isIdentifier(actor_id) &&
    isJsonObject(payload) &&
    depthOf(payload, MAX_PAYLOAD_DEPTH) <= MAX_PAYLOAD_DEPTH &&
    (payload.target_id === undefined || payload.target_id === target) &&
    payloadPasses(event_type, payload)
  );
}

/**
 * `body` (what JSON.parse returned) as a bundle when it certainly passes bundleSchema and has
 * no artifacts; undefined means only that bundleSchema must decide.
 */
export function plainValidBundle(body: unknown): Bundle | undefined {
  if (!isJsonObject(body) || Object.keys(body).length !== 3) return undefined;
  const { target, bundle_id, events } = body;
  if (
    typeof target !== "string" ||
    target.length > MAX_TARGET_NAME_LENGTH ||
    !TARGET_NAME_PATTERN.test(target) ||
    !isIdentifier(bundle_id) ||
    !Array.isArray(events) ||
    events.length > MAX_BUNDLE_EVENTS
  ) {
    return undefined;
  }
  for (const event of events) if (!isValidBundleEvent(event, target)) return undefined;
  return body as Bundle;
}

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
