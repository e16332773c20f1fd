import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { leviathanHome } from "../../config/leviathan-home.ts";
import { readTokenVariable, TokenFileError } from "../../tokens/read-token.ts";

/** The token local mode writes under `LEVIATHAN_HOME`. */
export const TOKEN_FILE = "control-plane.token";

export type FoundToken =
  | { kind: "found"; token: string; from: string }
  /** Nowhere, or unusable: one sentence naming every place looked at (never a token). */
  | { kind: "missing"; problem: string };

/**
 * The operator's control-plane token, first found wins: `CONTROL_PLANE_TOKEN`, the file
 * `CONTROL_PLANE_TOKEN_FILE` names (a mounted Secret), `<LEVIATHAN_HOME>/control-plane.token`.
 * A `*_FILE` that cannot be read or is empty is a problem, not a reason to look further: the
 * operator named that file, and another token would hide the mistake.
 */
export async function findControlPlaneToken(env: NodeJS.ProcessEnv): Promise<FoundToken> {
  const homeFile = join(leviathanHome(env), TOKEN_FILE);
  try {
    const fromEnv = readTokenVariable(env, "CONTROL_PLANE_TOKEN");
    if (fromEnv) {
      const from = env.CONTROL_PLANE_TOKEN?.trim()
        ? "CONTROL_PLANE_TOKEN"
        : "CONTROL_PLANE_TOKEN_FILE";
      return { kind: "found", token: fromEnv, from };
    }
  } catch (error) {
    if (error instanceof TokenFileError) return { kind: "missing", problem: error.message };
    throw error;
  }
  let text: string;
  try {
    text = await readFile(homeFile, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    if (code !== "ENOENT") return { kind: "missing", problem: `cannot read ${homeFile}: ${code}` };
    text = "";
  }
  const token = text.trim();
  if (token) return { kind: "found", token, from: homeFile };
  return {
    kind: "missing",
    problem:
      "no control-plane token: set CONTROL_PLANE_TOKEN or CONTROL_PLANE_TOKEN_FILE, or write it " +
      `to ${homeFile} (mode 0600; local mode does)`,
  };
}
