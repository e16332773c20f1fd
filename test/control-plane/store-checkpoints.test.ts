// Checkpoints as a real `leviathan control-plane` child writes and publishes them, and the two
// attacks a hash chain alone cannot see, done on copies of that store: history rewritten and
// re-chained, and the tail cut off. Plain `store verify` passes both; the key and the seq
// published before are what catch them.
import { execFile } from "node:child_process";
import { createHash, createHmac } from "node:crypto";
import { cp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StoreHead } from "../../shared/control-plane/types.ts";
import { canonicalJson } from "../../shared/events/canonical-json.ts";
import type { StoredRecord } from "../../shared/events/types.ts";
import {
  type ControlPlaneChild,
  LEVIATHAN_BIN,
  startControlPlaneChild,
} from "../support/control-plane-child.ts";
import { call, TOKEN, tempDir } from "./support.ts";

const SECRET = "store-key-DO-NOT-LEAK-91c3e7";
const EVENTS = 2_500;
const BUNDLE = 500;

let source: string;
let keyFile: string;
let child: ControlPlaneChild | undefined;
let head: StoreHead;
let lastRecord: StoredRecord;
let metrics: string;
let unauthenticated: number;

/** The checkpoint key as documented: HMAC-SHA256 of a fixed label, keyed with the secret. */
const KEY = createHmac("sha256", SECRET).update("leviathan event store checkpoint key v1").digest();

function mac(seq: number, hash: string): string {
  return createHmac("sha256", KEY)
    .update(`leviathan event store checkpoint v1\n${seq}\n${hash}`)
    .digest("hex");
}

beforeAll(async () => {
  source = await tempDir();
  keyFile = join(await tempDir(), "store-key");
  await writeFile(keyFile, `${SECRET}\n`);
  child = await startControlPlaneChild({
    dataDir: source,
    token: TOKEN,
    env: { LEVIATHAN_STORE_KEY_FILE: keyFile },
  });
  for (let from = 0; from < EVENTS; from += BUNDLE) {
    const events = Array.from({ length: BUNDLE }, (_, i) => ({
      event_id: `tick-${from + i + 1}`,
      event_type: "custom.tick",
      timestamp: "2024-05-01T12:00:00Z",
      actor_id: "tick",
      payload: { i: from + i + 1 },
    }));
    const reply = await call(child.url, "/v1/events/ingest", {
      body: { target: "radix", bundle_id: `b-${from}`, events },
    });
    expect(reply.json.ingested).toBe(BUNDLE);
  }
  head = (await call(child.url, "/v1/store/head")).json as StoreHead;
  lastRecord = (await call(child.url, `/v1/events?after=${EVENTS - 1}&limit=1`)).json.records[0];
  metrics = (await call(child.url, "/metrics")).text;
  unauthenticated = (await call(child.url, "/v1/store/head", { auth: null })).status;
  expect(await child.kill("SIGTERM")).toEqual({ code: 0, signal: null });
}, 60_000);

afterAll(async () => {
  await child?.kill("SIGKILL");
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function verify(dir: string, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [LEVIATHAN_BIN, "store", "verify", dir, ...args],
      { timeout: 30_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** A copy to attack; the snapshot goes, as an attacker would make it go (it is derived data). */
async function attackedCopy(): Promise<{ dir: string; segment: string; checkpoints: string }> {
  const dir = await tempDir("leviathan-attacked-");
  await cp(source, dir, { recursive: true });
  await rm(join(dir, "snapshot.bin"));
  const [name] = (await readdir(dir)).filter((n) => n.startsWith("segment-"));
  return { dir, segment: join(dir, name!), checkpoints: join(dir, "checkpoints.ndjson") };
}

async function readRecords(path: string): Promise<StoredRecord[]> {
  return (await readFile(path, "utf8"))
    .trimEnd()
    .split("\n")
    .map((line) => JSON.parse(line) as StoredRecord);
}

async function writeRecords(path: string, records: readonly StoredRecord[]): Promise<void> {
  await writeFile(path, records.map((r) => `${JSON.stringify(r)}\n`).join(""));
}

/** What someone who can write the volume does: edit one record, recompute every later hash. */
function rewriteAndRechain(records: StoredRecord[], seq: number): void {
  records[seq - 1]!.event.payload.i = -1;
  for (let i = seq - 1; i < records.length; i++) {
    const record = records[i]!;
    record.prev_hash = i === 0 ? null : records[i - 1]!.hash;
    const { hash: _old, ...rest } = record;
    record.hash = createHash("sha256").update(canonicalJson(rest)).digest("hex");
  }
}

async function checkpointLines(path: string): Promise<string[]> {
  return (await readFile(path, "utf8")).trimEnd().split("\n");
}

describe("the control plane's checkpoints", () => {
  it("publishes the chain's head and the latest checkpoint at GET /v1/store/head, behind the token", async () => {
    expect(unauthenticated).toBe(401);
    expect(lastRecord.seq).toBe(EVENTS);
    expect(head).toEqual({
      seq: EVENTS,
      hash: lastRecord.hash,
      checkpoint_seq: 2_000,
      checkpoint_mac: head.checkpoint_mac,
    });
    const records = await readRecords(join(source, "segment-00000000000000000001.ndjson"));
    expect(head.checkpoint_mac).toBe(mac(2_000, records[1_999]!.hash));
  });

  it("publishes the head seq, the checkpoint seq and its MAC on /metrics", () => {
    expect(metrics).toMatch(new RegExp(`^leviathan_store_head_seq ${EVENTS}$`, "m"));
    expect(metrics).toMatch(/^leviathan_store_checkpoint_seq 2000$/m);
    expect(metrics).toContain(
      `leviathan_store_checkpoint_info{checkpoint_seq="2000",checkpoint_mac="${head.checkpoint_mac}"} 1`,
    );
  });

  it("wrote one every 1,000 records and one at close, and never the secret or the key", async () => {
    const records = await readRecords(join(source, "segment-00000000000000000001.ndjson"));
    const lines = await checkpointLines(join(source, "checkpoints.ndjson"));
    expect(lines.map((line) => JSON.parse(line))).toEqual(
      [1_000, 2_000, 2_500].map((seq) => ({
        seq,
        hash: records[seq - 1]!.hash,
        mac: mac(seq, records[seq - 1]!.hash),
      })),
    );
    for (const name of await readdir(source)) {
      const bytes = await readFile(join(source, name));
      for (const secret of [SECRET, KEY.toString("hex"), TOKEN]) {
        expect(bytes.includes(secret), `${name} holds a secret`).toBe(false);
      }
      expect(bytes.includes(KEY), name).toBe(false);
    }
  });

  it("verifies a sound copy with the key; without it, says checkpoints were not checked", async () => {
    const plain = await verify(source);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/^OK .*: 2500 records in 1 segments, last seq 2500/);
    expect(plain.stderr).toContain("checkpoints were not checked (no --key-file)");
    const keyed = await verify(source, "--key-file", keyFile, "--expect-seq", String(head.seq));
    expect(keyed.code).toBe(0);
    expect(keyed.stdout).toContain("checkpoints: 3 verified, the latest at seq 2500");
    expect(keyed.stderr).toBe("");
  });
});

describe("history rewritten and re-chained", () => {
  it("passes plain verify, and fails with the key at the first checkpoint after the edit", async () => {
    const { dir, segment } = await attackedCopy();
    const records = await readRecords(segment);
    rewriteAndRechain(records, 1_500);
    await writeRecords(segment, records);

    const plain = await verify(dir);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/^OK /);
    const keyed = await verify(dir, "--key-file", keyFile);
    expect(keyed.code).toBe(3);
    expect(keyed.stdout).toBe(
      `${segment}:2000: record 2000 differs from the one checkpoints.ndjson:2 authenticates: ` +
        "a record up to it was rewritten and the chain recomputed\n",
    );
  });

  it("fails with the key when the checkpoint lines were rewritten to match: their MACs cannot be", async () => {
    const { dir, segment, checkpoints } = await attackedCopy();
    const records = await readRecords(segment);
    rewriteAndRechain(records, 1_500);
    await writeRecords(segment, records);
    const forged = (await checkpointLines(checkpoints)).map((line) => {
      const checkpoint = JSON.parse(line) as { seq: number; hash: string; mac: string };
      return JSON.stringify({ ...checkpoint, hash: records[checkpoint.seq - 1]!.hash });
    });
    await writeFile(checkpoints, `${forged.join("\n")}\n`);

    expect((await verify(dir)).code).toBe(0);
    const keyed = await verify(dir, "--key-file", keyFile);
    expect(keyed.code).toBe(3);
    expect(keyed.stdout).toMatch(
      new RegExp(`^${checkpoints}:2: the checkpoint at seq 2000 does not verify under this key`),
    );
  });

  it("fails under a key other than the control plane's", async () => {
    const other = join(await tempDir(), "other-key");
    await writeFile(other, "not the store key\n");
    const keyed = await verify(source, "--key-file", other);
    expect(keyed.code).toBe(3);
    expect(keyed.stdout).toMatch(
      /checkpoints\.ndjson:1: the checkpoint at seq 1000 does not verify/,
    );
  });
});

describe("the tail cut off", () => {
  it("with the matching checkpoints removed: passes plain and keyed verify, fails --expect-seq", async () => {
    const { dir, segment, checkpoints } = await attackedCopy();
    const records = await readRecords(segment);
    await writeRecords(segment, records.slice(0, -700));
    const kept = (await checkpointLines(checkpoints)).filter(
      (line) => JSON.parse(line).seq <= 1_800,
    );
    await writeFile(checkpoints, `${kept.join("\n")}\n`);

    expect((await verify(dir)).code).toBe(0);
    expect((await verify(dir, "--key-file", keyFile)).code).toBe(0);
    const expecting = await verify(dir, "--key-file", keyFile, "--expect-seq", String(head.seq));
    expect(expecting.code).toBe(4);
    expect(expecting.stdout).toBe(
      `${segment}:1801: the store ends at seq 1800, below the expected seq 2500: records ` +
        "1801..2500 are missing (the tail was cut, or this copy is older)\n",
    );
    // The seq alone is enough, without the key.
    expect((await verify(dir, "--expect-seq", String(head.seq))).code).toBe(4);
  });

  it("with the checkpoints left: passes plain verify, fails with the key at the first cut checkpoint", async () => {
    const { dir, segment, checkpoints } = await attackedCopy();
    const records = await readRecords(segment);
    await writeRecords(segment, records.slice(0, -700));

    expect((await verify(dir)).code).toBe(0);
    const keyed = await verify(dir, "--key-file", keyFile);
    expect(keyed.code).toBe(3);
    expect(keyed.stdout).toBe(
      `${checkpoints}:2: the checkpoint at seq 2000 names a record the store no longer has: ` +
        "it ends at seq 1800, so records 1801..2000 were cut off\n",
    );
  });
});
