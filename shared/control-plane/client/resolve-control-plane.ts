import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { leviathanHome } from "../../config/leviathan-home.ts";
import { ControlPlaneConfigError } from "./control-plane-errors.ts";
import { findControlPlaneToken, TOKEN_FILE } from "./find-control-plane-token.ts";

export { TOKEN_FILE };

export interface ControlPlaneLocation {
  /** Base URL, without a trailing slash. */
  url: string;
  token: string;
  /** Where each came from, for messages (never the token itself). */
  urlFrom: string;
  tokenFrom: string;
}

export const URL_FILE = "control-plane.url";

/**
 * Where the control plane is, first found wins. URL: `CONTROL_PLANE_URL`,
 * `<LEVIATHAN_HOME>/control-plane.url` (local mode writes it), the config's `control_plane_url`.
 * Token: `CONTROL_PLANE_TOKEN`, the file `CONTROL_PLANE_TOKEN_FILE` names,
 * `<LEVIATHAN_HOME>/control-plane.token`. Neither found: an error naming every place looked at.
 */
export async function resolveControlPlane(
  env: NodeJS.ProcessEnv,
  configUrl?: string,
): Promise<ControlPlaneLocation> {
  const home = leviathanHome(env);
  const urlFile = join(home, URL_FILE);
  const problems: string[] = [];

  let url: string | undefined;
  let urlFrom = "";
  if (env.CONTROL_PLANE_URL) [url, urlFrom] = [env.CONTROL_PLANE_URL.trim(), "CONTROL_PLANE_URL"];
  else {
    const fromFile = await readTrimmed(urlFile);
    if (fromFile) [url, urlFrom] = [fromFile, urlFile];
    else if (configUrl) [url, urlFrom] = [configUrl.trim(), "the config's control_plane_url"];
  }
  if (!url) {
    problems.push(
      `no control-plane URL: set CONTROL_PLANE_URL, or write it to ${urlFile} (local mode does), ` +
        "or set control_plane_url in the config",
    );
  } else if (!isHttpUrl(url)) {
    problems.push(
      `the control-plane URL from ${urlFrom} is not an http(s) URL (without user or password)`,
    );
  }

  const found = await findControlPlaneToken(env);
  if (found.kind === "missing") problems.push(found.problem);
  if (problems.length > 0 || !url || found.kind === "missing") {
    throw new ControlPlaneConfigError(problems.join("\n"));
  }
  return { url: url.replace(/\/+$/, ""), token: found.token, urlFrom, tokenFrom: found.from };
}

async function readTrimmed(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, "utf8")).trim() || undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new ControlPlaneConfigError(
      `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? "error"}`,
    );
  }
}

function isHttpUrl(value: string): boolean {
  try {
    const parsed = new URL(value);
    return (parsed.protocol === "http:" || parsed.protocol === "https:") && !parsed.username;
  } catch {
    return false;
  }
}
