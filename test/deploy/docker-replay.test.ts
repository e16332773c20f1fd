import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// There is no container engine and no cluster here (knative/README.md says so): this replays
// ops/Dockerfile in a temporary copy of the committed tree and starts each container of knative/
// as the manifests do. The script is the check; these tests hold it to the files it follows.

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const SCRIPT = join(REPO, "ops", "replay-dockerfile.ts");
/** npm ci + tsc + three servers on two cores, possibly beside other suites. */
const REPLAY_TIMEOUT_MS = 300_000;

interface Step {
  stage: string;
  line: number;
  instruction: string;
  action: "mkdir" | "copy" | "run" | "skip";
  commands?: string[][];
  reason?: string;
}

interface PlannedEntryPoint {
  name: string;
  workload: string;
  argv: string[];
  env: { name: string; value?: string; secret?: string }[];
  overrides: Record<string, string>;
  mounts: { path: string; files: Record<string, string> }[];
  probe: string;
}

interface Plan {
  context_files: string[];
  plan: { stages: { name: string; steps: Step[] }[]; entryPoints: PlannedEntryPoint[] };
}

interface Report {
  ok: boolean;
  commit: string;
  workdir: string;
  error?: string;
  steps: (Omit<Step, "commands"> & { commands?: string[]; seconds: number })[];
  entry_points: {
    name: string;
    ran: string[];
    health: { path: string; status: number; body: unknown };
    listens_on_all_interfaces: boolean | null;
    exit_code: number | null;
  }[];
  seconds: number;
}

function replay(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", SCRIPT, ...args], {
    cwd: REPO,
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  // The script bounds each of its own steps; this only stops a runaway (SIGTERM: it cleans up).
  const limit = setTimeout(() => child.kill("SIGTERM"), REPLAY_TIMEOUT_MS - 10_000);
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(limit);
      resolve({ code, stdout, stderr });
    });
  });
}

function committed(path: string): string {
  return execFileSync("git", ["-C", REPO, "show", `HEAD:${path}`], {
    encoding: "utf8",
    timeout: 30_000,
  });
}

/** The Dockerfile with continuation lines joined, as its instructions read. */
function joined(dockerfile: string): string {
  return dockerfile.replace(/\s*\\\n\s*/g, " ");
}

let scratch: string;
let dockerfile: string;
let dockerignore: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "leviathan-replay-test-"));
  dockerfile = committed("ops/Dockerfile");
  dockerignore = committed(".dockerignore");
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function planWith(files: { dockerfile?: string; dockerignore?: string }) {
  const args = ["--plan", "--json"];
  if (files.dockerfile !== undefined) {
    await writeFile(join(scratch, "Dockerfile"), files.dockerfile);
    args.push("--dockerfile", join(scratch, "Dockerfile"));
  }
  if (files.dockerignore !== undefined) {
    await writeFile(join(scratch, "dockerignore"), files.dockerignore);
    args.push("--dockerignore", join(scratch, "dockerignore"));
  }
  return replay(args);
}

describe("the Dockerfile replay's plan", () => {
  let plan: Plan;
  beforeAll(async () => {
    const result = await planWith({});
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    plan = JSON.parse(result.stdout) as Plan;
  });

  it("replays only commands written in the Dockerfile, the build being the package's build script", () => {
    const steps = plan.plan.stages.flatMap((stage) => stage.steps);
    const replayed = steps.flatMap((step) => step.commands ?? []).map((argv) => argv.join(" "));
    for (const command of replayed) {
      // --prefer-offline is the one thing added: npm ci from the cache, off the network.
      expect(joined(dockerfile)).toContain(command.replace(" --prefer-offline", ""));
    }
    const pkg = JSON.parse(committed("package.json")) as { scripts: { build: string } };
    expect(replayed).toContain(`npx ${pkg.scripts.build}`);
    expect(replayed.some((command) => /^npm ci .*--prefer-offline/.test(command))).toBe(true);
    expect(replayed.some((command) => command.startsWith("npm prune --omit=dev"))).toBe(true);
    // Every RUN is accounted for: replayed, or skipped as OS set-up with a reason.
    const runs = joined(dockerfile).match(/^RUN .*$/gm) ?? [];
    const accounted = steps.filter((step) => step.action === "run" || step.action === "skip");
    expect(accounted.map((step) => step.instruction)).toEqual(runs.map((run) => run.trim()));
    for (const step of steps.filter((s) => s.action === "skip")) {
      expect(step.instruction).toMatch(/^RUN (apt-get|groupadd) /);
      expect(step.reason).toBeTruthy();
    }
  });

  it("builds from the committed files .dockerignore lets through, and nothing else", () => {
    const files = plan.context_files;
    expect(files).toEqual(
      expect.arrayContaining([
        "package.json",
        "package-lock.json",
        "bin/leviathan.js",
        "functions/cli/main.ts",
        "functions/tick/index.ts",
        "functions/worker/index.ts",
        "ops/docker-entrypoint.sh",
        "ops/autonomy/dev.yaml",
        "shared/control-plane/console/index.html",
        "shared/control-plane/console/console.js",
        "shared/control-plane/console/console.css",
      ]),
    );
    const tracked = execFileSync("git", ["-C", REPO, "ls-tree", "-r", "--name-only", "HEAD"], {
      encoding: "utf8",
      timeout: 30_000,
    }).split("\n");
    expect(files.every((file) => tracked.includes(file))).toBe(true);
    expect(files.filter((file) => file.endsWith(".test.ts"))).toEqual([]);
    expect(
      files.filter((file) => /^(test|knative|docs|\.ci)\//.test(file) || file === "ops/Dockerfile"),
    ).toEqual([]);
  });

  it("ships the console's static files where the compiled server looks for them", () => {
    const final = plan.plan.stages.at(-1)!;
    const copy = final.steps.find(
      (step) => step.action === "copy" && step.instruction.includes("shared/control-plane/console"),
    );
    expect(copy?.instruction).toBe(
      "COPY shared/control-plane/console ./dist/shared/control-plane/console",
    );
  });

  it("starts each container as the manifests do", () => {
    const byName = Object.fromEntries(plan.plan.entryPoints.map((e) => [e.name, e]));
    expect(Object.keys(byName).sort()).toEqual(["control-plane", "tick", "worker"]);
    expect(byName.tick?.probe).toBe("/health");
    expect(byName.worker?.probe).toBe("/health");
    expect(byName["control-plane"]?.probe).toBe("/healthz");
    const env = (name: string) =>
      Object.fromEntries((byName[name]?.env ?? []).map((v) => [v.name, v.value ?? v.secret]));
    expect(env("tick").FUNCTION_TARGET).toBe("tick");
    expect(env("worker").FUNCTION_TARGET).toBe("worker");
    expect(env("tick").LEVIATHAN_CONFIG).toBe("/etc/leviathan/dev.yaml");
    expect(env("control-plane").LEVIATHAN_DATA_DIR).toBe("/data/events");
    // The image's entry point with no arguments for the functions; the control plane by command.
    expect(byName.tick?.argv.at(-1)).toBe("/usr/local/bin/leviathan-entrypoint");
    expect(byName["control-plane"]?.argv.slice(-2)).toEqual(["leviathan", "control-plane"]);
    // No cluster: only the worker's job runner changes.
    expect(byName.worker?.overrides).toEqual({ LEVIATHAN_JOB_RUNNER: "process" });
    expect(byName.tick?.overrides).toEqual({});
    // The autonomy config the tick reads is the ConfigMap's copy of ops/autonomy/dev.yaml.
    const config = byName.tick?.mounts.find((m) => m.path === "/etc/leviathan")?.files["dev.yaml"];
    expect(config).toContain(committed("ops/autonomy/dev.yaml").trim());
  });
});

describe("the Dockerfile replay refuses what it cannot follow", () => {
  it("names the line of a command it does not know how to replay", async () => {
    const extra = `${dockerfile.trimEnd()}\nRUN curl -fsSL https://example.com/install.sh\n`;
    const line = extra.trimEnd().split("\n").length;
    const result = await planWith({ dockerfile: extra });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`ops/Dockerfile:${line}`);
    expect(result.stderr).toContain("curl");
  });

  it("refuses app steps hidden in a RUN it would skip as OS set-up", async () => {
    const extra = `${dockerfile.trimEnd()}\nRUN apt-get install -y jq && npm install left-pad\n`;
    const result = await planWith({ dockerfile: extra });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("npm install left-pad");
  });

  it("refuses a COPY of files the build context does not hold", async () => {
    const withTests = dockerfile.replace(
      "COPY functions ./functions",
      "COPY functions ./functions\nCOPY test ./test",
    );
    expect(withTests).not.toBe(dockerfile);
    const copyTests = await planWith({ dockerfile: withTests });
    expect(copyTests.code).toBe(1);
    expect(copyTests.stderr).toContain("test is not in the build context");

    // Take bin/ out of .dockerignore's allow-list: `COPY bin ./bin` has nothing to copy.
    const withoutBin = dockerignore.replace(/^!bin\/$/m, "");
    expect(withoutBin).not.toBe(dockerignore);
    const noBin = await planWith({ dockerignore: withoutBin });
    expect(noBin.code).toBe(1);
    expect(noBin.stderr).toContain("bin is not in the build context");
  });
});

describe("the Dockerfile replay", () => {
  it(
    "builds the committed tree as the Dockerfile does, and every entry point answers its probe with 200",
    async () => {
      const result = await replay(["--json"]);
      const report = JSON.parse(result.stdout) as Report;
      expect(report.error).toBeUndefined();
      expect(result.code).toBe(0);
      expect(report.ok).toBe(true);
      // The committed tree (others may commit while it runs: HEAD then, an ancestor of HEAD now).
      expect(report.commit).toMatch(/^[0-9a-f]{40}$/);
      execFileSync("git", ["-C", REPO, "merge-base", "--is-ancestor", report.commit, "HEAD"], {
        timeout: 30_000,
      });

      const ran = report.steps.flatMap((step) => step.commands ?? []);
      expect(ran).toContain("npx tsc -p tsconfig.build.json");
      expect(ran).toContain("npm prune --omit=dev --no-audit --no-fund");

      const entryPoints = Object.fromEntries(report.entry_points.map((e) => [e.name, e]));
      expect(Object.keys(entryPoints).sort()).toEqual(["control-plane", "tick", "worker"]);
      for (const entry of report.entry_points) {
        expect(entry.health.status).toBe(200);
        expect(entry.health.body).toEqual({ status: "ok" });
        expect(entry.exit_code).toBe(0);
        // A probe comes to the pod's address: loopback only would never be ready.
        expect(entry.listens_on_all_interfaces).not.toBe(false);
        // Started from the replayed image's entry point, not from this checkout.
        expect(entry.ran[0]).toBe("<image>/usr/local/bin/leviathan-entrypoint");
      }
      expect(entryPoints.tick?.health.path).toBe("/health");
      expect(entryPoints.worker?.health.path).toBe("/health");
      expect(entryPoints["control-plane"]?.health.path).toBe("/healthz");

      expect(existsSync(report.workdir)).toBe(false);
      // The generated Secret values never reach the output.
      expect(`${result.stdout}${result.stderr}`).not.toMatch(/replay-[0-9a-f]{32}/);
    },
    REPLAY_TIMEOUT_MS,
  );
});
