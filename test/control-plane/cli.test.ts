import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StoredRecord } from "../../shared/events/types.ts";
import { runLeviathan, waitForOutput } from "./process-support.ts";
import {
  attemptEvent,
  bundle,
  call,
  startTestControlPlane,
  type TestControlPlane,
  TOKEN,
  tempDir,
} from "./support.ts";

let cp: TestControlPlane;
let env: Record<string, string>;
const a1 = { attempt_id: "attempt-task-1-cccc0001", task_id: "task-1", attempt_number: 1 };
const PR = "https://github.com/iangreen74/radix/pull/3";

beforeAll(async () => {
  cp = await startTestControlPlane();
  const home = await tempDir();
  env = {
    CONTROL_PLANE_URL: cp.url,
    CONTROL_PLANE_TOKEN: TOKEN,
    LEVIATHAN_HOME: home,
    LEVIATHAN_CONFIG: join(home, "missing.yaml"),
  };
  const events = [
    attemptEvent("attempt.requested", a1, { config: "dev.yaml" }),
    attemptEvent("attempt.created", a1),
    attemptEvent("attempt.started", a1),
    attemptEvent("pr.created", a1, { pr_url: PR, pr_number: 3 }),
    attemptEvent("attempt.failed", a1, { reason: "push_failed", failure_kind: "platform" }),
    {
      event_id: "skip-x",
      event_type: "scheduler.skipped",
      timestamp: "2024-05-02T00:00:00Z",
      actor_id: "tick",
      payload: { reason: "no_ready_task" },
    },
  ];
  expect((await call(cp.url, "/v1/events/ingest", { body: bundle(events) })).json.ingested).toBe(6);
});
afterAll(async () => {
  await cp.cleanup();
});

async function run(args: string[], extra: Record<string, string> = {}) {
  const child = runLeviathan(args, { ...env, ...extra });
  const code = await child.exited;
  expect(`${child.stdout()}${child.stderr()}`).not.toContain(TOKEN);
  return { code, stdout: child.stdout(), stderr: child.stderr() };
}

describe("leviathan summary", () => {
  it("human-readable: counts, breaker, open PRs, last skip, recent events", async () => {
    const { code, stdout } = await run(["summary"]);
    expect(code).toBe(0);
    expect(stdout).toContain("Target radix");
    expect(stdout).toMatch(/breaker: +1 consecutive failure\b/);
    expect(stdout).toMatch(/attempts: +failed 1/);
    expect(stdout).toContain(`open PRs:     ${PR}`);
    expect(stdout).toMatch(/last skip: +no_ready_task/);
    expect(stdout).toMatch(/task-1: 1 attempt\(s\), 0 charged, last failed/);
    expect(stdout).toMatch(
      /recent events:\n {4}2024-05-02T00:00:00Z {2}scheduler\.skipped {2}\(tick\)/,
    );
    expect(stdout).toContain("Graph: nodes Target 1");
  });

  it("--json prints GET /v1/graph/summary as it is", async () => {
    const { code, stdout } = await run(["summary", "--json"]);
    expect(code).toBe(0);
    expect(stdout.trim().split("\n")).toHaveLength(1);
    expect(JSON.parse(stdout)).toEqual((await call(cp.url, "/v1/graph/summary")).json);
  });

  it("finds the control plane through LEVIATHAN_HOME's files", async () => {
    const home = await tempDir();
    await writeFile(join(home, "control-plane.url"), `${cp.url}\n`);
    await writeFile(join(home, "control-plane.token"), `${TOKEN}\n`, { mode: 0o600 });
    const child = runLeviathan(["summary", "--json"], {
      LEVIATHAN_HOME: home,
      LEVIATHAN_CONFIG: join(home, "none.yaml"),
    });
    expect(await child.exited).toBe(0);
    expect(JSON.parse(child.stdout()).targets.radix).toBeDefined();
  });

  it("with no control plane anywhere: exit 1 naming every place", async () => {
    const home = await tempDir();
    const child = runLeviathan(["summary"], {
      LEVIATHAN_HOME: home,
      LEVIATHAN_CONFIG: join(home, "none.yaml"),
    });
    expect(await child.exited).toBe(1);
    expect(child.stderr()).toContain("CONTROL_PLANE_URL");
    expect(child.stderr()).toContain(join(home, "control-plane.url"));
    expect(child.stderr()).toContain("control_plane_url");
  });

  it("a wrong token: exit 1 with the 401, never the token", async () => {
    const { code, stderr } = await run(["summary"], { CONTROL_PLANE_TOKEN: `${TOKEN}-wrong` });
    expect(code).toBe(1);
    expect(stderr).toMatch(/rejected GET \/v1\/graph\/summary: 401/);
  });
});

describe("leviathan events tail", () => {
  it("prints every event, oldest first, one line each", async () => {
    const { code, stdout } = await run(["events", "tail"]);
    expect(code).toBe(0);
    const lines = stdout.trim().split("\n");
    expect(lines).toHaveLength(6);
    expect(lines[0]).toMatch(/^1\t\S+\tradix\tattempt\.requested attempt-task-1-cccc0001\t/);
    expect(lines[4]).toMatch(/attempt\.failed attempt-task-1-cccc0001 reason=push_failed/);
  });

  it("--json prints the stored records", async () => {
    const { stdout } = await run(["events", "tail", "--json"]);
    const records = stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as StoredRecord);
    expect(records.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(records).toEqual((await call(cp.url, "/v1/events")).json.records);
  });

  it("--follow shows new events as they come, until Ctrl-C", async () => {
    const child = runLeviathan(["events", "tail", "--follow"], {
      ...env,
      LEVIATHAN_TAIL_POLL_MS: "50",
    });
    await waitForOutput(child, /^6\t/m);
    const later = attemptEvent("custom.noted", { attempt_id: "attempt-late", task_id: "t" });
    await call(cp.url, "/v1/events/ingest", { body: bundle([later]) });
    await waitForOutput(child, new RegExp(`\\t${later.event_id.replace(/\./g, "\\.")}\\t`));
    child.process.kill("SIGINT");
    expect(await child.exited).toBe(0);
    expect(child.stdout().trim().split("\n")).toHaveLength(7);
  });
});

describe("leviathan circuit reset", () => {
  it("records circuit.reset and prints it", async () => {
    const { code, stdout } = await run(["circuit", "reset", "radix"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(
      /^circuit reset recorded for radix: seq \d+, event circuit-reset-\S+ at \S+Z\n$/,
    );
    const target = (await call(cp.url, "/v1/targets/radix")).json;
    expect(target.consecutive_failures).toBe(0);
    expect(stdout).toContain(target.last_reset_at);
  });

  it("needs exactly one target", async () => {
    const { code, stderr } = await run(["circuit", "reset"]);
    expect(code).toBe(2);
    expect(stderr).toContain("Usage: leviathan circuit reset <target>");
  });

  it("a target name that cannot be one: exit 1 naming the field", async () => {
    const { code, stderr } = await run(["circuit", "reset", "Not_A_Target"]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/422 target: /);
  });
});
