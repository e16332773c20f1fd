import { randomBytes } from "node:crypto";
import { mkdir, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { TOKEN_FILE, URL_FILE } from "../control-plane/client/resolve-control-plane.ts";
import { writeFileAtomically } from "../fs/write-file-atomically.ts";

/** Where local mode keeps everything: `LEVIATHAN_HOME`, default `./.data`. */
export interface LocalHome {
  root: string;
  events: string;
  forge: string;
  jobs: string;
  workspace: string;
  config: string;
}

export async function prepareHome(root: string): Promise<LocalHome> {
  const abs = resolve(root);
  const home: LocalHome = {
    root: abs,
    events: join(abs, "events"),
    forge: join(abs, "forge"),
    jobs: join(abs, "jobs"),
    workspace: join(abs, "workspace"),
    config: join(abs, "config"),
  };
  for (const dir of Object.values(home)) await mkdir(dir, { recursive: true, mode: 0o700 });
  return home;
}

/**
 * A secret generated on first run and kept (mode 0600) for the next: `control-plane.token`, so
 * `npx leviathan summary` in the same folder finds it; `forge.token` for the local forge.
 */
export async function ensureSecret(path: string): Promise<string> {
  try {
    const existing = (await readFile(path, "utf8")).trim();
    if (existing) return existing;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const secret = randomBytes(32).toString("hex");
  await writeFileAtomically(path, `${secret}\n`, 0o600);
  return secret;
}

export function tokenPath(home: LocalHome): string {
  return join(home.root, TOKEN_FILE);
}

export function forgeTokenPath(home: LocalHome): string {
  return join(home.root, "forge.token");
}

/** `<home>/control-plane.url`, rewritten whenever the control plane (re)starts on a new port. */
export async function writeControlPlaneUrl(home: LocalHome, url: string): Promise<void> {
  await writeFileAtomically(join(home.root, URL_FILE), `${url}\n`, 0o644);
}
