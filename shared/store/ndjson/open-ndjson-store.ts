import { type FileHandle, mkdir, open, rm } from "node:fs/promises";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { errorMessage } from "../../errors/error-message.ts";
import type { StoredRecord } from "../../events/types.ts";
import { createLogger, type Logger } from "../../log/logger.ts";
import { AppendQueue } from "../append-queue.ts";
import { applyProjections } from "../apply-projections.ts";
import { appendCheckpoint, openCheckpointFile } from "../checkpoints/checkpoint-file.ts";
import { checkpointMac } from "../checkpoints/checkpoint-mac.ts";
import type { PendingAppend } from "../plan-records.ts";
import {
  type AppendItem,
  type AppendOutcome,
  type EventStore,
  type FsyncObserver,
  type Projection,
  type StoreCheckpoint,
  StoreFailedError,
  type StoreStats,
} from "../types.ts";
import type { AckWatermark } from "./ack-watermark.ts";
import { acquireDirectoryLock, type DirectoryLock } from "./directory-lock.ts";
import { EventIdTable, eventIdHash } from "./event-id-table.ts";
import { type GroupPlan, planGroup, type SegmentWrite } from "./plan-group.ts";
import { readLines } from "./read-lines.ts";
import { type RecoveredStore, recoverNdjsonStore } from "./recover-store.ts";
import type { SegmentState } from "./scan-segments.ts";
import {
  byteRange,
  lastSeqOfSegment,
  lineOfSync,
  type SegmentIndex,
  segmentIndexOf,
} from "./segment-index.ts";
import { fsyncDir, nodeSegmentIo, type SegmentIo } from "./segment-io.ts";
import { SeqColumn } from "./seq-column.ts";
import { type StoreSnapshot, writeSnapshotFile } from "./store-snapshot.ts";

export type FsyncMode = "group" | "per-append";

export interface NdjsonStoreOptions {
  dir: string;
  projections?: Projection[];
  /** Rotate to a new segment file past this size; default 64 MiB, at most 2 GiB. */
  segmentBytes?: number;
  /** `group` (default): concurrent appends share one fsync. `per-append` exists for benchmarks. */
  fsyncMode?: FsyncMode;
  /** Called after every segment fsync with its duration and the records it made durable. */
  onFsync?: FsyncObserver;
  logger?: Logger;
  now?: () => Date;
  /**
   * Write a snapshot (in the background) after this many new records, or after a quarter of
   * the records the last one held when that is more; default 100,000.
   */
  snapshotEveryRecords?: number;
  /** How long a snapshot capture runs before it lets other work in; default 10 ms. */
  captureSliceMs?: number;
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
const MAX_SEGMENT_BYTES = 2 * 1024 * 1024 * 1024;
export const DEFAULT_SNAPSHOT_EVERY_RECORDS = 100_000;
export const DEFAULT_CHECKPOINT_EVERY_RECORDS = 1_000;
const DEFAULT_CAPTURE_SLICE_MS = 10;

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Whether a store at `lastSeq`, whose last snapshot holds `snapshotSeq` records (-1: none),
 * takes another: after `every` records, or after a quarter of the snapshot's records when that
 * is more. A capture costs in proportion to the state, so a fixed interval would make a long
 * history pay more per record; a quarter keeps what a crash leaves to replay under a fifth.
 */
export function snapshotDue(lastSeq: number, snapshotSeq: number, every: number): boolean {
  const since = Math.max(snapshotSeq, 0);
  return lastSeq - since >= Math.max(every, Math.floor(since / 4));
}

interface OpenedWrite {
  write: SegmentWrite;
  handle: FileHandle;
  crcAfter: number;
}

/** A write's lines as one buffer, each encoded straight into place (no joined copy of them all). */
function bytesOf(write: SegmentWrite): Buffer {
  const buffer = Buffer.allocUnsafe(write.bytes);
  let at = 0;
  for (const { line } of write.records) at += buffer.write(line, at, "utf8");
  return buffer;
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
  private readonly captureSliceMs: number;
  private readonly io: SegmentIo;

  // Committed state: only what is fsynced, changed in one synchronous step per group.
  private segments: SegmentState[] = [];
  private offsets = new SeqColumn();
  private ids = new EventIdTable();
  private lastSeq = 0;
  private lastHash: string | null = null;
  private totalBytes = 0;
  private activeHandle: FileHandle | undefined;

  private readonly appends: AppendQueue;
  private failure: StoreFailedError | undefined;
  private closing = false;
  private closingDone: Promise<void> | undefined;
  private closed = false;
  private lock: DirectoryLock | undefined;

  private snapshotSeq = -1;
  private snapshotInFlight: Promise<void> | undefined;
  /** Groups and snapshot captures take turns: a capture reads the state no group may change. */
  private turns: Promise<void> = Promise.resolve();

  private readonly checkpointKey: Buffer | undefined;
  private readonly checkpointEvery: number;
  private latestCheckpoint: StoreCheckpoint | null = null;
  private checkpointFile: { handle: FileHandle; size: number } | undefined;
  private watermark: AckWatermark | undefined;

  constructor(options: NdjsonStoreOptions) {
    this.dir = options.dir;
    this.projections = options.projections ?? [];
    this.segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    // Offsets inside a segment are kept as 32-bit integers (seq-column.ts): a segment never
    // grows past its limit by more than one record, so 2 GiB leaves room for any record.
    if (!(this.segmentBytes > 0 && this.segmentBytes <= MAX_SEGMENT_BYTES)) {
      throw new RangeError(`segmentBytes must be between 1 and ${MAX_SEGMENT_BYTES}`);
    }
    this.fsyncMode = options.fsyncMode ?? "group";
    // One writer: takes everything queued, writes and fsyncs it once, then takes the next group.
    this.appends = new AppendQueue({
      location: this.dir,
      commit: (group) => this.commitGroup(group),
      failure: () => this.failure,
      fail: (reason) => this.fail(reason),
      closing: () => this.closing,
      oneAtATime: () => this.fsyncMode !== "group",
    });
    this.onFsync = options.onFsync;
    this.logger = options.logger ?? createLogger("event-store");
    this.now = options.now ?? (() => new Date());
    this.snapshotEvery = options.snapshotEveryRecords ?? DEFAULT_SNAPSHOT_EVERY_RECORDS;
    this.captureSliceMs = options.captureSliceMs ?? DEFAULT_CAPTURE_SLICE_MS;
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
    let recovered: RecoveredStore;
    try {
      recovered = await recoverNdjsonStore({
        dir: this.dir,
        projections: this.projections,
        logger: this.logger,
        checkpointKey: this.checkpointKey,
      });
    } catch (error) {
      await this.lock.release().catch(() => undefined);
      throw error;
    }
    this.segments = recovered.segments;
    this.offsets = recovered.offsets;
    this.ids = recovered.ids;
    this.lastSeq = recovered.lastSeq;
    this.lastHash = recovered.lastHash;
    this.totalBytes = recovered.totalBytes;
    this.watermark = recovered.watermark;
    this.snapshotSeq = recovered.snapshotSeq;
    this.checkpointFile = recovered.checkpointFile;
    this.latestCheckpoint = recovered.latestCheckpoint;
    if (recovered.verified >= this.snapshotEvery) this.snapshotInBackground();
  }

  /** The committed layout, for the segment-index lookups. */
  private where(): SegmentIndex {
    return { segments: this.segments, offsets: this.offsets, lastSeq: this.lastSeq };
  }

  /** Indexes the next record (seqs are contiguous: it is `lastSeq + 1` of the index). */
  private index(offset: number, idHash: number): void {
    this.offsets.push(offset);
    this.ids.push(idHash);
  }

  // ---- append (group commit) --------------------------------------------------------------

  append(items: readonly AppendItem[]): Promise<AppendOutcome> {
    return this.appends.append(items);
  }

  /** Runs `work` once every group and capture queued before it has finished. */
  private inTurn<T>(work: () => Promise<T>): Promise<T> {
    const run = this.turns.then(work);
    this.turns = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private commitGroup(group: PendingAppend[]): Promise<void> {
    return this.inTurn(() => this.commitGroupInTurn(group));
  }

  private async commitGroupInTurn(group: PendingAppend[]): Promise<void> {
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
    if (snapshotDue(this.lastSeq, this.snapshotSeq, this.snapshotEvery)) {
      this.snapshotInBackground();
    }
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
        const buffer = bytesOf(write);
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
        this.index(write.offsets[i]!, planned.idHash);
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
    applyProjections(this.projections, record, this.logger, (reason) => this.fail(reason));
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

  /** One writer per directory: the state is always current. */
  refresh(): Promise<void> {
    return Promise.resolve();
  }

  hasEvent(eventId: string): boolean {
    return this.seqOf(eventId) !== undefined;
  }

  seqOf(eventId: string): number | undefined {
    for (const seq of this.ids.candidates(eventIdHash(eventId))) {
      if (seq > this.lastSeq) continue;
      const line = lineOfSync(this.dir, this.where(), seq);
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
        const segment = segmentIndexOf(this.where(), seq);
        const last = Math.min(to, lastSeqOfSegment(this.where(), segment));
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
        const segment = segmentIndexOf(this.where(), first);
        const segmentLast = lastSeqOfSegment(this.where(), segment);
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

  private async readRun(
    files: SegmentFiles,
    index: number,
    first: number,
    last: number,
  ): Promise<StoredRecord[]> {
    const [start, end] = byteRange(this.where(), index, first, last);
    const name = this.segments[index]!.name;
    const lines = await readLines(await files.handle(name), join(this.dir, name), start, end);
    return lines.map((line) => JSON.parse(line) as StoredRecord);
  }

  // ---- snapshots and close ----------------------------------------------------------------

  /**
   * Reads the state part by part, consistent with the files at one seq: it runs in its turn
   * between groups, so appends wait until it is done, while queries and /health go on being
   * answered between its slices (at a million records the parts take about a second to
   * encode, too long to hold the event loop).
   */
  private async capture(): Promise<StoreSnapshot> {
    const head = {
      lastSeq: this.lastSeq,
      lastHash: this.lastHash,
      segments: this.segments.map((s) => ({ ...s })),
      offsets: this.offsets.copy(this.lastSeq),
      idHashes: this.ids.hashColumn(this.lastSeq),
    };
    const projections: StoreSnapshot["projections"] = [];
    let sliceStarted = performance.now();
    for (const projection of this.projections) {
      const parts: Buffer[] = [];
      for (const part of projection.snapshot()) {
        parts.push(Buffer.from(JSON.stringify(part) ?? "null", "utf8"));
        if (performance.now() - sliceStarted >= this.captureSliceMs) {
          await yieldToEventLoop();
          sliceStarted = performance.now();
        }
      }
      projections.push({ name: projection.name, parts });
    }
    return { ...head, projections };
  }

  /** Captures the state (appends wait meanwhile) and writes it. */
  private startSnapshot(): Promise<void> {
    const started = performance.now();
    // After the group being written (if any) commits, before the next one.
    const captured = this.inTurn(() => this.capture());
    const writing = captured
      .then(async (snapshot) => {
        const capturedMs = Math.round(performance.now() - started);
        const bytes = await writeSnapshotFile(this.dir, snapshot);
        this.snapshotSeq = Math.max(this.snapshotSeq, snapshot.lastSeq);
        this.logger.debug(
          {
            dir: this.dir,
            seq: snapshot.lastSeq,
            bytes,
            capture_ms: capturedMs,
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
    await this.appends.drained();
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
