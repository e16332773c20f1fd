import { groupExists, type KillRecord, signalGroup } from "./signal-group.ts";

/** How a stop signal reaches a process: by default its whole group. */
export type DeliverSignal = (
  pid: number,
  signal: NodeJS.Signals,
) => KillRecord[] | Promise<KillRecord[]>;

export interface StopGroupOptions {
  /** Between SIGTERM and SIGKILL; 0 sends SIGKILL at once. */
  graceMs: number;
  /** Each signal's outcome, as it happens (failures included: the caller reports them). */
  record: (kill: KillRecord) => void;
  deliver?: DeliverSignal;
}

export interface StopInProgress {
  /** Call once the process is known to be gone: the SIGKILL is not sent. */
  cancel(): void;
}

/**
 * SIGTERM to the group led by `pgid` now and SIGKILL `graceMs` later (unless cancelled or the
 * group is already gone), so a program gets its chance to clean up and still cannot outstay
 * the limit. The timer never keeps this process alive.
 */
export function stopGroup(pgid: number, options: StopGroupOptions): StopInProgress {
  const deliver = options.deliver ?? ((pid, signal) => [signalGroup(pid, signal)]);
  const send = (signal: NodeJS.Signals) => {
    void Promise.resolve()
      .then(() => deliver(pgid, signal))
      .then(
        (kills) => kills.forEach(options.record),
        (error: unknown) =>
          options.record({ target: -pgid, signal, result: "failed", code: String(error) }),
      );
  };
  if (options.graceMs <= 0) {
    send("SIGKILL");
    return { cancel: () => undefined };
  }
  send("SIGTERM");
  const timer = setTimeout(() => {
    // Nothing answers to the group any more: no SIGKILL to record.
    if (!groupExists(pgid)) return;
    send("SIGKILL");
  }, options.graceMs);
  timer.unref();
  return { cancel: () => clearTimeout(timer) };
}
