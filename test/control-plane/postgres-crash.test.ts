// Crash safety on PostgreSQL: two control planes under continuous load with overlapping event
// ids; one of them is SIGKILLed mid-load 20 times (and restarted), then PostgreSQL itself is
// restarted under the load. Nothing acknowledged is lost, nothing is stored twice, the chain
// has no gap or fork, the store verifies, and both replicas give the same answers after.
import pg from "pg";
import { describe, expect, it } from "vitest";
import { verifyPostgresStore } from "../../shared/store/postgres/verify-postgres-store.ts";
import { httpRequest, jsonOf } from "../support/http-request.ts";
import { newLedger, runLoad, usePostgresReplicas } from "../support/replica-load.ts";
import { seededRandom } from "../support/synthetic-stream.ts";
import { waitFor } from "../support/wait-for.ts";

const TOKEN = "pg-crash-token-DO-NOT-LEAK-2f7e";
const KILLS = 20;

const { server, startReplica } = usePostgresReplicas(TOKEN);

async function storedIds(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ seq: string; event_id: string }>(
      "SELECT seq, event_id FROM leviathan_events ORDER BY seq",
    );
    expect(rows.map((row) => Number(row.seq))).toEqual(rows.map((_, i) => i + 1));
    return rows.map((row) => row.event_id);
  } finally {
    await client.end();
  }
}

describe("control planes on PostgreSQL, killed and restarted under load", () => {
  it(`lose nothing acknowledged and store nothing twice through ${KILLS} SIGKILLs and a PostgreSQL restart`, async () => {
    const url = await server().createDatabase();
    const live = [await startReplica(url), await startReplica(url)];
    const ledger = newLedger();
    let stop = false;
    const load = runLoad({
      urls: () => live.map((child) => child.url),
      token: TOKEN,
      clients: 32,
      requests: 1_000_000,
      batch: 4,
      idPool: 20_000,
      random: seededRandom(1515),
      ledger,
      stop: () => stop,
    });
    try {
      for (let round = 0; round < KILLS; round++) {
        const before = ledger.acked.size;
        await waitFor(() => ledger.acked.size >= before + 40, `load before kill ${round + 1}`);
        const victim = live[round % 2]!;
        await victim.kill("SIGKILL");
        live[round % 2] = await startReplica(url);
      }
      const beforeRestart = ledger.acked.size;
      await waitFor(() => ledger.acked.size >= beforeRestart + 40, "load before the restart");
      await server().restart();
      const afterRestart = ledger.acked.size;
      await waitFor(
        () => ledger.acked.size >= afterRestart + 200,
        "acknowledgements after PostgreSQL came back",
        60_000,
      );
    } finally {
      stop = true;
      await load;
    }

    const ids = await storedIds(url);
    console.log(
      `postgres crash suite: ${ids.length} stored, ${ledger.acked.size} acknowledged ids, ` +
        `${ledger.requests} requests, unanswered ${JSON.stringify(Object.fromEntries(ledger.failures))}`,
    );
    expect(new Set(ids).size).toBe(ids.length);
    const stored = new Set(ids);
    const lost = [...ledger.acked].filter((id) => !stored.has(id));
    expect(lost).toEqual([]);
    // A kill between COMMIT and the reply stores events no reply reported: never the reverse.
    expect(ledger.ingested).toBeLessThanOrEqual(ids.length);
    // Only the kills and the restart may cost replies: no reply, or 503 while PostgreSQL was away.
    for (const status of ledger.failures.keys()) expect(["none", "503"]).toContain(status);

    const summaries = await Promise.all(
      live.map(async (child) => {
        const reply = await httpRequest(`${child.url}/v1/graph/summary`, {
          headers: { authorization: `Bearer ${TOKEN}` },
        });
        expect(reply.status).toBe(200);
        return jsonOf(reply);
      }),
    );
    expect(summaries[0]).toEqual(summaries[1]);
    await Promise.all(live.map((child) => child.kill("SIGTERM")));
    expect(await verifyPostgresStore(url)).toMatchObject({ ok: true, records: ids.length });
  });
});
