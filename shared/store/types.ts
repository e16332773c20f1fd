import type { LeviathanEvent, StoredRecord } from "../events/types.ts";

export interface AppendItem {
  target: string;
  event: LeviathanEvent;
}

export interface AppendOutcome {
  /** Events newly stored by this call. */
  ingested: number;
  /** Events whose `event_id` was already stored, or repeated within the call: not stored again. */
  duplicates: number;
  /** The new records, in order. */
  records: StoredRecord[];
}

/**
 * A projection keeps query state up to date as records are appended, and can be saved in a
 * snapshot beside the segments so a restart replays only what came after it.
 */
export interface Projection {
  /** Stable name, the key of its state inside a snapshot. */
  readonly name: string;
  /** Called once for every record, in `seq` order, exactly once per process lifetime. */
  apply(record: StoredRecord): void;
  /**
   * Its state as JSON-serialisable parts, in order. The store encodes each part as it comes and
   * reads them back one at a time, so a large state never has to exist as one text or one parse
   * tree; it consumes them synchronously, so they all describe the same record.
   */
  snapshot(): Iterable<unknown>;
  /**
   * Replaces the state with the parts a `snapshot()` gave (same version of the code). Throws and
   * leaves the state as it was when they do not fit; a damaged part throws as it is read.
   */
  restore(parts: Iterable<unknown>): void;
}

export interface StoreStats {
  records: number;
  segments: number;
  bytes: number;
  lastSeq: number;
  lastHash: string | null;
}

export type FsyncObserver = (seconds: number, records: number) => void;

/**
 * The one interface every backend implements: the NDJSON files are the embedded default; a
 * PostgreSQL backend can take over behind the same calls.
 */
export interface EventStore {
  /**
   * All-or-nothing: every item is stored (or recognised as a duplicate) and fsynced before the
   * promise resolves; on error nothing of the call is visible. Concurrent calls share fsyncs.
   */
  append(items: readonly AppendItem[]): Promise<AppendOutcome>;
  /** Records with `seq > after`, in order, at most `limit`. */
  readAfter(after: number, limit: number): Promise<StoredRecord[]>;
  /** The records with these sequence numbers, in the order given (unknown ones skipped). */
  readSeqs(seqs: readonly number[]): Promise<StoredRecord[]>;
  /**
   * Brings `stats`, `seqOf`, `checkpoint` and the projections up to every record committed
   * before the call, including other processes' appends to a shared store (a no-op for a store
   * with one writer, whose state is always current). Queries call it first.
   */
  refresh(): Promise<void>;
  hasEvent(eventId: string): boolean;
  /** The seq of the record holding this event id, if one does. */
  seqOf(eventId: string): number | undefined;
  stats(): StoreStats;
  /** The latest durable checkpoint, or null when none was written (or no key was given). */
  checkpoint(): StoreCheckpoint | null;
  close(): Promise<void>;
}

export class StoreCorruptError extends Error {
  override readonly name = "StoreCorruptError";
  constructor(
    readonly file: string,
    readonly line: number,
    readonly problem: string,
  ) {
    super(`${file}:${line}: ${problem}`);
  }
}

export class StoreLockedError extends Error {
  override readonly name = "StoreLockedError";
}

/**
 * The store refuses further appends until the process restarts (reads still work): a failed
 * write could not be undone, a projection failed, or another process took over the directory.
 */
export class StoreFailedError extends Error {
  override readonly name = "StoreFailedError";
}

/**
 * The store could not be reached (a database restarting, a network cut): nothing of the call
 * was acknowledged, and sending it again is safe — stored events come back as duplicates.
 */
export class StoreUnavailableError extends Error {
  override readonly name = "StoreUnavailableError";
}

/**
 * An authenticated statement that the store held `hash` at `seq`: `mac` is HMAC-SHA256 under
 * the store key, which is never on the volume, so whoever can rewrite the files cannot forge it.
 */
export interface StoreCheckpoint {
  seq: number;
  hash: string;
  mac: string;
}
