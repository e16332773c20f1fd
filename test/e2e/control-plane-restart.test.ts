// Local mode: the control plane is a supervised child. Killed in the middle of an attempt, it
// is restarted on the same port and the attempt's posts (retried) all arrive, exactly once.
import { randomBytes } from "node:crypto";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { verifyStore } from "../../shared/store/verify-store.ts";
import { repoPath } from "../support/repo-root.ts";
import {
  decisionOf,
  E2E_TIMEOUT_MS,
  freePort,
  spawnStart,
  tempHome,
  withControlPlane,
} from "./support.ts";

let home: string;
const cleanup: string[] = [];

beforeEach(async () => {
  home = await tempHome();
});

afterEach(async () => {
  await rm(home, { recursive: true, force: true });
  for (const dir of cleanup.splice(0)) await rm(dir, { recursive: true, force: true });
});

it(
  "keeps every event of an attempt through a SIGKILL of the control plane",
  async () => {
    // Where the executor (another user, when the suite runs as root) can see it: not the 0700 home.
    const signals = await mkdtemp(join(tmpdir(), "leviathan-signals-"));
    await chmod(signals, 0o755);
    cleanup.push(signals);
    const go = join(signals, `go-${randomBytes(4).toString("hex")}`);
    const config = await readFile(repoPath("ops", "autonomy", "local.yaml"), "utf8");
    const configPath = join(home, "local.yaml");
    // The executor holds the attempt open until the test has killed the control plane.
    await writeFile(
      configPath,
      `${config}default_executor: command\nexecutor_command: ["sh", "-c", "while [ ! -f ${go} ]; do sleep 0.05; done"]\n`,
    );
    const port = await freePort();
    const run = spawnStart(home, { LEVIATHAN_CONFIG: configPath, PORT: String(port) });
    let killed: number | undefined;
    run.onLine((line) => {
      if (line.event_type !== "attempt.started" || killed !== undefined) return;
      void (async () => {
        const lock = JSON.parse(await readFile(join(home, "events", ".lock"), "utf8")) as {
          pid: number;
        };
        killed = lock.pid;
        process.kill(lock.pid, "SIGKILL");
        // Released while the control plane is still down: the attempt's next posts must retry.
        await writeFile(go, "");
      })();
    });
    const result = await run.done;
    expect(killed).toBeGreaterThan(0);
    expect(result.code, result.stderr).toBe(0);
    const attemptId = decisionOf(result)!.attempt_id as string;
    await withControlPlane(home, async (client) => {
      const records = (await client.getEvents(0, 1000)).records;
      const types = records
        .filter((r) => r.event.payload.attempt_id === attemptId)
        .map((r) => r.event.event_type);
      expect(types).toEqual([
        "attempt.requested",
        "attempt.created",
        "attempt.started",
        "pr.created",
        "attempt.succeeded",
      ]);
      expect(new Set(records.map((r) => r.event.event_id)).size).toBe(records.length);
    });
    expect((await verifyStore(join(home, "events"))).ok).toBe(true);
  },
  E2E_TIMEOUT_MS,
);
