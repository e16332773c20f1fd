import type { CronExpressionParser } from "cron-parser";
import type { Summary, TargetSummary } from "../types.ts";

/** What is used of cron-parser. */
export interface CronModule {
  CronExpressionParser: typeof CronExpressionParser;
}

let loading: Promise<CronModule> | undefined;

/**
 * cron-parser, loaded on first use: it takes longer to import than the whole control plane takes
 * to start. The server starts loading it once the store is open, so the first query rarely waits.
 */
export function loadCron(): Promise<CronModule> {
  loading ??= import("cron-parser").then((m) => ({
    CronExpressionParser: m.CronExpressionParser,
  }));
  return loading;
}

/** A tick takes a moment to record its decision: the second missed tick counts after this long. */
export const STALL_GRACE_MS = 60_000;

const memo = new Map<string, string | null>();
const MAX_MEMO = 10_000;

/**
 * When a target becomes stalled if no tick comes: two scheduled ticks after its last one have
 * gone by (read in UTC, as Knative's PingSource reads a schedule), plus `STALL_GRACE_MS`. So a
 * stalled target's last tick is always older than two periods of its schedule. Null when the
 * schedule or the last tick is unknown, or the schedule is not a cron expression.
 */
export function stalledAt(
  cron: CronModule,
  schedule: string | null,
  lastTickAt: string | null,
): string | null {
  if (schedule === null || lastTickAt === null) return null;
  const key = `${schedule}\n${lastTickAt}`;
  const known = memo.get(key);
  if (known !== undefined) return known;
  let answer: string | null = null;
  const last = Date.parse(lastTickAt);
  if (Number.isFinite(last)) {
    try {
      const expression = cron.CronExpressionParser.parse(schedule, {
        currentDate: new Date(last),
        tz: "UTC",
      });
      expression.next();
      const second = expression.next().getTime();
      answer = new Date(second + STALL_GRACE_MS).toISOString();
    } catch {
      answer = null;
    }
  }
  if (memo.size >= MAX_MEMO) memo.clear();
  memo.set(key, answer);
  return answer;
}

/** An answer and until when it holds: a target's `stalled` turns true at its `stalled_at`. */
export interface JudgedAnswer<T> {
  body: T;
  /** Epoch ms; Infinity when no target of the answer can become stalled without a new record. */
  validUntil: number;
}

export interface Judgement {
  stalled_at: string | null;
  stalled: boolean;
  /** When `stalled` changes next without a record (Infinity: never). */
  changesAt: number;
}

export function judge(
  cron: CronModule,
  target: Pick<TargetSummary, "schedule_cron" | "last_tick_at">,
  now: number,
): Judgement {
  const at = stalledAt(cron, target.schedule_cron ?? null, target.last_tick_at);
  if (at === null) return { stalled_at: null, stalled: false, changesAt: Infinity };
  const when = Date.parse(at);
  return when <= now
    ? { stalled_at: at, stalled: true, changesAt: Infinity }
    : { stalled_at: at, stalled: false, changesAt: when };
}

/** The summary with each target's `stalled_at` and `stalled` as of `now`. */
export function judgeSummary(
  cron: CronModule,
  summary: Summary,
  now: number,
): JudgedAnswer<Summary> {
  let validUntil = Infinity;
  const targets = Object.entries(summary.targets).map(([id, target]) => {
    const { changesAt, ...health } = judge(cron, target, now);
    validUntil = Math.min(validUntil, changesAt);
    return [id, { ...target, ...health }] as const;
  });
  // fromEntries defines own properties, so a target named `__proto__` stays a key.
  return { body: { ...summary, targets: Object.fromEntries(targets) }, validUntil };
}
