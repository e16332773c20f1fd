import type { ParseArgsConfig } from "node:util";

export type Options = NonNullable<ParseArgsConfig["options"]>;

export interface CommandContext {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
  env: NodeJS.ProcessEnv;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** One `leviathan <name>` command: parsing is shared, `run` returns the exit code. */
export interface Command {
  usage: string;
  summary: string;
  /** Longer help: what it does, environment it reads. */
  help?: string;
  options?: Options;
  run(context: CommandContext): Promise<number>;
}

/** Thrown for a bad invocation: printed with the command's usage, exit 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}
