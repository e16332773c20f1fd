import { type FileHandle, mkdir, open, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { errorMessage } from "../../errors/error-message.ts";
import type { StoredRecord } from "../../events/types.ts";
import { createLogger, type Logger } from "../../log/logger.ts";
import {
  appendCheckpoint,
  CHECKPOINT_FILE,
  openCheckpointFile,
  readCheckpointFile,
} from "../checkpoints/checkpoint-file.ts";
import { checkpointMac, macMatches } from "../checkpoints/checkpoint-mac.ts";
import {
  type AppendItem,
  type AppendOutcome,
  type EventStore,
  type FsyncObserver,
  type Projection,
  type StoreCheckpoint,
  StoreCorruptError,
  StoreFailedError,
  type StoreStats,
} from "../types.ts";
import { type AckWatermark, openAckWatermark, readAckWatermark } from "./ack-watermark.ts";
import { witnessProblem } from "./check-witness.ts";
import { acquireDirectoryLock, type DirectoryLock } from "./directory-lock.ts";
import { EventIdTable, eventIdHash } from "./event-id-table.ts";
import { crcOfFilePrefix } from "./file-crc.ts";
import { type GroupPlan, type PendingAppend, planGroup, type SegmentWrite } from "./plan-group.ts";
import { readLines, readLinesSync } from "./read-lines.ts";
import {
  FROM_THE_BEGINNING,
  NOTHING_UNACKNOWLEDGED,
  type ScanStart,
  type SegmentState,
  scanSegments,
  type TornTail,
} from "./scan-segments.ts";
import { fsyncDir, nodeSegmentIo, type SegmentIo, syncFile } from "./segment-io.ts";
import { listSegmentNames } from "./segment-name.ts";
import { SeqColumn } from "./seq-column.ts";
import {
  readSnapshotFile,
  removeSnapshotLeftovers,
  type StoreSnapshot,
  writeSnapshotFile,
} from "./store-snapshot.ts";

export type FsyncMode = "group" | "per-append";

export interface NdjsonStoreOptions {
  dir: string;
  projections?: Projection[];
  /** Rotate to a new segment file past this size; default 64 MiB. */
  segmentBytes?: number;
  /** `group` (default): concurrent appends share one fsync. `per-append` exists for benchmarks. */
  fsyncMode?: FsyncMode;
  /** Called after every segment fsync with its duration and the records it made durable. */
  onFsync?: FsyncObserver;
  logger?: Logger;
  now?: () => Date;
  /** Write a snapshot (in the background) after this many new records; default 100,000. */
  snapshotEveryRecords?: number;
  /** How often the lock's heartbeat is refreshed; default 5 s (stale after 3 missed). */
  lockHeartbeatMs?: number;
  /** Test seam: the segment writes of the append path. */
  io?: SegmentIo;
  /** HMAC key of the checkpoints (never written anywhere); without it none are written or checked. */
  checkpointKey?: Buffer;
  /** Write a checkpoint once this many records came after the last one; default 1,000. */
  checkpointEveryRecords?: number;
}

export interface NdjsonStore extends EventStore {
  readonly dir: string;
  /** Writes a snapshot of the current state now (close() also writes one). */
  writeSnapshot(): Promise<void>;
}

export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
export const DEFAULT_SNAPSHOT_EVERY_RECORDS = 100_000;
export const DEFAULT_CHECKPOINT_EVERY_RECORDS = 1_000;

interface OpenedWrite {
  write: SegmentWrite;
  handle: FileHandle;
  crcAfter: number;
}

function itemsProblem(items: readonly AppendItem[]): string | null {
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

/** Read handles opened once per query, whatever number of runs it reads from a segment. */
class SegmentFiles {
  private readonly open = new Map<string, Promise<FileHandle>>();

  constructor(private readonly dir: string) {}

  handle(name: string): Promise<FileHandle> {
    let handle = this.open.get(name);
    if (!handle) {
      handle = open(join(this.dir, name), "r");
      this.open.set(name, handle);
    }
    return handle;
  }

  async close(): Promise<void> {
    for (const handle of this.open.values()) {
      await handle.then((h) => h.close()).catch(() => undefined);
    }
  }
}

/**
 * The embedded event store: hash-chained NDJSON segment files, group commit, an in-memory
 * index instead of rescans, snapshots for a fast restart, authenticated checkpoints, one writer
 * per directory.
 */
class NdjsonEventStore implements NdjsonStore {
  readonly dir: string;
  private readonly projections: Projection[];
  private readonly segmentBytes: number;
  private readonly fsyncMode: FsyncMode;
  private readonly onFsync: FsyncObserver | undefined;
  private readonly logger: Logger;
  private readonly now: () => Date;
  private readonly snapshotEvery: number;
  private readonly io: SegmentIo;

  // Committed state: only what is fsynced, changed in one synchronous step per group.
  private segments: SegmentState[] = [];
  private offsets = new SeqColumn();
  private idHashes = new SeqColumn();
  private ids = new EventIdTable();
  private lastSeq = 0;
  private lastHash: string | null = null;
  private totalBytes = 0;
  private activeHandle: FileHandle | undefined;

  private queue: PendingAppend[] = [];
  private draining: Promise<void> | undefined;
  private failure: StoreFailedError | undefined;
  private closing = false;
  private closingDone: Promise<void> | undefined;
  private closed = false;
  private lock: DirectoryLock | undefined;

  private snapshotSeq = -1;
  private snapshotInFlight: Promise<void> | undefined;

  private readonly checkpointKey: Buffer | undefined;
  private readonly checkpointEvery: number;
  private latestCheckpoint: StoreCheckpoint | null = null;
  private checkpointFile: { handle: FileHandle; size: number } | undefined;
  private watermark: AckWatermark | undefined;

  constructor(options: NdjsonStoreOptions) {
    this.dir = options.dir;
    this.projections = options.projections ?? [];
    this.segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    this.fsyncMode = options.fsyncMode ?? "group";
    this.onFsync = options.onFsync;
    this.logger = options.logger ?? createLogger("event-store");
    this.now = options.now ?? (() => new Date());
    this.snapshotEvery = options.snapshotEveryRecords ?? DEFAULT_SNAPSHOT_EVERY_RECORDS;
    this.io = options.io ?? nodeSegmentIo;
    this.checkpointKey = options.checkpointKey;
    this.checkpointEvery = options.checkpointEveryRecords ?? DEFAULT_CHECKPOINT_EVERY_RECORDS;
  }

  async open(lockHeartbeatMs: number | undefined): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    this.lock = await acquireDirectoryLock(this.dir, {
      ...(lockHeartbeatMs !== undefined ? { heartbeatMs: lockHeartbeatMs } : {}),
      logger: this.logger,
      onLost: (reason) => this.fail(`lost its directory lock: ${reason}`),
    });
    try {
      await this.recover();
    } catch (error) {
      await this.activeHandle?.close().catch(() => undefined);
      await this.checkpointFile?.handle.close().catch(() => undefined);
      await this.watermark?.close().catch(() => undefined);
      await this.lock.release().catch(() => undefined);
      throw error;
    }
  }

  // ---- recovery -------------------------------------------------------------------------

  private async recover(): Promise<void> {
    const started = performance.now();
    await removeSnapshotLeftovers(this.dir);
    const names = await listSegmentNames(this.dir);
    // Deep copies of the empty states, to undo a snapshot restore that fails half-way.
    const initial = this.projections.map((p) => JSON.parse(JSON.stringify(p.snapshot()) ?? "null"));
    let start = FROM_THE_BEGINNING;
    let restored: StoreSnapshot | undefined;

    const read = await readSnapshotFile(this.dir);
    if ("snapshot" in read) {
      const problem =
        (await this.snapshotProblem(read.snapshot, names)) ?? this.restoreSnapshot(read.snapshot);
      if (problem === null) {
        restored = read.snapshot;
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
        this.logger.warn(
          { dir: this.dir, problem },
          "event store snapshot does not match the segment files; ignoring it and verifying every record",
        );
        this.resetState();
        this.projections.forEach((p, i) => {
          p.restore(initial[i]);
        });
      }
    } else if ("problem" in read) {
      this.logger.warn(
        { dir: this.dir, problem: read.problem },
        "event store snapshot unreadable; verifying every record",
      );
    }

    // An intact snapshot that could not be used still says how much history there was.
    const witness = "snapshot" in read && !restored ? read.snapshot : undefined;
    let hashAtWitness: string | undefined;
    const acknowledged = (await readAckWatermark(this.dir)) ?? NOTHING_UNACKNOWLEDGED;
    const scan = await scanSegments(
      this.dir,
      names,
      start,
      (record, offset) => {
        this.index(record.seq, offset, eventIdHash(record.event.event_id));
        if (record.seq === witness?.lastSeq) hashAtWitness = record.hash;
        for (const projection of this.projections) projection.apply(record);
      },
      acknowledged,
    );
    if (witness) {
      const problem = witnessProblem(this.dir, witness, scan.segments, scan.lastSeq, hashAtWitness);
      if (problem) throw problem;
    }
    this.segments = [...(restored?.segments.slice(0, start.segmentIndex) ?? []), ...scan.segments];
    this.lastSeq = scan.lastSeq;
    this.lastHash = scan.lastHash;
    this.totalBytes = this.segments.reduce((sum, s) => sum + s.bytes, 0);

    if (scan.torn) await this.cutTornTail(scan.torn);
    // Records a crash left written but never fsynced are served from now on: make them durable
    // before the watermark counts them as acknowledged.
    for (const segment of scan.segments) await syncFile(join(this.dir, segment.name));
    this.watermark = await openAckWatermark(this.dir, this.lastSeq);
    this.snapshotSeq = restored?.lastSeq ?? -1;
    if (this.checkpointKey) await this.recoverCheckpoints(this.checkpointKey);
    this.logger.info(
      {
        dir: this.dir,
        records: this.lastSeq,
        segments: this.segments.length,
        from_snapshot: restored?.lastSeq ?? 0,
        verified: scan.records,
        ms: Math.round(performance.now() - started),
      },
      "event store open",
    );
    if (scan.records >= this.snapshotEvery) this.snapshotInBackground();
  }

  /**
   * Cuts a torn last checkpoint line, and refuses a store that its last authentic checkpoint
   * contradicts: records cut off the end, or a rewritten and re-chained history.
   */
  private async recoverCheckpoints(key: Buffer): Promise<void> {
    const read = await readCheckpointFile(this.dir);
    if ("missing" in read) return;
    const path = join(this.dir, CHECKPOINT_FILE);
    if (read.problem) throw new StoreCorruptError(path, read.problem.line, read.problem.message);
    const file = await openCheckpointFile(this.dir);
    this.checkpointFile = file;
    if (read.torn) {
      await file.handle.truncate(read.torn.offset);
      await file.handle.datasync();
      file.size = read.torn.offset;
      this.logger.warn(
        { file: path, line: read.torn.line, bytes: read.torn.bytes },
        "truncated a torn last checkpoint line (an append that never completed)",
      );
    }
    const last = read.checkpoints.at(-1);
    if (!last) return;
    if (!macMatches(key, last.seq, last.hash, last.mac)) {
      // Not proof of tampering: the key may have changed. `store verify` with the key will say.
      this.logger.warn(
        { file: path, line: last.line, seq: last.seq },
        "the last checkpoint does not verify under this store key (was the key changed?); it is not published",
      );
      return;
    }
    if (last.seq > this.lastSeq) {
      throw new StoreCorruptError(
        path,
        last.line,
        `a checkpoint authenticates seq ${last.seq}, the store ends at seq ${this.lastSeq}: ` +
          `records ${this.lastSeq + 1}..${last.seq} are missing (move ${CHECKPOINT_FILE} aside only if removing them was intended)`,
      );
    }
    const [line] = this.lineRangeSync(last.seq);
    if ((JSON.parse(line!) as StoredRecord).hash !== last.hash) {
      const segment = this.segments[this.segmentIndexOf(last.seq)]!;
      throw new StoreCorruptError(
        join(this.dir, segment.name),
        last.seq - segment.firstSeq + 1,
        `record ${last.seq} differs from the one ${CHECKPOINT_FILE}:${last.line} authenticates: history was rewritten`,
      );
    }
    this.latestCheckpoint = { seq: last.seq, hash: last.hash, mac: last.mac };
  }

  /** Cuts off what was never acknowledged: a torn last line, or a partly written group. */
  private async cutTornTail(torn: TornTail): Promise<void> {
    for (const path of torn.removed) await rm(path, { force: true });
    if (torn.removed.length > 0) await fsyncDir(this.dir);
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
      this.logger.warn(fields, "truncated a torn last line (an append that never completed)");
      return;
    }
    this.logger.warn(
      fields,
      "dropped the damaged tail of a group that was never acknowledged (its fsync never returned)",
    );
  }

  /** Why the snapshot cannot be trusted, or null when the files are exactly what it describes. */
  private async snapshotProblem(
    snapshot: StoreSnapshot,
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
      const path = join(this.dir, segment.name);
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
  private restoreSnapshot(snapshot: StoreSnapshot): string | null {
    try {
      const states = JSON.parse(snapshot.projectionsJson) as Record<string, unknown>;
      for (const projection of this.projections) {
        if (!Object.hasOwn(states, projection.name)) {
          return `it has no state for projection ${projection.name}`;
        }
      }
      for (const projection of this.projections) projection.restore(states[projection.name]);
    } catch (error) {
      return `a projection could not restore its state: ${errorMessage(error)}`;
    }
    this.offsets = new SeqColumn(snapshot.offsets);
    this.idHashes = new SeqColumn(snapshot.idHashes);
    this.ids = new EventIdTable(snapshot.lastSeq);
    for (let i = 0; i < snapshot.lastSeq; i++) this.ids.add(snapshot.idHashes[i]!, i + 1);
    return null;
  }

  private resetState(): void {
    this.offsets = new SeqColumn();
    this.idHashes = new SeqColumn();
    this.ids = new EventIdTable();
  }

  private index(seq: number, offset: number, idHash: number): void {
    this.offsets.push(offset);
    this.idHashes.push(idHash);
    this.ids.add(idHash, seq);
  }

  // ---- append (group commit) --------------------------------------------------------------

  append(items: readonly AppendItem[]): Promise<AppendOutcome> {
    if (this.closing) return Promise.reject(new Error(`event store ${this.dir} is closed`));
    if (this.failure) return Promise.reject(this.failure);
    const problem = itemsProblem(items);
    if (problem) return Promise.reject(new TypeError(problem));
    if (items.length === 0) return Promise.resolve({ ingested: 0, duplicates: 0, records: [] });
    return new Promise<AppendOutcome>((resolve, reject) => {
      this.queue.push({ items, resolve, reject });
      this.draining ??= this.drain();
    });
  }

  /** One writer: takes everything queued, writes and fsyncs it once, then takes the next group. */
  private async drain(): Promise<void> {
    // Calls made in the same tick as the first one join its group.
    await Promise.resolve();
    while (this.queue.length > 0) {
      const group = this.fsyncMode === "group" ? this.queue.splice(0) : this.queue.splice(0, 1);
      try {
        await this.commitGroup(group);
      } catch (error) {
        // A bug, not an I/O error (those are handled inside): state may be half-updated.
        this.fail(`hit an unexpected error while committing: ${errorMessage(error)}`);
        for (const call of group) call.reject(this.failure);
      }
    }
    this.draining = undefined;
  }

  private async commitGroup(group: PendingAppend[]): Promise<void> {
    if (this.failure) {
      for (const call of group) call.reject(this.failure);
      return;
    }
    const active = this.segments.at(-1);
    const plan = planGroup(group, {
      lastSeq: this.lastSeq,
      lastHash: this.lastHash,
      active,
      segmentBytes: this.segmentBytes,
      receivedAt: this.now().toISOString(),
      isStored: (id) => this.seqOf(id) !== undefined,
    });
    let opened: OpenedWrite[] = [];
    if (plan.records > 0) {
      try {
        opened = await this.writeGroup(plan);
      } catch (error) {
        const rejection =
          this.failure ??
          new Error(
            `event store ${this.dir}: append failed and was undone, nothing stored: ${errorMessage(error)}`,
            {
              cause: error,
            },
          );
        this.logger.error(
          { dir: this.dir, err: error, records: plan.records },
          "event store append failed",
        );
        for (const { call } of plan.calls) call.reject(rejection);
        return;
      }
      this.commit(plan, opened);
      // Before the acknowledgement, so no more than the interval is ever acknowledged unchecked.
      if (this.lastSeq - (this.latestCheckpoint?.seq ?? 0) >= this.checkpointEvery) {
        await this.checkpointHead();
      }
    }
    for (const { call, duplicates, records } of plan.calls) {
      call.resolve({ ingested: records.length, duplicates, records });
    }
    if (this.lastSeq - Math.max(this.snapshotSeq, 0) >= this.snapshotEvery)
      this.snapshotInBackground();
  }

  /** Writes and fsyncs each segment's new bytes in order; on any error puts every file back. */
  private async writeGroup(plan: GroupPlan): Promise<OpenedWrite[]> {
    const opened: Array<OpenedWrite & { created: boolean }> = [];
    try {
      for (const write of plan.writes) {
        const created = write.create;
        const handle = created ? await open(join(this.dir, write.name), "wx") : await this.active();
        const entry = { write, handle, crcAfter: 0, created };
        opened.push(entry);
        const buffer = Buffer.from(write.records.map((r) => r.line).join(""), "utf8");
        const segment = this.segments.at(-1);
        entry.crcAfter = crc32(buffer, created ? 0 : (segment?.crc ?? 0));
        await this.io.write(handle, buffer, write.position);
        const started = process.hrtime.bigint();
        await this.io.datasync(handle);
        this.observeFsync(Number(process.hrtime.bigint() - started) / 1e9, write.records.length);
        // The segment's directory entry must be as durable as its bytes.
        if (created) await fsyncDir(this.dir);
      }
      // Durable before any call of the group resolves: every acknowledged seq is at or below
      // it, so damage past it after a crash can only be this unacknowledged group's.
      await this.watermark!.advance(plan.lastSeq);
      return opened;
    } catch (error) {
      await this.undo(opened);
      throw error;
    }
  }

  /** Truncates touched segments to their old length and removes new ones; if that fails, stops. */
  private async undo(opened: Array<OpenedWrite & { created: boolean }>): Promise<void> {
    try {
      let removed = false;
      for (const { write, handle, created } of opened.reverse()) {
        if (created) {
          await handle.close().catch(() => undefined);
          await rm(join(this.dir, write.name), { force: true });
          removed = true;
        } else {
          await this.io.truncate(handle, write.position);
          await this.io.datasync(handle);
        }
      }
      if (removed) await fsyncDir(this.dir);
    } catch (error) {
      this.fail(
        `could not undo a failed append (${errorMessage(error)}); it refuses appends until restarted, ` +
          "and the restart repairs the files",
      );
    }
  }

  /** The fsynced group becomes visible: index, segment lengths, projections — one synchronous step. */
  private commit(plan: GroupPlan, opened: OpenedWrite[]): void {
    for (const { write, handle, crcAfter } of opened) {
      if (write.create) {
        this.segments.push({ name: write.name, firstSeq: write.firstSeq, bytes: 0, crc: 0 });
        const previous = this.activeHandle;
        this.activeHandle = handle;
        void previous?.close().catch(() => undefined);
      }
      const segment = this.segments.at(-1)!;
      segment.bytes += write.bytes;
      segment.crc = crcAfter;
      this.totalBytes += write.bytes;
      write.records.forEach((planned, i) => {
        this.index(planned.record.seq, write.offsets[i]!, planned.idHash);
      });
    }
    this.lastSeq = plan.lastSeq;
    this.lastHash = plan.lastHash;
    for (const { records } of plan.calls) {
      for (const record of records) this.applyProjections(record);
    }
  }

  /**
   * Checkpoints the committed (already fsynced) head. A failure is logged, not the append's:
   * its records are durable, and the next group or close tries again.
   */
  private async checkpointHead(): Promise<void> {
    const key = this.checkpointKey;
    const hash = this.lastHash;
    // Failed: possibly another process owns the directory now; it writes its own.
    if (!key || hash === null || this.failure) return;
    const seq = this.lastSeq;
    const checkpoint = { seq, hash, mac: checkpointMac(key, seq, hash) };
    try {
      if (!this.checkpointFile) {
        const opened = await openCheckpointFile(this.dir);
        this.checkpointFile = opened;
        if (opened.created) await fsyncDir(this.dir);
      }
      const file = this.checkpointFile;
      file.size = await appendCheckpoint(file.handle, file.size, checkpoint);
      this.latestCheckpoint = checkpoint;
    } catch (error) {
      this.logger.error({ dir: this.dir, err: error, seq }, "could not write a checkpoint");
    }
  }

  private applyProjections(record: StoredRecord): void {
    for (const projection of this.projections) {
      try {
        projection.apply(record);
      } catch (error) {
        // The record is durable and is acknowledged; the query state is not trustworthy now.
        this.logger.error(
          { err: error, projection: projection.name, seq: record.seq },
          "projection failed",
        );
        this.fail(
          `projection ${projection.name} failed at seq ${record.seq}: ${errorMessage(error)}`,
        );
      }
    }
  }

  private observeFsync(seconds: number, records: number): void {
    try {
      this.onFsync?.(seconds, records);
    } catch (error) {
      this.logger.warn({ err: error }, "fsync observer threw");
    }
  }

  private async active(): Promise<FileHandle> {
    if (this.activeHandle) return this.activeHandle;
    const segment = this.segments.at(-1);
    if (!segment) throw new Error("no active segment");
    this.activeHandle = await open(join(this.dir, segment.name), "r+");
    return this.activeHandle;
  }

  private fail(reason: string): void {
    if (this.failure) return;
    this.failure = new StoreFailedError(`event store ${this.dir} ${reason}`);
    this.logger.error({ dir: this.dir, reason }, "event store refuses further appends");
  }

  // ---- queries ----------------------------------------------------------------------------

  hasEvent(eventId: string): boolean {
    return this.seqOf(eventId) !== undefined;
  }

  seqOf(eventId: string): number | undefined {
    for (const seq of this.ids.candidates(eventIdHash(eventId))) {
      if (seq > this.lastSeq) continue;
      const [line] = this.lineRangeSync(seq);
      if (line !== undefined && (JSON.parse(line) as StoredRecord).event.event_id === eventId)
        return seq;
    }
    return undefined;
  }

  async readAfter(after: number, limit: number): Promise<StoredRecord[]> {
    this.assertOpen();
    const from = Math.max(0, Math.floor(after)) + 1;
    const to = Math.min(this.lastSeq, from - 1 + Math.floor(limit));
    const records: StoredRecord[] = [];
    const files = new SegmentFiles(this.dir);
    try {
      let seq = from;
      while (seq <= to) {
        const segment = this.segmentIndexOf(seq);
        const last = Math.min(to, this.lastSeqOfSegment(segment));
        records.push(...(await this.readRun(files, segment, seq, last)));
        seq = last + 1;
      }
    } finally {
      await files.close();
    }
    return records;
  }

  async readSeqs(seqs: readonly number[]): Promise<StoredRecord[]> {
    this.assertOpen();
    const lastSeq = this.lastSeq;
    const wanted = seqs.filter((seq) => Number.isInteger(seq) && seq >= 1 && seq <= lastSeq);
    const records: StoredRecord[] = [];
    const files = new SegmentFiles(this.dir);
    try {
      let i = 0;
      while (i < wanted.length) {
        // Consecutive seqs in one segment are read with one read.
        const first = wanted[i]!;
        const segment = this.segmentIndexOf(first);
        const segmentLast = this.lastSeqOfSegment(segment);
        let last = first;
        while (i + 1 < wanted.length && wanted[i + 1] === last + 1 && last + 1 <= segmentLast) {
          last++;
          i++;
        }
        records.push(...(await this.readRun(files, segment, first, last)));
        i++;
      }
    } finally {
      await files.close();
    }
    return records;
  }

  checkpoint(): StoreCheckpoint | null {
    return this.latestCheckpoint;
  }

  stats(): StoreStats {
    return {
      records: this.lastSeq,
      segments: this.segments.length,
      bytes: this.totalBytes,
      lastSeq: this.lastSeq,
      lastHash: this.lastHash,
    };
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`event store ${this.dir} is closed`);
  }

  private segmentIndexOf(seq: number): number {
    let low = 0;
    let high = this.segments.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (this.segments[middle]!.firstSeq <= seq) low = middle;
      else high = middle - 1;
    }
    return low;
  }

  private lastSeqOfSegment(index: number): number {
    const next = this.segments[index + 1];
    return next ? next.firstSeq - 1 : this.lastSeq;
  }

  /** Byte range [start, end) of records first..last, all in one segment. */
  private byteRange(index: number, first: number, last: number): [number, number] {
    const start = this.offsets.get(first - 1);
    const end =
      last === this.lastSeqOfSegment(index) ? this.segments[index]!.bytes : this.offsets.get(last);
    return [start, end];
  }

  private async readRun(
    files: SegmentFiles,
    index: number,
    first: number,
    last: number,
  ): Promise<StoredRecord[]> {
    const [start, end] = this.byteRange(index, first, last);
    const name = this.segments[index]!.name;
    const lines = await readLines(await files.handle(name), join(this.dir, name), start, end);
    return lines.map((line) => JSON.parse(line) as StoredRecord);
  }

  private lineRangeSync(seq: number): string[] {
    const index = this.segmentIndexOf(seq);
    const [start, end] = this.byteRange(index, seq, seq);
    return readLinesSync(join(this.dir, this.segments[index]!.name), start, end);
  }

  // ---- snapshots and close ----------------------------------------------------------------

  private capture(): StoreSnapshot {
    const states: Record<string, unknown> = {};
    for (const projection of this.projections) states[projection.name] = projection.snapshot();
    return {
      lastSeq: this.lastSeq,
      lastHash: this.lastHash,
      segments: this.segments.map((s) => ({ ...s })),
      offsets: this.offsets.copy(this.lastSeq),
      idHashes: this.idHashes.copy(this.lastSeq),
      // Serialised now: projection state keeps changing while the file is written.
      projectionsJson: JSON.stringify(states),
    };
  }

  /** Captures the state now (synchronously, consistent with the files) and writes it. */
  private startSnapshot(): Promise<void> {
    const snapshot = this.capture();
    const started = performance.now();
    const writing = writeSnapshotFile(this.dir, snapshot)
      .then((bytes) => {
        this.snapshotSeq = Math.max(this.snapshotSeq, snapshot.lastSeq);
        this.logger.debug(
          {
            dir: this.dir,
            seq: snapshot.lastSeq,
            bytes,
            ms: Math.round(performance.now() - started),
          },
          "event store snapshot written",
        );
      })
      .finally(() => {
        if (this.snapshotInFlight === writing) this.snapshotInFlight = undefined;
      });
    this.snapshotInFlight = writing;
    return writing;
  }

  private snapshotInBackground(): void {
    if (this.snapshotInFlight) return;
    this.startSnapshot().catch((error: unknown) =>
      this.logger.warn({ dir: this.dir, err: error }, "could not write the event store snapshot"),
    );
  }

  async writeSnapshot(): Promise<void> {
    this.assertOpen();
    await this.snapshotInFlight?.catch(() => undefined);
    await this.startSnapshot();
  }

  close(): Promise<void> {
    this.closingDone ??= this.shutDown();
    return this.closingDone;
  }

  private async shutDown(): Promise<void> {
    this.closing = true;
    await this.draining;
    if (this.lastSeq > (this.latestCheckpoint?.seq ?? 0)) await this.checkpointHead();
    await this.checkpointFile?.handle.close().catch(() => undefined);
    this.checkpointFile = undefined;
    await this.snapshotInFlight?.catch(() => undefined);
    try {
      if (!this.failure && this.lastSeq !== this.snapshotSeq) await this.startSnapshot();
    } catch (error) {
      this.logger.warn(
        { dir: this.dir, err: error },
        "could not write the event store snapshot at close",
      );
    }
    await this.activeHandle?.close().catch(() => undefined);
    this.activeHandle = undefined;
    await this.watermark?.close().catch(() => undefined);
    this.watermark = undefined;
    this.closed = true;
    await this.lock?.release();
  }
}

/**
 * Opens (creating if needed) the NDJSON event store in `dir`: takes the directory lock,
 * restores the snapshot if the files still match it, verifies every record after it (or all of
 * them), truncates a torn last line, and throws StoreCorruptError for damage anywhere else.
 */
export async function openNdjsonStore(options: NdjsonStoreOptions): Promise<NdjsonStore> {
  const store = new NdjsonEventStore(options);
  await store.open(options.lockHeartbeatMs);
  return store;
}
