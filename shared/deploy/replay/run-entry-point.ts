import { existsSync } from "node:fs";
import { chown, mkdir, readFile, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { errorMessage } from "../../errors/error-message.ts";
import { type GroupProcess, type ProcessExit, spawnGroup } from "../../process/spawn-group.ts";
import { inRoot } from "./build-stage.ts";
import { type EntryPoint, ReplayError, type Stage } from "./replay-types.ts";
import { LIMITS } from "./run-replay-command.ts";

/** Enough for the line that says where it listens and for why it failed. */
const OUTPUT_CHARACTERS = 64_000;

export interface StartContext {
  image: Stage;
  /** The image's root folder. */
  root: string;
  /** Where containers' volumes and homes are made. */
  scratch: string;
  /** The value of a Secret's key (`name/key`), made up here. */
  secrets: (key: string) => string;
  /** Every made-up Secret value, kept out of the output. */
  secretValues: () => string[];
  log: (line: string) => void;
}

export interface StartedEntryPoint {
  entry: EntryPoint;
  group: GroupProcess;
  /** What it ran, paths mapped into the image's root. */
  argv: string[];
  notes: string[];
  runAs: { uid: number; gid: number } | undefined;
}

/** Starts one container's process, with its volumes, environment and user; `probe` waits for it. */
export async function startEntryPoint(
  entry: EntryPoint,
  context: StartContext,
): Promise<StartedEntryPoint> {
  const { image, root, scratch } = context;
  const home = join(scratch, entry.name);
  const env: Record<string, string> = {
    PATH: [inRoot(root, "/usr/local/bin"), dirname(process.execPath), "/usr/bin", "/bin"].join(":"),
    HOME: join(home, "home"),
    ...image.env,
  };
  const { uid, gid } = entry.user;
  const runAs =
    process.getuid?.() === 0 && uid !== undefined ? { uid, gid: gid ?? uid } : undefined;
  const owned: string[] = [];
  // Volumes: a ConfigMap's keys as files, an emptyDir or claim as an empty folder.
  const mounts: { path: string; dir: string }[] = [];
  for (const [i, mount] of entry.mounts.entries()) {
    const dir = join(home, `volume-${i}`);
    await mkdir(dir, { recursive: true });
    for (const [name, content] of Object.entries(mount.files)) {
      await writeFile(join(dir, name), content);
    }
    if (Object.keys(mount.files).length === 0) owned.push(dir);
    mounts.push({ path: mount.path, dir });
    if (mount.path === "/tmp") env.TMPDIR = dir;
  }
  const mapPath = (value: string) => {
    const mount = mounts.find((m) => value === m.path || value.startsWith(`${m.path}/`));
    return mount ? mount.dir + value.slice(mount.path.length) : value;
  };
  for (const variable of entry.env) {
    env[variable.name] =
      "secret" in variable ? context.secrets(variable.secret) : mapPath(variable.value);
  }
  const notes: string[] = [];
  for (const [name, value] of Object.entries(entry.overrides)) {
    notes.push(`${name}=${value} instead of ${env[name] ?? "unset"}: there is no cluster here`);
    env[name] = value;
  }
  if (entry.overrides.LEVIATHAN_JOB_RUNNER === "process") {
    env.LEVIATHAN_HOME = join(home, "leviathan-home");
    owned.push(env.LEVIATHAN_HOME);
  }
  // Knative and the Deployment give a fixed port; here the system picks a free one.
  env.PORT = "0";
  notes.push("PORT=0: a free port instead of the container port");
  // The home folder stays root's, as the read-only root filesystem leaves it: nothing writes there.
  await mkdir(env.HOME!, { recursive: true });
  for (const dir of owned) {
    await mkdir(dir, { recursive: true });
    if (runAs) await chown(dir, runAs.uid, runAs.gid);
  }
  let argv = entry.argv.map((word) =>
    word.startsWith("/") && existsSync(inRoot(root, word)) ? inRoot(root, word) : word,
  );
  if (basename(argv[0] ?? "") === "tini" && !existsSync(argv[0]!)) {
    // tini only forwards signals and reaps children; the entry point behaves the same without it.
    argv = argv.slice(argv.indexOf("--") + 1);
    notes.push("tini is not installed here: started what it runs directly");
  }
  if (!runAs) {
    notes.push(
      process.getuid?.() === 0
        ? "the manifest names no runAsUser: ran as root"
        : "not root, so not switched to the manifest's runAsUser: ran as this user",
    );
  }
  context.log(
    `${entry.name}: ${entry.argv.join(" ")}${runAs ? ` as ${runAs.uid}:${runAs.gid}` : ""}`,
  );
  const group = spawnGroup(argv, {
    cwd: inRoot(root, image.workdir),
    env,
    tailLimit: OUTPUT_CHARACTERS,
    secrets: context.secretValues(),
    killGraceMs: LIMITS.stop,
    ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
  });
  return { entry, group, argv, notes, runAs };
}

/** Polls until the process printed its URL and the probe path answers 200; bounded. */
export async function probe(
  started: StartedEntryPoint,
): Promise<{ url: string; status: number; body: unknown }> {
  const deadline = Date.now() + LIMITS.health;
  let exitedWith: ProcessExit | undefined;
  void started.group.exited.then((outcome) => {
    exitedWith = outcome;
  });
  let url: string | undefined;
  let last = "no reply";
  while (Date.now() < deadline) {
    if (exitedWith) {
      const how =
        exitedWith.kind === "exited"
          ? (exitedWith.code ?? exitedWith.signal)
          : exitedWith.error.message;
      throw new ReplayError(`${started.entry.name} exited ${how} before it was healthy`);
    }
    url ??= /listening on (http:\/\/[^\s/]+)/.exec(started.group.tail())?.[1];
    if (url) {
      try {
        const response = await fetch(new URL(started.entry.probe, url), {
          signal: AbortSignal.timeout(5_000),
        });
        const body = await response.text();
        if (response.status === 200) return { url, status: 200, body: parseJson(body) };
        last = `HTTP ${response.status}`;
      } catch (error) {
        last = errorMessage(error);
      }
    }
    await delay(100);
  }
  throw new ReplayError(
    `${started.entry.name}: GET ${started.entry.probe} gave no 200 within ${LIMITS.health / 1000}s (${last})`,
  );
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * Kubelet probes come to the pod's address, not loopback: the listening socket must be bound to
 * every interface. Read from /proc; null where there is none (not Linux).
 */
export async function listensOnAllInterfaces(port: number): Promise<boolean | null> {
  let found: boolean | null = null;
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    const table = await readFile(file, "utf8").catch(() => undefined);
    if (table === undefined) continue;
    for (const row of table.split("\n").slice(1)) {
      const [, local, , state] = row.trim().split(/\s+/);
      if (state !== "0A" || !local) continue;
      const [address = "", hexPort = ""] = local.split(":");
      if (Number.parseInt(hexPort, 16) !== port) continue;
      if (/^0+$/.test(address)) return true;
      found = false;
    }
  }
  return found;
}

/**
 * SIGTERM, as Kubernetes stops a pod, and SIGKILL if it is still there `LIMITS.stop` later:
 * the exit code, or why there is none.
 */
export async function stopEntryPoint(
  started: StartedEntryPoint,
): Promise<{ code: number | null; signal: string | null }> {
  started.group.stop();
  const exit = await started.group.exited;
  if (exit.kind === "not_started") return { code: null, signal: "spawn-error" };
  if (started.group.kills.some((kill) => kill.signal === "SIGKILL" && kill.result === "sent")) {
    return { code: null, signal: `no exit within ${LIMITS.stop / 1000}s of SIGTERM` };
  }
  const failed = started.group.kills.find((kill) => kill.result === "failed");
  if (failed && exit.code === null) {
    return { code: null, signal: `${exit.signal} (${failed.signal} failed: ${failed.code})` };
  }
  return { code: exit.code, signal: exit.signal };
}
