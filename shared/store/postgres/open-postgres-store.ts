import pg from "pg";
import { errorMessage } from "../../errors/error-message.ts";
import type { StoredRecord } from "../../events/types.ts";
import { createLogger, type Logger } from "../../log/logger.ts";
import { AppendQueue } from "../append-queue.ts";
import { applyProjections } from "../apply-projections.ts";
import { checkpointMac, macMatches } from "../checkpoints/checkpoint-mac.ts";
import { type PendingAppend, type PlannedRecords, planRecords } from "../plan-records.ts";
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
  StoreUnavailableError,
} from "../types.ts";
import { checkStoredText } from "./check-stored-text.ts";
import { redactPostgresUrl } from "./postgres-url.ts";
import { migrateStoreSchema } from "./store-schema.ts";

export interface PostgresStoreOptions {
  /** A postgres:// URL (user, password, host, port, database; `?sslmode=` as pg reads it). */
  url: string;
  projections?: Projection[];
  logger?: Logger;
  now?: () => Date;
  /** HMAC key of the checkpoints (never written anywhere); without it none are written or checked. */
  checkpointKey?: Buffer;
  /** Write a checkpoint once this many records came after the last one; default 1,000. */
  checkpointEveryRecords?: number;
  /** Called after every COMMIT with its duration and the records it made durable. */
  onFsync?: FsyncObserver;
  /** Connections this process keeps; default 4 (one writer at a time, the rest for reads). */
  poolSize?: number;
}

export interface PostgresStore extends EventStore {
  /** The URL without its password. */
  readonly location: string;
}

export const DEFAULT_CHECKPOINT_EVERY_RECORDS = 1_000;
/** Rows per query when catching up; bounds the memory one query holds. */
const PAGE_ROWS = 5_000;
/** Appends that failed before COMMIT was sent are retried this many times (nothing was stored). */
const APPEND_RETRIES = 5;
const RETRY_BASE_MS = 100;
const CONNECT_TIMEOUT_MS = 10_000;
/** How long other writers' records may wait before a replica that only appends reads them. */
const CATCH_UP_DELAY_MS = 200;
const STATEMENT_TIMEOUT_MS = 30_000;

const HEAD_FOR_UPDATE =
  "BEGIN; SELECT seq, hash, checkpoint_seq FROM leviathan_store_head WHERE id = 1 FOR UPDATE";

/** The group's rows, the head moved, and a checkpoint when one is due: one statement. */
const INSERT_GROUP = `
  WITH inserted AS (
    INSERT INTO leviathan_events (seq, event_id, target, event_type, received_at, hash, record)
    SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
  ), checkpoint AS (
    INSERT INTO leviathan_checkpoints (seq, hash, mac)
    SELECT $8::bigint, $9::text, $10::text WHERE $10::text IS NOT NULL
  )
  UPDATE leviathan_store_head
     SET seq = $8::bigint, hash = $9::text,
         checkpoint_seq = CASE WHEN $10::text IS NULL THEN checkpoint_seq ELSE $8::bigint END
   WHERE id = 1`;

interface HeadRow {
  seq: string;
  hash: string | null;
  checkpoint_seq: string;
}

interface CommittedRecord {
  record: StoredRecord;
  bytes: number;
}

/**
 * The PostgreSQL event store: the same records, chain, dedupe and checkpoints as the NDJSON
 * store, with any number of processes appending to one database. Every append transaction
 * locks the one head row first, so appends from all processes are serialised into one gapless
 * chain; the primary key on `seq` and the unique `event_id` make a fork or a duplicate
 * impossible even for a writer that ignored the lock. Appends of this process are grouped into
 * one transaction (group commit) and acknowledged after COMMIT.
 *
 * Projections see every record once, in seq order, including other processes' records: each
 * query first reads what was committed after the last seq applied (`refresh`).
 */
class PostgresEventStore implements PostgresStore {
  readonly location: string;
  private readonly pool: pg.Pool;
  private readonly projections: Projection[];
  private readonly logger: Logger;
  private readonly now: () => Date;
  private readonly onFsync: FsyncObserver | undefined;
  private readonly checkpointKey: Buffer | undefined;
  private readonly checkpointEvery: number;

  // Applied state: every record up to lastSeq went through the projections.
  private lastSeq = 0;
  private lastHash: string | null = null;
  private bytes = 0;
  private readonly ids = new Map<string, number>();
  private latestCheckpoint: StoreCheckpoint | null = null;
  /** This process's committed records not applied yet, in seq order: no need to read them back. */
  private own: CommittedRecord[] = [];
  /** Everything that changes the applied state runs here, one step at a time. */
  private stateChain: Promise<void> = Promise.resolve();
  private nextRefresh: Promise<void> | undefined;
  /** On open: the seq of the latest checkpoint, and the hash the record at it has. */
  private witness: { seq: number; hash?: string } | undefined;

  private readonly appends: AppendQueue;
  private failure: StoreFailedError | undefined;
  private closing = false;
  private closingDone: Promise<void> | undefined;
  private closed = false;

  constructor(options: PostgresStoreOptions) {
    this.location = redactPostgresUrl(options.url);
    // One transaction at a time: everything queued meanwhile goes into the next one.
    this.appends = new AppendQueue({
      location: this.location,
      commit: (group) => this.commitGroup(group),
      failure: () => this.failure,
      fail: (reason) => this.fail(reason),
      closing: () => this.closing,
    });
    this.projections = options.projections ?? [];
    this.logger = options.logger ?? createLogger("event-store");
    this.now = options.now ?? (() => new Date());
    this.onFsync = options.onFsync;
    this.checkpointKey = options.checkpointKey;
    this.checkpointEvery = options.checkpointEveryRecords ?? DEFAULT_CHECKPOINT_EVERY_RECORDS;
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize ?? 4,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      statement_timeout: STATEMENT_TIMEOUT_MS,
      query_timeout: STATEMENT_TIMEOUT_MS + 5_000,
      application_name: "leviathan",
    });
    // An idle connection the server closed (a restart): the pool replaces it on next use.
    this.pool.on("error", (error) => {
      this.logger.warn({ store: this.location, err: error }, "an idle store connection failed");
    });
    // A connection the server ends while it is checked out but between two queries (a restart,
    // `pg_terminate_backend`) emits `error` on the client itself, which the pool does not listen
    // to then: unheard, it would end the process. The query in flight, or the next one, fails
    // and is retried or reported as usual.
    this.pool.on("connect", (client) => {
      client.on("error", (error) => {
        this.logger.warn({ store: this.location, err: error }, "a store connection failed");
      });
    });
  }

  async open(): Promise<void> {
    const started = performance.now();
    try {
      const client = await this.pool.connect();
      try {
        const migration = await migrateStoreSchema(client);
        if (migration.from !== migration.to) {
          this.logger.info(
            { store: this.location, ...migration },
            "event store schema created or migrated",
          );
        }
      } finally {
        client.release();
      }
      // Read before the records: a checkpoint commits with (or after) the records it names, so
      // the records read next reach it even while other processes keep appending.
      const latest = this.checkpointKey ? await this.readLatestCheckpoint() : null;
      if (latest) this.witness = { seq: latest.seq };
      await this.catchUp();
      if (this.checkpointKey && latest) this.checkLatestCheckpoint(this.checkpointKey, latest);
    } catch (error) {
      await this.pool.end().catch(() => undefined);
      throw error;
    }
    this.logger.info(
      {
        store: this.location,
        records: this.lastSeq,
        verified: this.lastSeq,
        ms: Math.round(performance.now() - started),
      },
      "event store open",
    );
  }

  /** Refuses a store its last authentic checkpoint contradicts: cut off, or rewritten. */
  private checkLatestCheckpoint(key: Buffer, latest: StoreCheckpoint): void {
    if (!macMatches(key, latest.seq, latest.hash, latest.mac)) {
      this.logger.warn(
        { store: this.location, seq: latest.seq },
        "the last checkpoint does not verify under this store key (was the key changed?); it is not published",
      );
      return;
    }
    if (latest.seq > this.lastSeq) {
      throw new StoreCorruptError(
        this.table("leviathan_checkpoints"),
        latest.seq,
        `a checkpoint authenticates seq ${latest.seq}, the store ends at seq ${this.lastSeq}: ` +
          `records ${this.lastSeq + 1}..${latest.seq} are missing`,
      );
    }
    if (this.witness?.hash !== latest.hash) {
      throw new StoreCorruptError(
        this.table("leviathan_events"),
        latest.seq,
        `record ${latest.seq} differs from the one the checkpoint authenticates: history was rewritten`,
      );
    }
    this.latestCheckpoint = latest;
  }

  private async readLatestCheckpoint(): Promise<StoreCheckpoint | null> {
    const { rows } = await this.pool.query<{ seq: string; hash: string; mac: string }>(
      "SELECT seq, hash, mac FROM leviathan_checkpoints ORDER BY seq DESC LIMIT 1",
    );
    const row = rows[0];
    return row ? { seq: Number(row.seq), hash: row.hash, mac: row.mac } : null;
  }

  private table(name: string): string {
    return `${this.location} ${name}`;
  }

  // ---- keeping up with the database ------------------------------------------------------

  /** Runs `step` after every earlier step: the applied state changes in seq order only. */
  private serial(step: () => Promise<void>): Promise<void> {
    const run = this.stateChain.then(step);
    this.stateChain = run.catch(() => undefined);
    return run;
  }

  /**
   * Applies every record committed before this call, whoever wrote it. Callers arriving while
   * a read is already under way wait for the next one, which starts after they arrived.
   */
  refresh(): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`event store ${this.location} is closed`));
    this.nextRefresh ??= this.serial(async () => {
      this.nextRefresh = undefined;
      await this.catchUp();
    });
    return this.nextRefresh;
  }

  /**
   * Reads and applies what follows lastSeq, taking this process's own records from memory;
   * `ownOnly` stops once those are applied instead of asking for more.
   */
  private async catchUp(options: { ownOnly?: boolean } = {}): Promise<void> {
    let fetched = false;
    for (;;) {
      while (this.own.length > 0 && this.own[0]!.record.seq <= this.lastSeq) this.own.shift();
      const own = this.own[0];
      if (own && own.record.seq === this.lastSeq + 1) {
        this.own.shift();
        this.apply(own.record, own.bytes);
        continue;
      }
      // Up to this process's own records only: what follows them waits for the next query.
      if (options.ownOnly && !own) break;
      const bound = own ? own.record.seq - 1 : null;
      const { rows } = await this.pool.query<{ record: string }>(
        "SELECT record FROM leviathan_events WHERE seq > $1 AND ($2::bigint IS NULL OR seq <= $2) ORDER BY seq LIMIT $3",
        [this.lastSeq, bound, PAGE_ROWS],
      );
      for (const { record: text } of rows) {
        const checked = checkStoredText(text, this.lastSeq + 1, this.lastHash);
        if (!checked.ok) {
          const error = new StoreCorruptError(
            this.table("leviathan_events"),
            this.lastSeq + 1,
            checked.problem,
          );
          this.fail(error.message);
          throw error;
        }
        this.apply(checked.record, Buffer.byteLength(text, "utf8"));
      }
      fetched ||= rows.length > 0;
      if (rows.length === 0 || (rows.length < PAGE_ROWS && bound === null)) break;
    }
    // Another process may have written a checkpoint with the records just read.
    if (fetched && this.checkpointKey && this.lastSeq > 0) {
      const latest = await this.readLatestCheckpoint();
      if (
        latest &&
        latest.seq <= this.lastSeq &&
        latest.seq > (this.latestCheckpoint?.seq ?? 0) &&
        macMatches(this.checkpointKey, latest.seq, latest.hash, latest.mac)
      ) {
        this.latestCheckpoint = latest;
      }
    }
  }

  private apply(record: StoredRecord, bytes: number): void {
    if (record.seq === this.witness?.seq) this.witness.hash = record.hash;
    this.ids.set(record.event.event_id, record.seq);
    this.lastSeq = record.seq;
    this.lastHash = record.hash;
    this.bytes += bytes;
    applyProjections(this.projections, record, this.logger, (reason) => this.fail(reason));
  }

  // ---- append (group commit) -------------------------------------------------------------

  append(items: readonly AppendItem[]): Promise<AppendOutcome> {
    return this.appends.append(items);
  }

  private async commitGroup(group: PendingAppend[]): Promise<void> {
    let calls = group;
    for (let attempt = 0; ; attempt++) {
      if (this.failure) {
        for (const call of calls) call.reject(this.failure);
        return;
      }
      let committing = false;
      let client: pg.PoolClient | undefined;
      try {
        client = await this.pool.connect();
        const plan = await this.writeGroup(client, calls, () => {
          committing = true;
        });
        client.release();
        calls = plan.calls.map((c) => c.call);
        this.committed(plan);
        return;
      } catch (error) {
        // A connection in an unknown state is closed, which also rolls its transaction back.
        client?.release(true);
        if (!committing && attempt < APPEND_RETRIES && !this.closing && isTransient(error)) {
          this.logger.warn(
            { store: this.location, err: error, attempt: attempt + 1 },
            "event store append failed before COMMIT (nothing stored); retrying",
          );
          await delay(RETRY_BASE_MS * 2 ** attempt);
          continue;
        }
        this.logger.error(
          { store: this.location, err: error, committing },
          "event store append failed",
        );
        const rejection = new StoreUnavailableError(
          committing
            ? `event store ${this.location}: the connection failed during COMMIT, so whether the events were stored is unknown; sending them again is safe (stored ones are acknowledged as duplicates): ${errorMessage(error)}`
            : `event store ${this.location}: append failed, nothing stored: ${errorMessage(error)}`,
          { cause: error },
        );
        for (const call of calls) call.reject(rejection);
        return;
      }
    }
  }

  /**
   * One transaction: lock the head row (every writer queues here), find which ids are stored,
   * chain the new records after the head, insert them and move the head, COMMIT.
   */
  private async writeGroup(
    client: pg.PoolClient,
    calls: PendingAppend[],
    onCommit: () => void,
  ): Promise<PlannedRecords> {
    const results = (await client.query(HEAD_FOR_UPDATE)) as unknown as pg.QueryResult[];
    const head = results[1]!.rows[0] as HeadRow;
    const ids = [
      ...new Set(calls.flatMap((call) => call.items.map((item) => item.event.event_id))),
    ];
    const { rows } = await client.query<{ event_id: string }>(
      "SELECT event_id FROM leviathan_events WHERE event_id = ANY($1::text[])",
      [ids],
    );
    const stored = new Set(rows.map((row) => row.event_id));
    const plan = planRecords(calls, {
      lastSeq: Number(head.seq),
      lastHash: head.hash,
      receivedAt: this.now().toISOString(),
      isStored: (id) => stored.has(id),
    });
    // Only duplicates, or every call rejected as unencodable: nothing to write.
    if (plan.encoded.length === 0) {
      await client.query("ROLLBACK");
      return plan;
    }
    const checkpointSeq = Number(head.checkpoint_seq);
    const due =
      this.checkpointKey &&
      plan.lastHash !== null &&
      plan.lastSeq - checkpointSeq >= this.checkpointEvery;
    const mac = due ? checkpointMac(this.checkpointKey!, plan.lastSeq, plan.lastHash!) : null;
    const columns: [string[], string[], string[], string[], string[], string[], string[]] = [
      [],
      [],
      [],
      [],
      [],
      [],
      [],
    ];
    for (const { record, line } of plan.encoded) {
      columns[0].push(String(record.seq));
      columns[1].push(record.event.event_id);
      columns[2].push(record.target);
      columns[3].push(record.event.event_type);
      columns[4].push(record.received_at);
      columns[5].push(record.hash);
      columns[6].push(line.slice(0, -1));
    }
    await client.query(INSERT_GROUP, [...columns, plan.lastSeq, plan.lastHash, mac]);
    onCommit();
    const started = process.hrtime.bigint();
    await client.query("COMMIT");
    this.observeCommit(Number(process.hrtime.bigint() - started) / 1e9, plan.encoded.length);
    if (mac) this.latestCheckpoint = { seq: plan.lastSeq, hash: plan.lastHash!, mac };
    return plan;
  }

  /** The group is durable: acknowledge it, and apply it (with whatever came before it) in order. */
  private committed(plan: PlannedRecords): void {
    for (const { record, line } of plan.encoded) {
      this.own.push({ record, bytes: Buffer.byteLength(line, "utf8") - 1 });
    }
    for (const { call, duplicates, records } of plan.calls) {
      call.resolve({ ingested: records.length, duplicates, records });
    }
    if (plan.encoded.length === 0) return;
    // Alone on the database the group follows the applied state: applied from memory, no
    // query. After other writers' records, those are read in one go a moment later (or by the
    // next query, which reads them anyway), not once per group.
    if (
      plan.encoded[0]!.record.seq === this.lastSeq + 1 &&
      this.own.length === plan.encoded.length
    ) {
      this.serial(() => this.catchUp({ ownOnly: true })).catch((error: unknown) => {
        this.logger.warn({ store: this.location, err: error }, "could not apply an append");
      });
      return;
    }
    this.catchUpSoon();
  }

  private catchUpTimer: NodeJS.Timeout | undefined;

  private catchUpSoon(): void {
    if (this.catchUpTimer || this.closed) return;
    this.catchUpTimer = setTimeout(() => {
      this.catchUpTimer = undefined;
      if (this.closed) return;
      this.refresh().catch((error: unknown) => {
        this.logger.warn(
          { store: this.location, err: error },
          "could not catch up with other writers; the next query tries again",
        );
      });
    }, CATCH_UP_DELAY_MS);
    this.catchUpTimer.unref();
  }

  private observeCommit(seconds: number, records: number): void {
    try {
      this.onFsync?.(seconds, records);
    } catch (error) {
      this.logger.warn({ err: error }, "commit observer threw");
    }
  }

  private fail(reason: string): void {
    if (this.failure) return;
    this.failure = new StoreFailedError(`event store ${this.location} ${reason}`);
    this.logger.error({ store: this.location, reason }, "event store refuses further appends");
  }

  // ---- queries ---------------------------------------------------------------------------

  hasEvent(eventId: string): boolean {
    return this.ids.has(eventId);
  }

  seqOf(eventId: string): number | undefined {
    return this.ids.get(eventId);
  }

  async readAfter(after: number, limit: number): Promise<StoredRecord[]> {
    this.assertOpen();
    const from = Math.max(0, Math.floor(after));
    const count = Math.max(0, Math.floor(limit));
    if (count === 0) return [];
    const { rows } = await this.pool.query<{ record: string }>(
      "SELECT record FROM leviathan_events WHERE seq > $1 ORDER BY seq LIMIT $2",
      [from, count],
    );
    return rows.map((row) => JSON.parse(row.record) as StoredRecord);
  }

  async readSeqs(seqs: readonly number[]): Promise<StoredRecord[]> {
    this.assertOpen();
    const wanted = seqs.filter((seq) => Number.isSafeInteger(seq) && seq >= 1);
    if (wanted.length === 0) return [];
    const { rows } = await this.pool.query<{ seq: string; record: string }>(
      "SELECT seq, record FROM leviathan_events WHERE seq = ANY($1::bigint[])",
      [wanted],
    );
    const bySeq = new Map(rows.map((row) => [Number(row.seq), row.record]));
    const records: StoredRecord[] = [];
    for (const seq of wanted) {
      const text = bySeq.get(seq);
      if (text !== undefined) records.push(JSON.parse(text) as StoredRecord);
    }
    return records;
  }

  checkpoint(): StoreCheckpoint | null {
    return this.latestCheckpoint;
  }

  stats(): StoreStats {
    return {
      records: this.lastSeq,
      segments: 0,
      bytes: this.bytes,
      lastSeq: this.lastSeq,
      lastHash: this.lastHash,
    };
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`event store ${this.location} is closed`);
  }

  // ---- close -----------------------------------------------------------------------------

  close(): Promise<void> {
    this.closingDone ??= this.shutDown();
    return this.closingDone;
  }

  private async shutDown(): Promise<void> {
    this.closing = true;
    await this.appends.drained();
    if (this.checkpointKey && !this.failure) await this.checkpointOnClose(this.checkpointKey);
    await this.stateChain;
    clearTimeout(this.catchUpTimer);
    this.closed = true;
    await this.pool.end().catch(() => undefined);
  }

  /** Checkpoints the database's head (whoever wrote it), unless one already covers it. */
  private async checkpointOnClose(key: Buffer): Promise<void> {
    let client: pg.PoolClient | undefined;
    try {
      client = await this.pool.connect();
      const results = (await client.query(HEAD_FOR_UPDATE)) as unknown as pg.QueryResult[];
      const head = results[1]!.rows[0] as HeadRow;
      const seq = Number(head.seq);
      if (head.hash === null || seq <= Number(head.checkpoint_seq)) {
        await client.query("ROLLBACK");
        client.release();
        return;
      }
      const mac = checkpointMac(key, seq, head.hash);
      await client.query("INSERT INTO leviathan_checkpoints (seq, hash, mac) VALUES ($1, $2, $3)", [
        seq,
        head.hash,
        mac,
      ]);
      await client.query("UPDATE leviathan_store_head SET checkpoint_seq = $1 WHERE id = 1", [seq]);
      await client.query("COMMIT");
      client.release();
      if (seq <= this.lastSeq) this.latestCheckpoint = { seq, hash: head.hash, mac };
    } catch (error) {
      client?.release(true);
      this.logger.error(
        { store: this.location, err: error },
        "could not write a checkpoint at close",
      );
    }
  }
}

/**
 * Failures before COMMIT that another try may not meet: the connection (refused, reset, the
 * server shutting down or starting up), or a conflict with another writer.
 */
function isTransient(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  if (typeof code !== "string" || !/^[0-9A-Z]{5}$/.test(code)) return true;
  return (
    code.startsWith("08") ||
    code.startsWith("57P") ||
    code === "53300" ||
    code === "40001" ||
    code === "40P01" ||
    code === "23505"
  );
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Opens the PostgreSQL event store at `url`: creates or migrates the schema, reads and checks
 * every record (seq, chain, each record's hash) into the projections, and refuses a store its
 * last authentic checkpoint contradicts (StoreCorruptError, with the seq as the line).
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  const store = new PostgresEventStore(options);
  await store.open();
  return store;
}
