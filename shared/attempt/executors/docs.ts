import { constants } from "node:fs";
import { mkdir, open, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { errorMessage } from "../../errors/error-message.ts";
import { normalizeRepoPath } from "../../scope/check-path.ts";
import { AttemptFailure } from "../attempt-failure.ts";
import { symlinkProblem } from "../check-invariants.ts";
import type { Executor, ExecutorTask } from "./types.ts";

/**
 * Writes the task's markdown document inside its allowed paths: the first allowed path that
 * is a `.md` file, else `<first allowed folder>/<task id>.md`. An existing file keeps its
 * text and gets the document appended once.
 */
export const docsExecutor: Executor = {
  name: "docs",
  async run({ dir, task, logger }) {
    const path = documentPath(task);
    const problem = await symlinkProblem(dir, path);
    if (problem) {
      throw new AttemptFailure("scope_violation", "task", `docs: ${path} ${problem}`, {
        violations: [{ path, reason: problem }],
      });
    }
    const file = join(dir, path);
    const existing = await readExisting(file, path);
    const text =
      existing === null
        ? renderTaskDocument(task, 1)
        : appendOnce(existing, renderTaskDocument(task, 2));
    try {
      await mkdir(dirname(file), { recursive: true });
      // O_NOFOLLOW: never write through a link, even one that appeared after the check.
      const handle = await open(
        file,
        constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW,
        0o644,
      );
      try {
        await handle.writeFile(text);
      } finally {
        await handle.close();
      }
    } catch (error) {
      throw new AttemptFailure(
        "executor_failed",
        "task",
        `docs: cannot write ${path}: ${errorMessage(error)}`,
      );
    }
    logger.info({ task_id: task.id, path, appended: existing !== null }, "docs: document written");
  },
};

/** Where the task's document goes; never outside the task's allowed paths. */
export function documentPath(task: ExecutorTask): string {
  const allowed = (task.allowed_paths ?? []).flatMap((raw) => {
    const normalized = normalizeRepoPath(raw);
    return normalized.ok ? [normalized.path] : [];
  });
  const markdown = allowed.find((path) => !path.endsWith("/") && /\.md$/i.test(path));
  if (markdown) return markdown;
  const folder = allowed.find((path) => path.endsWith("/"));
  if (folder) return `${folder}${task.id}.md`;
  throw new AttemptFailure(
    "executor_failed",
    "task",
    `docs: allowed_paths of task ${task.id} name no markdown file and no folder`,
  );
}

/** Title, description and acceptance criteria as markdown; `level` is the title's heading level. */
export function renderTaskDocument(task: ExecutorTask, level: 1 | 2): string {
  const heading = "#".repeat(level);
  const parts = [`${heading} ${oneLine(task.title ?? task.id)}`];
  const description = task.description?.trim();
  if (description) parts.push(description);
  const criteria = task.acceptance_criteria ?? [];
  if (criteria.length > 0) {
    parts.push(`${heading}# Acceptance criteria`);
    parts.push(criteria.map((criterion) => `- ${oneLine(criterion)}`).join("\n"));
  }
  return `${parts.join("\n\n")}\n`;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

async function readExisting(file: string, path: string): Promise<string | null> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new AttemptFailure("executor_failed", "task", `docs: cannot read ${path}`);
  }
}

function appendOnce(existing: string, section: string): string {
  if (existing.includes(section)) return existing;
  if (existing === "") return section;
  return `${existing.replace(/\n*$/, "")}\n\n${section}`;
}
