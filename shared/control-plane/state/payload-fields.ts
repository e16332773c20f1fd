import type { StoredRecord } from "../../events/types.ts";

// Payloads were validated at ingest, but the rules never trust a field's type: a field of the
// wrong type reads as missing, so a bad record is ignored rather than crashing a projection
// (which would stop the store from accepting anything).

type Payload = Record<string, unknown>;

const EMPTY: Payload = Object.freeze({});

export function payloadOf(record: StoredRecord): Payload {
  const payload: unknown = record.event.payload;
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) return EMPTY;
  return payload as Payload;
}

/** A non-empty string field, else null. */
export function textField(payload: Payload, key: string): string | null {
  if (!Object.hasOwn(payload, key)) return null;
  const value = payload[key];
  return typeof value === "string" && value !== "" ? value : null;
}

/** A positive integer field (an attempt or PR number), else null. */
export function positiveIntegerField(payload: Payload, key: string): number | null {
  if (!Object.hasOwn(payload, key)) return null;
  const value = payload[key];
  return typeof value === "number" && Number.isSafeInteger(value) && value > 0 ? value : null;
}
