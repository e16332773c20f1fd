import type { Summary, TargetSummary, TargetView } from "../types.ts";
import { type JsonParts, joinMembers, objectParts, recordMembers } from "./json-parts.ts";
import { type CronModule, type Judgement, judge } from "./judge-stalled.ts";

// `GET /v1/graph/summary` and `GET /v1/targets/:target` as the UTF-8 pieces of the text
// `JSON.stringify(judgeSummary(...).body)` (or the target view with `judge`'s two fields) gives. The state hands out a new
// frozen object for each target view and task entry a record changes, so pieces kept by object
// stay right: after an append only the changed target's small fields and the block of tasks
// holding the changed task are encoded again, never the whole reply (megabytes at a long history).

/** A target's pieces as judged, kept while its view, its place and its judgement stay the same. */
interface JudgedParts {
  prefix: string;
  stalledAt: string | null;
  stalled: boolean;
  parts: JsonParts;
}
const judgedParts = new WeakMap<TargetSummary | TargetView, JudgedParts>();

/** The members holding one entry per task: thousands of them in a target with a long history. */
const TASK_RECORDS = new Set(["tasks", "task_details"]);

function taskRecordMembers(key: string, member: unknown): JsonParts | undefined {
  if (!TASK_RECORDS.has(key) || typeof member !== "object" || member === null) return undefined;
  return recordMembers(member);
}

function targetParts(
  prefix: string,
  view: TargetSummary | TargetView,
  { stalled_at, stalled }: Judgement,
): JsonParts {
  const kept = judgedParts.get(view);
  if (kept?.prefix === prefix && kept.stalledAt === stalled_at && kept.stalled === stalled) {
    return kept.parts;
  }
  // Spread as the judge does: judged fields a view already carries keep their place.
  const parts = objectParts(prefix, { ...view, stalled_at, stalled }, taskRecordMembers);
  judgedParts.set(view, { prefix, stalledAt: stalled_at, stalled, parts });
  return parts;
}

/** An answer's pieces and until when they hold (epoch ms; see `judgeSummary`). */
export interface AnswerParts {
  parts: JsonParts;
  validUntil: number;
}

/** The judged summary: each target's pieces are kept, so only changed targets are encoded. */
export function judgedSummaryParts(cron: CronModule, summary: Summary, now: number): AnswerParts {
  let validUntil = Infinity;
  const targets: Buffer[] = [];
  for (const [id, target] of Object.entries(summary.targets)) {
    const judgement = judge(cron, target, now);
    validUntil = Math.min(validUntil, judgement.changesAt);
    for (const part of targetParts(`,${JSON.stringify(id)}:`, target, judgement)) {
      targets.push(part);
    }
  }
  const parts = objectParts("", summary, (key) =>
    key === "targets" ? joinMembers(targets) : undefined,
  );
  return { parts, validUntil };
}

/** The judged target view, its task records written from the blocks the summary keeps too. */
export function judgedTargetParts(cron: CronModule, view: TargetView, now: number): AnswerParts {
  const judgement = judge(cron, view, now);
  return { parts: targetParts("", view, judgement), validUntil: judgement.changesAt };
}
