import * as crypto from "node:crypto";
import { canonicalJson } from "../events/canonical-json.ts";
import type { LeviathanEvent, StoredRecord } from "../events/types.ts";

export interface EncodedRecord {
  record: StoredRecord;
  /** The segment line, newline included. */
  line: string;
}

/**
 * One-shot hashing where Node has it (20.12 and later): no Hash object per record, which
 * showed in the ingest profile. Earlier Node 20 releases get the same digest the long way.
 */
export const sha256Hex: (text: string) => string =
  typeof crypto.hash === "function"
    ? (text) => crypto.hash("sha256", text, "hex")
    : (text) => crypto.createHash("sha256").update(text, "utf8").digest("hex");

/** Only the seed's five fields are stored, whatever else the caller's object carries. */
export function storedEvent(event: LeviathanEvent): LeviathanEvent {
  return {
    event_id: event.event_id,
    event_type: event.event_type,
    timestamp: event.timestamp,
    actor_id: event.actor_id,
    payload: event.payload,
  };
}

/**
 * One record and its line. The canonical JSON of the record without `hash` is serialised once:
 * it is hashed, and the line is that same text with `hash` added as the last key, so writing
 * costs no second serialisation and an outside checker (parse, drop `hash`, canonicalise,
 * SHA-256) gets the same digest.
 */
export function encodeRecord(
  seq: number,
  receivedAt: string,
  target: string,
  event: LeviathanEvent,
  prevHash: string | null,
): EncodedRecord {
  const stored = storedEvent(event);
  const canonical = canonicalJson({
    event: stored,
    prev_hash: prevHash,
    received_at: receivedAt,
    seq,
    target,
  });
  const hash = sha256Hex(canonical);
  return {
    record: { seq, received_at: receivedAt, target, event: stored, prev_hash: prevHash, hash },
    line: `${canonical.slice(0, -1)},"hash":"${hash}"}\n`,
  };
}

/** The digest a record must carry: the canonical JSON of everything but `hash`. */
export function recordHash(record: StoredRecord): string {
  const { hash: _ignored, ...rest } = record;
  return sha256Hex(canonicalJson(rest));
}
