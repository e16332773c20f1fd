import { spawn } from "node:child_process";
import { chmodSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildSync } from "esbuild";
import { describe, expect, it } from "vitest";
import { tempDir } from "../../test/support/temp-dir.ts";
import { pidAlive, waitFor } from "../../test/support/wait-for.ts";
import { runProcess } from "./run-process.ts";
import { spawnGroup } from "./spawn-group.ts";

const ENV = { PATH: process.env.PATH ?? "/usr/bin:/bin" };

/** Live members (zombies excepted) of process group `pgid`, read from /proc. */
function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      // After the command's closing paren: state, ppid, pgrp, …
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(pgrp) === pgid && state !== "Z") members.push(Number(name));
    } catch {
      // Gone between the listing and the read.
    }
  }
  return members;
}

function groupGone(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
  // Only zombies may be left, waiting for a parent that is not ours to reap them.
  return groupMembers(pgid).length === 0;
}

describe("a process group run to the end", () => {
  it("SIGKILLs at the deadline a grandchild that ignores SIGTERM, and the group is gone", async () => {
    // The shell and its background child both ignore SIGTERM: only SIGKILL ends them.
    const group = spawnGroup(["sh", "-c", "trap '' TERM; sleep 1000 & echo $!; wait; wait"], {
      env: ENV,
      timeoutMs: 1_000,
      killGraceMs: 300,
    });
    const grandchild = Number(await waitFor(() => /^\d+/.exec(group.tail())?.[0], "its pid"));
    expect(pidAlive(grandchild)).toBe(true);
    const result = await group.done;

    expect(result.timedOut).toBe(true);
    expect(result.exit).toEqual({ kind: "exited", code: null, signal: "SIGKILL" });
    const pgid = group.pid!;
    expect(result.kills.slice(0, 2)).toEqual([
      { target: -pgid, signal: "SIGTERM", result: "sent" },
      { target: -pgid, signal: "SIGKILL", result: "sent" },
    ]);
    expect(pidAlive(grandchild)).toBe(false);
    expect(groupGone(pgid)).toBe(true);
  });

  it("leaves no orphan in its group when the leader exits on its own", async () => {
    const group = spawnGroup(["sh", "-c", "sleep 1000 & echo $!; exit 0"], { env: ENV });
    const result = await group.done;
    const orphan = Number(/^\d+/.exec(result.tail)?.[0]);
    expect(orphan).toBeGreaterThan(0);
    expect(result.timedOut).toBe(false);
    expect(result.exit).toEqual({ kind: "exited", code: 0, signal: null });
    // The sleep was still there when the leader exited: the sweep signalled it.
    expect(result.kills).toEqual([{ target: -group.pid!, signal: "SIGKILL", result: "sent" }]);
    await waitFor(() => !pidAlive(orphan), "the orphan to end", 5_000);
    expect(groupGone(group.pid!)).toBe(true);
  });

  it("records an empty group as already gone, not as a failure", async () => {
    const result = await runProcess(["true"], { env: ENV });
    expect(result.exit).toEqual({ kind: "exited", code: 0, signal: null });
    expect(result.kills.map((k) => k.result)).toEqual(["gone"]);
  });

  it("cuts output beyond the bound with a marker, keeping the end", async () => {
    const script = 'i=0; while [ $i -lt 3000 ]; do echo "line $i"; i=$((i+1)); done; echo last';
    const result = await runProcess(["sh", "-c", script], { env: ENV, tailLimit: 500 });
    expect(result.tail).toMatch(/^\[… \d+ earlier characters cut\]\n/);
    expect(result.tail.endsWith("line 2999\nlast\n")).toBe(true);
    expect(result.tail).not.toContain("line 0\n");
    const body = result.tail.slice(result.tail.indexOf("\n") + 1);
    expect(body.length).toBe(500);
    // What the marker says was cut, and what is kept, add up to everything printed.
    let printed = "last\n".length;
    for (let i = 0; i < 3000; i++) printed += `line ${i}\n`.length;
    expect(Number(/\d+/.exec(result.tail)?.[0]) + body.length).toBe(printed);
  });

  it("never shows a secret, even one split across writes or where the tail is cut", async () => {
    const secret = "tok-0123456789abcdef-secret";
    // Half the secret, a pause the reader sees as a separate chunk, then the other half.
    const script = [
      `printf '%s' '${secret.slice(0, 10)}'`,
      "sleep 0.2",
      `printf '%s\\n' '${secret.slice(10)}'`,
      `i=0; while [ $i -lt 200 ]; do printf 'x'; i=$((i+1)); done; echo`,
      `echo "${secret}${secret}" >&2`,
    ].join("; ");
    for (const tailLimit of [40, 61, 4_000]) {
      const result = await runProcess(["sh", "-c", script], {
        env: ENV,
        tailLimit,
        secrets: [secret],
      });
      expect(result.tail).not.toContain(secret);
      // No fragment long enough to matter survives the cut either.
      expect(result.tail).not.toContain(secret.slice(0, 12));
      expect(result.tail).not.toContain(secret.slice(-12));
      expect(result.tail).toContain("[redacted][redacted]");
      if (tailLimit === 4_000) expect(result.tail).toMatch(/^\[redacted\]\n/);
    }
  });

  it("reports a program that cannot start, without a kill", async () => {
    const result = await runProcess(["/nonexistent/leviathan-program"], { env: ENV });
    expect(result.exit.kind).toBe("not_started");
    expect(result.kills).toEqual([]);
  });

  it("keeps stdout whole as bytes when asked, stderr going to the tail", async () => {
    const result = await runProcess(["sh", "-c", "printf '\\377\\000ok'; echo oops >&2"], {
      env: ENV,
      collectStdout: true,
    });
    expect([...result.stdout]).toEqual([0xff, 0x00, 0x6f, 0x6b]);
    expect(result.tail).toBe("oops\n");
  });
});

describe("a kill that fails", () => {
  it("is recorded with its error, never thrown or dropped (EPERM: another user's group)", async () => {
    if (process.getuid?.() !== 0) return; // Needs root to run the signalling side as another user.
    // A group of root's that user 65534 may not signal.
    const target = spawn("sleep", ["1000"], { detached: true, stdio: "ignore" });
    try {
      const pgid = target.pid!;
      const script = [
        'import { signalGroup } from "./signal-group.ts";',
        'import { stopGroup } from "./stop-group.ts";',
        `const kills = [signalGroup(${pgid}, "SIGTERM")];`,
        `stopGroup(${pgid}, { graceMs: 50, record: (k) => { kills.push(k); if (kills.length === 3) { console.log(JSON.stringify(kills)); process.exit(0); } } });`,
        // The SIGKILL timer does not keep a process alive by itself.
        "setInterval(() => undefined, 1000);",
      ].join("\n");
      // User 65534 may not be able to enter the clone (a checkout under a private folder), so
      // the code under test runs as one plain script from a folder it can read.
      const bundled = buildSync({
        stdin: { contents: script, resolveDir: import.meta.dirname, loader: "ts" },
        bundle: true,
        format: "esm",
        platform: "node",
        write: false,
      }).outputFiles[0]!.text;
      const dir = tempDir("leviathan-eperm-");
      chmodSync(dir, 0o755);
      writeFileSync(join(dir, "probe.mjs"), bundled, { mode: 0o644 });
      const result = await runProcess([process.execPath, join(dir, "probe.mjs")], {
        env: { ...ENV, HOME: "/tmp", TMPDIR: "/tmp" },
        cwd: dir,
        uid: 65534,
        gid: 65534,
        collectStdout: true,
        timeoutMs: 30_000,
      });
      expect(result.tail).toBe("");
      const kills = JSON.parse(result.stdout.toString("utf8"));
      expect(kills).toEqual([
        { target: -pgid, signal: "SIGTERM", result: "failed", code: "EPERM" },
        { target: -pgid, signal: "SIGTERM", result: "failed", code: "EPERM" },
        { target: -pgid, signal: "SIGKILL", result: "failed", code: "EPERM" },
      ]);
      expect(pidAlive(pgid)).toBe(true);
    } finally {
      target.kill("SIGKILL");
    }
  });

  it("is reported to the caller as it happens", async () => {
    const failed: unknown[] = [];
    const group = spawnGroup(["sleep", "1000"], {
      env: ENV,
      killGraceMs: 0,
      deliver: () => [{ target: 1, signal: "SIGKILL", result: "failed", code: "EPERM" }],
      onKillFailed: (kill) => failed.push(kill),
    });
    group.stop();
    await waitFor(() => failed.length > 0, "the failure to be reported");
    group.kill("SIGKILL");
    const result = await group.done;
    expect(failed).toEqual([{ target: 1, signal: "SIGKILL", result: "failed", code: "EPERM" }]);
    expect(result.kills[0]).toEqual(failed[0]);
    expect(result.stopped).toBe(true);
  });
});
