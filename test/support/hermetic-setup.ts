// Runs before every test file (vitest `setupFiles`): the file gets a HOME and a LEVIATHAN_HOME
// of its own, so nothing a test does reads or writes the user's home or the clone's `.data/`
// (which `npm start` fills). Tests that need another home set one themselves.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";

const root = mkdtempSync(join(tmpdir(), "leviathan-test-file-"));
for (const dir of ["home", "leviathan-home"]) mkdirSync(join(root, dir));
process.env.HOME = join(root, "home");
process.env.LEVIATHAN_HOME = join(root, "leviathan-home");
delete process.env.LEVIATHAN_CONFIG;
delete process.env.CONTROL_PLANE_URL;
delete process.env.CONTROL_PLANE_TOKEN;
delete process.env.GITHUB_TOKEN;
// A developer's own PostgreSQL store must never be what a test's control plane opens.
delete process.env.LEVIATHAN_STORE_URL;
delete process.env.LEVIATHAN_STORE_URL_FILE;

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});
