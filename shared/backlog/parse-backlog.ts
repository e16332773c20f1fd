import { lineOf, type ParsedYaml, parseYamlWithLines } from "../config/yaml-location.ts";
import { errorMessage } from "../errors/error-message.ts";
import { formatPath } from "../events/schema.ts";
import { normalizeRepoPath } from "../scope/check-path.ts";
import { TASK_FIELDS } from "./task-fields.ts";
import type {
  BacklogParse,
  BacklogProblem,
  BacklogTask,
  TaskFields,
  TaskProblem,
} from "./types.ts";

/** Where the backlog lives in the target repository. */
export const BACKLOG_FILE = ".leviathan/backlog.yaml";

const UNKNOWN_FIELD = "unknown field, kept and ignored";

type LineAt = (path: PropertyKey[]) => number | undefined;

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/**
 * Reads a backlog. The whole file is invalid when the YAML does not parse, `tasks`
 * is missing or not a list, a task has no string `id`, or two tasks share one; every such
 * problem is returned, each with its line. Otherwise every task comes back in file order with
 * its own problems (each makes only that task ineligible) and warnings (unknown fields).
 * `file` is only carried into the result, so a decision can name it.
 */
export function parseBacklog(text: string, file?: string): BacklogParse {
  const named = file === undefined ? {} : { file };
  const invalid = (problems: BacklogProblem[]): BacklogParse => ({
    ok: false,
    ...named,
    problems,
  });
  const parsed = parseYamlWithLines(text);
  if (parsed.doc.errors.length > 0) {
    return invalid(
      parsed.doc.errors.map((error) => ({
        path: "",
        line: parsed.lineCounter.linePos(error.pos[0]).line,
        message: `YAML does not parse: ${error.message.split("\n")[0]}`,
      })),
    );
  }
  let data: unknown;
  try {
    data = parsed.doc.toJS();
  } catch (error) {
    // e.g. the yaml library's guard against alias bombs.
    return invalid([{ path: "", line: 1, message: `YAML does not parse: ${errorMessage(error)}` }]);
  }
  if (!isRecord(data) || !("tasks" in data)) {
    return invalid([{ path: "tasks", line: lineOf(parsed, []) ?? 1, message: "tasks is missing" }]);
  }
  const entries = data.tasks;
  if (!Array.isArray(entries)) {
    return invalid([
      { path: "tasks", line: lineOf(parsed, ["tasks"]), message: "must be a list of tasks" },
    ]);
  }
  const problems = idProblems(parsed, entries);
  if (problems.length > 0) return invalid(problems);

  const tasks = entries.map((entry, index) =>
    readTask(entry as Record<string, unknown>, index, (path) =>
      lineOf(parsed, ["tasks", index, ...path]),
    ),
  );
  const warnings: BacklogProblem[] = Object.keys(data)
    .filter((key) => key !== "tasks")
    .map((key) => ({ path: key, line: lineOf(parsed, [key]), message: UNKNOWN_FIELD }));
  return { ok: true, ...named, tasks, warnings };
}

/** What makes the whole backlog invalid inside `tasks`: no string id, a shared id. */
function idProblems(parsed: ParsedYaml, entries: unknown[]): BacklogProblem[] {
  const problems: BacklogProblem[] = [];
  const firstLine = new Map<string, number | undefined>();
  entries.forEach((entry, index) => {
    const path = ["tasks", index, "id"];
    const line = lineOf(parsed, path);
    if (!isRecord(entry)) {
      problems.push({
        path: formatPath(["tasks", index]),
        line,
        message: "a task must be a mapping of fields with an id",
      });
      return;
    }
    const id = entry.id;
    if (id === undefined || id === null || id === "") {
      problems.push({ path: formatPath(path), line, message: "task has no id" });
      return;
    }
    if (typeof id !== "string") {
      problems.push({ path: formatPath(path), line, message: "id must be a string" });
      return;
    }
    if (firstLine.has(id)) {
      const first = firstLine.get(id);
      problems.push({
        path: formatPath(path),
        line,
        message: `duplicate id ${JSON.stringify(id)}${first ? ` (first on line ${first})` : ""}`,
      });
      return;
    }
    firstLine.set(id, line);
  });
  return problems;
}

function readTask(raw: Record<string, unknown>, index: number, at: LineAt): BacklogTask {
  const problems: TaskProblem[] = [];
  const valid: Record<string, unknown> = {};
  for (const [field, rule] of Object.entries(TASK_FIELDS)) {
    const value = raw[field];
    if (value === undefined || value === null) {
      if (rule.required) problems.push({ field, line: at([field]), message: "is required" });
      continue;
    }
    const result = rule.schema.safeParse(value);
    if (result.success) {
      valid[field] = result.data;
      continue;
    }
    for (const issue of result.error.issues) {
      const path = [field, ...issue.path];
      problems.push({ field: formatPath(path), line: at(path), message: issue.message });
    }
  }
  const badPaths = pathProblems(valid.allowed_paths as string[] | undefined, at);
  if (badPaths.length > 0) {
    problems.push(...badPaths);
    delete valid.allowed_paths;
  }
  delete valid.id;
  // Reported in the order a person reads the file.
  problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  const warnings: TaskProblem[] = Object.keys(raw)
    .filter((field) => !(field in TASK_FIELDS))
    .map((field) => ({ field, line: at([field]), message: UNKNOWN_FIELD }));
  return {
    ...(valid satisfies Record<string, unknown> as TaskFields),
    id: raw.id as string,
    index,
    line: at([]) ?? 1,
    raw,
    problems,
    warnings,
  };
}

/**
 * Paths no configuration could allow (absolute, escaping, globs, `.git` …) are wrong in the
 * file itself, so the linter reports them; whether a path lies inside the target's prefixes
 * depends on the config and is judged at selection.
 */
function pathProblems(paths: string[] | undefined, at: LineAt): TaskProblem[] {
  const problems: TaskProblem[] = [];
  paths?.forEach((path, i) => {
    const normalized = normalizeRepoPath(path);
    if (normalized.ok) return;
    problems.push({
      field: formatPath(["allowed_paths", i]),
      line: at(["allowed_paths", i]),
      message: `${JSON.stringify(path)}: ${normalized.reason}`,
    });
  });
  return problems;
}

/** A backlog that could not be read at all (file missing, forge error): invalid, no line. */
export function unreadableBacklog(message: string, file?: string): BacklogParse {
  return { ok: false, ...(file === undefined ? {} : { file }), problems: [{ path: "", message }] };
}
