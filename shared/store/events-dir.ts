import { join } from "node:path";
import { leviathanHome } from "../config/leviathan-home.ts";

/**
 * Where `leviathan store verify` looks by default: `LEVIATHAN_DATA_DIR`, else
 * `<LEVIATHAN_HOME>/events` with `LEVIATHAN_HOME` defaulting to `./.data`, as local mode keeps it.
 */
export function eventsDirFrom(env: NodeJS.ProcessEnv): string {
  if (env.LEVIATHAN_DATA_DIR) return env.LEVIATHAN_DATA_DIR;
  return join(leviathanHome(env), "events");
}
