import type { ChildProcess } from "node:child_process";

/**
 * Kills a child spawned `detached` together with everything it started. `git http-backend`
 * runs `git receive-pack`/`upload-pack` as its own child, which holds the reply pipe open:
 * killing only the parent would leave the request hanging.
 */
export function killProcessGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch (error) {
    // ESRCH: the group is already gone.
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") child.kill("SIGKILL");
  }
}
