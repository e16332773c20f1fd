// A seeded stream of plausible events for round-trip tests and the latency measurement: many
// targets and tasks, attempts interleaved, PRs opened and merged, and — with `chaos` — what a
// real stream also holds: events out of order or repeated under new ids, late terminal events,
// missing numbers and kinds, skips, resets, blocked tasks, unknown types, bad payloads and
// events naming another target's attempt.
import type { EventSpec } from "./state-helpers.ts";

export interface SyntheticOptions {
  seed: number;
  events: number;
  targets: number;
  /** Attempts in flight at once. */
  live: number;
  chaos: boolean;
}

interface LiveAttempt {
  id: string;
  target: string;
  task: string;
  number: number | undefined;
  steps: string[];
}

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TASK_REASONS = ["executor_failed", "scope_violation", "nothing_to_commit", "timeout"];
const PLATFORM_REASONS = ["clone_failed", "push_failed", "pr_failed", "lost"];

export function* syntheticEvents(options: SyntheticOptions): Generator<EventSpec> {
  const random = seededRandom(options.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const chance = (p: number) => random() < p;
  const targets = Array.from({ length: options.targets }, (_, i) => `target-${i}`);
  const nextTask = new Map<string, number>(targets.map((t) => [t, 0]));
  const attemptsOfTask = new Map<string, number>();
  const live: LiveAttempt[] = [];
  const pastEvents: EventSpec[] = [];
  const openPrs: Array<{ target: string; url: string; attempt: string; task: string }> = [];
  const mergedPrs: Array<{ target: string; url: string; attempt: string; task: string }> = [];
  let emitted = 0;
  let prNumber = 0;
  let clock = Date.parse("2024-05-01T00:00:00Z");

  function stamp(spec: EventSpec): EventSpec {
    clock += 1000 + Math.floor(random() * 4000);
    emitted += 1;
    const done = { ...spec, timestamp: new Date(clock).toISOString() };
    if (options.chaos && chance(0.05)) {
      pastEvents.push(done);
      if (pastEvents.length > 200) pastEvents.splice(0, 100);
    }
    return done;
  }

  function attemptSpec(
    a: LiveAttempt,
    step: string,
    more: Record<string, unknown> = {},
  ): EventSpec {
    const payload: Record<string, unknown> = {
      attempt_id: a.id,
      task_id: a.task,
      target_id: a.target,
      ...more,
    };
    if (a.number !== undefined) payload.attempt_number = a.number;
    return { type: `attempt.${step}`, target: a.target, actor: "synthetic", payload };
  }

  function startAttempt(): EventSpec {
    const target = pick(targets);
    // Mostly retry a recent task, sometimes start a new one.
    const top = nextTask.get(target)!;
    const taskIndex =
      top > 0 && chance(0.6) ? Math.max(0, top - 1 - Math.floor(random() * 3)) : top;
    if (taskIndex === top) nextTask.set(target, top + 1);
    const task = `task-${taskIndex}`;
    const key = `${target}/${task}`;
    const number = (attemptsOfTask.get(key) ?? 0) + 1;
    attemptsOfTask.set(key, number);
    const a: LiveAttempt = {
      id: `attempt-${target}-${task}-${number}`,
      target,
      task,
      number: options.chaos && chance(0.05) ? undefined : number,
      steps: [],
    };
    const succeeds = chance(0.6);
    a.steps = chance(0.7) ? ["created", "started"] : ["started"];
    if (options.chaos && chance(0.1)) a.steps.reverse();
    if (succeeds) a.steps.push("pr", "succeeded");
    else a.steps.push("failed");
    if (options.chaos && chance(0.05)) a.steps.push(succeeds ? "failed" : "succeeded");
    live.push(a);
    return attemptSpec(a, "requested", { config: `${target}.yaml` });
  }

  function advance(a: LiveAttempt): EventSpec {
    const step = a.steps.shift()!;
    if (a.steps.length === 0) live.splice(live.indexOf(a), 1);
    if (step === "pr") {
      prNumber += 1;
      const url = `https://forge.example/${a.target}/pull/${prNumber}`;
      openPrs.push({ target: a.target, url, attempt: a.id, task: a.task });
      return {
        type: "pr.created",
        target: a.target,
        actor: "synthetic",
        payload: { attempt_id: a.id, task_id: a.task, pr_url: url, pr_number: prNumber },
      };
    }
    if (step !== "failed") return attemptSpec(a, step);
    const platform = chance(0.3);
    const reason = pick(platform ? PLATFORM_REASONS : TASK_REASONS);
    const more: Record<string, unknown> = { reason };
    if (!options.chaos || chance(0.7)) more.failure_kind = platform ? "platform" : "task";
    return attemptSpec(a, "failed", more);
  }

  function endPullRequest(): EventSpec {
    const pr = openPrs.splice(Math.floor(random() * openPrs.length), 1)[0]!;
    mergedPrs.push(pr);
    if (mergedPrs.length > 100) mergedPrs.shift();
    return {
      type: chance(0.8) ? "pr.merged" : "pr.closed",
      target: pr.target,
      actor: "synthetic",
      payload: { pr_url: pr.url, pr_number: prNumber, task_id: pr.task, attempt_id: pr.attempt },
    };
  }

  function chaosEvent(): EventSpec {
    const target = pick(targets);
    const roll = random();
    if (roll < 0.2 && pastEvents.length > 0) return { ...pick(pastEvents) };
    if (roll < 0.3 && mergedPrs.length > 0) {
      const pr = pick(mergedPrs);
      return {
        type: "pr.created",
        target: pr.target,
        payload: { attempt_id: pr.attempt, pr_url: pr.url },
      };
    }
    if (roll < 0.4) return { type: "circuit.reset", target };
    if (roll < 0.5)
      return { type: "task.blocked", target, payload: { task_id: "task-0", attempts: 2 } };
    if (roll < 0.6) return { type: "deploy.finished", target, payload: { attempt_id: "x" } };
    if (roll < 0.7 && live.length > 0) {
      // Another target names a live attempt: a stray the state must ignore.
      const a = pick(live);
      return attemptSpec(
        { ...a, target: targets.find((t) => t !== a.target) ?? a.target },
        "failed",
      );
    }
    if (roll < 0.8) {
      return { type: "attempt.started", target, payload: { attempt_id: 5, task_id: ["x"] } };
    }
    return { type: "attempt.created", target, payload: { attempt_id: `orphan-${emitted}` } };
  }

  while (emitted < options.events) {
    const roll = random();
    if (roll < 0.03) {
      yield stamp({
        type: "scheduler.skipped",
        target: pick(targets),
        actor: "scheduler",
        payload: { reason: pick(["no_ready_task", "max_open_prs", "circuit_open"]) },
      });
    } else if (options.chaos && roll < 0.08) {
      yield stamp(chaosEvent());
    } else if (openPrs.length > 2 * options.targets || (roll < 0.12 && openPrs.length > 0)) {
      // About two open PRs a target at most, as max_open_prs keeps a real one.
      yield stamp(endPullRequest());
    } else if (live.length < options.live && (roll < 0.35 || live.length === 0)) {
      yield stamp(startAttempt());
    } else {
      yield stamp(advance(pick(live)));
    }
  }
}
