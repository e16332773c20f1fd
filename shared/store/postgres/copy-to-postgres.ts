import pg from "pg";
import type { StoredRecord } from "../../events/types.ts";
import { encodeRecord } from "../encode-record.ts";
import type { StoreCheckpoint } from "../types.ts";
import { redactPostgresUrl } from "./postgres-url.ts";
import { migrateStoreSchema } from "./store-schema.ts";

/** What a copy reads from: an open store (records in order) and its checkpoints. */
export interface CopySource {
  lastSeq: number;
  lastHash: string | null;
  readAfter(after: number, limit: number): Promise<StoredRecord[]>;
  checkpoints: readonly StoreCheckpoint[];
}

export interface CopyReport {
  /** Records the destination held before (a copy resumed after an interruption). */
  already: number;
  copied: number;
  checkpoints: number;
  lastSeq: number;
  lastHash: string | null;
}

/** Rows per transaction: an interrupted copy resumes after the last one committed. */
const BATCH_ROWS = 5_000;

export class CopyRefusedError extends Error {
  override readonly name = "CopyRefusedError";
}

/**
 * Copies a store's records into a PostgreSQL store, byte for byte (each record re-encoded and
 * checked to give the same hash), with its checkpoints, which stay valid under the same key.
 * The destination must be empty or hold a prefix of the source (an earlier, interrupted copy):
 * anything else is refused, so a copy never mixes two histories.
 */
export async function copyToPostgres(source: CopySource, url: string): Promise<CopyReport> {
  const location = redactPostgresUrl(url);
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    await migrateStoreSchema(client);
    const head = await client.query<{ seq: string; hash: string | null }>(
      "SELECT seq, hash FROM leviathan_store_head WHERE id = 1",
    );
    const already = Number(head.rows[0]!.seq);
    if (already > source.lastSeq) {
      throw new CopyRefusedError(
        `${location} already holds ${already} records, more than the source's ${source.lastSeq}: refusing to copy into another store`,
      );
    }
    if (already > 0) {
      const [record] = await source.readAfter(already - 1, 1);
      if (record?.hash !== head.rows[0]!.hash) {
        throw new CopyRefusedError(
          `${location} holds ${already} records that are not the start of the source (hash at seq ${already} differs): refusing to mix two histories`,
        );
      }
    }
    let after = already;
    let lastHash = head.rows[0]!.hash;
    while (after < source.lastSeq) {
      const records = await source.readAfter(after, BATCH_ROWS);
      if (records.length === 0) break;
      const columns: string[][] = [[], [], [], [], [], [], []];
      for (const record of records) {
        const encoded = encodeRecord(
          record.seq,
          record.received_at,
          record.target,
          record.event,
          record.prev_hash,
        );
        if (encoded.record.hash !== record.hash || record.prev_hash !== lastHash) {
          throw new CopyRefusedError(
            `record ${record.seq} of the source does not re-encode to its own hash: verify the source first`,
          );
        }
        columns[0]!.push(String(record.seq));
        columns[1]!.push(record.event.event_id);
        columns[2]!.push(record.target);
        columns[3]!.push(record.event.event_type);
        columns[4]!.push(record.received_at);
        columns[5]!.push(record.hash);
        columns[6]!.push(encoded.line.slice(0, -1));
        lastHash = record.hash;
      }
      const last = records.at(-1)!;
      await client.query("BEGIN");
      try {
        const locked = await client.query<{ seq: string }>(
          "SELECT seq FROM leviathan_store_head WHERE id = 1 FOR UPDATE",
        );
        if (Number(locked.rows[0]!.seq) !== after) {
          throw new CopyRefusedError(
            `${location} was written to while the copy ran: stop every control plane on it and copy again`,
          );
        }
        await client.query(
          `INSERT INTO leviathan_events (seq, event_id, target, event_type, received_at, hash, record)
           SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])`,
          columns,
        );
        await client.query("UPDATE leviathan_store_head SET seq = $1, hash = $2 WHERE id = 1", [
          last.seq,
          last.hash,
        ]);
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw error;
      }
      after = last.seq;
    }
    let checkpoints = 0;
    const covered = source.checkpoints.filter((c) => c.seq <= after);
    if (covered.length > 0) {
      const result = await client.query(
        `WITH added AS (
           INSERT INTO leviathan_checkpoints (seq, hash, mac)
           SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[]) ON CONFLICT (seq) DO NOTHING
           RETURNING seq
         )
         UPDATE leviathan_store_head SET checkpoint_seq = GREATEST(checkpoint_seq, $4::bigint) WHERE id = 1
         RETURNING (SELECT count(*) FROM added) AS added`,
        [
          covered.map((c) => String(c.seq)),
          covered.map((c) => c.hash),
          covered.map((c) => c.mac),
          covered.at(-1)!.seq,
        ],
      );
      checkpoints = Number(result.rows[0]?.added ?? 0);
    }
    return { already, copied: after - already, checkpoints, lastSeq: after, lastHash };
  } finally {
    await client.end().catch(() => undefined);
  }
}
