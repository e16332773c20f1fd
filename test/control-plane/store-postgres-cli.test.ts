// `leviathan store migrate`, `store copy --from DIR --to URL` and `store verify URL`, run as a
// user runs them, against a real PostgreSQL: a 100,000-event NDJSON store moved with one
// command verifies and answers the same summary.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createControlPlaneState } from "../../shared/control-plane/state/create-control-plane-state.ts";
import { deriveCheckpointKey } from "../../shared/store/checkpoints/checkpoint-key.ts";
import { openNdjsonStore } from "../../shared/store/ndjson/open-ndjson-store.ts";
import { openPostgresStore } from "../../shared/store/postgres/open-postgres-store.ts";
import type { AppendItem } from "../../shared/store/types.ts";
import { startTestPostgres, type TestPostgres } from "../support/embedded-postgres.ts";
import { type CliRun, runLeviathan } from "../support/run-leviathan.ts";
import { items, silentLogger } from "../support/store/store-helpers.ts";
import { syntheticEvents } from "../support/synthetic-stream.ts";
import { tempDir } from "../support/temp-dir.ts";

const SECRET = "copy-secret-NEVER-PRINTED-4e1a";

let server: TestPostgres;
beforeAll(async () => {
  server = await startTestPostgres();
});
afterAll(async () => {
  await server?.stop();
});

function leviathan(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return runLeviathan(args, {
    env,
    unset: ["LEVIATHAN_DATA_DIR", "LEVIATHAN_STORE_URL"],
    timeoutMs: 300_000,
  });
}

async function keyFile(): Promise<string> {
  const path = join(tempDir(), "store-key");
  await writeFile(path, `${SECRET}\n`);
  return path;
}

/** An NDJSON store of `events` plausible events, checkpointed under SECRET; its summary. */
async function ndjsonStore(events: number): Promise<{ dir: string; summary: unknown }> {
  const dir = tempDir("leviathan-copy-src-");
  const state = createControlPlaneState();
  const store = await openNdjsonStore({
    dir,
    projections: [state],
    logger: silentLogger,
    checkpointKey: deriveCheckpointKey(SECRET),
  });
  let batch: AppendItem[] = [];
  let i = 0;
  for (const spec of syntheticEvents({ seed: 7, events, targets: 12, live: 40, chaos: true })) {
    i++;
    batch.push({
      target: spec.target ?? "radix",
      event: {
        event_id: spec.eventId ?? `history-${i}`,
        event_type: spec.type,
        timestamp: spec.timestamp ?? "2024-05-01T00:00:00Z",
        actor_id: spec.actor ?? "synthetic",
        payload: spec.payload ?? {},
      },
    });
    if (batch.length === 5_000) {
      await store.append(batch);
      batch = [];
    }
  }
  if (batch.length > 0) await store.append(batch);
  const summary = state.summary();
  await store.close();
  return { dir, summary };
}

describe("store copy --from DIR --to URL", () => {
  it("moves a 100,000-event store in one command; the copy verifies and answers the same summary", async () => {
    const { dir, summary } = await ndjsonStore(100_000);
    const url = await server.createDatabase();
    const key = await keyFile();
    const copy = await leviathan(["store", "copy", "--from", dir, "--to", url, "--key-file", key]);
    expect(copy.stderr).toBe("");
    expect(copy.code).toBe(0);
    expect(copy.stdout).toMatch(/^copied 100000 records and 20 checkpoints from /m);
    expect(copy.stdout).toMatch(
      /^OK postgres:\/\/.*: 100000 records in PostgreSQL, last seq 100000, .*20 checkpoints verified$/m,
    );
    expect(copy.stdout + copy.stderr).not.toContain("leviathan-test");
    expect(copy.stdout + copy.stderr).not.toContain(SECRET);

    const verify = await leviathan([
      "store",
      "verify",
      url,
      "--key-file",
      key,
      "--expect-seq",
      "100000",
    ]);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toMatch(/^OK .*100000 records in PostgreSQL, last seq 100000/m);

    const state = createControlPlaneState();
    const store = await openPostgresStore({
      url,
      projections: [state],
      logger: silentLogger,
      checkpointKey: deriveCheckpointKey(SECRET),
    });
    expect(state.summary()).toEqual(summary);
    expect(store.checkpoint()?.seq).toBe(100_000);
    await store.close();
  });

  it("resumes an interrupted copy, and refuses to copy into another store", async () => {
    const small = tempDir("leviathan-copy-small-");
    const source = await openNdjsonStore({ dir: small, logger: silentLogger });
    await source.append(items(1, 30));
    await source.close();
    const url = await server.createDatabase();
    // What an interrupted copy leaves: the first records of the same store.
    const partial = await openPostgresStore({ url, logger: silentLogger });
    await partial.append(items(1, 10));
    await partial.close();
    const resumed = await leviathan(["store", "copy", "--from", small, "--to", url]);
    // Re-created records differ in received_at from the source's: that is another history.
    expect(resumed.code).toBe(1);
    expect(resumed.stderr).toMatch(/not the start of the source/);

    const fresh = await server.createDatabase();
    const first = await leviathan(["store", "copy", "--from", small, "--to", fresh]);
    expect(first.code).toBe(0);
    const client = new pg.Client({ connectionString: fresh });
    await client.connect();
    await client.query("DELETE FROM leviathan_events WHERE seq > 12");
    await client.query(
      "UPDATE leviathan_store_head SET seq = 12, hash = (SELECT hash FROM leviathan_events WHERE seq = 12)",
    );
    await client.end();
    const again = await leviathan(["store", "copy", "--from", small, "--to", fresh]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^copied 18 records \(12 were already there\)/m);

    const bigger = tempDir("leviathan-copy-other-");
    const other = await openNdjsonStore({ dir: bigger, logger: silentLogger });
    await other.append(items(500, 5));
    await other.close();
    const refused = await leviathan(["store", "copy", "--from", bigger, "--to", fresh]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/already holds 30 records, more than the source's 5/);
  });
});

describe("store migrate and store verify URL", () => {
  it("migrate creates the schema once; verify reads LEVIATHAN_STORE_URL_FILE and names damage by seq", async () => {
    const url = await server.createDatabase();
    const first = await leviathan(["store", "migrate", url]);
    expect(first).toMatchObject({ code: 0 });
    expect(first.stdout).toMatch(/schema version 0 → 1/);
    expect(first.stdout).not.toContain("leviathan-test");
    const urlFile = join(tempDir(), "store-url");
    await writeFile(urlFile, `${url}\n`);
    const second = await leviathan(["store", "migrate"], { LEVIATHAN_STORE_URL_FILE: urlFile });
    expect(second.stdout).toMatch(/schema version 1, up to date/);

    const store = await openPostgresStore({ url, logger: silentLogger });
    await store.append(items(1, 20));
    await store.close();
    const ok = await leviathan(["store", "verify"], { LEVIATHAN_STORE_URL_FILE: urlFile });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^OK .*20 records in PostgreSQL, last seq 20/m);

    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(
      "UPDATE leviathan_events SET record = replace(record, 'task-1', 'task-9') WHERE seq = 13",
    );
    await client.end();
    const bad = await leviathan(["store", "verify", url]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/leviathan_events:13: hash does not match/);
    expect(bad.stdout).not.toContain("leviathan-test");
  });
});
