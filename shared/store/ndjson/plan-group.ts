import type { StoredRecord } from "../../events/types.ts";
import type { AppendItem } from "../types.ts";
import { encodeRecord } from "./encode-record.ts";
import { eventIdHash } from "./event-id-table.ts";
import { segmentName } from "./segment-name.ts";

/** One queued `append` call. */
export interface PendingAppend {
  items: readonly AppendItem[];
  resolve(outcome: { ingested: number; duplicates: number; records: StoredRecord[] }): void;
  reject(error: unknown): void;
}

export interface PlannedRecord {
  record: StoredRecord;
  line: string;
  idHash: number;
}

/** The bytes one group adds to one segment file. */
export interface SegmentWrite {
  name: string;
  firstSeq: number;
  /** A new segment file (created with O_EXCL) rather than the active one. */
  create: boolean;
  /** Where the bytes go: the segment's committed length. */
  position: number;
  records: PlannedRecord[];
  /** Offset of each record inside the segment. */
  offsets: number[];
  bytes: number;
}

export interface CallPlan {
  call: PendingAppend;
  duplicates: number;
  records: StoredRecord[];
}

export interface GroupPlan {
  calls: CallPlan[];
  writes: SegmentWrite[];
  lastSeq: number;
  lastHash: string | null;
  records: number;
}

export interface PlanContext {
  lastSeq: number;
  lastHash: string | null;
  /** The active (last) segment, if any. */
  active: { name: string; firstSeq: number; bytes: number } | undefined;
  segmentBytes: number;
  receivedAt: string;
  /** Whether an event id is already stored (committed before this group). */
  isStored(eventId: string): boolean;
}

/**
 * Turns a group of queued calls into records and segment writes. Dedupe is by event id against
 * the store and within the group, first write wins. A call whose events cannot be encoded is
 * rejected on its own and leaves no trace in the plan; the other calls go on.
 */
export function planGroup(calls: readonly PendingAppend[], context: PlanContext): GroupPlan {
  let seq = context.lastSeq;
  let hash = context.lastHash;
  const inGroup = new Set<string>();
  const accepted: CallPlan[] = [];
  const planned: PlannedRecord[] = [];

  for (const call of calls) {
    const mark = { seq, hash, planned: planned.length };
    const added: string[] = [];
    const plan: CallPlan = { call, duplicates: 0, records: [] };
    try {
      for (const item of call.items) {
        const id = item.event.event_id;
        if (inGroup.has(id) || context.isStored(id)) {
          plan.duplicates++;
          continue;
        }
        const encoded = encodeRecord(seq + 1, context.receivedAt, item.target, item.event, hash);
        planned.push({ record: encoded.record, line: encoded.line, idHash: eventIdHash(id) });
        plan.records.push(encoded.record);
        inGroup.add(id);
        added.push(id);
        seq++;
        hash = encoded.record.hash;
      }
      accepted.push(plan);
    } catch (error) {
      seq = mark.seq;
      hash = mark.hash;
      planned.length = mark.planned;
      for (const id of added) inGroup.delete(id);
      call.reject(error);
    }
  }

  return {
    calls: accepted,
    writes: placeInSegments(planned, context),
    lastSeq: seq,
    lastHash: hash,
    records: planned.length,
  };
}

/** Rotation by size: a record that would push a non-empty segment past the limit starts a new one. */
function placeInSegments(planned: readonly PlannedRecord[], context: PlanContext): SegmentWrite[] {
  const writes: SegmentWrite[] = [];
  let current: SegmentWrite | undefined;
  let size = context.active?.bytes ?? 0;
  for (const entry of planned) {
    const bytes = Buffer.byteLength(entry.line, "utf8");
    const mustRotate = current === undefined && context.active === undefined;
    if (mustRotate || (size > 0 && size + bytes > context.segmentBytes)) {
      current = {
        name: segmentName(entry.record.seq),
        firstSeq: entry.record.seq,
        create: true,
        position: 0,
        records: [],
        offsets: [],
        bytes: 0,
      };
      writes.push(current);
      size = 0;
    } else if (current === undefined) {
      const active = context.active!;
      current = {
        name: active.name,
        firstSeq: active.firstSeq,
        create: false,
        position: active.bytes,
        records: [],
        offsets: [],
        bytes: 0,
      };
      writes.push(current);
    }
    current.records.push(entry);
    current.offsets.push(size);
    current.bytes += bytes;
    size += bytes;
  }
  return writes;
}
