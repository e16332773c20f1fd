import type pg from "pg";

/**
 * The tables, one migration per schema version, applied in order and never edited once
 * released. `leviathan_events` holds each record's exact JSON text (what the hash covers) beside
 * the columns an operator queries; `leviathan_store_head` is the one row every append locks and
 * moves, so appends from any number of processes form one chain.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE leviathan_events (
     seq bigint PRIMARY KEY CHECK (seq >= 1),
     event_id text NOT NULL UNIQUE,
     target text NOT NULL,
     event_type text NOT NULL,
     received_at text NOT NULL,
     hash text NOT NULL,
     record text NOT NULL
   );
   CREATE TABLE leviathan_store_head (
     id smallint PRIMARY KEY CHECK (id = 1),
     seq bigint NOT NULL,
     hash text,
     checkpoint_seq bigint NOT NULL
   );
   INSERT INTO leviathan_store_head (id, seq, hash, checkpoint_seq) VALUES (1, 0, NULL, 0);
   CREATE TABLE leviathan_checkpoints (
     seq bigint PRIMARY KEY,
     hash text NOT NULL,
     mac text NOT NULL,
     written_at timestamptz NOT NULL DEFAULT now()
   );`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Any fixed 64-bit number: migrations of every process on the database take turns on it. */
const MIGRATION_LOCK = 0x6c65_7669_6174;

export interface MigrationReport {
  from: number;
  to: number;
}

/**
 * Creates or upgrades the schema in one transaction under an advisory lock, so control planes
 * starting together migrate once. Refuses a database whose schema is newer than this code.
 */
export async function migrateStoreSchema(client: pg.ClientBase): Promise<MigrationReport> {
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
    await client.query(
      "CREATE TABLE IF NOT EXISTS leviathan_store_schema (version integer NOT NULL)",
    );
    const { rows } = await client.query<{ version: number }>(
      "SELECT max(version) AS version FROM leviathan_store_schema",
    );
    const from = rows[0]?.version ?? 0;
    if (from > SCHEMA_VERSION) {
      throw new Error(
        `the event store schema is version ${from}, newer than this Leviathan knows (${SCHEMA_VERSION}): upgrade Leviathan`,
      );
    }
    for (let version = from + 1; version <= SCHEMA_VERSION; version++) {
      await client.query(MIGRATIONS[version - 1]!);
      await client.query("INSERT INTO leviathan_store_schema (version) VALUES ($1)", [version]);
    }
    await client.query("COMMIT");
    return { from, to: SCHEMA_VERSION };
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  }
}
