// Crash safety: a real control-plane child under concurrent load is
// SIGKILLed at random moments; after every restart each acknowledged event is there exactly
// once, nothing is there twice, the sequence and chain are whole, and the store verifies.
// Kill moments come from a seeded PRNG: CRASH_SEED=<n> replays a failing run's schedule.
import { randomBytes } from "node:crypto";
import { appendFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { Agent } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HTTP } from "cloudevents";
import { afterAll, describe, expect, it } from "vitest";
import { artifactEventId } from "../../shared/control-plane/server/items-from-bundle.ts";
import { toCloudEvent } from "../../shared/events/cloudevents.ts";
import type { LeviathanEvent, StoredRecord } from "../../shared/events/types.ts";
import { verifyStore } from "../../shared/store/verify-store.ts";
import {
  type ControlPlaneChild,
  runControlPlaneToExit,
  startControlPlaneChild,
} from "../support/control-plane-child.ts";
import { httpRequest, jsonOf } from "../support/http-request.ts";
import { seededRandom } from "../support/synthetic-stream.ts";

const TOKEN = "crash-token-DO-NOT-LEAK-5d0c71";
const SEED = Number(process.env.CRASH_SEED ?? 20_240_501);
const ROUNDS = 24;
const CLIENTS = 6;
const TARGETS = ["crash-a", "crash-b", "crash-c"] as const;

console.log(`crash suite seed: ${SEED} (rerun with CRASH_SEED=${SEED})`);

const dirs: string[] = [];
async function newDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "leviathan-crash-"));
  dirs.push(dir);
  return dir;
}
const children = new Set<ControlPlaneChild>();
async function start(dir: string): Promise<ControlPlaneChild> {
  const child = await startControlPlaneChild({ dataDir: dir, token: TOKEN });
  children.add(child);
  void child.exited.then(() => children.delete(child));
  return child;
}
afterAll(async () => {
  for (const child of children) await child.kill("SIGKILL");
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

const AUTH = { authorization: `Bearer ${TOKEN}` };

// ---- what the clients sent, and what the server acknowledged -------------------------------

interface Known {
  target: string;
  /** Undefined for artifact events: the server builds those. */
  event?: LeviathanEvent;
  eventType: string;
}

interface Ledger {
  known: Map<string, Known>;
  /** Ids of events the clients sent themselves, per target, for resending. */
  pool: Record<string, string[]>;
  /** Ids in a request that got 200. */
  acked: Set<string>;
  /** Bodies of bundles sent before, to resend whole (artifact ids repeat too). */
  bundles: Array<{ body: string; ids: string[] }>;
  counter: number;
  problems: string[];
}

function newLedger(): Ledger {
  return {
    known: new Map(),
    pool: Object.fromEntries(TARGETS.map((t) => [t, []])),
    acked: new Set(),
    bundles: [],
    counter: 0,
    problems: [],
  };
}

const BASE_TIME = Date.parse("2024-05-01T00:00:00Z");

function freshEvent(ledger: Ledger, random: () => number, target: string): LeviathanEvent {
  const n = ++ledger.counter;
  const attempt = { attempt_id: `att-${target}-${n % 97}`, task_id: `task-${n % 13}` };
  const roll = random();
  const base = {
    event_id: `ev-${n}-${Math.floor(random() * 1e9).toString(36)}`,
    timestamp: new Date(BASE_TIME + n * 1000).toISOString(),
    actor_id: "crash-client",
  };
  // Lines of varied length, so a kill can land anywhere inside a group's bytes.
  const note = "n".repeat(20 + Math.floor(random() * 400));
  let event: LeviathanEvent;
  if (roll < 0.15) {
    event = {
      ...base,
      event_type: "scheduler.skipped",
      payload: { reason: "no_ready_task", note },
    };
  } else if (roll < 0.3) {
    event = {
      ...base,
      event_type: "pr.created",
      payload: { ...attempt, pr_url: `https://forge.example/${target}/pull/${n}`, pr_number: n },
    };
  } else {
    const type = ["requested", "created", "started", "succeeded", "failed"][
      Math.floor(random() * 5)
    ]!;
    const extra = type === "failed" ? { reason: "executor_failed", failure_kind: "task" } : {};
    event = {
      ...base,
      event_type: `attempt.${type}`,
      payload: { ...attempt, target_id: target, attempt_number: 1 + (n % 3), note, ...extra },
    };
  }
  ledger.known.set(event.event_id, { target, event, eventType: event.event_type });
  ledger.pool[target]!.push(event.event_id);
  return event;
}

/** Fresh events plus, sometimes, events sent before (acknowledged or not), unchanged. */
function eventsFor(ledger: Ledger, random: () => number, target: string): LeviathanEvent[] {
  const events = Array.from({ length: 1 + Math.floor(random() * 12) }, () =>
    freshEvent(ledger, random, target),
  );
  const pool = ledger.pool[target]!;
  if (random() < 0.35 && pool.length > events.length) {
    const repeats = new Set<string>();
    for (let i = 0; i < 1 + Math.floor(random() * 3); i++) {
      repeats.add(pool[Math.floor(random() * (pool.length - events.length))]!);
    }
    for (const id of repeats) events.splice(Math.floor(random() * events.length), 0, known(id));
  }
  return events;

  function known(id: string): LeviathanEvent {
    return ledger.known.get(id)!.event!;
  }
}

interface Planned {
  path: string;
  headers: Record<string, string>;
  body: string;
  ids: string[];
}

function planRequest(ledger: Ledger, random: () => number): Planned {
  const roll = random();
  const target = TARGETS[Math.floor(random() * TARGETS.length)]!;
  if (roll < 0.08 && ledger.bundles.length > 0) {
    const again = ledger.bundles[Math.floor(random() * ledger.bundles.length)]!;
    return { path: "/v1/events/ingest", headers: json(), ...again };
  }
  const events = eventsFor(ledger, random, target);
  const ids = events.map((e) => e.event_id);
  if (roll < 0.45) {
    const bundleId = `bundle-${++ledger.counter}`;
    const artifacts =
      random() < 0.3
        ? [
            {
              sha256: randomBytes(32).toString("hex"),
              kind: "log",
              uri: `file:///logs/${bundleId}.log`,
              size: 100,
            },
          ]
        : null;
    for (const artifact of artifacts ?? []) {
      const id = artifactEventId(bundleId, artifact.sha256);
      ledger.known.set(id, { target, eventType: "artifact.created" });
      ids.push(id);
    }
    const body = JSON.stringify({ target, bundle_id: bundleId, events, artifacts });
    ledger.bundles.push({ body, ids });
    return { path: "/v1/events/ingest", headers: json(), body, ids };
  }
  const cloudEvents = events.map((event) => toCloudEvent(target, event));
  if (roll < 0.6) {
    const message = HTTP.binary(cloudEvents[0]!);
    return { path: "/v1/events", ...plainMessage(message), ids: ids.slice(0, 1) };
  }
  if (roll < 0.75) {
    const message = HTTP.structured(cloudEvents[0]!);
    return { path: "/v1/events", ...plainMessage(message), ids: ids.slice(0, 1) };
  }
  return {
    path: "/v1/events",
    headers: { "content-type": "application/cloudevents-batch+json" },
    body: JSON.stringify(cloudEvents),
    ids,
  };
}

function json(): Record<string, string> {
  return { "content-type": "application/json" };
}

function plainMessage(message: { headers: Record<string, unknown>; body: unknown }): {
  headers: Record<string, string>;
  body: string;
} {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers)) headers[name] = String(value);
  return { headers, body: String(message.body) };
}

// ---- load and kill ----------------------------------------------------------------------------

interface RoundResult {
  acked: number;
  unknown: number;
}

/**
 * Clients post until the kill: once `ackThreshold` requests were acknowledged in this round,
 * the child is SIGKILLed after `delayMs`. Connection errors after the kill leave an outcome
 * unknown (the event may or may not be stored); anything else unexpected is a problem.
 */
async function loadThenKill(
  child: ControlPlaneChild,
  ledger: Ledger,
  round: number,
  ackThreshold: number,
  delayMs: number,
): Promise<RoundResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
  // Set just before the signal: from then on a request without a reply has an unknown outcome.
  let killing = false;
  let acked = 0;
  let unknown = 0;
  let onAck: (() => void) | undefined;

  async function client(index: number): Promise<void> {
    const random = seededRandom(SEED * 31 + round * 1_000 + index);
    while (!killing) {
      const planned = planRequest(ledger, random);
      const ackedBefore = planned.ids.filter((id) => ledger.acked.has(id)).length;
      try {
        const reply = await httpRequest(`${child.url}${planned.path}`, {
          method: "POST",
          headers: { ...AUTH, ...planned.headers },
          body: planned.body,
          agent,
        });
        if (reply.status !== 200) {
          ledger.problems.push(`round ${round}: ${reply.status} ${reply.body.toString()}`);
          return;
        }
        const outcome = jsonOf(reply) as { ingested: number; duplicates: number };
        if (outcome.ingested + outcome.duplicates !== planned.ids.length) {
          ledger.problems.push(
            `round ${round}: reply ${JSON.stringify(outcome)} for ${planned.ids.length} events`,
          );
        }
        if (outcome.duplicates < ackedBefore) {
          ledger.problems.push(
            `round ${round}: ${ackedBefore} acknowledged events resent, ${outcome.duplicates} duplicates`,
          );
        }
        for (const id of planned.ids) ledger.acked.add(id);
        acked++;
        onAck?.();
      } catch (error) {
        if (!killing) ledger.problems.push(`round ${round}: no reply before the kill: ${error}`);
        unknown++;
        return;
      }
    }
  }

  const kill = (async () => {
    if (ackThreshold > 0) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          const problems = ledger.problems.join("; ");
          reject(new Error(`round ${round}: ${acked} of ${ackThreshold} acks (${problems})`));
        }, 20_000);
        onAck = () => {
          if (acked < ackThreshold) return;
          clearTimeout(timer);
          resolve();
        };
      });
    }
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    killing = true;
    const exit = await child.kill("SIGKILL");
    expect(exit.signal, `round ${round}: the child died before the kill`).toBe("SIGKILL");
  })();
  // Clients notice the kill through their failing requests.
  await Promise.all([kill, ...Array.from({ length: CLIENTS }, (_, i) => client(i))]);
  agent.destroy();
  return { acked, unknown };
}

// ---- checks after a restart -------------------------------------------------------------------

async function readAll(url: string): Promise<StoredRecord[]> {
  const records: StoredRecord[] = [];
  let after = 0;
  for (;;) {
    const reply = await httpRequest(`${url}/v1/events?after=${after}&limit=10000`, {
      headers: AUTH,
    });
    expect(reply.status).toBe(200);
    const page = jsonOf(reply) as { records: StoredRecord[]; next_after: number };
    if (page.records.length === 0) return records;
    records.push(...page.records);
    after = page.next_after;
  }
}

async function expectWhole(child: ControlPlaneChild, dir: string, ledger: Ledger, when: string) {
  const records = await readAll(child.url);
  const seen = new Map<string, number>();
  records.forEach((record, i) => {
    expect(record.seq, `${when}: seq at index ${i}`).toBe(i + 1);
    expect(record.prev_hash, `${when}: chain at seq ${record.seq}`).toBe(
      i === 0 ? null : records[i - 1]!.hash,
    );
    const id = record.event.event_id;
    seen.set(id, (seen.get(id) ?? 0) + 1);
  });
  const twice = [...seen].filter(([, n]) => n > 1).map(([id]) => id);
  expect(twice, `${when}: events stored twice`).toEqual([]);
  const lost = [...ledger.acked].filter((id) => !seen.has(id));
  expect(lost, `${when}: acknowledged events missing`).toEqual([]);
  const phantom = [...seen.keys()].filter((id) => !ledger.known.has(id));
  expect(phantom, `${when}: events nobody sent`).toEqual([]);
  for (const record of records) {
    const sent = ledger.known.get(record.event.event_id)!;
    expect(record.target).toBe(sent.target);
    expect(record.event.event_type).toBe(sent.eventType);
    if (sent.event) expect(record.event, `${when}: seq ${record.seq}`).toEqual(sent.event);
  }
  const report = await verifyStore(dir);
  expect(report, when).toMatchObject({ ok: true, lastSeq: records.length });
  expect(report.torn, `${when}: a torn tail left after recovery`).toBeUndefined();
  return records;
}

async function lastSegment(dir: string): Promise<string> {
  const names = (await readdir(dir)).filter((n) => /^segment-\d{20}\.ndjson$/.test(n)).sort();
  expect(names.length).toBeGreaterThan(0);
  return join(dir, names.at(-1)!);
}

async function postBundle(url: string, ledger: Ledger, random: () => number, count: number) {
  const events = Array.from({ length: count }, () => freshEvent(ledger, random, "crash-a"));
  const reply = await httpRequest(`${url}/v1/events/ingest`, {
    method: "POST",
    headers: { ...AUTH, ...json() },
    body: JSON.stringify({ target: "crash-a", bundle_id: `b-${++ledger.counter}`, events }),
  });
  expect(reply.status).toBe(200);
  for (const event of events) ledger.acked.add(event.event_id);
}

// ---- the suite --------------------------------------------------------------------------------

describe("control plane killed with SIGKILL under concurrent load", () => {
  // Its own timeout: 24 restarts take ~15 s on an idle 2-core machine, ~45 s on a busy one.
  it(`keeps every acknowledged event exactly once across ${ROUNDS} kills (seed ${SEED})`, async () => {
    const dir = await newDir();
    const ledger = newLedger();
    const schedule = seededRandom(SEED);
    let totalAcked = 0;
    let totalUnknown = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      const child = await start(dir);
      const records = await expectWhole(child, dir, ledger, `after restart ${round - 1}`);
      // A quarter of the kills land while the first requests are still in flight.
      const ackThreshold = schedule() < 0.25 ? 0 : 1 + Math.floor(schedule() * 40);
      const delayMs = Math.floor(schedule() * 30);
      const result = await loadThenKill(child, ledger, round, ackThreshold, delayMs);
      expect(ledger.problems, `round ${round} (seed ${SEED})`).toEqual([]);
      totalAcked += result.acked;
      totalUnknown += result.unknown;
      // While it is down: a SIGKILL may leave an unfinished last line, never damage before it.
      const down = await verifyStore(dir);
      expect(down.ok, `round ${round}: ${JSON.stringify(down.problem)}`).toBe(true);
      expect(down.lastSeq).toBeGreaterThanOrEqual(records.length);
    }
    const child = await start(dir);
    const records = await expectWhole(child, dir, ledger, `after restart ${ROUNDS}`);
    expect(await child.kill("SIGTERM")).toEqual({ code: 0, signal: null });
    expect(await verifyStore(dir)).toMatchObject({ ok: true, lastSeq: records.length });
    console.log(
      `crash suite: ${ROUNDS} kills, ${totalAcked} acknowledged requests, ${totalUnknown} cut off, ` +
        `${ledger.acked.size} acknowledged events, ${records.length} stored`,
    );
    // The load did reach the store between kills, and some kills cut requests off.
    expect(ledger.acked.size).toBeGreaterThan(ROUNDS * 10);
    expect(totalUnknown).toBeGreaterThan(0);
  }, 180_000);

  it("repairs a torn last line on open and starts", async () => {
    const dir = await newDir();
    const ledger = newLedger();
    const random = seededRandom(SEED + 1);
    const first = await start(dir);
    await postBundle(first.url, ledger, random, 20);
    await postBundle(first.url, ledger, random, 5);
    expect((await first.kill("SIGKILL")).signal).toBe("SIGKILL");

    const segment = await lastSegment(dir);
    const intact = await readFile(segment);
    const lines = intact.toString("utf8").trimEnd().split("\n");
    // The first half of a record, as an append cut off by a power cut would leave it.
    const next = lines.at(-1)!.replace(/"seq":(\d+)/, (_, seq) => `"seq":${Number(seq) + 1}`);
    await appendFile(segment, next.slice(0, Math.floor(next.length / 2)));
    expect((await verifyStore(dir)).torn?.file).toBe(segment);

    const second = await start(dir);
    expect(await readFile(segment)).toEqual(intact);
    expect(second.stderr()).toMatch(/torn/);
    await postBundle(second.url, ledger, random, 3);
    const records = await expectWhole(second, dir, ledger, "after the torn-line repair");
    expect(records).toHaveLength(28);
    expect((await stat(segment)).size).toBeGreaterThan(intact.length);
    await second.kill("SIGTERM");
  });

  it("refuses to start on a corrupted middle line, naming the file and line", async () => {
    const dir = await newDir();
    const ledger = newLedger();
    const random = seededRandom(SEED + 2);
    const first = await start(dir);
    for (let i = 0; i < 5; i++) await postBundle(first.url, ledger, random, 10);
    // A clean stop writes a snapshot: the damage must be found even so.
    expect(await first.kill("SIGTERM")).toEqual({ code: 0, signal: null });

    const segment = await lastSegment(dir);
    const intact = await readFile(segment);
    const lines = intact.toString("utf8").split("\n");
    const cases: Array<[string, (line: string) => string]> = [
      [
        "an edited field (valid JSON, wrong hash)",
        (l) => l.replace(/"actor_id":"crash-client"/, '"actor_id":"crash-clienT"'),
      ],
      ["garbage bytes", (l) => `${l.slice(0, 40)}\u0000\u0000 not json`],
    ];
    for (const [what, damage] of cases) {
      const damaged = [...lines];
      damaged[22] = damage(lines[22]!);
      expect(damaged[22], what).not.toBe(lines[22]);
      await writeFile(segment, damaged.join("\n"));
      const before = await readFile(segment);

      const exit = await runControlPlaneToExit({ dataDir: dir, token: TOKEN });
      expect(exit.code, `${what}: ${exit.stderr}`).not.toBe(0);
      expect(exit.code).not.toBeNull();
      expect(exit.stderr, what).toContain(`${segment}:23`);
      expect(exit.stderr).not.toContain(TOKEN);
      // Refusing is all it did: the file is as it was, nothing cut off.
      expect(await readFile(segment)).toEqual(before);
      expect(await verifyStore(dir)).toMatchObject({
        ok: false,
        problem: { file: segment, line: 23 },
      });
    }

    await writeFile(segment, intact);
    const again = await start(dir);
    expect(await expectWhole(again, dir, ledger, "after undoing the damage")).toHaveLength(50);
    await again.kill("SIGTERM");
  });
});
