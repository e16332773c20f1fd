// Shared by this folder's tests: stored records as the event store hands them to projections.

import { createControlPlaneState } from "../../shared/control-plane/state/create-control-plane-state.ts";
import type { ControlPlaneState } from "../../shared/control-plane/state/types.ts";
import type { StoredRecord } from "../../shared/events/types.ts";

export interface EventSpec {
  type: string;
  payload?: Record<string, unknown>;
  target?: string;
  /** Default: one second per seq after 2024-05-01T12:00:00Z. */
  timestamp?: string;
  actor?: string;
  eventId?: string;
}

const BASE = Date.parse("2024-05-01T12:00:00Z");

/** Records numbered from `firstSeq`; hashes are placeholders (projections never read them). */
export function recordsOf(specs: readonly EventSpec[], firstSeq = 1): StoredRecord[] {
  return specs.map((spec, i) => recordOf(spec, firstSeq + i));
}

export function recordOf(spec: EventSpec, seq: number): StoredRecord {
  const time = new Date(BASE + seq * 1000).toISOString();
  return {
    seq,
    received_at: time,
    target: spec.target ?? "radix",
    event: {
      event_id: spec.eventId ?? `ev-${seq}`,
      event_type: spec.type,
      timestamp: spec.timestamp ?? time,
      actor_id: spec.actor ?? "test",
      payload: spec.payload ?? {},
    },
    prev_hash: null,
    hash: PLACEHOLDER_HASH,
  };
}

const PLACEHOLDER_HASH = "0".repeat(64);

export function stateAfter(specs: readonly EventSpec[]): ControlPlaneState {
  const state = createControlPlaneState();
  for (const record of recordsOf(specs)) state.apply(record);
  return state;
}

/** An attempt event of task `task` on target `radix` unless the payload says otherwise. */
export function attemptEvent(
  type: string,
  attemptId: string,
  more: Record<string, unknown> & { task?: string; target?: string } = {},
): EventSpec {
  const { task = "task-1", target = "radix", ...payload } = more;
  return {
    type: `attempt.${type}`,
    target,
    payload: { attempt_id: attemptId, task_id: task, target_id: target, ...payload },
  };
}

/** The fields a target's answers carry for the console and alerting, beyond the contract's. */
export const CONSOLE_TARGET_FIELDS = [
  "last_event_at",
  "last_tick_at",
  "last_skip_reason",
  "schedule_cron",
  "circuit_breaker_failures",
  "circuit_open",
  "stalled_at",
  "stalled",
  "task_details",
  "recent_attempts",
] as const;

const SUMMARY_EXTRA_FIELDS = [
  "schedule_cron",
  "circuit_breaker_failures",
  "circuit_open",
  "stalled_at",
  "stalled",
];

/** `GET /v1/targets/:target` as the contract states it: the console's fields left out. */
export function targetContractOf(view: object): Record<string, unknown> {
  const out: Record<string, unknown> = { ...view };
  for (const key of CONSOLE_TARGET_FIELDS) delete out[key];
  return out;
}

/** A summary as the contract states it: each target without the console's fields. */
export function summaryContractOf<T extends { targets: Record<string, object> }>(summary: T): T {
  const targets: Record<string, object> = {};
  for (const [id, target] of Object.entries(summary.targets)) {
    const copy: Record<string, unknown> = { ...target };
    for (const key of SUMMARY_EXTRA_FIELDS) delete copy[key];
    targets[id] = copy;
  }
  return { ...summary, targets };
}

/** A state's snapshot parts as the store would read them back: through JSON, part by part. */
export function savedParts(state: { snapshot(): Iterable<unknown> }): unknown[] {
  return Array.from(state.snapshot(), (part) => JSON.parse(JSON.stringify(part)) as unknown);
}
