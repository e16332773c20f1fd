import { readdir, readFile } from "node:fs/promises";
import { setTimeout as delay } from "node:timers/promises";
import { sendSignal } from "../../process/signal-group.ts";

interface ProcessInfo {
  pid: number;
  ppid: number;
  uid: number;
  /** R, S, D, Z, … */
  state: string;
}

/** Every process this one can see in /proc, with its parent, real user and state. */
export async function listProcesses(): Promise<ProcessInfo[]> {
  const found: ProcessInfo[] = [];
  for (const name of await readdir("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const status = await readFile(`/proc/${name}/status`, "utf8");
      const field = (key: string) => new RegExp(`^${key}:\\s*(\\S+)`, "m").exec(status)?.[1];
      found.push({
        pid: Number(name),
        ppid: Number(field("PPid")),
        uid: Number(field("Uid")),
        state: field("State") ?? "?",
      });
    } catch {
      // Gone between the listing and the read.
    }
  }
  return found;
}

/** The processes whose parent is `pid`. */
export async function childrenOf(pid: number): Promise<number[]> {
  return (await listProcesses()).filter((p) => p.ppid === pid).map((p) => p.pid);
}

/**
 * SIGKILL to every live process of `uid` until there is none, for when the executor's user has
 * no PID namespace to die with: a process that forks while it is being killed is caught on the
 * next round. Returns how many were still alive when it gave up (0 when the user has none).
 */
export async function killUserProcesses(uid: number, rounds = 100): Promise<number> {
  for (let round = 0; round < rounds; round++) {
    const alive = (await listProcesses()).filter((p) => p.uid === uid && p.state !== "Z");
    if (alive.length === 0) return 0;
    // A kill that fails leaves its process alive: it is counted below, not thrown.
    for (const p of alive) sendSignal(p.pid, "SIGKILL");
    await delay(Math.min(50, 5 * (round + 1)));
  }
  return (await listProcesses()).filter((p) => p.uid === uid && p.state !== "Z").length;
}
