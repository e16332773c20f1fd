// The PostgreSQL store's own behaviour beyond the shared contract: several writers on one
// database, tampering caught on open and by verify, the schema, a server restart.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPostgres, type TestPostgres } from "../../test/support/embedded-postgres.ts";
import {
  CountingProjection,
  item,
  items,
  silentLogger,
} from "../../test/support/store/store-helpers.ts";
import { deriveCheckpointKey } from "./checkpoints/checkpoint-key.ts";
import { openPostgresStore } from "./postgres/open-postgres-store.ts";
import { SCHEMA_VERSION } from "./postgres/store-schema.ts";
import { verifyPostgresStore } from "./postgres/verify-postgres-store.ts";
import { StoreCorruptError, StoreUnavailableError } from "./types.ts";

const KEY = deriveCheckpointKey("pg-store-secret-77c1");

let server: TestPostgres;
beforeAll(async () => {
  server = await startTestPostgres();
});
afterAll(async () => {
  await server?.stop();
});

async function sql(url: string, text: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(text, values);
  } finally {
    await client.end();
  }
}

function open(url: string, extra: Partial<Parameters<typeof openPostgresStore>[0]> = {}) {
  return openPostgresStore({ url, logger: silentLogger, checkpointKey: KEY, ...extra });
}

describe("several writers on one database", () => {
  it("form one gapless chain with each id once, and each sees the other's records", async () => {
    const url = await server.createDatabase();
    const [countA, countB] = [new CountingProjection(), new CountingProjection()];
    const [a, b] = await Promise.all([
      open(url, { projections: [countA] }),
      open(url, { projections: [countB] }),
    ]);
    // 40 calls to each, ids 1..120 drawn twice over: every id is raced by both writers.
    const calls = Array.from({ length: 80 }, (_, i) =>
      (i % 2 === 0 ? a : b).append(items(((i * 7) % 120) + 1, 3)),
    );
    const outcomes = await Promise.all(calls);
    const ingested = outcomes.reduce((sum, o) => sum + o.ingested, 0);
    const { rows } = await sql(url, "SELECT seq, event_id FROM leviathan_events ORDER BY seq");
    expect(rows.map((r) => Number(r.seq))).toEqual(rows.map((_, i) => i + 1));
    expect(new Set(rows.map((r) => r.event_id)).size).toBe(rows.length);
    expect(ingested).toBe(rows.length);
    await Promise.all([a.refresh(), b.refresh()]);
    expect(countA.snapshot()).toEqual(countB.snapshot());
    expect(countA.applied).toBe(rows.length);
    expect(a.stats()).toEqual(b.stats());
    expect(a.seqOf("event-1")).toBe(b.seqOf("event-1"));
    await Promise.all([a.close(), b.close()]);
    expect(await verifyPostgresStore(url, { key: KEY })).toMatchObject({ ok: true });
  });
});

describe("tampering", () => {
  async function storeWith(count: number): Promise<string> {
    const url = await server.createDatabase();
    const store = await open(url);
    for (let from = 1; from <= count; from += 100) await store.append(items(from, 100));
    await store.close();
    return url;
  }

  it("an edited payload stops the store from opening and fails verify, naming the seq", async () => {
    const url = await storeWith(200);
    await sql(
      url,
      "UPDATE leviathan_events SET record = replace(record, 'attempt-150', 'attempt-666') WHERE seq = 150",
    );
    await expect(open(url)).rejects.toThrow(StoreCorruptError);
    await expect(open(url)).rejects.toThrow(/leviathan_events:150: hash does not match/);
    expect(await verifyPostgresStore(url)).toMatchObject({
      ok: false,
      problem: { kind: "records", line: 150 },
    });
  });

  it("a deleted row is a broken sequence", async () => {
    const url = await storeWith(100);
    await sql(url, "DELETE FROM leviathan_events WHERE seq = 40");
    await expect(open(url)).rejects.toThrow(/leviathan_events:40: seq 41 where 40 was expected/);
    expect((await verifyPostgresStore(url)).problem).toMatchObject({ kind: "records", line: 40 });
  });

  it("a cut tail with the head row moved back is caught by the checkpoints", async () => {
    const url = await storeWith(1_200);
    const { rows } = await sql(url, "SELECT hash FROM leviathan_events WHERE seq = 900");
    await sql(url, "DELETE FROM leviathan_events WHERE seq > 900");
    await sql(url, "UPDATE leviathan_store_head SET seq = 900, hash = $1", [rows[0].hash]);
    // The chain alone is whole: without the key nothing is wrong.
    expect((await verifyPostgresStore(url)).ok).toBe(true);
    await expect(open(url)).rejects.toThrow(/records 901\.\.1200 are missing/);
    expect((await verifyPostgresStore(url, { key: KEY })).problem).toMatchObject({
      kind: "checkpoints",
    });
    expect((await verifyPostgresStore(url, { expectSeq: 1_000 })).problem).toMatchObject({
      kind: "expect-seq",
    });
  });

  it("columns edited apart from the record fail verify", async () => {
    const url = await storeWith(100);
    await sql(url, "UPDATE leviathan_events SET target = 'elsewhere' WHERE seq = 7");
    expect((await verifyPostgresStore(url)).problem).toMatchObject({ kind: "records", line: 7 });
  });
});

describe("schema", () => {
  it("is created once by writers opening together, and a newer one is refused", async () => {
    const url = await server.createDatabase();
    const stores = await Promise.all(Array.from({ length: 4 }, () => open(url)));
    await Promise.all(stores.map((store) => store.close()));
    const { rows } = await sql(url, "SELECT version FROM leviathan_store_schema");
    expect(rows.map((r) => r.version)).toEqual([SCHEMA_VERSION]);
    await sql(url, "INSERT INTO leviathan_store_schema (version) VALUES ($1)", [
      SCHEMA_VERSION + 1,
    ]);
    await expect(open(url)).rejects.toThrow(/newer than this Leviathan knows/);
  });
});

describe("a writer that ignores the head row", () => {
  it("can neither fork the chain at a stored seq nor store an id a second time", async () => {
    const url = await server.createDatabase();
    const store = await open(url);
    await store.append(items(1, 3));
    await store.close();
    const { rows } = await sql(url, "SELECT * FROM leviathan_events WHERE seq = 3");
    const row = rows[0];
    const insert = (seq: number, eventId: string) =>
      sql(
        url,
        "INSERT INTO leviathan_events (seq, event_id, target, event_type, received_at, hash, record) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        [seq, eventId, row.target, row.event_type, row.received_at, row.hash, row.record],
      );
    await expect(insert(3, "another-id")).rejects.toThrow(/duplicate key/);
    await expect(insert(4, "event-2")).rejects.toThrow(/duplicate key/);
    await expect(insert(0, "zero")).rejects.toThrow(/check constraint/);
    expect((await verifyPostgresStore(url)).ok).toBe(true);
  });
});

describe("a PostgreSQL restart", () => {
  it("fails or retries appends meanwhile, never half-stores one, and the store goes on after", async () => {
    const url = await server.createDatabase();
    const store = await open(url);
    await store.append(items(1, 10));
    const during = Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => store.append([item(100 + i)])),
    );
    await server.restart();
    const results = await during;
    for (const result of results) {
      if (result.status === "rejected") expect(result.reason).toBeInstanceOf(StoreUnavailableError);
    }
    const acknowledged = results.filter((r) => r.status === "fulfilled").length;
    const after = await store.append([item(500)]);
    expect(after.ingested).toBe(1);
    const { rows } = await sql(url, "SELECT event_id FROM leviathan_events");
    const ids = new Set(rows.map((r) => r.event_id as string));
    expect(rows.length).toBeGreaterThanOrEqual(11 + acknowledged);
    results.forEach((result, i) => {
      if (result.status === "fulfilled") expect(ids.has(`event-${100 + i}`)).toBe(true);
    });
    await store.close();
    expect((await verifyPostgresStore(url, { key: KEY })).ok).toBe(true);
  });
});

describe("secrets", () => {
  it("never shows the URL's password in errors or its location", async () => {
    const url = await server.createDatabase();
    const wrong = url.replace(":leviathan-test@", ":wrong-password-SECRET@");
    const error = await open(wrong).catch((e: unknown) => e as Error);
    expect(String(error)).not.toContain("wrong-password-SECRET");
    const store = await open(url);
    expect(store.location).not.toContain("leviathan-test");
    await store.close();
  });
});
