import { randomBytes } from "node:crypto";
import { chmod, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { errorMessage } from "../../errors/error-message.ts";
import { redact } from "../../log/logger.ts";
import { buildStage } from "./build-stage.ts";
import { dockerignoreMatcher } from "./dockerignore.ts";
import { planReplay } from "./plan-replay.ts";
import { readManifests } from "./read-manifests.ts";
import { DOCKERFILE, ReplayError, type ReplayReport } from "./replay-types.ts";
import {
  listensOnAllInterfaces,
  probe,
  type StartedEntryPoint,
  startEntryPoint,
  stopEntryPoint,
} from "./run-entry-point.ts";
import { LIMITS, lastLines, runReplayCommand } from "./run-replay-command.ts";

export interface ReplayOptions {
  /** The repository whose committed tree is replayed. */
  repo: string;
  /** The commit (any git revision); default HEAD. */
  ref?: string;
  /** A Dockerfile or .dockerignore to use instead of the committed one (the tests' variants). */
  dockerfile?: string;
  dockerignore?: string;
  /** Parse and plan only. */
  plan?: boolean;
  /** Leave the temporary folder behind. */
  keep?: boolean;
  /** Progress, one line at a time. */
  log: (line: string) => void;
  /** Registers what to do when the replay is interrupted (SIGINT/SIGTERM). */
  onInterrupt?: (cleanUp: () => Promise<void>) => void;
}

/** The environment npm and tsc run with: the host's basics, nothing from the caller's npm or test run. */
function buildEnv(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    HOME: process.env.HOME ?? "/",
  };
  for (const name of ["npm_config_cache", "LANG", "SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS"]) {
    if (process.env[name]) env[name] = process.env[name];
  }
  return env;
}

/**
 * Replays ops/Dockerfile without a container engine: builds the image's file tree in a
 * temporary folder from the committed tree, the way the Dockerfile says, and starts every
 * container of the knative/ manifests the way Kubernetes would, until each answers its
 * readiness probe with 200 and exits 0 on SIGTERM. Never throws for a failed check: the
 * report says `ok: false` and why.
 */
export async function replayDockerfile(options: ReplayOptions): Promise<ReplayReport> {
  const { repo, log } = options;
  const started = Date.now();
  const git = async (args: string[]) =>
    (
      await runReplayCommand(["git", "-C", repo, ...args], {
        cwd: repo,
        env: { PATH: process.env.PATH, HOME: process.env.HOME ?? "/", GIT_CONFIG_NOSYSTEM: "1" },
        timeoutMs: LIMITS.git,
        collectStdout: true,
      })
    ).output;
  const commit = (await git(["rev-parse", "--verify", `${options.ref ?? "HEAD"}^{commit}`])).trim();
  const readCommitted = (path: string) => git(["show", `${commit}:${path}`]);
  const dockerfile = options.dockerfile
    ? await readFile(options.dockerfile, "utf8")
    : await readCommitted(DOCKERFILE);
  const ignored = dockerignoreMatcher(
    options.dockerignore
      ? await readFile(options.dockerignore, "utf8")
      : await readCommitted(".dockerignore"),
  );
  const committed = (await git(["ls-tree", "-r", "-z", "--name-only", commit]))
    .split("\0")
    .filter(Boolean);
  const contextFiles = committed.filter((file) => !ignored(file));
  const plan = planReplay({
    dockerfile,
    contextFiles,
    manifests: await readManifests(readCommitted),
  });
  const report: ReplayReport = {
    ok: false,
    commit,
    context_files: contextFiles,
    steps: [],
    entry_points: [],
    notes: [],
  };
  if (options.plan) return { ...report, ok: true, plan };

  const secretValues = new Map<string, string>();
  const secrets = (key: string) => {
    let value = secretValues.get(key);
    if (value === undefined) {
      value = `replay-${randomBytes(16).toString("hex")}`;
      secretValues.set(key, value);
    }
    return value;
  };
  const workdir = await mkdtemp(join(tmpdir(), "leviathan-docker-replay-"));
  // mkdtemp makes the folder private; the image's user must reach /app as in the image.
  await chmod(workdir, 0o755);
  report.workdir = workdir;
  const running: StartedEntryPoint[] = [];
  options.onInterrupt?.(async () => {
    for (const s of running) s.group.kill("SIGKILL");
    await rm(workdir, { recursive: true, force: true });
  });
  try {
    log(`${commit.slice(0, 12)}: ${contextFiles.length} files in the build context; in ${workdir}`);
    const checkout = join(workdir, "checkout");
    await mkdir(checkout);
    // The committed tree only: uncommitted changes are not what an image would be built from.
    const archive = join(workdir, "commit.tar");
    await git(["archive", "--format=tar", "-o", archive, commit]);
    await runReplayCommand(["tar", "-x", "-f", archive, "-C", checkout], {
      cwd: workdir,
      env: buildEnv(),
      timeoutMs: LIMITS.git,
    });
    await rm(archive);
    const roots = new Map(
      plan.stages.map((stage) => [stage.name, join(workdir, "stages", stage.name)]),
    );
    for (const stage of plan.stages) {
      await mkdir(roots.get(stage.name)!, { recursive: true, mode: 0o755 });
      await buildStage(stage, { roots, checkout, env: buildEnv(), log, steps: report.steps });
    }
    // Only the final stage is the image: the build stage and the checkout go before anything starts.
    const image = plan.stages.at(-1)!;
    for (const stage of plan.stages.slice(0, -1)) {
      await rm(roots.get(stage.name)!, { recursive: true });
    }
    await rm(checkout, { recursive: true });
    const root = roots.get(image.name)!;
    const scratch = join(workdir, "containers");
    await mkdir(scratch, { mode: 0o755 });
    const context = {
      image,
      root,
      scratch,
      secrets,
      secretValues: () => [...secretValues.values()],
      log,
    };
    for (const entry of plan.entryPoints) running.push(await startEntryPoint(entry, context));
    for (const s of running) await checkEntryPoint(s, root, report, log);
    report.ok = true;
  } catch (error) {
    report.error = redact(errorMessage(error), [...secretValues.values()]);
  } finally {
    for (const s of running) s.group.kill("SIGKILL");
    await Promise.all(running.map((s) => s.group.done));
    if (!options.keep) await rm(workdir, { recursive: true, force: true });
    report.seconds = (Date.now() - started) / 1000;
  }
  return report;
}

/** Probe, where it listens, and a clean exit on SIGTERM: one entry of the report, or a throw. */
async function checkEntryPoint(
  s: StartedEntryPoint,
  root: string,
  report: ReplayReport,
  log: (line: string) => void,
): Promise<void> {
  try {
    const health = await probe(s);
    const port = Number(new URL(health.url).port);
    const allInterfaces = await listensOnAllInterfaces(port);
    const outcome = await stopEntryPoint(s);
    report.entry_points.push({
      name: s.entry.name,
      workload: s.entry.workload,
      argv: s.entry.argv,
      ran: s.argv.map((word) => word.replace(root, "<image>")),
      user: s.runAs ?? null,
      health: { path: s.entry.probe, status: health.status, body: health.body },
      listens_on_all_interfaces: allInterfaces,
      exit_code: outcome.code,
      ...(outcome.code === null && outcome.signal ? { signal: outcome.signal } : {}),
    });
    report.notes.push(...s.notes.map((note) => `${s.entry.name}: ${note}`));
    log(
      `${s.entry.name}: GET ${s.entry.probe} → ${health.status}; SIGTERM → exit ${outcome.code ?? outcome.signal}`,
    );
    if (allInterfaces === false) {
      throw new ReplayError(
        `${s.entry.name} listens on loopback only: probes to the pod's address would fail`,
      );
    }
    if (outcome.code !== 0) throw new ReplayError(`${s.entry.name} did not exit 0 on SIGTERM`);
  } catch (error) {
    throw new ReplayError(
      `${errorMessage(error)}\n--- ${s.entry.name} output ---\n${lastLines(s.group.tail())}`,
    );
  }
}
