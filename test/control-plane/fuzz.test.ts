// Fuzz: over a thousand seeded malformed requests against one real control-plane
// child. Every reply is the right 4xx with a `detail`, no connection is dropped without a reply,
// the server stays up and healthy, and the segment files are byte-identical afterwards.
// FUZZ_SEED=<n> replays a failing run.
import { mkdtemp, rm } from "node:fs/promises";
import { Agent } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyStore } from "../../shared/store/verify-store.ts";
import { type ControlPlaneChild, startControlPlaneChild } from "../support/control-plane-child.ts";
import { httpRequest, jsonOf } from "../support/http-request.ts";
import {
  FUZZ_TARGET,
  type MalformedRequest,
  malformedRequests,
} from "../support/malformed-requests.ts";
import { filesOf } from "../support/store/store-helpers.ts";
import { seededRandom } from "../support/synthetic-stream.ts";

const TOKEN = "fuzz-token-DO-NOT-LEAK-41aa09";
const SEED = Number(process.env.FUZZ_SEED ?? 7_340_033);
const CASES = 1_200;
const CONCURRENCY = 8;
const AUTH = { authorization: `Bearer ${TOKEN}` };

console.log(`fuzz suite seed: ${SEED} (rerun with FUZZ_SEED=${SEED})`);

let dir: string;
let child: ControlPlaneChild;
let before: Map<string, Buffer>;
const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "leviathan-fuzz-"));
  child = await startControlPlaneChild({ dataDir: dir, token: TOKEN });
  // Stored events first, so there are segment bytes that must not change.
  const events = Array.from({ length: 20 }, (_, i) => ({
    event_id: `seeded-${i}`,
    event_type: "attempt.started",
    timestamp: "2024-05-01T12:00:00Z",
    actor_id: "fuzz-seed",
    payload: { attempt_id: `seeded-attempt-${i}`, task_id: "task-1", target_id: FUZZ_TARGET },
  }));
  const reply = await httpRequest(`${child.url}/v1/events/ingest`, {
    method: "POST",
    headers: { ...AUTH, "content-type": "application/json" },
    body: JSON.stringify({ target: FUZZ_TARGET, bundle_id: "seed", events }),
  });
  expect(reply.status).toBe(200);
  before = await filesOf(dir);
  expect(before.size).toBe(1);
});

afterAll(async () => {
  agent.destroy();
  await child?.kill("SIGKILL");
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Outcome {
  request: MalformedRequest;
  index: number;
  status: number | "no reply";
  detail: unknown;
  error?: string;
}

async function send(request: MalformedRequest, index: number): Promise<Outcome> {
  try {
    const reply = await httpRequest(`${child.url}${request.path}`, {
      method: "POST",
      headers: { ...AUTH, ...request.headers },
      body: request.body,
      agent,
      timeoutMs: 30_000,
    });
    const text = reply.body.toString("utf8");
    let detail: unknown;
    try {
      detail = (jsonOf(reply) as { detail?: unknown }).detail;
    } catch {
      detail = text.length > 0 ? `(not JSON) ${text.slice(0, 200)}` : undefined;
    }
    if (text.includes(TOKEN))
      return { request, index, status: reply.status, detail, error: "token in reply" };
    return { request, index, status: reply.status, detail };
  } catch (error) {
    return { request, index, status: "no reply", detail: undefined, error: String(error) };
  }
}

/** A useful `detail`: the list of problems for a 422, a sentence otherwise (Node's own 431 has none). */
function detailProblem(outcome: Outcome): string | undefined {
  const { status, detail } = outcome;
  if (status === 431) return undefined;
  if (status === 422) {
    const ok =
      Array.isArray(detail) &&
      detail.length > 0 &&
      detail.every(
        (d) => typeof d?.path === "string" && typeof d?.message === "string" && d.message !== "",
      );
    return ok ? undefined : `a 422 without a list of problems: ${JSON.stringify(detail)}`;
  }
  return typeof detail === "string" && detail !== "" ? undefined : "no detail";
}

describe("fuzzing the ingest routes with malformed bodies", () => {
  it(`answers ${CASES} malformed requests with the right 4xx and stores nothing (seed ${SEED})`, async () => {
    const coverage = new Set<string>();
    const requests = malformedRequests(seededRandom(SEED), CASES, coverage);
    const outcomes: Outcome[] = [];
    let index = 0;
    // Bounded concurrency: each worker takes the next request the generator builds.
    async function worker(): Promise<void> {
      for (;;) {
        const next = requests.next();
        if (next.done) return;
        outcomes.push(await send(next.value, index++));
      }
    }
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    expect(outcomes).toHaveLength(CASES);

    const wrong = outcomes
      .map((o) => {
        if (o.status === "no reply" && o.request.mayCutConnection) return undefined;
        const problem =
          o.error ??
          (typeof o.status !== "number" || !o.request.expect.includes(o.status)
            ? `expected ${o.request.expect.join("/")}`
            : detailProblem(o));
        return (
          problem &&
          `#${o.index} ${o.request.label}: ${o.status} (${problem}) ${JSON.stringify(o.detail)?.slice(0, 300)}`
        );
      })
      .filter((line) => line !== undefined);
    expect(wrong, `seed ${SEED}`).toEqual([]);
    const answered = outcomes.filter((o) => typeof o.status === "number");
    // Only an oversized body may go without a reply, and most of those get their 413 too.
    expect(answered.length).toBeGreaterThan(CASES - 10);
    for (const o of answered) {
      expect(o.status).toBeGreaterThanOrEqual(400);
      expect(o.status).toBeLessThan(500);
    }

    // Every family was exercised, and so was each field of a bundle and each binary header.
    const families = new Set(outcomes.map((o) => o.request.family));
    expect([...families].sort()).toEqual(
      [
        "batch-field",
        "binary-data",
        "binary-header",
        "bundle-field",
        "cloudevent-field",
        "content-type",
        "deep-nesting",
        "huge",
        "random-bytes",
        "schema-breaking-json",
        "truncated-json",
      ].sort(),
    );
    for (const field of [
      "bundle target",
      "bundle bundle_id",
      "bundle events",
      "bundle events[]",
      "bundle events[].event_id",
      "bundle events[].event_type",
      "bundle events[].timestamp",
      "bundle events[].actor_id",
      "bundle events[].payload",
      "bundle events[].payload.attempt_id",
      "bundle events[].payload.task_id",
      "bundle artifacts",
      "bundle artifacts[].sha256",
      "bundle artifacts[].size",
      "structured specversion",
      "structured id",
      "structured source",
      "structured type",
      "structured time",
      "structured subject",
      "structured leviathantarget",
      "structured data",
      "binary ce-id",
      "binary ce-type",
      "binary ce-source",
      "binary ce-time",
      "binary ce-specversion",
      "binary ce-subject",
      "binary ce-leviathantarget",
    ]) {
      expect(coverage, field).toContain(field);
    }
    const counts = new Map<string, number>();
    for (const o of outcomes) counts.set(String(o.status), (counts.get(String(o.status)) ?? 0) + 1);
    console.log(`fuzz replies by status: ${JSON.stringify(Object.fromEntries(counts))}`);

    // Still up, still healthy, and nothing it was sent changed the store.
    const health = await httpRequest(`${child.url}/health`);
    expect(health.status).toBe(200);
    const page = await httpRequest(`${child.url}/v1/events?limit=10000`, { headers: AUTH });
    expect((jsonOf(page) as { records: unknown[] }).records).toHaveLength(20);
    expect(await filesOf(dir)).toEqual(before);
    expect(await verifyStore(dir)).toMatchObject({ ok: true, lastSeq: 20 });
    // Nothing a client sent made the server log an error of its own.
    const errors = child
      .stderr()
      .split("\n")
      .filter((line) => /"level":(50|60)/.test(line));
    expect(errors).toEqual([]);
  });
});
