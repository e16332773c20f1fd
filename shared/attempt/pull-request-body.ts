import type { ExecutorName } from "../config/schema.ts";
import { formatProvenance } from "../forge/provenance.ts";
import { BACKLOG_PATH } from "../scope/check-path.ts";
import type { ExecutorTask } from "./executors/types.ts";
import type { Isolation } from "./isolation/executor-isolation.ts";

export interface PullRequestBodyInput {
  targetId: string;
  task: ExecutorTask;
  attemptId: string;
  attemptNumber?: number;
  executor: ExecutorName;
  /** How the `command` executor was isolated (see `Isolation`); built-in executors are Leviathan's own code. */
  isolation: Isolation;
  branch: string;
  baseBranch: string;
  /** The task's `allowed_paths`, normalised. */
  allowedPaths: readonly string[];
  prefixes: readonly string[];
}

/** GitHub refuses titles over 256 characters. */
const MAX_TITLE = 256;
/** Room for a long description while the body stays far under GitHub's 65,536 characters. */
const MAX_DESCRIPTION = 20_000;
const MAX_CRITERION = 1_000;
const MAX_CRITERIA = 100;

/** `leviathan: <task title>` on one line. */
export function pullRequestTitle(task: Pick<ExecutorTask, "id" | "title">): string {
  const title = `leviathan: ${oneLine(task.title ?? task.id)}`;
  return title.length <= MAX_TITLE ? title : `${title.slice(0, MAX_TITLE - 1)}…`;
}

/**
 * What a reviewer needs (task, attempt, scope, acceptance criteria) and, last, the provenance
 * marker that ties the PR to its task. Text from the backlog cannot open an HTML
 * comment, so it can never plant a marker of its own ahead of the real one.
 */
export function pullRequestBody(input: PullRequestBodyInput): string {
  const { task } = input;
  const parts: string[] = [];
  parts.push(`## Task \`${task.id}\`: ${fromBacklog(oneLine(task.title ?? task.id))}`);
  const description = task.description?.trim();
  if (description) parts.push(fromBacklog(cut(description, MAX_DESCRIPTION)));
  if (task.scope) parts.push(`Scope: ${fromBacklog(oneLine(task.scope))}`);

  parts.push(
    [
      "## Attempt",
      `- id: \`${input.attemptId}\``,
      `- number: ${input.attemptNumber ?? "not given"}`,
      `- executor: \`${input.executor}\``,
      `- isolation: \`${input.isolation}\`${isolationNote(input.executor, input.isolation)}`,
      `- branch: \`${input.branch}\` into \`${input.baseBranch}\``,
    ].join("\n"),
  );

  parts.push(
    [
      "## Scope",
      "Allowed paths:",
      ...input.allowedPaths.map((path) => `- \`${fromBacklog(path)}\``),
      "",
      `Allowed path prefixes: ${input.prefixes.map((prefix) => `\`${prefix}\``).join(", ")}`,
      "",
      `Every changed file was checked against both, outside the executor, and this commit was built by Leviathan from exactly the checked files. The only other change is the task's record in \`${BACKLOG_PATH}\` (status, attempt, branch, time), so merging this PR completes the task.`,
    ].join("\n"),
  );

  const criteria = (task.acceptance_criteria ?? []).slice(0, MAX_CRITERIA);
  parts.push(
    [
      "## Acceptance criteria",
      ...(criteria.length > 0
        ? criteria.map(
            (criterion) => `- [ ] ${fromBacklog(cut(oneLine(criterion), MAX_CRITERION))}`,
          )
        : ["None written for this task."]),
    ].join("\n"),
  );

  parts.push(formatProvenance({ target: input.targetId, task: task.id, attempt: input.attemptId }));
  return `${parts.join("\n\n")}\n`;
}

const ISOLATION_MEANING: Record<Isolation, string> = {
  container: "its own container, holding no credential",
  "user+pid-namespace": "another user in its own PID namespace, holding no credential",
  user: "another user, holding no credential",
  none: "the attempt's own user: not isolated",
};

function isolationNote(executor: ExecutorName, isolation: Isolation): string {
  if (executor !== "command")
    return ` (the \`${executor}\` executor is Leviathan's own code and ran in its trusted part)`;
  return ` (the command ran as ${ISOLATION_MEANING[isolation]})`;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

/** Markdown as written, but no HTML comment can open or close (`<!--`, `-->`). */
function fromBacklog(text: string): string {
  return text.replace(/<!--/g, "&lt;!--").replace(/-->/g, "--&gt;");
}
