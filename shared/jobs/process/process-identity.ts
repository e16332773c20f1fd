import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";

/** Linux keeps each process's start time in /proc; elsewhere only liveness can be asked. */
const hasProc = existsSync("/proc/self/stat");

/** What a recorded pid is now: our process, gone (or a stranger reusing the pid), or exited and unreaped. */
export type ProcessLiveness = "alive" | "gone" | "zombie";

interface ProcStat {
  state: string;
  /** Clock ticks since boot: with the pid, it names one process for the machine's uptime. */
  startTime: string;
}

async function readProcStat(pid: number): Promise<ProcStat | undefined | null> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/stat`, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ESRCH") return hasProc ? undefined : null;
    throw error;
  }
  // `pid (comm) state ppid …`: comm may hold spaces and parentheses, so split after the last ')'.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const state = fields[0];
  const startTime = fields[19];
  if (!state || !startTime) return undefined;
  return { state, startTime };
}

/**
 * The process's start time as the kernel keeps it, recorded beside its pid so a later check
 * can tell our process from another that got the same pid. Null where there is no /proc
 * (then only "is some process with this pid alive" can be asked); undefined when it is gone.
 */
export async function processStartTime(pid: number): Promise<string | null | undefined> {
  const stat = await readProcStat(pid);
  if (stat === null) return null;
  return stat?.startTime;
}

export async function probeProcess(
  pid: number,
  startTime: string | null | undefined,
): Promise<ProcessLiveness> {
  const stat = await readProcStat(pid);
  if (stat === null) {
    try {
      process.kill(pid, 0);
      return "alive";
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === "EPERM" ? "alive" : "gone";
    }
  }
  if (stat === undefined) return "gone";
  if (startTime && stat.startTime !== startTime) return "gone";
  return stat.state === "Z" ? "zombie" : "alive";
}
