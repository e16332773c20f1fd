import { readFile } from "node:fs/promises";
import { AttemptFailure } from "../attempt-failure.ts";

/** Names an executor's credentials file may not set: Leviathan's own, and what runs a program. */
const RESERVED =
  /^(GITHUB_TOKEN|CONTROL_PLANE_TOKEN|LEVIATHAN_[A-Z0-9_]*|GIT_[A-Z0-9_]*|PATH|HOME|TMPDIR|LD_[A-Z0-9_]*|NODE_OPTIONS)(_FILE)?$/;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * `LEVIATHAN_EXECUTOR_ENV_FILE` (process mode): the executor's own credentials, such as its
 * model's API key, as `NAME=value` lines (`#` comments and blank lines skipped). Read by the
 * trusted part and given to the executor's environment, and nothing else is. A line that is not
 * `NAME=value`, a name of Leviathan's own (a token, `LEVIATHAN_*`, `GIT_*`, `PATH`, …), or a
 * value holding one of the attempt's tokens fails the attempt (`isolation_unavailable`: the
 * executor cannot be given its environment safely), naming the line, never the value.
 */
export async function readExecutorEnv(
  path: string,
  secrets: readonly string[],
): Promise<Record<string, string>> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    fail(`LEVIATHAN_EXECUTOR_ENV_FILE: cannot read ${path} (${code})`);
  }
  const env: Record<string, string> = {};
  text.split(/\r?\n/).forEach((line, i) => {
    const where = `LEVIATHAN_EXECUTOR_ENV_FILE ${path} line ${i + 1}`;
    if (line.trim() === "" || line.trimStart().startsWith("#")) return;
    const equals = line.indexOf("=");
    const name = equals === -1 ? "" : line.slice(0, equals).trim();
    if (!NAME.test(name)) fail(`${where}: expected NAME=value`);
    if (RESERVED.test(name)) fail(`${where}: ${name} is Leviathan's own and cannot be set here`);
    const value = line.slice(equals + 1);
    if (secrets.some((secret) => secret.length >= 4 && value.includes(secret))) {
      fail(`${where}: ${name} holds one of the attempt's own tokens`);
    }
    env[name] = value;
  });
  return env;
}

/** The operator's file is wrong, not the task: a platform failure, never charged to the task. */
function fail(message: string): never {
  throw new AttemptFailure("isolation_unavailable", "platform", message);
}
