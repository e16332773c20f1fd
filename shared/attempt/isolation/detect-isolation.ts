import { constants } from "node:fs";
import { access } from "node:fs/promises";
import { delimiter, join } from "node:path";
import type { ExecutorIsolationSetting } from "../../config/schema.ts";
import { runProcess } from "../../process/run-process.ts";
import type { ExecutorIsolation, IsolationUnavailable } from "./executor-isolation.ts";

/** `nobody`: the executor's user when the attempt runs as root and none is configured. */
export const DEFAULT_EXECUTOR_UID = 65534;

export interface IsolationOptions {
  /** `executor_isolation` (LEVIATHAN_EXECUTOR_ISOLATION); default `required`. */
  setting: ExecutorIsolationSetting;
  /** `LEVIATHAN_EXECUTOR_UID`; default 65534. Its group is the same number. */
  executorUid: number;
  /** The attempt's own user (a seam for tests); default `process.getuid()`. */
  uid?: number;
  /** Where to look for `unshare` and `setpriv`; default PATH. */
  path?: string;
}

/**
 * The strongest isolation this machine gives the `command` executor (process mode; a Job's
 * pod gives `container`). As root: another user (`setpriv` from util-linux: new uid and gid,
 * no groups, no new privileges, no capabilities) in its own PID namespace with its own /proc
 * (`unshare`), so it can see none of the attempt's processes and everything it starts dies with
 * it; without namespaces, another user alone. Not root: no other user can be had, so
 * `required` makes it unavailable and `none` runs the executor as the attempt's own user.
 */
export async function detectIsolation(
  options: IsolationOptions,
): Promise<ExecutorIsolation | IsolationUnavailable> {
  const uid = options.uid ?? process.getuid?.() ?? -1;
  const none: ExecutorIsolation = {
    isolation: "none",
    wrap: (argv) => [...argv],
    handOver: { kind: "none" },
    sweep: { kind: "process-group" },
  };
  if (uid !== 0) {
    if (options.setting === "none") return none;
    return {
      isolation: "none",
      unavailable:
        "the attempt does not run as root, so the command executor cannot run as another user; " +
        "set executor_isolation: none to run it as the attempt's own user",
    };
  }
  const executor = options.executorUid;
  if (executor === 0) {
    return { isolation: "none", unavailable: "LEVIATHAN_EXECUTOR_UID must not be 0 (root)" };
  }
  const path = options.path ?? process.env.PATH ?? "";
  const setpriv = await findProgram("setpriv", path);
  if (!setpriv) {
    if (options.setting === "none") return none;
    return { isolation: "none", unavailable: "setpriv (util-linux) is not installed" };
  }
  const asUser = [
    setpriv,
    `--reuid=${executor}`,
    `--regid=${executor}`,
    "--clear-groups",
    "--no-new-privs",
    "--inh-caps=-all",
    "--bounding-set=-all",
    "--",
  ];
  const handOver = { kind: "chown", uid: executor, gid: executor } as const;
  const unshare = await findProgram("unshare", path);
  if (unshare && (await canUnshare(unshare))) {
    const inNamespace = [unshare, "--pid", "--fork", "--kill-child", "--mount-proc", "--"];
    return {
      isolation: "user+pid-namespace",
      wrap: (argv) => [...inNamespace, ...asUser, ...argv],
      handOver,
      sweep: { kind: "pid-namespace" },
    };
  }
  return {
    isolation: "user",
    wrap: (argv) => [...asUser, ...argv],
    handOver,
    sweep: { kind: "user", uid: executor },
  };
}

/** `LEVIATHAN_EXECUTOR_UID`: a whole number from 1 to 2³²−2, or undefined when unset. */
export function parseExecutorUid(raw: string | undefined): number | undefined | { error: string } {
  const text = raw?.trim();
  if (!text) return undefined;
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < 1 || value > 4_294_967_294) {
    return { error: "must be a user id from 1 to 4294967294 (not root)" };
  }
  return value;
}

async function findProgram(name: string, path: string): Promise<string | undefined> {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not in this folder.
    }
  }
  return undefined;
}

const probes = new Map<string, Promise<boolean>>();

/** Whether a PID namespace with its own /proc can be made here (once per process). */
function canUnshare(unshare: string): Promise<boolean> {
  let probe = probes.get(unshare);
  if (!probe) {
    probe = runProcess([unshare, "--pid", "--fork", "--kill-child", "--mount-proc", "--", "true"], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
      timeoutMs: 5_000,
      killGraceMs: 0,
    }).then(
      (result) => result.exit.kind === "exited" && result.exit.code === 0 && !result.timedOut,
    );
    probes.set(unshare, probe);
  }
  return probe;
}
