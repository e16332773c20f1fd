import { readFileSync } from "node:fs";

/** A token variable that could not be read from the file its `*_FILE` twin names. */
export class TokenFileError extends Error {
  override readonly name = "TokenFileError";
}

/**
 * A token from the environment, the usual secrets convention: `NAME` itself, else the trimmed
 * content of the file `NAME_FILE` names (a mounted Secret). `NAME` wins when both are set.
 * Undefined when neither is; a `NAME_FILE` that cannot be read, or is empty, is an error naming
 * the variable and the file (never the content).
 */
export function readTokenVariable(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const direct = env[name]?.trim();
  if (direct) return direct;
  const path = env[`${name}_FILE`]?.trim();
  if (!path) return undefined;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    throw new TokenFileError(`${name}_FILE: cannot read ${path} (${code})`);
  }
  const token = text.trim();
  if (!token) throw new TokenFileError(`${name}_FILE: ${path} is empty`);
  return token;
}

/** Whether `NAME` or `NAME_FILE` is set (not whether the file can be read). */
export function hasTokenVariable(env: NodeJS.ProcessEnv, name: string): boolean {
  return Boolean(env[name]?.trim() || env[`${name}_FILE`]?.trim());
}

/**
 * `readTokenVariable` for a token a server cannot start without: `who` names the server in the
 * error when neither `NAME` nor `NAME_FILE` is set (a `NAME_FILE` problem is thrown as is).
 */
export function requireTokenVariable(env: NodeJS.ProcessEnv, name: string, who: string): string {
  const token = readTokenVariable(env, name);
  if (!token) {
    throw new Error(
      `${name} is not set (nor ${name}_FILE); ${who} refuses to start without a token`,
    );
  }
  return token;
}
