// The hermetic set-up itself: each test runs in an empty temporary working directory of its
// own, with HOME and LEVIATHAN_HOME outside the clone — so the clone's `.data/` (which
// `npm start` leaves behind) is never what a cwd-relative default finds.
import { existsSync, mkdirSync, readdirSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { resolveControlPlane } from "../../shared/control-plane/client/resolve-control-plane.ts";
import { errorMessage } from "../../shared/errors/error-message.ts";
import { assertOutsideClone } from "./hermetic-setup.ts";
import { REPO_ROOT, repoPath } from "./repo-root.ts";

const seen: string[] = [];

describe("every test has a working directory of its own", () => {
  it("an empty temporary directory, outside the clone", () => {
    const cwd = realpathSync(process.cwd());
    seen.push(cwd);
    expect(cwd.startsWith(realpathSync(tmpdir()))).toBe(true);
    expect(() => assertOutsideClone(cwd)).not.toThrow();
    expect(readdirSync(cwd)).toEqual([]);
    writeFileSync("left-behind", "x");
  });

  it("another one for the next test: nothing the last one wrote is there", () => {
    const cwd = realpathSync(process.cwd());
    expect(seen).not.toContain(cwd);
    expect(readdirSync(cwd)).toEqual([]);
  });

  it("HOME and LEVIATHAN_HOME are outside the clone too", () => {
    for (const dir of [process.env.HOME, process.env.LEVIATHAN_HOME]) {
      expect(dir).toBeDefined();
      expect(() => assertOutsideClone(resolve(dir!))).not.toThrow();
    }
  });

  it("the check refuses the clone and every folder in it", () => {
    for (const dir of [REPO_ROOT, repoPath(".data"), repoPath("test", "support")]) {
      expect(() => assertOutsideClone(dir)).toThrow(/left the working directory in the clone/);
    }
    expect(() => assertOutsideClone(join(REPO_ROOT, "..", "elsewhere"))).not.toThrow();
  });
});

describe("the clone's .data/ is not what the defaults find", () => {
  // What `npm start` leaves in the clone: a control-plane URL and token. Planted if absent (and
  // removed again); a real one is left as it is.
  const data = repoPath(".data");
  const planted: string[] = [];
  afterAll(() => {
    for (const path of planted.reverse()) rmSync(path, { recursive: true, force: true });
  });

  it("with LEVIATHAN_HOME unset, the control plane is looked for in the test's own ./.data", async () => {
    if (!existsSync(data)) {
      mkdirSync(data);
      planted.push(data);
    }
    for (const [name, text] of [
      ["control-plane.url", "http://127.0.0.1:9/from-the-clone\n"],
      ["control-plane.token", "token-from-the-clone\n"],
    ] as const) {
      const path = join(data, name);
      if (existsSync(path)) continue;
      writeFileSync(path, text, { mode: 0o600 });
      planted.push(path);
    }
    const error = await resolveControlPlane({}).catch((e: unknown) => e);
    expect(errorMessage(error)).toContain("no control-plane URL");
    expect(errorMessage(error)).not.toContain(data);
  });
});
