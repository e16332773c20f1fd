import type { StoredRecord } from "../../events/types.ts";
import {
  type CallPlan,
  type PendingAppend,
  planRecords,
  type RecordsContext,
} from "../plan-records.ts";
import { eventIdHash } from "./event-id-table.ts";
import { segmentName } from "./segment-name.ts";

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

export interface GroupPlan {
  calls: CallPlan[];
  writes: SegmentWrite[];
  lastSeq: number;
  lastHash: string | null;
  records: number;
}

export interface PlanContext extends RecordsContext {
  /** The active (last) segment, if any. */
  active: { name: string; firstSeq: number; bytes: number } | undefined;
  segmentBytes: number;
}

/** The group's records (planRecords) placed into segment writes. */
export function planGroup(calls: readonly PendingAppend[], context: PlanContext): GroupPlan {
  const planned = planRecords(calls, context);
  const entries: PlannedRecord[] = planned.encoded.map(({ record, line }) => ({
    record,
    line,
    idHash: eventIdHash(record.event.event_id),
  }));
  return {
    calls: planned.calls,
    writes: placeInSegments(entries, context),
    lastSeq: planned.lastSeq,
    lastHash: planned.lastHash,
    records: entries.length,
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
