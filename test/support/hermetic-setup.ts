// Runs before every test file (vitest `setupFiles`): the file gets a HOME and a LEVIATHAN_HOME
// of its own, and each test a working directory of its own, so nothing a test does reads or
// writes the user's home or the clone's `.data/` (which `npm start` fills) — not even through
// a default like `./.data` or `ops/autonomy/dev.yaml` that resolves against cwd. A test names
// a file of the repository through `repo-root.ts`. Tests that need another home set one
// themselves.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeEach } from "vitest";
import { REPO_ROOT } from "./repo-root.ts";

const root = mkdtempSync(join(tmpdir(), "leviathan-test-file-"));
for (const dir of ["home", "leviathan-home", "cwd"]) mkdirSync(join(root, dir));
process.env.HOME = join(root, "home");
process.env.LEVIATHAN_HOME = join(root, "leviathan-home");
delete process.env.LEVIATHAN_CONFIG;
delete process.env.CONTROL_PLANE_URL;
delete process.env.CONTROL_PLANE_TOKEN;
delete process.env.GITHUB_TOKEN;
// A developer's own PostgreSQL store must never be what a test's control plane opens.
delete process.env.LEVIATHAN_STORE_URL;
delete process.env.LEVIATHAN_STORE_URL_FILE;
// The file's own code (imports, top-level awaits) runs here; each test then gets a fresh one.
process.chdir(join(root, "cwd"));

let tests = 0;
beforeEach(() => {
  assertOutsideClone(process.cwd());
  const dir = join(root, "cwd", `test-${++tests}`);
  mkdirSync(dir);
  process.chdir(dir);
});

afterAll(() => {
  // A test that moved into the clone (and would read its `.data/`) fails its file here.
  const cwd = process.cwd();
  process.chdir(tmpdir());
  rmSync(root, { recursive: true, force: true });
  assertOutsideClone(cwd);
});

/** Throws when `dir` is the clone or inside it. */
export function assertOutsideClone(dir: string): void {
  const rel = relative(REPO_ROOT, dir);
  if (rel === "" || (!rel.startsWith("..") && !rel.startsWith("/"))) {
    throw new Error(
      `a test left the working directory in the clone (${dir}): tests run in a temporary directory of their own, and name repository files through test/support/repo-root.ts`,
    );
  }
}
