import type { AppendItem } from "./types.ts";

/** What makes `append`'s argument unusable, checked before anything is queued; null when fine. */
export function itemsProblem(items: readonly AppendItem[]): string | null {
  if (!Array.isArray(items)) return "append takes an array of items";
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (typeof item?.target !== "string") return `items[${i}].target must be a string`;
    const event = item.event as unknown as Record<string, unknown> | null;
    if (typeof event !== "object" || event === null) return `items[${i}].event must be an object`;
    for (const key of ["event_id", "event_type", "timestamp", "actor_id"]) {
      if (typeof event[key] !== "string") return `items[${i}].event.${key} must be a string`;
    }
    const payload = event.payload;
    if (typeof payload !== "object" || payload === null || Array.isArray(payload)) {
      return `items[${i}].event.payload must be an object`;
    }
  }
  return null;
}
