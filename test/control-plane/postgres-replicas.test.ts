// Several control-plane processes on one PostgreSQL database: under concurrent clients posting
// overlapping event ids, every acknowledged event is stored exactly once in one gapless chain,
// every replica answers queries with the others' appends, and the store verifies.
import pg from "pg";
import { describe, expect, it } from "vitest";
import { verifyPostgresStore } from "../../shared/store/postgres/verify-postgres-store.ts";
import { httpRequest, jsonOf } from "../support/http-request.ts";
import { loadEvent, newLedger, runLoad, usePostgresReplicas } from "../support/replica-load.ts";
import { seededRandom } from "../support/synthetic-stream.ts";

const TOKEN = "replica-token-DO-NOT-LEAK-91a2";
const AUTH = { authorization: `Bearer ${TOKEN}` };

const { server, startReplica } = usePostgresReplicas(TOKEN);

async function get(base: string, path: string): Promise<unknown> {
  const reply = await httpRequest(`${base}${path}`, { headers: AUTH });
  expect(reply.status).toBe(200);
  return jsonOf(reply);
}

/** Every stored event id with its seq, straight from the table. */
async function storedIds(url: string): Promise<Array<{ seq: number; event_id: string }>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ seq: string; event_id: string }>(
      "SELECT seq, event_id FROM leviathan_events ORDER BY seq",
    );
    return rows.map((row) => ({ seq: Number(row.seq), event_id: row.event_id }));
  } finally {
    await client.end();
  }
}

describe("two control planes on one database", () => {
  it("store every acknowledged event exactly once in one gapless chain under 32 clients", async () => {
    const url = await server().createDatabase();
    // Started together: the schema is created once, whoever gets there first.
    const [a, b] = await Promise.all([startReplica(url), startReplica(url)]);
    const ledger = newLedger();
    await runLoad({
      urls: () => [a!.url, b!.url],
      token: TOKEN,
      clients: 32,
      requests: 20,
      batch: 5,
      idPool: 1_500,
      random: seededRandom(15),
      ledger,
    });
    expect(Object.fromEntries(ledger.failures)).toEqual({});

    const stored = await storedIds(url);
    const ids = stored.map((row) => row.event_id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(stored.map((row) => row.seq)).toEqual(ids.map((_, i) => i + 1));
    for (const id of ledger.acked) expect(ids).toContain(id);
    // Each stored event was reported as ingested by exactly one reply, the rest as duplicates.
    expect(ledger.ingested).toBe(ids.length);
    expect(ledger.ingested + ledger.duplicates).toBe(ledger.requests * 5);

    // Both answer from every record, whichever replica stored it.
    const [summaryA, summaryB] = await Promise.all([
      get(a!.url, "/v1/graph/summary"),
      get(b!.url, "/v1/graph/summary"),
    ]);
    expect(summaryA).toEqual(summaryB);
    const heads = await Promise.all([get(a!.url, "/v1/store/head"), get(b!.url, "/v1/store/head")]);
    expect(heads[0]).toEqual(heads[1]);
    expect(heads[0]).toMatchObject({ seq: ids.length });

    await Promise.all([a!.kill("SIGTERM"), b!.kill("SIGTERM")]);
    const report = await verifyPostgresStore(url);
    expect(report).toMatchObject({ ok: true, records: ids.length, lastSeq: ids.length });
  });

  it("answer a query on one replica with an append acknowledged by the other just before", async () => {
    const url = await server().createDatabase();
    const [a, b] = await Promise.all([startReplica(url), startReplica(url)]);
    for (let n = 0; n < 10; n++) {
      const event = loadEvent(100_000 + n, "visibility");
      const reply = await httpRequest(`${a!.url}/v1/events/ingest`, {
        body: JSON.stringify({ target: "visibility", bundle_id: `v-${n}`, events: [event] }),
        headers: { ...AUTH, "content-type": "application/json" },
      });
      expect(reply.status).toBe(200);
      const attempt = (await get(b!.url, `/v1/attempts/${event.payload.attempt_id as string}`)) as {
        events: Array<{ event_id: string }>;
      };
      expect(attempt.events.map((e) => e.event_id)).toContain(event.event_id);
      const head = (await get(b!.url, "/v1/store/head")) as { seq: number };
      expect(head.seq).toBe(n + 1);
    }
    await Promise.all([a!.kill("SIGTERM"), b!.kill("SIGTERM")]);
  });
});
