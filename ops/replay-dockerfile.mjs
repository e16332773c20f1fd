#!/usr/bin/env node
// Replays ops/Dockerfile without a container engine: there is no Docker and no cluster
// here, so this builds the image's file tree in a temporary folder from the COMMITTED tree, the
// way the Dockerfile says, and starts every container of the knative/ manifests the way
// Kubernetes would, until each answers its readiness probe with 200.
//
//   node ops/replay-dockerfile.mjs [--ref HEAD] [--json] [--plan] [--keep]
//                                  [--dockerfile FILE] [--dockerignore FILE]
//
// It follows the files rather than a copy of their steps: every Dockerfile instruction is either
// replayed or skipped for a stated reason (OS packages, users), and anything it does not know
// how to replay stops it with the file's line number, so the check cannot drift silently.
// --plan parses and prints what would run, without running it. --json prints one JSON report on
// stdout (progress goes to stderr). Exit 0 when every entry point answered 200 and stopped with 0.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, chown, cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join, posix, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { parseAllDocuments } from "yaml";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const DOCKERFILE = "ops/Dockerfile";
const MANIFESTS = "knative";

const MINUTE = 60_000;
/** Generous bounds for a 2-core machine; a step that needs longer is a finding, not a flake. */
const LIMITS = {
  git: MINUTE,
  npm: 6 * MINUTE,
  other: 3 * MINUTE,
  health: 60_000,
  stop: 20_000,
};

/** Commands that change the base image's operating system: an image build's business, not ours. */
const SYSTEM_COMMANDS = new Map([
  ["apt-get", "installs OS packages into the base image"],
  ["groupadd", "creates the image's group"],
  ["useradd", "creates the image's user"],
]);
/** Commands replayed as written (absolute paths mapped into the stage's root). */
const REPLAYED_COMMANDS = new Set(["npm", "npx", "node", "chmod", "ln", "mkdir"]);
/** Anything a shell would interpret: the replay runs commands without one, so it refuses these. */
const SHELL_SYNTAX = /['"`$;|<>(){}*?[\]~\\]/;

/** No cluster to create Jobs in: the worker runs attempts as child processes instead. */
const NO_CLUSTER_ENV = { worker: { LEVIATHAN_JOB_RUNNER: "process" } };

class ReplayError extends Error {
  name = "ReplayError";
}

// ---------------------------------------------------------------------------------------------
// Parsing: the Dockerfile, .dockerignore and the manifests.

/** Instructions with their 1-based line numbers, continuation lines joined, comments dropped. */
function parseDockerfile(text) {
  const lines = text.split("\n");
  const instructions = [];
  for (let i = 0; i < lines.length; i++) {
    const first = lines[i].trim();
    if (first === "" || first.startsWith("#")) continue;
    const line = i + 1;
    let value = first;
    while (value.endsWith("\\") && i + 1 < lines.length) {
      const next = lines[++i].trim();
      // A comment inside a continued instruction is dropped; the instruction goes on.
      if (next.startsWith("#")) continue;
      value = `${value.slice(0, -1).trimEnd()} ${next}`;
    }
    const match = /^(\S+)\s*(.*)$/.exec(value);
    instructions.push({ line, keyword: match[1].toUpperCase(), value: match[2].trim() });
  }
  return instructions;
}

/**
 * Docker's .dockerignore rules: the last matching pattern wins, `!` re-includes, a pattern that
 * matches a folder matches everything in it, `**` spans folders, `*` and `?` stay within one.
 */
function dockerignoreMatcher(text) {
  const rules = [];
  for (const raw of text.split("\n")) {
    let pattern = raw.trim();
    if (pattern === "" || pattern.startsWith("#")) continue;
    const include = pattern.startsWith("!");
    if (include) pattern = pattern.slice(1).trim();
    pattern = posix.normalize(pattern.replace(/^\/+/, "")).replace(/\/+$/, "");
    if (/[[\]\\]/.test(pattern)) {
      throw new ReplayError(
        `.dockerignore: character classes and escapes are not replayed: ${raw}`,
      );
    }
    rules.push({ include, regex: globRegex(pattern) });
  }
  return (path) => {
    const prefixes = path.split("/").map((_, i, parts) => parts.slice(0, i + 1).join("/"));
    let excluded = false;
    for (const rule of rules) {
      if (prefixes.some((prefix) => rule.regex.test(prefix))) excluded = !rule.include;
    }
    return excluded;
  };
}

function globRegex(pattern) {
  let source = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (pattern.startsWith("**/", i)) {
      source += "(?:.*/)?";
      i += 2;
    } else if (pattern.startsWith("**", i)) {
      source += ".*";
      i += 1;
    } else if (c === "*") source += "[^/]*";
    else if (c === "?") source += "[^/]";
    else source += c.replace(/[.+^${}()|]/g, "\\$&");
  }
  return new RegExp(`^${source}$`);
}

/** Every object of the kustomization's resources. */
async function readManifests(readText) {
  const kustomization = parseYaml(await readText(`${MANIFESTS}/kustomization.yaml`));
  const objects = [];
  for (const resource of kustomization[0]?.resources ?? []) {
    objects.push(...parseYaml(await readText(`${MANIFESTS}/${resource}`)));
  }
  return objects;
}

function parseYaml(text) {
  return parseAllDocuments(text)
    .map((document) => {
      if (document.errors.length > 0) throw new ReplayError(document.errors[0].message);
      return document.toJS();
    })
    .filter((object) => object !== null);
}

// ---------------------------------------------------------------------------------------------
// The plan: what each instruction does here, decided before anything runs.

/** Resolves the Dockerfile against the context's files; throws on anything it cannot replay. */
function planReplay({ dockerfile, contextFiles, manifests }) {
  const args = new Map();
  const stages = [];
  let stage;
  for (const instruction of parseDockerfile(dockerfile)) {
    const { keyword, value, line } = instruction;
    const at = `${DOCKERFILE}:${line}`;
    if (keyword === "ARG") {
      const [name, fallback = ""] = value.split("=");
      if (!stage) args.set(name, fallback);
      continue;
    }
    if (keyword === "FROM") {
      const [image, as, name] = value
        .replace(/\$\{(\w+)\}/g, (_, v) => args.get(v) ?? "")
        .split(/\s+/);
      checkBaseImage(image, at);
      stage = {
        name: as?.toUpperCase() === "AS" ? name : String(stages.length),
        image,
        workdir: "/",
        env: {},
        user: undefined,
        expose: [],
        entrypoint: undefined,
        cmd: undefined,
        steps: [],
      };
      stages.push(stage);
      continue;
    }
    if (!stage) throw new ReplayError(`${at}: ${keyword} before FROM`);
    // RUN is checked command by command; ENTRYPOINT and CMD are JSON.
    if (!["RUN", "ENTRYPOINT", "CMD"].includes(keyword) && /["'$]/.test(value)) {
      throw new ReplayError(`${at}: quotes and variables in ${keyword} are not replayed`);
    }
    const step = { line, instruction: `${keyword} ${value}` };
    if (keyword === "WORKDIR") {
      stage.workdir = posix.resolve(stage.workdir, value);
      stage.steps.push({ ...step, action: "mkdir", path: stage.workdir });
    } else if (keyword === "COPY") {
      stage.steps.push({ ...step, ...planCopy(value, stage, stages, contextFiles, at) });
    } else if (keyword === "RUN") {
      stage.steps.push({ ...step, ...planRun(value, at) });
    } else if (keyword === "ENV") {
      for (const pair of value.split(/\s+/)) {
        const eq = pair.indexOf("=");
        if (eq < 1) throw new ReplayError(`${at}: ENV is replayed only as KEY=value pairs`);
        stage.env[pair.slice(0, eq)] = pair.slice(eq + 1);
      }
    } else if (keyword === "USER") {
      const [uid, gid = uid] = value.split(":").map(Number);
      stage.user = { uid, gid };
    } else if (keyword === "EXPOSE") {
      stage.expose.push(...value.split(/\s+/).map((port) => Number.parseInt(port, 10)));
    } else if (keyword === "ENTRYPOINT" || keyword === "CMD") {
      const argv = execForm(value, at);
      if (keyword === "ENTRYPOINT") stage.entrypoint = argv;
      else stage.cmd = argv;
    } else {
      throw new ReplayError(`${at}: ${keyword} is not replayed; teach ops/replay-dockerfile.mjs`);
    }
  }
  const image = stages.at(-1);
  if (!image) throw new ReplayError(`${DOCKERFILE}: no FROM`);
  return { stages, entryPoints: planEntryPoints(image, manifests) };
}

function checkBaseImage(image, at) {
  const major = /^node:(\d+)/.exec(image ?? "")?.[1];
  if (!major) throw new ReplayError(`${at}: the replay knows only node:<major> base images`);
  const ours = process.versions.node.split(".")[0];
  if (major !== ours) {
    throw new ReplayError(`${at}: the image runs Node ${major}, this machine Node ${ours}`);
  }
}

function execForm(value, at) {
  try {
    const argv = JSON.parse(value);
    if (Array.isArray(argv) && argv.every((a) => typeof a === "string")) return argv;
  } catch {}
  throw new ReplayError(`${at}: only the exec (JSON) form is replayed`);
}

function planCopy(value, stage, stages, contextFiles, at) {
  const words = value.split(/\s+/);
  let from;
  while (words[0]?.startsWith("--")) {
    const flag = words.shift();
    if (!flag.startsWith("--from=")) throw new ReplayError(`${at}: COPY ${flag} is not replayed`);
    from = flag.slice("--from=".length);
    if (!stages.some((s) => s.name === from)) throw new ReplayError(`${at}: no stage ${from}`);
  }
  const dest = words.pop();
  if (!dest || words.length === 0)
    throw new ReplayError(`${at}: COPY needs a source and a destination`);
  const sources = words.map((source) => {
    if (/[*?[]/.test(source)) throw new ReplayError(`${at}: COPY wildcards are not replayed`);
    if (from !== undefined) return { path: source };
    const path = posix.normalize(source).replace(/^\.(?:\/|$)|\/$/g, "");
    const files = contextFiles.filter(
      (file) => path === "" || file === path || file.startsWith(`${path}/`),
    );
    if (files.length === 0) {
      throw new ReplayError(
        `${at}: ${source} is not in the build context (not committed, or excluded by .dockerignore)`,
      );
    }
    return { path, files, directory: !files.includes(path) };
  });
  return {
    action: "copy",
    from,
    sources,
    dest: posix.resolve(stage.workdir, dest),
    into: dest.endsWith("/") || sources.length > 1,
  };
}

function planRun(value, at) {
  if (value.startsWith("[")) throw new ReplayError(`${at}: RUN in exec form is not replayed`);
  const commands = value.split(/\s*&&\s*/).map((command) => command.split(/\s+/));
  const system = commands.filter(([program]) => SYSTEM_COMMANDS.has(program));
  if (system.length > 0) {
    for (const command of commands) {
      const aptCleanup =
        command[0] === "rm" && command.slice(2).every((p) => p.startsWith("/var/lib/apt/"));
      if (!SYSTEM_COMMANDS.has(command[0]) && !aptCleanup) {
        throw new ReplayError(
          `${at}: \`${command.join(" ")}\` shares a RUN with OS set-up the replay skips; give it its own RUN`,
        );
      }
    }
    const packages = commands
      .filter(([program, verb]) => program === "apt-get" && verb === "install")
      .flatMap((command) => command.slice(2).filter((word) => !word.startsWith("-")));
    const reasons = [...new Set(system.map(([program]) => SYSTEM_COMMANDS.get(program)))];
    return {
      action: "skip",
      reason: `${reasons.join("; ")}${packages.length ? ` (${packages.join(", ")})` : ""}: no base image here`,
      packages,
    };
  }
  for (const command of commands) {
    const [program] = command;
    if (!REPLAYED_COMMANDS.has(program)) {
      throw new ReplayError(
        `${at}: the replay does not know \`${program}\`; teach ops/replay-dockerfile.mjs`,
      );
    }
    if (command.some((word) => SHELL_SYNTAX.test(word))) {
      throw new ReplayError(
        `${at}: \`${command.join(" ")}\` needs a shell; the replay runs commands without one`,
      );
    }
    // The npm cache makes the install fast and keeps it off the network where it can.
    if (program === "npm" && command[1] === "ci" && !command.includes("--prefer-offline")) {
      command.push("--prefer-offline");
    }
  }
  return { action: "run", commands };
}

/**
 * Every container of every workload in the kustomization, started as Kubernetes would start it
 * from this image: `command` replaces ENTRYPOINT, `args` replaces CMD.
 */
function planEntryPoints(image, manifests) {
  const configMaps = new Map(
    manifests.filter((o) => o.kind === "ConfigMap").map((o) => [o.metadata.name, o.data ?? {}]),
  );
  const entryPoints = [];
  for (const object of manifests) {
    if (!["Service", "Deployment"].includes(object.kind) || !object.spec?.template) continue;
    const pod = object.spec.template.spec;
    for (const container of pod.containers) {
      const at = `${object.kind} ${object.metadata.name}, container ${container.name}`;
      const probe = container.readinessProbe?.httpGet?.path;
      if (!probe) throw new ReplayError(`${at}: no readinessProbe.httpGet.path to ask`);
      // A command without args drops the image's CMD as well, as Kubernetes does.
      const args = container.args ?? (container.command ? [] : (image.cmd ?? []));
      const argv = [...(container.command ?? image.entrypoint ?? []), ...args];
      if (argv.length === 0) throw new ReplayError(`${at}: nothing to run`);
      for (const { containerPort } of container.ports ?? []) {
        if (!image.expose.includes(containerPort)) {
          throw new ReplayError(`${at}: port ${containerPort} is not EXPOSEd by ${DOCKERFILE}`);
        }
      }
      const user = {
        uid:
          container.securityContext?.runAsUser ?? pod.securityContext?.runAsUser ?? image.user?.uid,
        gid:
          container.securityContext?.runAsGroup ??
          pod.securityContext?.runAsGroup ??
          image.user?.gid,
      };
      entryPoints.push({
        name: container.name,
        workload: `${object.kind}/${object.metadata.name}`,
        argv,
        env: (container.env ?? []).map((variable) => planEnv(variable, configMaps, at)),
        overrides: NO_CLUSTER_ENV[container.name] ?? {},
        mounts: (container.volumeMounts ?? []).map((mount) => {
          const volume = pod.volumes.find((v) => v.name === mount.name);
          if (!volume) throw new ReplayError(`${at}: no volume ${mount.name}`);
          const data = volume.configMap ? configMaps.get(volume.configMap.name) : undefined;
          if (volume.configMap && !data)
            throw new ReplayError(`${at}: no ConfigMap ${volume.configMap.name}`);
          return { path: mount.mountPath, files: data ?? {} };
        }),
        probe,
        user,
      });
    }
  }
  if (entryPoints.length === 0) throw new ReplayError(`${MANIFESTS}/: no containers to start`);
  return entryPoints;
}

function planEnv(variable, configMaps, at) {
  if (variable.value !== undefined) return { name: variable.name, value: String(variable.value) };
  const secret = variable.valueFrom?.secretKeyRef;
  if (secret) return { name: variable.name, secret: `${secret.name}/${secret.key}` };
  const ref = variable.valueFrom?.configMapKeyRef;
  const value = ref ? configMaps.get(ref.name)?.[ref.key] : undefined;
  if (value === undefined) throw new ReplayError(`${at}: cannot resolve env ${variable.name}`);
  return { name: variable.name, value };
}

// ---------------------------------------------------------------------------------------------
// Running: child processes with a timeout and a recorded outcome each.

/** Runs argv to completion (no shell), in its own process group so a timeout ends all of it. */
function runCommand(argv, { cwd, env, timeoutMs }) {
  const started = Date.now();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(argv[0], argv.slice(1), {
      cwd,
      env,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const chunks = [];
    child.stdout.on("data", (chunk) => chunks.push(chunk));
    child.stderr.on("data", (chunk) => chunks.push(chunk));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child, "SIGKILL");
    }, timeoutMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(new ReplayError(`${argv.join(" ")}: ${error.message}`));
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      const output = Buffer.concat(chunks).toString("utf8");
      const seconds = (Date.now() - started) / 1000;
      if (code === 0) return resolvePromise({ seconds, output });
      const why = timedOut ? `timed out after ${timeoutMs / 1000}s` : `exited ${code ?? signal}`;
      reject(new ReplayError(`${argv.join(" ")} ${why}:\n${tail(output)}`));
    });
  });
}

function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {}
}

function tail(text, lines = 30) {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

/** Maps an absolute path inside the image onto the stage's root folder. */
function inRoot(root, path) {
  return join(root, posix.resolve("/", path));
}

async function buildStage(stage, { roots, checkout, env, log, report }) {
  const root = roots.get(stage.name);
  await mkdir(inRoot(root, "/usr/local/bin"), { recursive: true });
  for (const step of stage.steps) {
    const started = Date.now();
    const at = `${DOCKERFILE}:${step.line}`;
    if (step.action === "mkdir") {
      await mkdir(inRoot(root, step.path), { recursive: true });
    } else if (step.action === "copy") {
      await copyStep(step, root, step.from === undefined ? checkout : roots.get(step.from));
    } else if (step.action === "run") {
      const cwd = inRoot(root, stage.workdir);
      for (const command of step.commands) {
        const argv = command.map((word) => (word.startsWith("/") ? inRoot(root, word) : word));
        log(`${at} ${command.join(" ")}`);
        const timeoutMs = command[0].startsWith("np") ? LIMITS.npm : LIMITS.other;
        await runCommand(argv, { cwd, env: { ...env, ...stage.env }, timeoutMs });
      }
    } else {
      log(`${at} skipped: ${step.reason}`);
    }
    report.steps.push({
      stage: stage.name,
      line: step.line,
      instruction: step.instruction,
      action: step.action,
      ...(step.action === "run" ? { commands: step.commands.map((c) => c.join(" ")) } : {}),
      ...(step.reason ? { reason: step.reason } : {}),
      seconds: (Date.now() - started) / 1000,
    });
  }
}

async function copyStep(step, root, sourceRoot) {
  const dest = inRoot(root, step.dest);
  for (const source of step.sources) {
    if (step.from !== undefined) {
      const from = inRoot(sourceRoot, source.path);
      const to = step.into ? join(dest, basename(from)) : dest;
      await cp(from, to, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
      continue;
    }
    // From the build context: only the files .dockerignore lets through, as Docker sends them.
    for (const file of source.files) {
      const relative = source.directory
        ? file.slice(source.path.length).replace(/^\//, "")
        : basename(file);
      const to = step.into || source.directory ? join(dest, relative) : dest;
      await mkdir(dirname(to), { recursive: true });
      await cp(join(sourceRoot, file), to, { verbatimSymlinks: true, preserveTimestamps: true });
    }
  }
}

/** Starts one container's process, with its volumes, environment and user; `probe` waits for it. */
async function startEntryPoint(entry, { image, root, scratch, secrets, log }) {
  const home = join(scratch, entry.name);
  const env = {
    PATH: [inRoot(root, "/usr/local/bin"), dirname(process.execPath), "/usr/bin", "/bin"].join(":"),
    HOME: join(home, "home"),
    ...image.env,
  };
  const runAs = process.getuid?.() === 0 && entry.user.uid !== undefined ? entry.user : undefined;
  const owned = [];
  // Volumes: a ConfigMap's keys as files, an emptyDir or claim as an empty folder.
  const mounts = [];
  for (const [i, mount] of entry.mounts.entries()) {
    const dir = join(home, `volume-${i}`);
    await mkdir(dir, { recursive: true });
    for (const [name, content] of Object.entries(mount.files))
      await writeFile(join(dir, name), content);
    if (Object.keys(mount.files).length === 0) owned.push(dir);
    mounts.push({ path: mount.path, dir });
    if (mount.path === "/tmp") env.TMPDIR = dir;
  }
  const mapPath = (value) => {
    const mount = mounts.find((m) => value === m.path || value.startsWith(`${m.path}/`));
    return mount ? mount.dir + value.slice(mount.path.length) : value;
  };
  for (const variable of entry.env) {
    env[variable.name] =
      variable.secret !== undefined ? secrets(variable.secret) : mapPath(variable.value);
  }
  const notes = [];
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
  await mkdir(env.HOME, { recursive: true });
  for (const dir of owned) {
    await mkdir(dir, { recursive: true });
    if (runAs) await chown(dir, runAs.uid, runAs.gid);
  }
  let argv = entry.argv.map((word) =>
    word.startsWith("/") && existsSync(inRoot(root, word)) ? inRoot(root, word) : word,
  );
  if (basename(argv[0]) === "tini" && !existsSync(argv[0])) {
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
  log(`${entry.name}: ${entry.argv.join(" ")}${runAs ? ` as ${runAs.uid}:${runAs.gid}` : ""}`);
  const child = spawn(argv[0], argv.slice(1), {
    cwd: inRoot(root, image.workdir),
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
  });
  let output = "";
  child.stdout.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr.on("data", (chunk) => {
    output += chunk;
  });
  const exited = new Promise((resolvePromise) => {
    child.once("error", (error) => {
      output += `\n${error.message}`;
      resolvePromise({ code: null, signal: "spawn-error" });
    });
    child.once("exit", (code, signal) => resolvePromise({ code, signal }));
  });
  return { entry, child, exited, output: () => output, argv, notes, runAs };
}

/** Polls until the process printed its URL and the probe path answers 200; bounded. */
async function probe(started) {
  const deadline = Date.now() + LIMITS.health;
  let exitedWith;
  started.exited.then((outcome) => {
    exitedWith = outcome;
  });
  let last = "no reply";
  while (Date.now() < deadline) {
    if (exitedWith) {
      throw new ReplayError(
        `${started.entry.name} exited ${exitedWith.code ?? exitedWith.signal} before it was healthy`,
      );
    }
    const url = /listening on (http:\/\/[^\s/]+)/.exec(started.output())?.[1];
    if (url) {
      try {
        const response = await fetch(new URL(started.entry.probe, url), {
          signal: AbortSignal.timeout(5_000),
        });
        const body = await response.text();
        if (response.status === 200) return { url, status: 200, body: parseJson(body) };
        last = `HTTP ${response.status}`;
      } catch (error) {
        last = error.message;
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new ReplayError(
    `${started.entry.name}: GET ${started.entry.probe} gave no 200 within ${LIMITS.health / 1000}s (${last})`,
  );
}

function parseJson(text) {
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
async function listensOnAllInterfaces(port) {
  let found = null;
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    const table = await readFile(file, "utf8").catch(() => undefined);
    if (table === undefined) continue;
    for (const row of table.split("\n").slice(1)) {
      const [, local, , state] = row.trim().split(/\s+/);
      if (state !== "0A" || !local) continue;
      const [address, hexPort] = local.split(":");
      if (Number.parseInt(hexPort, 16) !== port) continue;
      if (/^0+$/.test(address)) return true;
      found = false;
    }
  }
  return found;
}

async function stop(started) {
  killGroup(started.child, "SIGTERM");
  let timer;
  const outcome = await Promise.race([
    started.exited,
    new Promise((r) => {
      timer = setTimeout(() => r(undefined), LIMITS.stop);
    }),
  ]);
  clearTimeout(timer);
  if (outcome) return outcome;
  killGroup(started.child, "SIGKILL");
  await started.exited;
  return { code: null, signal: `no exit within ${LIMITS.stop / 1000}s of SIGTERM` };
}

// ---------------------------------------------------------------------------------------------
// The check.

async function git(args, timeoutMs = LIMITS.git) {
  const { output } = await runCommand(["git", "-C", REPO, ...args], {
    cwd: REPO,
    env: { PATH: process.env.PATH, HOME: process.env.HOME ?? "/", GIT_CONFIG_NOSYSTEM: "1" },
    timeoutMs,
  });
  return output;
}

/** The environment npm and tsc run with: the host's basics, nothing from the caller's npm or test run. */
function buildEnv() {
  const env = { PATH: process.env.PATH, HOME: process.env.HOME ?? "/" };
  for (const name of ["npm_config_cache", "LANG", "SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS"]) {
    if (process.env[name]) env[name] = process.env[name];
  }
  return env;
}

async function main() {
  const { values } = parseArgs({
    options: {
      ref: { type: "string", default: "HEAD" },
      dockerfile: { type: "string" },
      dockerignore: { type: "string" },
      plan: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      keep: { type: "boolean", default: false },
    },
  });
  const log = (line) => process.stderr.write(`replay: ${line}\n`);
  const started = Date.now();
  const commit = (await git(["rev-parse", "--verify", `${values.ref}^{commit}`])).trim();
  const readCommitted = (path) => git(["show", `${commit}:${path}`]);
  const dockerfile = values.dockerfile
    ? await readFile(values.dockerfile, "utf8")
    : await readCommitted(DOCKERFILE);
  const ignored = dockerignoreMatcher(
    values.dockerignore
      ? await readFile(values.dockerignore, "utf8")
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
  const report = {
    ok: false,
    commit,
    context_files: contextFiles,
    steps: [],
    entry_points: [],
    notes: [],
  };
  if (values.plan) {
    report.ok = true;
    report.plan = plan;
    return finish(report, values.json);
  }

  const secretValues = new Map();
  const secrets = (key) => {
    if (!secretValues.has(key)) secretValues.set(key, `replay-${randomBytes(16).toString("hex")}`);
    return secretValues.get(key);
  };
  const redact = (text) =>
    [...secretValues.values()].reduce((t, s) => t.split(s).join("[redacted]"), text);
  const workdir = await mkdtemp(join(tmpdir(), "leviathan-docker-replay-"));
  // mkdtemp makes the folder private; the image's user must reach /app as in the image.
  await chmod(workdir, 0o755);
  report.workdir = workdir;
  const running = [];
  const onSignal = (signal) => {
    for (const s of running) killGroup(s.child, "SIGKILL");
    rm(workdir, { recursive: true, force: true }).finally(() =>
      process.exit(signal === "SIGINT" ? 130 : 143),
    );
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    log(`${commit.slice(0, 12)}: ${contextFiles.length} files in the build context; in ${workdir}`);
    const checkout = join(workdir, "checkout");
    await mkdir(checkout);
    // The committed tree only: uncommitted changes are not what an image would be built from.
    const archive = join(workdir, "commit.tar");
    await git(["archive", "--format=tar", "-o", archive, commit]);
    await runCommand(["tar", "-x", "-f", archive, "-C", checkout], {
      cwd: workdir,
      env: buildEnv(),
      timeoutMs: LIMITS.git,
    });
    await rm(archive);
    const roots = new Map(
      plan.stages.map((stage) => [stage.name, join(workdir, "stages", stage.name)]),
    );
    for (const stage of plan.stages) {
      await mkdir(roots.get(stage.name), { recursive: true, mode: 0o755 });
      await buildStage(stage, { roots, checkout, env: buildEnv(), log, report });
    }
    // Only the final stage is the image: the build stage and the checkout go before anything starts.
    const image = plan.stages.at(-1);
    for (const stage of plan.stages.slice(0, -1))
      await rm(roots.get(stage.name), { recursive: true });
    await rm(checkout, { recursive: true });
    const root = roots.get(image.name);
    const scratch = join(workdir, "containers");
    await mkdir(scratch, { mode: 0o755 });
    for (const entry of plan.entryPoints) {
      running.push(await startEntryPoint(entry, { image, root, scratch, secrets, log }));
    }
    for (const s of running) {
      try {
        const health = await probe(s);
        const port = Number(new URL(health.url).port);
        const allInterfaces = await listensOnAllInterfaces(port);
        const outcome = await stop(s);
        report.entry_points.push({
          name: s.entry.name,
          workload: s.entry.workload,
          argv: s.entry.argv,
          ran: s.argv.map((word) => word.replace(root, "<image>")),
          user: s.runAs ?? null,
          health: { path: s.entry.probe, status: health.status, body: health.body },
          listens_on_all_interfaces: allInterfaces,
          exit_code: outcome.code,
          ...(outcome.code === null ? { signal: outcome.signal } : {}),
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
          `${error.message}\n--- ${s.entry.name} output ---\n${tail(s.output())}`,
        );
      }
    }
    report.ok = true;
  } catch (error) {
    report.error = redact(error.message);
  } finally {
    for (const s of running) if (s.child.exitCode === null) killGroup(s.child, "SIGKILL");
    await Promise.all(running.map((s) => s.exited));
    if (!values.keep) await rm(workdir, { recursive: true, force: true });
    report.seconds = (Date.now() - started) / 1000;
  }
  return finish(report, values.json);
}

function finish(report, json) {
  const summary = { ...report, context_files: report.context_files.length };
  if (json) process.stdout.write(`${JSON.stringify(report.plan ? report : summary)}\n`);
  else if (report.ok && report.plan)
    process.stdout.write(`${JSON.stringify(report.plan, null, 2)}\n`);
  else if (report.ok) {
    process.stdout.write(
      `replayed ${DOCKERFILE} at ${report.commit.slice(0, 12)} in ${report.seconds}s: ` +
        `${report.entry_points.map((e) => `${e.name} ${e.health.path} ${e.health.status}`).join(", ")}\n`,
    );
  }
  if (report.error) process.stderr.write(`replay failed: ${report.error}\n`);
  return report.ok ? 0 : 1;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    (code) => process.exit(code),
    (error) => {
      process.stderr.write(
        `replay failed: ${error instanceof ReplayError ? error.message : error.stack}\n`,
      );
      process.exit(1);
    },
  );
}
