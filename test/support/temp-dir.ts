import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";

/** Every folder handed out in this test file; removed when the file's tests are done. */
const made: string[] = [];
afterAll(removeTempDirs);

/** A new empty folder under the system's temp folder, removed after the file's tests. */
export function tempDir(prefix = "leviathan-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** Removes every folder `tempDir` made so far (a suite may call it earlier, in its own afterAll). */
export function removeTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}
