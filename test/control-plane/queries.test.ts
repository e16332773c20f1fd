import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toCloudEvent } from "../../shared/events/cloudevents.ts";
import type { LeviathanEvent, StoredRecord } from "../../shared/events/types.ts";
import { openNdjsonStore } from "../../shared/store/ndjson/open-ndjson-store.ts";
import { summaryContractOf } from "../support/state-helpers.ts";
import { silentLogger } from "../support/store/store-helpers.ts";
import { call, startTestControlPlane, type TestControlPlane, tempDir } from "./support.ts";

const at = (minute: number) => new Date(Date.UTC(2024, 4, 1, 12, minute)).toISOString();
let minute = 0;
function ev(
  type: string,
  attempt: { id: string; task: string; n: number },
  extra: Record<string, unknown> = {},
  actor = "job",
): LeviathanEvent {
  minute++;
  return {
    event_id: `${attempt.id}.${type}`,
    event_type: type,
    timestamp: at(minute),
    actor_id: actor,
    payload: {
      attempt_id: attempt.id,
      task_id: attempt.task,
      target_id: "radix",
      attempt_number: attempt.n,
      ...extra,
    },
  };
}
function plain(
  type: string,
  id: string,
  payload: Record<string, unknown>,
  actor = "tick",
): LeviathanEvent {
  minute++;
  return { event_id: id, event_type: type, timestamp: at(minute), actor_id: actor, payload };
}

const a1 = { id: "attempt-task-1-aaaa0001", task: "task-1", n: 1 };
const a2 = { id: "attempt-task-2-aaaa0002", task: "task-2", n: 1 };
const a3 = { id: "attempt-task-2-aaaa0003", task: "task-2", n: 2 };
const a4 = { id: "attempt-task-3-aaaa0004", task: "task-3", n: 1 };
const PR = "https://github.com/iangreen74/radix/pull/7";

// A realistic stream: a success with a PR, a task failure, a platform failure, a skip for the
// open breaker, a blocked task and an attempt still running.
const success = [
  ev("attempt.requested", a1, { config: "dev.yaml" }, "tick"),
  ev("attempt.created", a1),
  ev("attempt.started", a1),
  ev("pr.created", a1, {
    pr_url: PR,
    pr_number: 7,
    title: "task-1",
    state: "open",
    branch_name: `agent/backlog-propose-${a1.id}`,
    commit_sha: "c".repeat(40),
  }),
  ev("attempt.succeeded", a1),
];
const taskFailure = [
  ev("attempt.requested", a2, { config: "dev.yaml" }, "tick"),
  ev("attempt.created", a2),
  ev("attempt.started", a2),
  ev("attempt.failed", a2, {
    reason: "executor_failed",
    failure_kind: "task",
    error_summary: "exit 1",
  }),
];
const platformFailure = [
  ev("attempt.requested", a3, { config: "dev.yaml" }, "tick"),
  ev("attempt.created", a3),
  ev("attempt.started", a3),
  ev("attempt.failed", a3, {
    reason: "clone_failed",
    failure_kind: "platform",
    error_summary: "timeout",
  }),
];
const skip = plain("scheduler.skipped", "skip-1", { reason: "circuit_open", target_id: "radix" });
const blocked = plain("task.blocked", "blocked-task-2", {
  task_id: "task-2",
  target_id: "radix",
  attempts: 1,
});
const running = [
  ev("attempt.requested", a4, { config: "dev.yaml" }, "tick"),
  ev("attempt.created", a4),
];
const ALL = [...success, ...taskFailure, ...platformFailure, skip, blocked, ...running];

let cp: TestControlPlane;
beforeAll(async () => {
  cp = await startTestControlPlane();
  // As the system sends them: the tick and the attempt in bundles, the worker's as CloudEvents.
  const post = (events: LeviathanEvent[]) =>
    call(cp.url, "/v1/events/ingest", {
      body: { target: "radix", bundle_id: events[0]!.event_id, events },
    });
  expect((await post(success)).json.ingested).toBe(5);
  const batch = await call(cp.url, "/v1/events", {
    raw: JSON.stringify(taskFailure.map((e) => toCloudEvent("radix", e))),
    headers: { "content-type": "application/cloudevents-batch+json" },
  });
  expect(batch.json.ingested).toBe(4);
  expect((await post(platformFailure)).json.ingested).toBe(4);
  expect((await post([skip, blocked, ...running])).json.ingested).toBe(4);
});
afterAll(async () => {
  await cp.cleanup();
});

const TASKS = {
  "task-1": {
    attempts: 1,
    charged_attempts: 1,
    running: false,
    last_status: "succeeded",
    blocked: false,
  },
  "task-2": {
    attempts: 2,
    charged_attempts: 1,
    running: false,
    last_status: "failed",
    blocked: true,
  },
  "task-3": {
    attempts: 1,
    charged_attempts: 1,
    running: true,
    last_status: "created",
    blocked: false,
  },
};

describe("queries after a realistic attempt stream", () => {
  let resetRecord: StoredRecord;

  it("GET /v1/targets/:target has the counts and the breaker's failures", async () => {
    const reply = await call(cp.url, "/v1/targets/radix");
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({
      target_id: "radix",
      tasks: TASKS,
      running_attempts: [a4.id],
      consecutive_failures: 2,
      last_reset_at: null,
    });
  });

  it("GET /v1/graph/summary has the graph, the recent events and the target", async () => {
    const reply = await call(cp.url, "/v1/graph/summary");
    expect(reply.status).toBe(200);
    expect(reply.json.nodes_by_type).toEqual({ Target: 1, Task: 3, Attempt: 4, PullRequest: 1 });
    expect(reply.json.edges_by_type).toEqual({ DEPENDS_ON: 7, PRODUCED: 1 });
    expect(reply.json.recent_events).toHaveLength(ALL.length);
    expect(reply.json.recent_events[0]).toEqual({
      event_id: `${a4.id}.attempt.created`,
      timestamp: running[1]!.timestamp,
      event_type: "attempt.created",
      actor_id: "job",
      target: "radix",
      attempt_id: a4.id,
    });
    expect(reply.json.recent_events.map((e: { event_id: string }) => e.event_id)).toEqual(
      ALL.map((e) => e.event_id).reverse(),
    );
    expect(summaryContractOf(reply.json).targets).toEqual({
      radix: {
        tasks: TASKS,
        running_attempts: [a4.id],
        consecutive_failures: 2,
        last_reset_at: null,
        attempts_by_status: { succeeded: 1, failed: 2, created: 1 },
        open_prs: [PR],
        last_event_at: running[1]!.timestamp,
        last_tick_at: running[0]!.timestamp,
        last_skip_reason: "circuit_open",
      },
    });
  });

  it("POST /v1/targets/:target/circuit/reset records circuit.reset and returns the stored record", async () => {
    const reply = await call(cp.url, "/v1/targets/radix/circuit/reset", { method: "POST" });
    expect(reply.status).toBe(200);
    resetRecord = reply.json;
    expect(resetRecord).toMatchObject({
      seq: ALL.length + 1,
      target: "radix",
      event: {
        event_type: "circuit.reset",
        actor_id: "control-plane",
        payload: { target_id: "radix" },
      },
      prev_hash: expect.stringMatching(/^[0-9a-f]{64}$/),
      hash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    const last = await call(cp.url, `/v1/events?after=${ALL.length}`);
    expect(last.json.records).toEqual([resetRecord]);
    const target = await call(cp.url, "/v1/targets/radix");
    expect(target.json.consecutive_failures).toBe(0);
    expect(target.json.last_reset_at).toBe(resetRecord.event.timestamp);
    const summary = await call(cp.url, "/v1/graph/summary");
    expect(summary.json.recent_events[0]).toMatchObject({
      event_type: "circuit.reset",
      actor_id: "control-plane",
      attempt_id: null,
    });
  });

  it("every answer is the same after a restart", async () => {
    const paths = ["/v1/graph/summary", "/v1/targets/radix", `/v1/attempts/${a1.id}`, "/v1/events"];
    const before = await Promise.all(paths.map((p) => call(cp.url, p)));
    await cp.restart();
    const after = await Promise.all(paths.map((p) => call(cp.url, p)));
    after.forEach((reply, i) => {
      expect(reply.status).toBe(200);
      expect(reply.json).toEqual(before[i]!.json);
    });
    expect(after[1]!.json).toMatchObject({
      tasks: TASKS,
      consecutive_failures: 0,
      last_reset_at: resetRecord.event.timestamp,
    });
  });

  it("GET /v1/attempts/:id gives the attempt and its records; 404 for an unknown one", async () => {
    const reply = await call(cp.url, `/v1/attempts/${a1.id}`);
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({
      attempt_id: a1.id,
      task_id: "task-1",
      target_id: "radix",
      attempt_number: 1,
      status: "succeeded",
      pr_url: PR,
    });
    expect(reply.json.records.map((r: StoredRecord) => [r.seq, r.event.event_type])).toEqual([
      [1, "attempt.requested"],
      [2, "attempt.created"],
      [3, "attempt.started"],
      [4, "pr.created"],
      [5, "attempt.succeeded"],
    ]);
    const failed = await call(cp.url, `/v1/attempts/${a3.id}`);
    expect(failed.json).toMatchObject({ status: "failed", pr_url: null, attempt_number: 2 });
    const unknown = await call(cp.url, "/v1/attempts/attempt-nope-00000000");
    expect(unknown.status).toBe(404);
    expect(unknown.json.detail).toBeTypeOf("string");
  });

  it("a target with no events gives zeros and empty maps", async () => {
    const reply = await call(cp.url, "/v1/targets/never-seen");
    expect(reply.json).toMatchObject({
      target_id: "never-seen",
      tasks: {},
      running_attempts: [],
      consecutive_failures: 0,
      last_reset_at: null,
    });
  });

  it("GET /metrics has the named metrics in Prometheus text", async () => {
    const reply = await call(cp.url, "/metrics");
    expect(reply.status).toBe(200);
    expect(reply.headers.get("content-type")).toMatch(/^text\/plain/);
    // Counters restart with the process; the store gauges are read from the store.
    expect(reply.text).toMatch(/^leviathan_store_records \d+$/m);
    expect(reply.text).toContain(`leviathan_store_records ${ALL.length + 1}`);
    expect(reply.text).toMatch(/^leviathan_store_bytes [1-9]\d*$/m);
    expect(reply.text).toContain("# TYPE leviathan_events_ingested_total counter");
    expect(reply.text).toContain("# TYPE leviathan_events_duplicates_total counter");
    expect(reply.text).toContain("# TYPE leviathan_store_fsync_duration_seconds histogram");
    expect(reply.text).toMatch(
      /leviathan_http_request_duration_seconds_count\{route="\/v1\/graph\/summary",method="GET",status="200"\} [1-9]/,
    );
    await call(cp.url, "/v1/events/ingest", {
      body: { target: "radix", bundle_id: "m", events: [skip, plain("custom.thing", "m-1", {})] },
    });
    const later = await call(cp.url, "/metrics");
    expect(later.text).toContain('leviathan_events_ingested_total{event_type="custom.thing"} 1');
    expect(later.text).toContain("leviathan_events_duplicates_total 1");
    expect(later.text).toMatch(/^leviathan_store_fsync_duration_seconds_count [1-9]\d*$/m);
    expect(later.text).toMatch(/route="\/v1\/events\/ingest",method="POST",status="200"/);
  });
});

describe("GET /v1/events pages", () => {
  let pages: TestControlPlane;
  const COUNT = 10_050;
  beforeAll(async () => {
    pages = await startTestControlPlane();
    const events = Array.from({ length: COUNT }, (_, i) =>
      plain("custom.tick", `page-${i + 1}`, { i }),
    );
    const reply = await call(pages.url, "/v1/events/ingest", {
      body: { target: "radix", bundle_id: "many", events },
    });
    expect(reply.json.ingested).toBe(COUNT);
  });
  afterAll(async () => {
    await pages.cleanup();
  });

  const seqs = (reply: { json: { records: StoredRecord[] } }) =>
    reply.json.records.map((r) => r.seq);

  it("after is exclusive and next_after is the last seq of the page", async () => {
    const first = await call(pages.url, "/v1/events?limit=3");
    expect(seqs(first)).toEqual([1, 2, 3]);
    expect(first.json.next_after).toBe(3);
    const second = await call(pages.url, `/v1/events?after=${first.json.next_after}&limit=3`);
    expect(seqs(second)).toEqual([4, 5, 6]);
    expect(second.json.records[0].event.event_id).toBe("page-4");
  });

  it("default limit 1,000; larger limits cut to 10,000", async () => {
    const byDefault = await call(pages.url, "/v1/events");
    expect(byDefault.json.records).toHaveLength(1_000);
    expect(byDefault.json.next_after).toBe(1_000);
    const huge = await call(pages.url, "/v1/events?limit=50000");
    expect(huge.json.records).toHaveLength(10_000);
    expect(huge.json.next_after).toBe(10_000);
    const rest = await call(pages.url, "/v1/events?after=10000&limit=10000");
    expect(seqs(rest)).toEqual(Array.from({ length: 50 }, (_, i) => 10_001 + i));
  });

  it("an empty page repeats the after given (0 when none)", async () => {
    const end = await call(pages.url, `/v1/events?after=${COUNT}`);
    expect(end.json).toEqual({ records: [], next_after: COUNT });
    const beyond = await call(pages.url, "/v1/events?after=999999");
    expect(beyond.json).toEqual({ records: [], next_after: 999999 });
    const empty = await startTestControlPlane();
    try {
      expect((await call(empty.url, "/v1/events")).json).toEqual({ records: [], next_after: 0 });
    } finally {
      await empty.cleanup();
    }
  });

  it("pages join up to exactly what a direct read of the store gives", async () => {
    let after = 0;
    const ids: string[] = [];
    for (;;) {
      const page = await call(pages.url, `/v1/events?after=${after}&limit=4000`);
      if (page.json.records.length === 0) break;
      ids.push(...page.json.records.map((r: StoredRecord) => r.event.event_id));
      after = page.json.next_after;
    }
    expect(ids).toEqual(Array.from({ length: COUNT }, (_, i) => `page-${i + 1}`));
  });
});

describe("start-up", () => {
  it("health is 503 starting until the store is open, and queries wait for it too", async () => {
    const dir = await tempDir();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let listeningAt!: (url: string) => void;
    const listening = new Promise<string>((resolve) => {
      listeningAt = resolve;
    });
    const starting = startTestControlPlane({
      dataDir: dir,
      onListening: listeningAt,
      openStore: async (options) => {
        await gate;
        return openNdjsonStore({ ...options, logger: silentLogger });
      },
    });
    const url = await listening;
    for (const path of ["/health", "/healthz"]) {
      const reply = await call(url, path, { auth: null });
      expect(reply.status).toBe(503);
      expect(reply.json.status).toBe("starting");
    }
    const query = await call(url, "/v1/graph/summary");
    expect(query.status).toBe(503);
    expect(query.json.detail).toBeTypeOf("string");
    release();
    const cp2 = await starting;
    try {
      expect((await call(url, "/health", { auth: null })).json).toEqual({ status: "ok" });
      expect((await call(url, "/v1/graph/summary")).status).toBe(200);
    } finally {
      await cp2.cleanup();
    }
  });

  it("rejects, and frees the port, when the store cannot be opened", async () => {
    const dir = await tempDir();
    const holder = await openNdjsonStore({ dir, logger: silentLogger });
    let url = "";
    try {
      await expect(
        startTestControlPlane({ dataDir: dir, onListening: (u) => (url = u) }),
      ).rejects.toThrow(/locked/);
      await expect(fetch(`${url}/health`)).rejects.toThrow();
    } finally {
      await holder.close();
    }
  });
});
