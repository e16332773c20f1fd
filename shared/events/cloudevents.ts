import { CloudEvent } from "cloudevents";
import { detailsFromZod, eventSchema, targetNameSchema, type ValidationDetail } from "./schema.ts";
import type { LeviathanEvent } from "./types.ts";

export const CLOUDEVENT_TYPE_PREFIX = "dev.leviathan.";
export const TARGET_EXTENSION = "leviathantarget";

/** The CloudEvent attributes we read; the SDK's `CloudEvent` satisfies it, so do plain objects. */
export interface CloudEventLike {
  id?: unknown;
  type?: unknown;
  source?: unknown;
  time?: unknown;
  subject?: unknown;
  data?: unknown;
  [extension: string]: unknown;
}

export type FromCloudEvent =
  | { ok: true; target: string; event: LeviathanEvent }
  | { ok: false; details: ValidationDetail[] };

/** Our event as a CloudEvent. */
export function toCloudEvent(
  target: string,
  event: LeviathanEvent,
): CloudEvent<Record<string, unknown>> {
  const attemptId = event.payload.attempt_id;
  return new CloudEvent<Record<string, unknown>>({
    specversion: "1.0",
    id: event.event_id,
    type: `${CLOUDEVENT_TYPE_PREFIX}${event.event_type}`,
    source: `/leviathan/${target}/${event.actor_id}`,
    time: event.timestamp,
    ...(typeof attemptId === "string" ? { subject: attemptId } : {}),
    datacontenttype: "application/json",
    data: event.payload,
    [TARGET_EXTENSION]: target,
  });
}

/**
 * A received CloudEvent as our event. `receivedAt` fills a missing `time`.
 * Paths in the details are prefixed with `prefix` (e.g. `[3]` inside a batch).
 */
export function fromCloudEvent(
  ce: CloudEventLike,
  receivedAt: string,
  prefix = "",
): FromCloudEvent {
  const at = (path: string) => (prefix ? `${prefix}.${path}` : path);
  const details: ValidationDetail[] = [];
  const type = typeof ce.type === "string" ? ce.type : "";
  if (!type.startsWith(CLOUDEVENT_TYPE_PREFIX)) {
    details.push({ path: at("type"), message: `type must start with ${CLOUDEVENT_TYPE_PREFIX}` });
  }
  const data = ce.data === undefined || ce.data === null ? {} : ce.data;
  const extension = ce[TARGET_EXTENSION];
  const dataTarget =
    data !== null && typeof data === "object" && !Array.isArray(data)
      ? (data as Record<string, unknown>).target_id
      : undefined;
  const target = extension ?? dataTarget;
  if (target === undefined) {
    details.push({
      path: at(TARGET_EXTENSION),
      message: "the target is missing: set the leviathantarget extension or data.target_id",
    });
  } else {
    const parsed = targetNameSchema.safeParse(target);
    if (!parsed.success)
      details.push(...prefixed(detailsFromZod(parsed.error), at(TARGET_EXTENSION)));
  }
  const source = typeof ce.source === "string" ? ce.source : "";
  const ownPrefix = typeof target === "string" ? `/leviathan/${target}/` : undefined;
  const actorId =
    ownPrefix && source.startsWith(ownPrefix) ? source.slice(ownPrefix.length) : source;
  const candidate = {
    event_id: ce.id,
    event_type: type.slice(CLOUDEVENT_TYPE_PREFIX.length),
    timestamp: ce.time === undefined ? receivedAt : ce.time,
    actor_id: actorId,
    payload: data,
  };
  if (details.length > 0) return { ok: false, details };
  const result = eventSchema.safeParse(candidate);
  if (!result.success) {
    return { ok: false, details: detailsFromZod(result.error).map(renameField(at)) };
  }
  return { ok: true, target: target as string, event: result.data as LeviathanEvent };
}

/** Event fields named back as the CloudEvent attributes a sender set. */
const ATTRIBUTE_OF: Record<string, string> = {
  event_id: "id",
  event_type: "type",
  timestamp: "time",
  actor_id: "source",
  payload: "data",
};

function renameField(at: (path: string) => string) {
  return (detail: ValidationDetail): ValidationDetail => {
    const [head, ...rest] = detail.path.split(".");
    const mapped = ATTRIBUTE_OF[head ?? ""] ?? head ?? "";
    return { path: at([mapped, ...rest].join(".")), message: detail.message };
  };
}

function prefixed(details: ValidationDetail[], path: string): ValidationDetail[] {
  return details.map((d) => ({ path, message: d.message }));
}
