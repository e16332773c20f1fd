import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jobNameFor } from "../../shared/events/ids.ts";
import type { ProcessJobState } from "../../shared/jobs/process/job-state-file.ts";
import { attemptRequestedCloudEvent } from "../../shared/scheduler/dispatch-attempt.ts";
import type { TestControlPlane } from "../control-plane/support.ts";
import { attemptRequest } from "../jobs/job-fixtures.ts";
import { startFakeKubernetes } from "../support/fake-kubernetes.ts";
import { waitFor } from "../support/wait-for.ts";
import {
  binary,
  GITHUB_TOKEN,
  killJobs,
  recordRequested,
  send,
  serve,
  startWorkerControlPlane,
  structured,
  TOKEN,
  writeConfigs,
} from "./worker-support.ts";

const BIN = fileURLToPath(new URL("../../bin/leviathan.js", import.meta.url));

let dir: string;
let configPath: string;
/** The control plane the served workers ask whether an attempt was recorded. */
let cp: TestControlPlane;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "leviathan-serve-"));
  configPath = await writeConfigs(dir);
  cp = await startWorkerControlPlane();
});
afterAll(async () => {
  await cp.cleanup();
  await killJobs(join(dir, "home"));
  await rm(dir, { recursive: true, force: true });
});

async function run(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (c: Buffer) => {
    output += c.toString();
  });
  child.stderr.on("data", (c: Buffer) => {
    output += c.toString();
  });
  const [code] = (await once(child, "exit")) as [number | null];
  return { code, output };
}

describe("leviathan serve worker", () => {
  it("serves the worker through the functions framework with the process runner, and stops on SIGTERM", async () => {
    const home = join(dir, "home");
    const served = await serve("worker", {
      CONTROL_PLANE_TOKEN: TOKEN,
      GITHUB_TOKEN,
      LEVIATHAN_CONFIG: configPath,
      LEVIATHAN_HOME: home,
      LEVIATHAN_JOB_RUNNER: "process",
      CONTROL_PLANE_URL: cp.url,
    });
    try {
      const health = await fetch(`${served.url}health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: "ok" });

      const request = attemptRequest("task-served");
      await recordRequested(cp.url, request);
      const name = jobNameFor(request.attempt_id);
      const event = attemptRequestedCloudEvent(request);
      expect(await send(served.url, binary(event))).toEqual({
        status: 200,
        body: { job_name: name, created: true },
      });
      expect(await send(served.url, structured(event))).toEqual({
        status: 200,
        body: { job_name: name, created: false },
      });
      expect((await send(served.url, binary(event), null)).status).toBe(401);

      // The default command ran: `leviathan attempt` as a child, recorded under LEVIATHAN_HOME.
      const state = await waitFor(async () => {
        const s = JSON.parse(
          await readFile(join(home, "jobs", `${name}.json`), "utf8"),
        ) as ProcessJobState;
        return s.pid ? s : undefined;
      }, "the attempt process to start");
      expect(state.attempt_id).toBe(request.attempt_id);
      expect(existsSync(join(home, "jobs", `${name}.log`))).toBe(true);
    } finally {
      expect(await served.stop()).toBe(0);
    }
    expect(served.output()).toContain("SIGTERM");
    expect(served.output()).not.toContain(TOKEN);
  });

  it("uses KUBECONFIG by default, and answers 503 once the API server is gone", async () => {
    const fake = await startFakeKubernetes();
    const kubeconfig = join(dir, "kubeconfig");
    await fake.writeKubeconfig(kubeconfig);
    const served = await serve("worker", {
      CONTROL_PLANE_TOKEN: TOKEN,
      LEVIATHAN_CONFIG: configPath,
      KUBECONFIG: kubeconfig,
      CONTROL_PLANE_URL: cp.url,
    });
    try {
      const request = attemptRequest("task-kube");
      await recordRequested(cp.url, request);
      const reply = await send(served.url, binary(attemptRequestedCloudEvent(request)));
      expect(reply).toEqual({
        status: 200,
        body: { job_name: jobNameFor(request.attempt_id), created: true },
      });
      expect(fake.jobNames()).toEqual([jobNameFor(request.attempt_id)]);

      await fake.close();
      const second = attemptRequest("task-kube", 2);
      await recordRequested(cp.url, second);
      const later = await send(served.url, binary(attemptRequestedCloudEvent(second)));
      expect(later.status).toBe(503);
      expect(JSON.stringify(later.body)).not.toContain(fake.token);
    } finally {
      await served.stop();
      await fake.close();
    }
  });

  it("refuses to start without CONTROL_PLANE_TOKEN, with an unusable CONTROL_PLANE_TOKEN_FILE or an unknown job runner", async () => {
    const noToken = await run(["serve", "worker"], { PORT: "0", LEVIATHAN_CONFIG: configPath });
    expect(noToken.code).toBe(1);
    expect(noToken.output).toContain("CONTROL_PLANE_TOKEN is not set");

    const missing = join(dir, "no-such-token");
    const noFile = await run(["serve", "worker"], {
      PORT: "0",
      LEVIATHAN_CONFIG: configPath,
      CONTROL_PLANE_TOKEN_FILE: missing,
    });
    expect(noFile.code).toBe(1);
    expect(noFile.output).toContain(`CONTROL_PLANE_TOKEN_FILE: cannot read ${missing} (ENOENT)`);

    const emptyFile = join(dir, "empty-token");
    await writeFile(emptyFile, "\n");
    const empty = await run(["serve", "worker"], {
      PORT: "0",
      LEVIATHAN_CONFIG: configPath,
      CONTROL_PLANE_TOKEN_FILE: emptyFile,
    });
    expect(empty.code).toBe(1);
    expect(empty.output).toContain(`CONTROL_PLANE_TOKEN_FILE: ${emptyFile} is empty`);

    const badRunner = await run(["serve", "worker"], {
      PORT: "0",
      CONTROL_PLANE_TOKEN: TOKEN,
      LEVIATHAN_JOB_RUNNER: "docker",
    });
    expect(badRunner.code).toBe(1);
    expect(badRunner.output).toContain("LEVIATHAN_JOB_RUNNER must be one of kubernetes, process");
  });

  it("names a function it knows, else a usage error", async () => {
    const result = await run(["serve", "control-plane"], { PORT: "0" });
    expect(result.code).toBe(2);
    expect(result.output).toContain("Usage: leviathan serve tick|worker");
  });
});
