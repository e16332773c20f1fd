import type { StoredRecord } from "../events/types.ts";
import { type EncodedRecord, encodeRecord } from "./encode-record.ts";
import type { AppendItem } from "./types.ts";

/** One queued `append` call. */
export interface PendingAppend {
  items: readonly AppendItem[];
  resolve(outcome: { ingested: number; duplicates: number; records: StoredRecord[] }): void;
  reject(error: unknown): void;
}

export interface CallPlan {
  call: PendingAppend;
  duplicates: number;
  records: StoredRecord[];
}

export interface PlannedRecords {
  /** The calls that go on, each with its new records and its duplicates. */
  calls: CallPlan[];
  /** Every new record of the group, in seq order. */
  encoded: EncodedRecord[];
  lastSeq: number;
  lastHash: string | null;
}

export interface RecordsContext {
  lastSeq: number;
  lastHash: string | null;
  receivedAt: string;
  /** Whether an event id is already stored (committed before this group). */
  isStored(eventId: string): boolean;
}

/**
 * Turns a group of queued calls into chained records, whatever backend stores them. Dedupe is
 * by event id against the store and within the group, first write wins. A call whose events
 * cannot be encoded is rejected on its own and leaves no trace in the plan; the others go on.
 */
export function planRecords(
  calls: readonly PendingAppend[],
  context: RecordsContext,
): PlannedRecords {
  let seq = context.lastSeq;
  let hash = context.lastHash;
  const inGroup = new Set<string>();
  const accepted: CallPlan[] = [];
  const encoded: EncodedRecord[] = [];

  for (const call of calls) {
    const mark = { seq, hash, encoded: encoded.length };
    const added: string[] = [];
    const plan: CallPlan = { call, duplicates: 0, records: [] };
    try {
      for (const item of call.items) {
        const id = item.event.event_id;
        if (inGroup.has(id) || context.isStored(id)) {
          plan.duplicates++;
          continue;
        }
        const next = encodeRecord(seq + 1, context.receivedAt, item.target, item.event, hash);
        encoded.push(next);
        plan.records.push(next.record);
        inGroup.add(id);
        added.push(id);
        seq++;
        hash = next.record.hash;
      }
      accepted.push(plan);
    } catch (error) {
      seq = mark.seq;
      hash = mark.hash;
      encoded.length = mark.encoded;
      for (const id of added) inGroup.delete(id);
      call.reject(error);
    }
  }
  return { calls: accepted, encoded, lastSeq: seq, lastHash: hash };
}
