/**
 * What one signal did. A kill is never dropped: `gone` (ESRCH) means there was nothing left
 * to signal, `failed` (EPERM and anything else) means something may still run, and the caller
 * records or reports it.
 */
export type KillRecord =
  | { target: number; signal: NodeJS.Signals; result: "sent" }
  | { target: number; signal: NodeJS.Signals; result: "gone" }
  | { target: number; signal: NodeJS.Signals; result: "failed"; code: string };

/**
 * Sends `signal` to process `target` (a negative number: the whole process group `-target`)
 * and says what happened instead of throwing.
 */
export function sendSignal(target: number, signal: NodeJS.Signals): KillRecord {
  try {
    process.kill(target, signal);
    return { target, signal, result: "sent" };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    if (code === "ESRCH") return { target, signal, result: "gone" };
    return { target, signal, result: "failed", code };
  }
}

/** The group a child spawned `detached` leads: it, and everything it started that stayed. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): KillRecord {
  if (!Number.isSafeInteger(pgid) || pgid <= 1) {
    // kill(0) and kill(-1) mean "my own group" and "everything I may signal": never meant here.
    return { target: -pgid, signal, result: "failed", code: "EINVAL" };
  }
  return sendSignal(-pgid, signal);
}

/** The kills that did not work, as a short phrase for an error or a log line ("" when none). */
export function describeFailedKills(kills: readonly KillRecord[]): string {
  return kills
    .filter((kill) => kill.result === "failed")
    .map((kill) => `${kill.signal} to ${kill.target} failed: ${kill.code}`)
    .join("; ");
}

/** Whether anything still answers to group `pgid` (a zombie does; EPERM means something does). */
export function groupExists(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== "ESRCH";
  }
}
