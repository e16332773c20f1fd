import { type FileHandle, open, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { errorMessage } from "../../errors/error-message.ts";
import type { StoredRecord } from "../../events/types.ts";
import type { Logger } from "../../log/logger.ts";
import {
  CHECKPOINT_FILE,
  openCheckpointFile,
  readCheckpointFile,
} from "../checkpoints/checkpoint-file.ts";
import { macMatches } from "../checkpoints/checkpoint-mac.ts";
import { type Projection, type StoreCheckpoint, StoreCorruptError } from "../types.ts";
import { type AckWatermark, openAckWatermark, readAckWatermark } from "./ack-watermark.ts";
import { witnessProblem } from "./check-witness.ts";
import { EventIdTable, eventIdHash } from "./event-id-table.ts";
import { crcOfFilePrefix } from "./file-crc.ts";
import {
  FROM_THE_BEGINNING,
  NOTHING_UNACKNOWLEDGED,
  type ScanStart,
  type SegmentState,
  scanSegments,
  type TornTail,
} from "./scan-segments.ts";
import { lineOfSync, segmentIndexOf } from "./segment-index.ts";
import { fsyncDir, syncFile } from "./segment-io.ts";
import { listSegmentNames } from "./segment-name.ts";
import { SeqColumn } from "./seq-column.ts";
import {
  readSnapshotFile,
  removeSnapshotLeftovers,
  type SnapshotHead,
  type SnapshotReader,
} from "./store-snapshot.ts";

export interface RecoveryContext {
  dir: string;
  projections: readonly Projection[];
  logger: Logger;
  /** Without it the checkpoints are neither read nor checked. */
  checkpointKey: Buffer | undefined;
}

/** What the store starts from: the committed state of the files, every projection caught up. */
export interface RecoveredStore {
  segments: SegmentState[];
  offsets: SeqColumn;
  ids: EventIdTable;
  lastSeq: number;
  lastHash: string | null;
  totalBytes: number;
  watermark: AckWatermark;
  /** The seq of the snapshot restored, -1 when none was. */
  snapshotSeq: number;
  checkpointFile: { handle: FileHandle; size: number } | undefined;
  latestCheckpoint: StoreCheckpoint | null;
  /** Records read and verified one by one (those after the snapshot, or all of them). */
  verified: number;
}

interface IndexState {
  segments: SegmentState[];
  offsets: SeqColumn;
  ids: EventIdTable;
  lastSeq: number;
}

/**
 * Recovery on open: restores the snapshot if the files still match it, verifies every record
 * after it (or all of them) while replaying them into the projections, cuts a torn tail,
 * makes what a crash left unsynced durable, and refuses a store its last authentic checkpoint
 * contradicts. Throws StoreCorruptError for damage anywhere else; closes what it opened.
 */
export async function recoverNdjsonStore(context: RecoveryContext): Promise<RecoveredStore> {
  const opened: { watermark?: AckWatermark; checkpointFile?: { handle: FileHandle } } = {};
  try {
    return await recover(context, opened);
  } catch (error) {
    await opened.checkpointFile?.handle.close().catch(() => undefined);
    await opened.watermark?.close().catch(() => undefined);
    throw error;
  }
}

async function recover(
  context: RecoveryContext,
  opened: { watermark?: AckWatermark; checkpointFile?: { handle: FileHandle } },
): Promise<RecoveredStore> {
  const { dir, projections, logger } = context;
  const started = performance.now();
  await removeSnapshotLeftovers(dir);
  const names = await listSegmentNames(dir);
  // Deep copies of the empty states, to undo a snapshot restore that fails half-way.
  const initial = projections.map(
    (p) => JSON.parse(JSON.stringify([...p.snapshot()])) as unknown[],
  );
  let start = FROM_THE_BEGINNING;
  let restored: SnapshotHead | undefined;
  let state = emptyIndex();

  const read = await readSnapshotFile(dir);
  if ("snapshot" in read) {
    let problem: IndexState | string;
    try {
      problem =
        (await snapshotProblem(dir, read.snapshot, names)) ??
        restoreSnapshot(read.snapshot, projections);
    } finally {
      read.snapshot.close();
    }
    if (typeof problem !== "string") {
      restored = read.snapshot;
      state = problem;
      const last = read.snapshot.segments.at(-1);
      if (last) {
        start = {
          segmentIndex: read.snapshot.segments.length - 1,
          offset: last.bytes,
          crc: last.crc,
          lastSeq: read.snapshot.lastSeq,
          lastHash: read.snapshot.lastHash,
        } satisfies ScanStart;
      }
    } else {
      logger.warn(
        { dir, problem },
        "event store snapshot does not match the segment files; ignoring it and verifying every record",
      );
      projections.forEach((p, i) => {
        p.restore(initial[i]!);
      });
    }
  } else if ("problem" in read) {
    logger.warn(
      { dir, problem: read.problem },
      "event store snapshot unreadable; verifying every record",
    );
  }

  // An intact snapshot that could not be used still says how much history there was.
  const witness = "snapshot" in read && !restored ? read.snapshot : undefined;
  let hashAtWitness: string | undefined;
  const acknowledged = (await readAckWatermark(dir)) ?? NOTHING_UNACKNOWLEDGED;
  const scan = await scanSegments(
    dir,
    names,
    start,
    (record, offset) => {
      const idHash = eventIdHash(record.event.event_id);
      state.offsets.push(offset);
      state.ids.push(idHash);
      if (record.seq === witness?.lastSeq) hashAtWitness = record.hash;
      for (const projection of projections) projection.apply(record);
    },
    acknowledged,
  );
  if (witness) {
    const problem = witnessProblem(dir, witness, scan.segments, scan.lastSeq, hashAtWitness);
    if (problem) throw problem;
  }
  state.segments = [...(restored?.segments.slice(0, start.segmentIndex) ?? []), ...scan.segments];
  state.lastSeq = scan.lastSeq;

  if (scan.torn) await cutTornTail(dir, scan.torn, logger);
  // Records a crash left written but never fsynced are served from now on: make them durable
  // before the watermark counts them as acknowledged.
  for (const segment of scan.segments) await syncFile(join(dir, segment.name));
  const watermark = await openAckWatermark(dir, scan.lastSeq);
  opened.watermark = watermark;
  const checkpoints = context.checkpointKey
    ? await recoverCheckpoints(dir, context.checkpointKey, state, logger)
    : { file: undefined, latest: null };
  if (checkpoints.file) opened.checkpointFile = checkpoints.file;
  logger.info(
    {
      dir,
      records: scan.lastSeq,
      segments: state.segments.length,
      from_snapshot: restored?.lastSeq ?? 0,
      verified: scan.records,
      ms: Math.round(performance.now() - started),
    },
    "event store open",
  );
  return {
    ...state,
    lastHash: scan.lastHash,
    totalBytes: state.segments.reduce((sum, s) => sum + s.bytes, 0),
    watermark,
    snapshotSeq: restored?.lastSeq ?? -1,
    checkpointFile: checkpoints.file,
    latestCheckpoint: checkpoints.latest,
    verified: scan.records,
  };
}

function emptyIndex(): IndexState {
  return {
    segments: [],
    offsets: new SeqColumn(),
    ids: new EventIdTable(),
    lastSeq: 0,
  };
}

/**
 * Cuts a torn last checkpoint line, and refuses a store that its last authentic checkpoint
 * contradicts: records cut off the end, or a rewritten and re-chained history.
 */
async function recoverCheckpoints(
  dir: string,
  key: Buffer,
  state: IndexState,
  logger: Logger,
): Promise<{
  file: { handle: FileHandle; size: number } | undefined;
  latest: StoreCheckpoint | null;
}> {
  const read = await readCheckpointFile(dir);
  if ("missing" in read) return { file: undefined, latest: null };
  const path = join(dir, CHECKPOINT_FILE);
  if (read.problem) throw new StoreCorruptError(path, read.problem.line, read.problem.message);
  const file = await openCheckpointFile(dir);
  try {
    if (read.torn) {
      await file.handle.truncate(read.torn.offset);
      await file.handle.datasync();
      file.size = read.torn.offset;
      logger.warn(
        { file: path, line: read.torn.line, bytes: read.torn.bytes },
        "truncated a torn last checkpoint line (an append that never completed)",
      );
    }
    const last = read.checkpoints.at(-1);
    if (!last) return { file, latest: null };
    if (!macMatches(key, last.seq, last.hash, last.mac)) {
      // Not proof of tampering: the key may have changed. `store verify` with the key will say.
      logger.warn(
        { file: path, line: last.line, seq: last.seq },
        "the last checkpoint does not verify under this store key (was the key changed?); it is not published",
      );
      return { file, latest: null };
    }
    if (last.seq > state.lastSeq) {
      throw new StoreCorruptError(
        path,
        last.line,
        `a checkpoint authenticates seq ${last.seq}, the store ends at seq ${state.lastSeq}: ` +
          `records ${state.lastSeq + 1}..${last.seq} are missing (move ${CHECKPOINT_FILE} aside only if removing them was intended)`,
      );
    }
    const line = lineOfSync(dir, state, last.seq);
    if ((JSON.parse(line!) as StoredRecord).hash !== last.hash) {
      const segment = state.segments[segmentIndexOf(state, last.seq)]!;
      throw new StoreCorruptError(
        join(dir, segment.name),
        last.seq - segment.firstSeq + 1,
        `record ${last.seq} differs from the one ${CHECKPOINT_FILE}:${last.line} authenticates: history was rewritten`,
      );
    }
    return { file, latest: { seq: last.seq, hash: last.hash, mac: last.mac } };
  } catch (error) {
    await file.handle.close().catch(() => undefined);
    throw error;
  }
}

/** Cuts off what was never acknowledged: a torn last line, or a partly written group. */
async function cutTornTail(dir: string, torn: TornTail, logger: Logger): Promise<void> {
  for (const path of torn.removed) await rm(path, { force: true });
  if (torn.removed.length > 0) await fsyncDir(dir);
  if (!torn.removed.includes(torn.file)) {
    const handle = await open(torn.file, "r+");
    try {
      await handle.truncate(torn.offset);
      await handle.datasync();
    } finally {
      await handle.close();
    }
  }
  const fields = {
    file: torn.file,
    line: torn.line,
    bytes: torn.bytes,
    reason: torn.reason,
    removed: torn.removed,
  };
  if (torn.kind === "torn-line") {
    logger.warn(fields, "truncated a torn last line (an append that never completed)");
    return;
  }
  logger.warn(
    fields,
    "dropped the damaged tail of a group that was never acknowledged (its fsync never returned)",
  );
}

/** Why the snapshot cannot be trusted, or null when the files are exactly what it describes. */
async function snapshotProblem(
  dir: string,
  snapshot: SnapshotHead,
  names: readonly string[],
): Promise<string | null> {
  const listed = snapshot.segments;
  if (listed.length === 0) return snapshot.lastSeq === 0 ? null : "it lists no segments";
  if (listed.length > names.length) {
    return `it covers ${listed.length} segments, the directory holds ${names.length}: records it covered are gone`;
  }
  for (let i = 0; i < listed.length; i++) {
    const segment = listed[i]!;
    if (names[i] !== segment.name)
      return `segment ${i + 1} is ${names[i]}, it expects ${segment.name}`;
    const path = join(dir, segment.name);
    const size = await stat(path).then((s) => s.size);
    const isLast = i === listed.length - 1;
    if (size < segment.bytes) {
      return `${segment.name} is ${size} bytes, shorter than the ${segment.bytes} it covered: records it covered are gone`;
    }
    if (!isLast && size !== segment.bytes) {
      return `${segment.name} is ${size} bytes, it recorded ${segment.bytes} for this sealed segment`;
    }
    if ((await crcOfFilePrefix(path, segment.bytes)) !== segment.crc) {
      return `${segment.name} differs from the content it recorded (CRC-32)`;
    }
  }
  return null;
}

/** Loads the snapshot's index and projection states; the reason when it cannot. */
function restoreSnapshot(
  snapshot: SnapshotReader,
  projections: readonly Projection[],
): IndexState | string {
  try {
    const names = snapshot.projectionNames();
    for (const projection of projections) {
      if (!names.includes(projection.name)) {
        return `it has no state for projection ${projection.name}`;
      }
    }
    // In the file's order, so its parts are read front to back, once.
    const inFileOrder = [...projections].sort(
      (a, b) => names.indexOf(a.name) - names.indexOf(b.name),
    );
    for (const projection of inFileOrder) projection.restore(snapshot.parts(projection.name));
    // Parts no projection read (one no longer registered) must be intact too.
    snapshot.checkRest();
  } catch (error) {
    return `a projection could not restore its state: ${errorMessage(error)}`;
  }
  return {
    segments: [],
    offsets: new SeqColumn(snapshot.offsets),
    ids: new EventIdTable(snapshot.idHashes),
    lastSeq: snapshot.lastSeq,
  };
}
