import { randomBytes } from "node:crypto";
import { link, open, readdir, readFile, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { writeFileAtomically } from "../../fs/write-file-atomically.ts";

/**
 * One process job as `<home>/jobs/<job name>.json` records it: enough for any
 * process on the machine — the worker that started it, the tick, `leviathan start` — to tell
 * whether the attempt runs, ended, or was lost.
 */
export interface ProcessJobState {
  name: string;
  /** The Job's labels (`leviathan.dev/target`, `…/task`, `…/attempt`), for `list`. */
  labels: Record<string, string>;
  /** The exact attempt id (labels are lowercased). */
  attempt_id?: string;
  created_at: string;
  deadline_seconds: number;
  /** The runner process that started the child; while it lives, it records the exit. */
  runner: { pid: number; start: string | null };
  pid?: number;
  /** The child's start time as the kernel keeps it, so a reused pid is not taken for ours. */
  pid_start?: string | null;
  started_at?: string;
  finished_at?: string;
  exit_code?: number | null;
  signal?: string | null;
  /** Why it ended other than by exiting: `DeadlineExceeded`, `stopped`, `cannot start: …`. */
  reason?: string;
}

/** Kubernetes' own rule for Job names, which `jobNameFor` follows: also safe as a file name. */
const JOB_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function assertJobName(name: string): void {
  if (name.length > 63 || !JOB_NAME.test(name)) {
    throw new Error(`not a Job name: ${JSON.stringify(name)}`);
  }
}

export function stateFilePath(jobsDir: string, name: string): string {
  assertJobName(name);
  return join(jobsDir, `${name}.json`);
}

async function writeSynced(path: string, text: string): Promise<void> {
  const handle = await open(path, "wx", 0o600);
  try {
    await handle.writeFile(text, "utf8");
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function tempPath(path: string): string {
  return `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
}

/**
 * Creates the state file only if there is none: written whole beside it, then hard-linked into
 * place, which fails when the name exists. So two submits of one Job, in one process or two,
 * start one child, and a reader never sees half a file.
 */
export async function claimStateFile(path: string, state: ProcessJobState): Promise<boolean> {
  const temp = tempPath(path);
  await writeSynced(temp, `${JSON.stringify(state)}\n`);
  try {
    await link(temp, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  } finally {
    await unlink(temp).catch(() => undefined);
  }
  await syncDir(dirname(path));
  return true;
}

/** Replaces the state whole (temp file, fsync, rename, fsync the folder). */
export async function writeStateFile(path: string, state: ProcessJobState): Promise<void> {
  await writeFileAtomically(path, `${JSON.stringify(state)}\n`);
}

export async function readStateFile(path: string): Promise<ProcessJobState | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  return JSON.parse(text) as ProcessJobState;
}

/** Every job's state in the folder; a missing folder is no jobs. */
export async function readAllStateFiles(jobsDir: string): Promise<ProcessJobState[]> {
  let names: string[];
  try {
    names = await readdir(jobsDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  const states: ProcessJobState[] = [];
  for (const file of names.filter((n) => n.endsWith(".json")).sort()) {
    const state = await readStateFile(join(jobsDir, file));
    if (state) states.push(state);
  }
  return states;
}
