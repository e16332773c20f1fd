import { type ChildProcess, spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TSX_IMPORT } from "../../test/support/repo-root.ts";
import {
  items,
  makeTempDir,
  silentLogger,
  waitFor,
} from "../../test/support/store/store-helpers.ts";
import { type LockHolder, processStartTime } from "./ndjson/directory-lock.ts";
import { openNdjsonStore } from "./ndjson/open-ndjson-store.ts";
import { StoreFailedError, StoreLockedError } from "./types.ts";

let dir: string;
let cleanup: () => Promise<void>;
let child: ChildProcess | undefined;
beforeEach(async () => {
  ({ dir, cleanup } = await makeTempDir());
});
afterEach(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  child = undefined;
  await cleanup();
});

const LOCK = () => join(dir, ".lock");

async function readHolder(): Promise<LockHolder> {
  return JSON.parse(await readFile(LOCK(), "utf8")) as LockHolder;
}

async function lockedError(): Promise<StoreLockedError> {
  const result = await openNdjsonStore({ dir, logger: silentLogger }).then(
    async (store) => {
      await store.close();
      return undefined;
    },
    (error: unknown) => error,
  );
  expect(result).toBeInstanceOf(StoreLockedError);
  return result as StoreLockedError;
}

describe("one writer per directory", () => {
  it("refuses a second opener with the holder named, until the first closes", async () => {
    const first = await openNdjsonStore({ dir, logger: silentLogger });
    const holder = await readHolder();
    expect(holder).toMatchObject({ pid: process.pid, hostname: hostname() });
    const error = await lockedError();
    expect(error.message).toContain(dir);
    expect(error.message).toContain(`${process.pid}@${hostname()}`);
    expect(error.message).toContain(holder.acquired_at);
    await first.close();
    const second = await openNdjsonStore({ dir, logger: silentLogger });
    await second.close();
  });

  it("lets a restart take over after the holder was killed with SIGKILL", async () => {
    const fixture = join(
      import.meta.dirname,
      "..",
      "..",
      "test",
      "fixtures",
      "store",
      "hold-store.ts",
    );
    const spawned = spawn(process.execPath, ["--import", TSX_IMPORT, fixture, dir], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    child = spawned;
    let output = "";
    spawned.stdout?.on("data", (chunk) => {
      output += String(chunk);
    });
    spawned.stderr?.resume();
    const exited = new Promise((resolve) => spawned.once("exit", resolve));
    await waitFor(
      () => output.includes("ready") || spawned.exitCode !== null,
      "the child to hold the lock",
    );
    expect(output).toContain("ready");

    const error = await lockedError();
    expect(error.message).toContain(`${spawned.pid}@`);

    spawned.kill("SIGKILL");
    await exited;
    const store = await openNdjsonStore({ dir, logger: silentLogger });
    expect(store.hasEvent(`held-by-${spawned.pid}`)).toBe(true);
    expect((await readHolder()).pid).toBe(process.pid);
    await store.close();
  });

  it("takes over a lock on this machine whose pid now belongs to another process", async () => {
    const first = await openNdjsonStore({ dir, logger: silentLogger });
    const holder = await readHolder();
    await first.close();
    // Our own pid, but a different start time: the pid was reused.
    await writeFile(LOCK(), JSON.stringify({ ...holder, process_start: "1" }));
    expect(processStartTime(process.pid)).not.toBe("1");
    const store = await openNdjsonStore({ dir, logger: silentLogger });
    expect((await readHolder()).process_start).toBe(holder.process_start);
    await store.close();
  });

  it("takes over from a holder that exited but that no parent reaped (a zombie)", async () => {
    // The shell starts a child that exits a second later, then becomes `sleep`, which never
    // waits for it: that child stays a zombie, as under a pid 1 that does not reap. (A child
    // that exited at once could be reaped by the shell itself before its `exec`.)
    const parent = spawn("sh", ["-c", "sleep 1 & echo $!; exec sleep 60"], {
      stdio: ["ignore", "pipe", "ignore"],
    });
    child = parent;
    let output = "";
    parent.stdout?.on("data", (chunk) => {
      output += String(chunk);
    });
    await waitFor(() => /^\d+\n/.test(output), "the zombie's pid");
    const zombie = Number(output.trim());
    const state = async () =>
      (await readFile(`/proc/${zombie}/status`, "utf8")).match(/^State:\s*(\S)/m)?.[1];
    await waitFor(async () => (await state()) === "Z", "the child to become a zombie");
    // It still answers signals, so a check by pid alone takes it for a live holder.
    expect(() => process.kill(zombie, 0)).not.toThrow();

    const first = await openNdjsonStore({ dir, logger: silentLogger });
    const holder = await readHolder();
    await first.close();
    const start = processStartTime(zombie);
    expect(start).not.toBeNull();
    await writeFile(LOCK(), JSON.stringify({ ...holder, pid: zombie, process_start: start }));

    const store = await openNdjsonStore({ dir, logger: silentLogger });
    expect((await readHolder()).pid).toBe(process.pid);
    await store.close();
    expect(await state()).toBe("Z");
  });

  it("judges a holder on another host by its heartbeat", async () => {
    const elsewhere = (heartbeatAgoMs: number): LockHolder => ({
      pid: 1,
      hostname: "control-plane-7f9c-old",
      boot_id: "other-boot",
      pid_namespace: "pid:[1]",
      process_start: "42",
      acquired_at: new Date(Date.now() - 3_600_000).toISOString(),
      heartbeat_at: new Date(Date.now() - heartbeatAgoMs).toISOString(),
      heartbeat_ms: 5_000,
    });
    await writeFile(LOCK(), JSON.stringify(elsewhere(1_000)));
    const error = await lockedError();
    expect(error.message).toContain("1@control-plane-7f9c-old");

    await writeFile(LOCK(), JSON.stringify(elsewhere(60_000)));
    const store = await openNdjsonStore({ dir, logger: silentLogger });
    expect((await readHolder()).hostname).toBe(hostname());
    await store.close();
  });

  it("refreshes its heartbeat, and stops appending once another process took the lock", async () => {
    const store = await openNdjsonStore({ dir, logger: silentLogger, lockHeartbeatMs: 20 });
    const first = (await readHolder()).heartbeat_at;
    await waitFor(async () => (await readHolder()).heartbeat_at !== first, "a heartbeat");

    // Another process judged us dead and replaced the lock file.
    await writeFile(`${LOCK()}.new`, JSON.stringify({ ...(await readHolder()), pid: 1 }));
    const { rename } = await import("node:fs/promises");
    await rename(`${LOCK()}.new`, LOCK());
    await waitFor(
      () =>
        store.append(items(1, 1)).then(
          () => false,
          (error: unknown) => error instanceof StoreFailedError,
        ),
      "appends to be refused",
    );
    await expect(store.append(items(2, 1))).rejects.toThrow(/lost its directory lock/);
    await store.close();
    // close() leaves the other process's lock alone.
    expect((await readHolder()).pid).toBe(1);
  });
});
