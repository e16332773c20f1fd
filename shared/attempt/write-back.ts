import { isDeepStrictEqual } from "node:util";
import {
  type Document,
  isMap,
  isScalar,
  isSeq,
  type Pair,
  parseDocument,
  Scalar,
  stringify,
  type YAMLMap,
} from "yaml";
import { BACKLOG_PATH, normalizeRepoPath, withinPrefix } from "../scope/check-path.ts";
import { AttemptFailure } from "./attempt-failure.ts";

/** What the attempt records on its task, in the order new keys are added. */
export interface WriteBackFields {
  status: "completed";
  last_attempt_id: string;
  branch_name: string;
  /** ISO 8601. */
  completed_at: string;
}

/** Whether the task's own paths cover the backlog, so its executor may edit it. */
export function executorMayEditBacklog(
  allowedPaths: readonly string[],
  prefixes: readonly string[],
): boolean {
  const covers = (list: readonly string[]) =>
    list.some((raw) => {
      const normalized = normalizeRepoPath(raw);
      return normalized.ok && withinPrefix(BACKLOG_PATH, normalized.path);
    });
  return covers(allowedPaths) && covers(prefixes);
}

/**
 * The backlog text with the task's fields set. The task's map node is found and changed with
 * the yaml Document API; the text is then edited only where those values sit (a replaced
 * value, or new `key: value` lines after the task's last field), so every other byte — comments,
 * blank lines, quoting, order — stays as written. The edit is checked by parsing it again; if
 * it does not give exactly the document the API produced (an unusual layout, such as a task
 * written in flow style), the API's own serialisation is used, which still keeps comments.
 */
export function applyWriteBack(
  text: string,
  taskId: string,
  fields: WriteBackFields,
): { text: string; method: "splice" | "document" } {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    throw new AttemptFailure(
      "task_not_found",
      "task",
      `${BACKLOG_PATH} does not parse: ${doc.errors[0]?.message.split("\n")[0]}`,
    );
  }
  const task = findTask(doc, taskId);
  const spliced = isMap(task) && !task.flow ? spliceFields(text, task, fields) : null;
  for (const [key, value] of Object.entries(fields)) task.set(key, value);
  const expected = doc.toJS();
  if (spliced !== null) {
    const check = parseDocument(spliced);
    if (check.errors.length === 0 && isDeepStrictEqual(check.toJS(), expected)) {
      return { text: spliced, method: "splice" };
    }
  }
  return { text: doc.toString(), method: "document" };
}

function findTask(doc: Document.Parsed, taskId: string): YAMLMap {
  const tasks = doc.get("tasks", true);
  const matches = isSeq(tasks)
    ? tasks.items.filter(
        (item): item is YAMLMap =>
          isMap(item) && String(scalarValue(item.get("id", true))) === taskId,
      )
    : [];
  if (matches.length === 1 && matches[0]) return matches[0];
  const why = matches.length === 0 ? "is not in" : "appears more than once in";
  throw new AttemptFailure("task_not_found", "task", `task ${taskId} ${why} ${BACKLOG_PATH}`);
}

function scalarValue(node: unknown): unknown {
  return isScalar(node) ? node.value : undefined;
}

interface Edit {
  at: number;
  end: number;
  insert: string;
}

/** The text edits for a block-style task map, or null when its layout is not understood. */
function spliceFields(text: string, task: YAMLMap, fields: WriteBackFields): string | null {
  const eol = text.includes("\r\n") ? "\r\n" : "\n";
  const pairs = task.items as Pair[];
  const firstKey = pairs[0]?.key as { range?: [number, number, number] } | undefined;
  const last = pairs.at(-1);
  const lastEnd = nodeEnd(last?.value) ?? nodeEnd(last?.key);
  if (!firstKey?.range || lastEnd === undefined) return null;
  const indent = " ".repeat(firstKey.range[0] - lineStart(text, firstKey.range[0]));
  const edits: Edit[] = [];
  const added: string[] = [];
  for (const [key, value] of Object.entries(fields)) {
    const pair = pairs.find((item) => scalarValue(item.key) === key);
    if (!pair) {
      added.push(
        `${indent}${key}: ${scalarText(value, key === "completed_at" ? "QUOTE_DOUBLE" : undefined)}`,
      );
      continue;
    }
    const node = pair.value;
    if (!isScalar(node) || !node.range || node.value === null) return null;
    const style =
      node.type === "QUOTE_DOUBLE" || node.type === "QUOTE_SINGLE" ? node.type : undefined;
    edits.push({ at: node.range[0], end: node.range[1], insert: scalarText(value, style) });
  }
  if (added.length > 0) {
    // After the line the task's last value ends on (past any comment on that line).
    let at = lastEnd;
    if (text[at - 1] !== "\n") {
      const newline = text.indexOf("\n", at);
      at = newline === -1 ? text.length : newline + 1;
    }
    const lead = at === text.length && !text.endsWith("\n") ? eol : "";
    edits.push({ at, end: at, insert: lead + added.map((line) => line + eol).join("") });
  }
  let out = text;
  for (const edit of edits.sort((a, b) => b.at - a.at)) {
    out = out.slice(0, edit.at) + edit.insert + out.slice(edit.end);
  }
  return out;
}

function nodeEnd(node: unknown): number | undefined {
  const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
  return range?.[2];
}

function lineStart(text: string, offset: number): number {
  return text.lastIndexOf("\n", offset - 1) + 1;
}

function scalarText(value: string, style?: Scalar.Type): string {
  const node = new Scalar(value);
  if (style) node.type = style;
  return stringify(node, { lineWidth: 0 }).trimEnd();
}
