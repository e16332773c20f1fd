import { cp, mkdir } from "node:fs/promises";
import { basename, dirname, join, posix } from "node:path";
import { DOCKERFILE, type Stage, type Step, type StepReport } from "./replay-types.ts";
import { LIMITS, runReplayCommand } from "./run-replay-command.ts";

/** Maps an absolute path inside the image onto the stage's root folder. */
export function inRoot(root: string, path: string): string {
  return join(root, posix.resolve("/", path));
}

export interface BuildContext {
  /** Each stage's root folder, by stage name. */
  roots: ReadonlyMap<string, string>;
  /** The committed tree, the build context. */
  checkout: string;
  env: Record<string, string | undefined>;
  log: (line: string) => void;
  steps: StepReport[];
}

/** Replays one stage's steps into its root folder, reporting each. */
export async function buildStage(stage: Stage, context: BuildContext): Promise<void> {
  const root = context.roots.get(stage.name)!;
  await mkdir(inRoot(root, "/usr/local/bin"), { recursive: true });
  for (const step of stage.steps) {
    const started = Date.now();
    const at = `${DOCKERFILE}:${step.line}`;
    if (step.action === "mkdir") {
      await mkdir(inRoot(root, step.path), { recursive: true });
    } else if (step.action === "copy") {
      const from = step.from === undefined ? context.checkout : context.roots.get(step.from)!;
      await copyStep(step, root, from);
    } else if (step.action === "run") {
      const cwd = inRoot(root, stage.workdir);
      for (const command of step.commands) {
        const argv = command.map((word) => (word.startsWith("/") ? inRoot(root, word) : word));
        context.log(`${at} ${command.join(" ")}`);
        const timeoutMs = command[0]?.startsWith("np") ? LIMITS.npm : LIMITS.other;
        await runReplayCommand(argv, { cwd, env: { ...context.env, ...stage.env }, timeoutMs });
      }
    } else {
      context.log(`${at} skipped: ${step.reason}`);
    }
    context.steps.push({
      stage: stage.name,
      line: step.line,
      instruction: step.instruction,
      action: step.action,
      ...(step.action === "run" ? { commands: step.commands.map((c) => c.join(" ")) } : {}),
      ...(step.action === "skip" ? { reason: step.reason } : {}),
      seconds: (Date.now() - started) / 1000,
    });
  }
}

async function copyStep(
  step: Extract<Step, { action: "copy" }>,
  root: string,
  sourceRoot: string,
): Promise<void> {
  const dest = inRoot(root, step.dest);
  for (const source of step.sources) {
    if (step.from !== undefined) {
      const from = inRoot(sourceRoot, source.path);
      const to = step.into ? join(dest, basename(from)) : dest;
      await cp(from, to, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
      continue;
    }
    // From the build context: only the files .dockerignore lets through, as Docker sends them.
    for (const file of source.files ?? []) {
      const relative = source.directory
        ? file.slice(source.path.length).replace(/^\//, "")
        : basename(file);
      const to = step.into || source.directory ? join(dest, relative) : dest;
      await mkdir(dirname(to), { recursive: true });
      await cp(join(sourceRoot, file), to, { verbatimSymlinks: true, preserveTimestamps: true });
    }
  }
}
