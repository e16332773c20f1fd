import { errorMessage } from "../errors/error-message.ts";
import type { StoredRecord } from "../events/types.ts";
import { recordHash } from "./encode-record.ts";

export type LineCheck =
  | { ok: true; record: StoredRecord }
  /** `unparseable`: not JSON at all, which at the very end of the store means a torn write. */
  | { ok: false; problem: string; unparseable: boolean };

const RECORD_KEYS = ["event", "hash", "prev_hash", "received_at", "seq", "target"];
const EVENT_KEYS = ["actor_id", "event_id", "event_type", "payload", "timestamp"];
const HEX_64 = /^[0-9a-f]{64}$/;
const UTC_ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function keysDiffer(value: Record<string, unknown>, expected: readonly string[]): string | null {
  const keys = Object.keys(value).sort();
  if (keys.length === expected.length && keys.every((key, i) => key === expected[i])) return null;
  const extra = keys.filter((key) => !expected.includes(key));
  const missing = expected.filter((key) => !keys.includes(key));
  return [
    extra.length > 0 ? `unexpected field(s) ${extra.join(", ")}` : "",
    missing.length > 0 ? `missing field(s) ${missing.join(", ")}` : "",
  ]
    .filter(Boolean)
    .join("; ");
}

function shapeProblem(value: unknown): string | null {
  if (!isPlainObject(value)) return "not a record object";
  const recordKeys = keysDiffer(value, RECORD_KEYS);
  if (recordKeys) return `record has ${recordKeys}`;
  if (!Number.isSafeInteger(value.seq) || (value.seq as number) < 1)
    return "seq is not an integer ≥ 1";
  if (typeof value.received_at !== "string" || !UTC_ISO.test(value.received_at)) {
    return "received_at is not an ISO 8601 UTC time ending in Z";
  }
  if (typeof value.target !== "string") return "target is not a string";
  if (
    value.prev_hash !== null &&
    !(typeof value.prev_hash === "string" && HEX_64.test(value.prev_hash))
  ) {
    return "prev_hash is neither null nor 64 lowercase hex digits";
  }
  if (typeof value.hash !== "string" || !HEX_64.test(value.hash)) {
    return "hash is not 64 lowercase hex digits";
  }
  const event = value.event;
  if (!isPlainObject(event)) return "event is not an object";
  const eventKeys = keysDiffer(event, EVENT_KEYS);
  if (eventKeys) return `event has ${eventKeys}`;
  for (const key of ["event_id", "event_type", "timestamp", "actor_id"]) {
    if (typeof event[key] !== "string") return `event.${key} is not a string`;
  }
  if (!isPlainObject(event.payload)) return "event.payload is not an object";
  return null;
}

/**
 * Parses one line and checks everything the chain promises: shape, the next seq, the link to
 * the previous record and the record's own hash. The first failing check is the problem named.
 */
export function checkRecordLine(
  text: string,
  expectedSeq: number,
  prevHash: string | null,
): LineCheck {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return {
      ok: false,
      problem: `not valid JSON (${errorMessage(error)})`,
      unparseable: true,
    };
  }
  const shape = shapeProblem(value);
  if (shape) return { ok: false, problem: shape, unparseable: false };
  const record = value as StoredRecord;
  if (record.seq !== expectedSeq) {
    return {
      ok: false,
      problem: `seq ${record.seq} where ${expectedSeq} was expected (a record is missing, repeated or out of order)`,
      unparseable: false,
    };
  }
  if (record.prev_hash !== prevHash) {
    return {
      ok: false,
      problem:
        prevHash === null
          ? "prev_hash must be null on the first record"
          : "prev_hash does not match the previous record's hash (the chain is broken)",
      unparseable: false,
    };
  }
  if (recordHash(record) !== record.hash) {
    return {
      ok: false,
      problem: "hash does not match the record's content (the record was edited)",
      unparseable: false,
    };
  }
  return { ok: true, record };
}
