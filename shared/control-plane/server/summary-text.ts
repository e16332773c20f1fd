import type { Summary, TargetSummary, TaskState } from "../types.ts";
import { type CronModule, judge } from "./judge-stalled.ts";

// `GET /v1/graph/summary` as JSON text, the same text `JSON.stringify(judgeSummary(...).body)`
// gives, made from pieces kept between answers. The state hands out a new frozen object for
// each target summary and task entry a record changes, so text cached by object stays right:
// after an append only the changed target's text is made again (from its tasks' kept texts),
// never the whole reply, which at a long history is megabytes.

/** A target summary's JSON without its closing brace (its judged fields follow). */
const targetTexts = new WeakMap<TargetSummary, string>();
const taskTexts = new WeakMap<TaskState, string>();

/** `"key":value` for each own enumerable key, as JSON.stringify writes them (undefined left out). */
function members(value: object, special?: (key: string) => string | undefined): string[] {
  const out: string[] = [];
  for (const [key, member] of Object.entries(value)) {
    const text = special?.(key) ?? JSON.stringify(member);
    if (text !== undefined) out.push(`${JSON.stringify(key)}:${text}`);
  }
  return out;
}

function taskText(task: TaskState): string {
  let text = taskTexts.get(task);
  if (text === undefined) {
    text = JSON.stringify(task);
    taskTexts.set(task, text);
  }
  return text;
}

function tasksText(tasks: Record<string, TaskState>): string {
  const parts: string[] = [];
  for (const [id, task] of Object.entries(tasks)) {
    parts.push(`${JSON.stringify(id)}:${taskText(task)}`);
  }
  return `{${parts.join(",")}}`;
}

function openTargetText(target: TargetSummary): string {
  let text = targetTexts.get(target);
  if (text === undefined) {
    const parts = members(target, (key) => (key === "tasks" ? tasksText(target.tasks) : undefined));
    text = `{${parts.join(",")}`;
    targetTexts.set(target, text);
  }
  return text;
}

function judgedTargetText(open: string, stalledAt: string | null, stalled: boolean): string {
  const comma = open.length > 1 ? "," : "";
  return `${open}${comma}"stalled_at":${JSON.stringify(stalledAt)},"stalled":${stalled}}`;
}

/** A target's `"id":{...}` as UTF-8, kept while its summary and its judgement stay the same. */
interface JudgedBytes {
  stalledAt: string | null;
  stalled: boolean;
  bytes: Buffer;
}
const judgedBytes = new WeakMap<TargetSummary, JudgedBytes>();

function targetBytes(
  id: string,
  target: TargetSummary,
  stalledAt: string | null,
  stalled: boolean,
): Buffer {
  const kept = judgedBytes.get(target);
  if (kept && kept.stalledAt === stalledAt && kept.stalled === stalled) return kept.bytes;
  // A summary that already carries the judged fields would keep them in place when spread.
  const text =
    "stalled_at" in target || "stalled" in target
      ? JSON.stringify({ ...target, stalled_at: stalledAt, stalled })
      : judgedTargetText(openTargetText(target), stalledAt, stalled);
  const bytes = Buffer.from(`${JSON.stringify(id)}:${text}`);
  judgedBytes.set(target, { stalledAt, stalled, bytes });
  return bytes;
}

/** Where the targets go in the summary's text: JSON text never holds a raw NUL. */
const TARGETS_MARK = "\u0000targets\u0000";
const COMMA = Buffer.from(",");

/**
 * The judged summary as UTF-8 JSON and until when it holds (see `judgeSummary`): the unchanged
 * targets' bytes are copied as they are, so an answer after an append encodes only what changed.
 */
export function judgedSummaryText(
  cron: CronModule,
  summary: Summary,
  now: number,
): { text: Buffer; validUntil: number } {
  let validUntil = Infinity;
  const targets: Buffer[] = [];
  for (const [id, target] of Object.entries(summary.targets)) {
    const { changesAt, stalled_at, stalled } = judge(cron, target, now);
    validUntil = Math.min(validUntil, changesAt);
    if (targets.length > 0) targets.push(COMMA);
    targets.push(targetBytes(id, target, stalled_at, stalled));
  }
  const parts = members(summary, (key) => (key === "targets" ? TARGETS_MARK : undefined));
  const [before = "", after = ""] = `{${parts.join(",")}}`.split(TARGETS_MARK);
  const text = Buffer.concat([Buffer.from(`${before}{`), ...targets, Buffer.from(`}${after}`)]);
  return { text, validUntil };
}
