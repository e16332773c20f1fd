import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { pino } from "pino";
import { removeTempDirs, tempDir } from "../support/temp-dir.ts";

export { removeTempDirs, tempDir };

/** A logger that writes nothing, for code under test. */
export const quietLogger = pino({ level: "silent" });

/**
 * A temporary folder the executor may write into: it runs as another user when the tests run
 * as root (as CI runs them), so a folder only root can enter would be closed to it.
 */
export function openDir(prefix = "leviathan-attempt-open-"): string {
  const dir = tempDir(prefix);
  chmodSync(dir, 0o777);
  return dir;
}

/**
 * Plain git for setting up fixtures, outside the code under test: its own identity, no
 * global or system config.
 */
export function plainGit(
  cwd: string,
  args: string[],
  env: Record<string, string> = {},
  input?: string,
): string {
  return execFileSync("git", args, {
    cwd,
    encoding: "utf8",
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: cwd,
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_AUTHOR_NAME: "Fixture",
      GIT_AUTHOR_EMAIL: "fixture@example.test",
      GIT_COMMITTER_NAME: "Fixture",
      GIT_COMMITTER_EMAIL: "fixture@example.test",
      ...env,
    },
    ...(input === undefined ? { stdio: ["ignore", "pipe", "pipe"] } : { input }),
  });
}

export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
}

export interface Origin {
  /** The bare repository. */
  bare: string;
  /** `file://` URL of the bare repository. */
  url: string;
}

/** A bare repository whose `main` holds `files` (one commit), plus anything `extra` adds. */
export function createOrigin(
  files: Record<string, string>,
  extra?: (work: string) => void,
): Origin {
  const root = tempDir("leviathan-origin-");
  const work = join(root, "work");
  const bare = join(root, "origin.git");
  mkdirSync(work);
  plainGit(work, ["init", "-q", "-b", "main"]);
  writeFiles(work, files);
  plainGit(work, ["add", "-A"]);
  plainGit(work, ["commit", "-q", "-m", "initial"]);
  extra?.(work);
  plainGit(root, ["clone", "-q", "--bare", work, bare]);
  return { bare, url: `file://${bare}` };
}
