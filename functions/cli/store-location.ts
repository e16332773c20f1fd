import { readFile } from "node:fs/promises";
import { deriveCheckpointKey } from "../../shared/store/checkpoints/checkpoint-key.ts";
import { eventsDirFrom } from "../../shared/store/events-dir.ts";
import { isPostgresUrl } from "../../shared/store/postgres/postgres-url.ts";
import { readTokenVariable, TokenFileError } from "../../shared/tokens/read-token.ts";
import { UsageError } from "./command.ts";

/**
 * The store a `store` command works on: the one given, else LEVIATHAN_STORE_URL (or the file
 * LEVIATHAN_STORE_URL_FILE names), else the directory the control plane would use.
 */
export function storeLocationFrom(given: string | undefined, env: NodeJS.ProcessEnv): string {
  if (given !== undefined) return given;
  return storeUrlFrom(env) ?? eventsDirFrom(env);
}

/** LEVIATHAN_STORE_URL or LEVIATHAN_STORE_URL_FILE, checked to be a postgres:// URL. */
export function storeUrlFrom(env: NodeJS.ProcessEnv): string | undefined {
  let url: string | undefined;
  try {
    url = readTokenVariable(env, "LEVIATHAN_STORE_URL");
  } catch (error) {
    if (error instanceof TokenFileError) throw new UsageError(error.message);
    throw error;
  }
  if (url !== undefined && !isPostgresUrl(url)) {
    throw new UsageError("LEVIATHAN_STORE_URL must be a postgres:// URL");
  }
  return url;
}

/** The secret as the control plane reads it (trimmed), through the same key derivation. */
export async function readKeyFile(path: string): Promise<Buffer> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    throw new UsageError(`--key-file: cannot read ${path} (${code})`);
  }
  const secret = text.trim();
  if (!secret) throw new UsageError(`--key-file: ${path} is empty`);
  return deriveCheckpointKey(secret);
}
