import { randomBytes } from "node:crypto";
import { readFileSync, readlinkSync } from "node:fs";
import { type FileHandle, link, open, readFile, rename, rm, stat } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import type { Logger } from "../../log/logger.ts";
import { StoreLockedError } from "../types.ts";

export const LOCK_FILE = ".lock";
export const DEFAULT_HEARTBEAT_MS = 5_000;
/** A holder on another machine is presumed dead after this many missed heartbeats. */
const STALE_AFTER_BEATS = 3;

/** What the lock file says about its holder. */
export interface LockHolder {
  pid: number;
  hostname: string;
  /** /proc/sys/kernel/random/boot_id: the same hostname after a reboot is another machine. */
  boot_id: string | null;
  /** /proc/self/ns/pid: two containers with one hostname do not share pid numbers. */
  pid_namespace: string | null;
  /** Field 22 of /proc/<pid>/stat, so a reused pid is not mistaken for the holder. */
  process_start: string | null;
  acquired_at: string;
  heartbeat_at: string;
  heartbeat_ms: number;
}

export interface DirectoryLock {
  readonly holder: LockHolder;
  release(): Promise<void>;
}

export interface LockOptions {
  heartbeatMs?: number;
  logger?: Logger;
  /** Called once if another process took the lock over (it judged this holder dead). */
  onLost?: (reason: string) => void;
}

function readProc(path: string): string | null {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return null;
  }
}

export function processStartTime(pid: number): string | null {
  const stat = readProc(`/proc/${pid}/stat`);
  if (stat === null) return null;
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return fields[19] ?? null;
}

function pidNamespace(): string | null {
  try {
    return readlinkSync("/proc/self/ns/pid");
  } catch {
    return null;
  }
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * A zombie (Z) or dead (X) process has exited: it holds no files and never writes again, but
 * its pid answers signals until its parent reaps it, and a parent that never does (a container
 * whose pid 1 does not reap) must not block a restart for good.
 */
export function hasExited(pid: number): boolean {
  const status = readProc(`/proc/${pid}/status`);
  const state = status?.match(/^State:\s*([A-Za-z])/m)?.[1];
  return state === "Z" || state === "X";
}

function selfHolder(heartbeatMs: number, now: Date): LockHolder {
  return {
    pid: process.pid,
    hostname: hostname(),
    boot_id: readProc("/proc/sys/kernel/random/boot_id"),
    pid_namespace: pidNamespace(),
    process_start: processStartTime(process.pid),
    acquired_at: now.toISOString(),
    heartbeat_at: now.toISOString(),
    heartbeat_ms: heartbeatMs,
  };
}

function parseHolder(text: string): LockHolder | null {
  try {
    const value = JSON.parse(text) as Partial<LockHolder>;
    if (typeof value.pid !== "number" || typeof value.hostname !== "string") return null;
    if (typeof value.heartbeat_at !== "string" || typeof value.heartbeat_ms !== "number")
      return null;
    return value as LockHolder;
  } catch {
    return null;
  }
}

/** Why the holder is dead, or null while it may be alive. */
export function staleReason(holder: LockHolder, nowMs: number): string | null {
  const me = selfHolder(holder.heartbeat_ms, new Date(nowMs));
  const sameMachine =
    holder.hostname === me.hostname &&
    (holder.boot_id ?? null) === me.boot_id &&
    (holder.pid_namespace ?? null) === me.pid_namespace;
  if (sameMachine) {
    if (!pidExists(holder.pid)) return `pid ${holder.pid} is gone`;
    if (hasExited(holder.pid)) return `pid ${holder.pid} has exited (a zombie not yet reaped)`;
    const start = processStartTime(holder.pid);
    if (holder.process_start && start && start !== holder.process_start) {
      return `pid ${holder.pid} is now another process`;
    }
    return null;
  }
  const age = nowMs - Date.parse(holder.heartbeat_at);
  const limit = STALE_AFTER_BEATS * holder.heartbeat_ms;
  if (Number.isFinite(age) && age > limit) {
    return `its heartbeat is ${Math.round(age / 1000)} s old (limit ${Math.round(limit / 1000)} s)`;
  }
  return null;
}

function lockedError(dir: string, holder: LockHolder): StoreLockedError {
  return new StoreLockedError(
    `event store ${dir} is locked by pid ${holder.pid}@${holder.hostname} since ${holder.acquired_at} ` +
      `(last heartbeat ${holder.heartbeat_at}); only one writer may open a directory`,
  );
}

/** Moves a dead holder's lock aside, only if it is still the very file judged dead. */
async function removeStaleLock(path: string, judged: string): Promise<void> {
  const aside = `${path}.stale-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    await rename(path, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw error;
  }
  const moved = await readFile(aside, "utf8").catch(() => "");
  if (moved !== judged) {
    // A contender replaced it in between: put the live lock back where it was.
    await link(aside, path).catch(() => undefined);
  }
  await rm(aside, { force: true });
}

/**
 * One writer per directory: `.lock`, created with O_EXCL, names its holder and carries a
 * heartbeat. A lock left by a killed process does not block a restart: on the same machine its
 * pid is gone, a zombie, or reused; elsewhere its heartbeat stops.
 */
export async function acquireDirectoryLock(
  dir: string,
  options: LockOptions = {},
): Promise<DirectoryLock> {
  const heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    const holder = selfHolder(heartbeatMs, new Date());
    let handle: FileHandle;
    try {
      handle = await open(path, "wx", 0o644);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const text = await readFile(path, "utf8").catch(() => null);
      if (text === null) continue; // released in between: try again
      const existing = parseHolder(text);
      if (!existing) {
        // Crashed between creating and writing it: judge by the file's age instead.
        const modified = await stat(path).then(
          (s) => s.mtimeMs,
          () => Date.now(),
        );
        if (Date.now() - modified <= STALE_AFTER_BEATS * DEFAULT_HEARTBEAT_MS) {
          throw new StoreLockedError(
            `event store ${dir} is locked: ${path} exists but is unreadable; it counts as stale ` +
              `${(STALE_AFTER_BEATS * DEFAULT_HEARTBEAT_MS) / 1000} s after its last change`,
          );
        }
        options.logger?.warn({ dir }, "removing an unreadable, stale event store lock");
        await removeStaleLock(path, text);
        continue;
      }
      const stale = staleReason(existing, Date.now());
      if (!stale) throw lockedError(dir, existing);
      options.logger?.warn(
        { dir, holder: `${existing.pid}@${existing.hostname}`, reason: stale },
        "taking over a stale event store lock",
      );
      await removeStaleLock(path, text);
      continue;
    }
    return await holdLock(path, handle, holder, options);
  }
  throw new StoreLockedError(
    `event store ${dir}: could not take the lock; another process is contending for it`,
  );
}

async function writeHolder(handle: FileHandle, holder: LockHolder): Promise<void> {
  const bytes = Buffer.from(`${JSON.stringify(holder)}\n`, "utf8");
  await handle.write(bytes, 0, bytes.length, 0);
  await handle.truncate(bytes.length);
  await handle.datasync();
}

async function holdLock(
  path: string,
  handle: FileHandle,
  holder: LockHolder,
  options: LockOptions,
): Promise<DirectoryLock> {
  try {
    await writeHolder(handle, holder);
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(path, { force: true });
    throw error;
  }
  const inode = (await handle.stat()).ino;
  let beating: Promise<void> = Promise.resolve();
  let lost = false;

  async function stillOurs(): Promise<boolean> {
    const current = await stat(path).catch(() => undefined);
    return current?.ino === inode;
  }

  async function beat(): Promise<void> {
    if (lost) return;
    if (!(await stillOurs())) {
      lost = true;
      clearInterval(timer);
      options.onLost?.(`the lock file ${path} was removed or replaced by another process`);
      return;
    }
    holder.heartbeat_at = new Date().toISOString();
    await writeHolder(handle, holder);
  }

  const timer = setInterval(() => {
    beating = beating
      .then(beat)
      .catch((error: unknown) =>
        options.logger?.warn({ err: error, path }, "could not refresh the event store lock"),
      );
  }, holder.heartbeat_ms);
  timer.unref();

  return {
    holder,
    async release() {
      clearInterval(timer);
      await beating;
      try {
        if (!lost && (await stillOurs())) await rm(path, { force: true });
      } finally {
        await handle.close();
      }
    },
  };
}
