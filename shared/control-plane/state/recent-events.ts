import type { StoredRecord } from "../../events/types.ts";
import type { RecentEvent } from "../types.ts";
import { payloadOf, textField } from "./payload-fields.ts";

export const RECENT_EVENTS_LIMIT = 20;

/** The last few events of all targets, in a fixed ring so an apply never shifts an array. */
export interface RecentEvents {
  ring: Array<RecentEvent | undefined>;
  /** Events pushed in all; the next goes to `ring[pushed % limit]`. */
  pushed: number;
}

export function createRecentEvents(): RecentEvents {
  return { ring: new Array(RECENT_EVENTS_LIMIT).fill(undefined), pushed: 0 };
}

export function recentEventOf(record: StoredRecord): RecentEvent {
  return Object.freeze({
    event_id: record.event.event_id,
    timestamp: record.event.timestamp,
    event_type: record.event.event_type,
    actor_id: record.event.actor_id,
    target: record.target,
    attempt_id: textField(payloadOf(record), "attempt_id"),
  });
}

export function pushRecentEvent(recent: RecentEvents, event: RecentEvent): void {
  recent.ring[recent.pushed % recent.ring.length] = event;
  recent.pushed += 1;
}

export function newestFirst(recent: RecentEvents): RecentEvent[] {
  const size = recent.ring.length;
  const out: RecentEvent[] = [];
  for (let back = 1; back <= Math.min(recent.pushed, size); back++) {
    const event = recent.ring[(recent.pushed - back) % size];
    if (event) out.push(event);
  }
  return out;
}
