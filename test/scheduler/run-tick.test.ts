// runTick against a REAL control plane (HTTP, NDJSON store) with an in-memory Forge behind the
// Forge interface; the HTTP-level GitHub fake is exercised in the tick's end-to-end tests.
import { createHash } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ControlPlaneClient } from "../../shared/control-plane/client/control-plane-client.ts";
import { attemptEventId, jobNameFor, tickDecisionEventId } from "../../shared/events/ids.ts";
import type { AttemptRequest, LeviathanEvent } from "../../shared/events/types.ts";
import { type Forge, ForgeUnavailableError, type PullRequest } from "../../shared/forge/types.ts";
import type { JobRunner, JobStatus } from "../../shared/jobs/types.ts";
import { runTick, type TickDependencies } from "../../shared/scheduler/run-tick.ts";
import { startTestControlPlane, type TestControlPlane, TOKEN } from "../control-plane/support.ts";
import { filesOf, silentLogger } from "../support/store/store-helpers.ts";
import { NOW, pullRequest, seedConfig } from "./fixtures.ts";

const BACKLOG = `tasks:
  - id: docs-1
    title: First
    ready: true
    allowed_paths: [docs/a.md]
  - id: docs-2
    title: Second
    ready: true
    allowed_paths: [docs/b.md]
`;

class MemoryForge implements Forge {
  requestCount = 0;
  open: PullRequest[] = [];
  closed = new Map<number, PullRequest>();
  backlog: string | null = BACKLOG;
  failing = false;
  writes = 0;
  private ask<T>(value: T): Promise<T> {
    this.requestCount++;
    if (this.failing) return Promise.reject(new ForgeUnavailableError("forge down", 503));
    return Promise.resolve(value);
  }
  listOpenPullRequests() {
    return this.ask([...this.open]);
  }
  getPullRequest(number: number) {
    const pr = this.closed.get(number) ?? this.open.find((p) => p.number === number);
    return pr ? this.ask(pr) : Promise.reject(new ForgeUnavailableError("not found", 404));
  }
  findOpenPullRequest(head: string) {
    return this.ask(this.open.find((p) => p.head_ref === head) ?? null);
  }
  createPullRequest(): Promise<PullRequest> {
    this.writes++;
    throw new Error("the tick never creates PRs");
  }
  readFile() {
    return this.ask(this.backlog);
  }
  readFileWithSha() {
    const text = this.backlog;
    const sha = text === null ? "" : createHash("sha1").update(text).digest("hex");
    return this.ask(text === null ? null : { text, sha });
  }
}

let cp: TestControlPlane;
let client: ControlPlaneClient;
let forge: MemoryForge;
let forgesMade: number;
let dispatched: AttemptRequest[];
let clock: Date;

function deps(overrides: Partial<TickDependencies> = {}): TickDependencies {
  return {
    controlPlane: client,
    forge: () => {
      forgesMade++;
      return forge;
    },
    dispatch: async (request) => {
      dispatched.push(request);
    },
    logger: silentLogger,
    now: () => clock,
    ...overrides,
  };
}

const tick = (
  tickId: string,
  options: { dryRun?: boolean; config?: Parameters<typeof seedConfig>[0] } = {},
  d = deps(),
) =>
  runTick(
    {
      config: seedConfig(options.config),
      configName: "dev.yaml",
      tickId,
      dryRun: options.dryRun ?? false,
    },
    d,
  );

async function stored(): Promise<LeviathanEvent[]> {
  return (await client.getEvents(0, 10_000)).records.map((r) => r.event);
}

beforeEach(async () => {
  cp = await startTestControlPlane();
  client = new ControlPlaneClient({ url: cp.url, token: TOKEN, attempts: 1 });
  forge = new MemoryForge();
  forgesMade = 0;
  dispatched = [];
  clock = NOW;
});

afterEach(async () => {
  await cp.cleanup();
});

describe("runTick", () => {
  it("records attempt.requested, then dispatches it, asking the forge twice", async () => {
    const outcome = await tick("ping-1");
    expect(outcome.decision).toMatchObject({
      action: "dispatch",
      task_id: "docs-1",
      attempt_number: 1,
    });
    expect(outcome.dispatched).toBe(true);
    expect(outcome.forgeRequests).toBe(2);
    expect(dispatched).toEqual([
      {
        target_id: "radix",
        task_id: "docs-1",
        attempt_id: (outcome.decision as { attempt_id: string }).attempt_id,
        attempt_number: 1,
        config: "dev.yaml",
      },
    ]);
    const events = await stored();
    expect(events.map((e) => e.event_type)).toEqual(["attempt.requested", "scheduler.decided"]);
    expect(events[1]).toMatchObject({
      event_id: tickDecisionEventId("radix", "ping-1"),
      payload: { tick_id: "ping-1", decision: outcome.decision },
    });
    // The policy it ran under, for the control plane to judge stalled and breaker open.
    expect(events[1]?.payload).toMatchObject({
      schedule_cron: seedConfig().schedule_cron,
      circuit_breaker_failures: seedConfig().circuit_breaker_failures,
    });
    expect((await client.getTarget("radix")).running_attempts).toEqual([dispatched[0]!.attempt_id]);
  });

  it("maps a redelivered ping and concurrent ticks onto one attempt and one dispatch", async () => {
    await Promise.all([tick("ping-1"), tick("ping-1"), tick("manual-x")]);
    await tick("ping-1");
    const requested = (await stored()).filter((e) => e.event_type === "attempt.requested");
    expect(requested).toHaveLength(1);
    expect(dispatched).toHaveLength(1);
  });

  it("writes nothing anywhere in a dry run", async () => {
    const before = await filesOf(cp.dir);
    const outcome = await tick("ping-dry", { dryRun: true });
    expect(outcome.decision.action).toBe("dispatch");
    expect(outcome.dispatched).toBe(false);
    expect(outcome.events.map((e) => e.event_type)).toEqual([
      "attempt.requested",
      "scheduler.decided",
    ]);
    expect(dispatched).toEqual([]);
    expect(forge.writes).toBe(0);
    expect(await filesOf(cp.dir)).toEqual(before);
  });

  it("asks nothing at all when autonomy is disabled", async () => {
    let targetReads = 0;
    const counting = {
      getTickDecision: client.getTickDecision.bind(client),
      getAttempt: client.getAttempt.bind(client),
      getTarget: (id: string) => {
        targetReads++;
        return client.getTarget(id);
      },
      postEvents: client.postEvents.bind(client),
    };
    const outcome = await tick(
      "ping-off",
      { config: { autonomy_enabled: false } },
      deps({ controlPlane: counting }),
    );
    expect(outcome.decision).toEqual({ action: "skip", reason: "autonomy_disabled" });
    expect([forgesMade, targetReads]).toEqual([0, 0]);
    expect((await stored()).map((e) => [e.event_type, e.payload.reason])).toEqual([
      ["scheduler.skipped", "autonomy_disabled"],
      ["scheduler.decided", undefined],
    ]);
  });

  it("fails safe when the forge cannot be asked", async () => {
    forge.failing = true;
    const outcome = await tick("ping-down");
    expect(outcome.decision).toMatchObject({ action: "skip", reason: "forge_unavailable" });
    expect(dispatched).toEqual([]);
  });

  it("spends no forge request while the breaker is open, and dispatches again after a reset", async () => {
    await client.postEvents(
      "radix",
      [1, 2].map((n) => failedAttempt(`docs-1`, n, "executor_failed")),
    );
    const open = await tick("ping-open");
    expect(open.decision).toMatchObject({ action: "skip", reason: "circuit_open" });
    expect(forgesMade).toBe(0);
    await client.resetCircuit("radix");
    const after = await tick("ping-after");
    // docs-1 used both its attempts: it is blocked once and the next task runs.
    expect(after.decision).toMatchObject({ action: "dispatch", task_id: "docs-2" });
    const blocked = (await stored()).filter((e) => e.event_type === "task.blocked");
    expect(blocked.map((e) => e.payload)).toEqual([
      { task_id: "docs-1", target_id: "radix", attempts: 2 },
    ]);
  });

  it("fails an attempt that outlived its deadline as a timeout before selecting", async () => {
    await tick("ping-1");
    clock = new Date(NOW.getTime() + (900 + 121) * 1000);
    const outcome = await tick("ping-late");
    const failed = (await stored()).find((e) => e.event_type === "attempt.failed");
    expect(failed?.payload).toMatchObject({
      reason: "timeout",
      failure_kind: "task",
      task_id: "docs-1",
    });
    expect(outcome.decision).toMatchObject({
      action: "dispatch",
      task_id: "docs-1",
      attempt_number: 2,
    });
  });

  it("records a Job that ended without reporting as lost, and re-sends a request whose Job never appeared", async () => {
    await tick("ping-1");
    const attemptId = dispatched[0]!.attempt_id;
    const jobs = (list: JobStatus[]): JobRunner => ({
      submit: async () => ({ created: true }),
      status: async (name) => ({ name, phase: "missing" }),
      list: async () => list,
    });
    dispatched = [];
    const again = await tick("ping-2", {}, deps({ jobs: jobs([]) }));
    expect(again.redispatched).toEqual([attemptId]);
    expect(dispatched.map((r) => r.attempt_id)).toEqual([attemptId]);

    const name = `worker-${attemptId}`.toLowerCase();
    await tick(
      "ping-3",
      {},
      deps({ jobs: jobs([{ name, phase: "failed", reason: "exit code 1" }]) }),
    );
    const failed = (await stored()).find((e) => e.event_type === "attempt.failed");
    expect(failed).toMatchObject({
      event_id: attemptEventId(attemptId, "attempt.failed"),
      payload: { reason: "lost", failure_kind: "platform" },
    });
    // Not charged to the task: the same tick ran it again as attempt 2, which is the only charge.
    const target = await client.getTarget("radix");
    expect(target.tasks["docs-1"]).toMatchObject({ attempts: 2, charged_attempts: 1 });
    expect(dispatched.at(-1)).toMatchObject({ task_id: "docs-1", attempt_number: 2 });
  });

  it("records a PR that left the open list as merged, so the summary's open PRs stay true", async () => {
    const pr = pullRequest(7, { task: "docs-1" });
    await client.postEvents("radix", [
      {
        event_id: "pr-7",
        event_type: "pr.created",
        timestamp: NOW.toISOString(),
        actor_id: "worker",
        payload: {
          attempt_id: "attempt-docs-1-0badf00d",
          task_id: "docs-1",
          pr_url: pr.html_url,
          pr_number: 7,
        },
      },
    ]);
    forge.closed.set(7, { ...pr, state: "closed", merged: true });
    await tick("ping-merge");
    const merged = (await stored()).find((e) => e.event_type === "pr.merged");
    expect(merged?.payload).toMatchObject({ pr_number: 7, pr_url: pr.html_url, task_id: "docs-1" });
    expect((await client.getSummary()).targets.radix?.open_prs).toEqual([]);
  });
});

describe("a tick id is decided once", () => {
  it("answers a ping redelivered after its attempt failed with the first decision, and sends nothing", async () => {
    const first = await tick("ping-1");
    expect(first.decision).toMatchObject({ action: "dispatch", task_id: "docs-1" });
    const attemptId = dispatched[0]!.attempt_id;
    await client.postEvents("radix", [failedAttempt("docs-1", 1, "executor_failed", attemptId)]);
    const before = await stored();

    const again = await tick("ping-1");
    expect(again.decision).toEqual({ ...first.decision, replayed: true });
    expect([again.dispatched, again.events, again.redispatched]).toEqual([false, [], []]);
    expect(dispatched.map((r) => r.attempt_id)).toEqual([attemptId]);
    expect(await stored()).toEqual(before);
    // A new ping is a new tick: the task's second attempt.
    expect((await tick("ping-2")).decision).toMatchObject({ task_id: "docs-1", attempt_number: 2 });
  });

  it("answers a redelivered skip with that skip, however the facts changed since", async () => {
    forge.failing = true;
    const first = await tick("ping-down");
    expect(first.decision).toMatchObject({ action: "skip", reason: "forge_unavailable" });
    forge.failing = false;
    const before = await stored();
    const again = await tick("ping-down");
    expect(again.decision).toEqual({ ...first.decision, replayed: true });
    expect(dispatched).toEqual([]);
    expect(await stored()).toEqual(before);
  });

  it("sends the same request again when the first delivery could not reach the worker", async () => {
    const down = deps({
      dispatch: () => Promise.reject(new Error("worker unreachable")),
    });
    await expect(tick("ping-1", {}, down)).rejects.toThrow("worker unreachable");
    const requested = (await stored()).filter((e) => e.event_type === "attempt.requested");
    expect(requested).toHaveLength(1);

    // PingSource retries the same id: the recorded decision, and the same attempt sent.
    const again = await tick("ping-1", {}, deps({ jobs: noJobs() }));
    expect(again.decision).toMatchObject({ task_id: "docs-1", attempt_number: 1, replayed: true });
    expect(again.redispatched).toEqual([requested[0]!.payload.attempt_id]);
    expect(dispatched).toEqual([requested[0]!.payload]);
    expect((await stored()).filter((e) => e.event_type === "attempt.requested")).toHaveLength(1);
    // Once its Job exists, a further repeat sends nothing.
    const name = jobNameFor(requested[0]!.payload.attempt_id as string);
    const created = await tick("ping-1", {}, deps({ jobs: noJobs({ name, phase: "pending" }) }));
    expect(created.redispatched).toEqual([]);
    expect(dispatched).toHaveLength(1);
  });

  it("says dispatched: false when a concurrent tick had stored the same attempt first", async () => {
    // Both ticks read the target before either recorded anything.
    const before = await client.getTarget("radix");
    await tick("ping-a");
    const stale = deps({
      controlPlane: {
        getTickDecision: client.getTickDecision.bind(client),
        getAttempt: client.getAttempt.bind(client),
        getTarget: async () => before,
        postEvents: client.postEvents.bind(client),
      },
    });
    const late = await tick("manual-b", {}, stale);
    expect(late.decision).toMatchObject({
      action: "dispatch",
      task_id: "docs-1",
      attempt_number: 1,
      dispatched: false,
    });
    expect(late.dispatched).toBe(false);
    expect(dispatched).toHaveLength(1);
    // Recorded as it answered, so a repeat of that tick says the same and sends nothing.
    const repeat = await tick("manual-b");
    expect(repeat.decision).toEqual({ ...late.decision, replayed: true });
    expect(dispatched).toHaveLength(1);
  });

  it("keeps each target's decisions apart under the same tick id", async () => {
    await tick("ping-1");
    const other = await tick("ping-1", { config: { target_id: "docs-site" } });
    expect(other.decision).toMatchObject({ action: "dispatch", task_id: "docs-1" });
    expect(other.decision).not.toHaveProperty("replayed");
  });
});

/** A job runner that knows only these Jobs (every other one is missing). */
function noJobs(...known: JobStatus[]): JobRunner {
  return {
    submit: async () => ({ created: true }),
    status: async (name) => known.find((job) => job.name === name) ?? { name, phase: "missing" },
    list: async () => known,
  };
}

function failedAttempt(
  task: string,
  n: number,
  reason: string,
  attemptId = `attempt-${task}-0000000${n}`,
): LeviathanEvent {
  return {
    event_id: attemptEventId(attemptId, "attempt.failed"),
    event_type: "attempt.failed",
    timestamp: NOW.toISOString(),
    actor_id: "worker",
    payload: {
      attempt_id: attemptId,
      task_id: task,
      attempt_number: n,
      reason,
      failure_kind: "task",
    },
  };
}
