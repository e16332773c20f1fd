import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { ExecutorName } from "../config/schema.ts";
import { writeFileAtomically } from "../fs/write-file-atomically.ts";
import type { Isolation } from "./isolation/executor-isolation.ts";
import type { FileStamp } from "./workspace/materialize-checkout.ts";

/**
 * The trusted part's own folder, which the executor never sees: the clone (a git directory
 * without a work tree) and, in a Job, what `prepare` hands to `deliver`.
 */
export interface TrustedLayout {
  root: string;
  /** The `--no-checkout` clone: `<root>/repo/.git`. */
  repo: string;
  state: string;
}

export function trustedLayoutAt(root: string): TrustedLayout {
  return { root, repo: join(root, "repo"), state: join(root, "state.json") };
}

/** What `prepare` found and made, for `deliver` (in one process, or in the next container). */
export interface PreparedAttempt {
  version: 1;
  /** When the attempt started: its deadline counts from here. */
  startedAt: string;
  isolation: Isolation;
  /** The commit the executor's checkout was made from. */
  base: string;
  executor: ExecutorName;
  branch: string;
  /** The executor's area (see `executorAreaAt`). */
  areaRoot: string;
  stamps: Array<[string, FileStamp]>;
  skipped: string[];
}

export async function writePrepared(
  layout: TrustedLayout,
  prepared: PreparedAttempt,
): Promise<void> {
  await writeFileAtomically(layout.state, JSON.stringify(prepared), 0o600);
}

export async function readPrepared(layout: TrustedLayout): Promise<PreparedAttempt> {
  let text: string;
  try {
    text = await readFile(layout.state, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    throw new Error(`no prepared attempt at ${layout.state} (${code}): did prepare run?`);
  }
  const prepared = JSON.parse(text) as PreparedAttempt;
  if (prepared.version !== 1)
    throw new Error(`${layout.state}: unknown version ${prepared.version}`);
  return prepared;
}
