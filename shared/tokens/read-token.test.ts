import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { errorMessage } from "../errors/error-message.ts";
import {
  hasTokenVariable,
  readTokenVariable,
  requireTokenVariable,
  TokenFileError,
} from "./read-token.ts";

const SECRET = "secret-value-81f2";
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "leviathan-read-token-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("readTokenVariable", () => {
  it("NAME itself, trimmed; NAME wins over NAME_FILE", async () => {
    const file = join(dir, "token");
    await writeFile(file, "from-file\n");
    expect(readTokenVariable({ T: "  direct \n" }, "T")).toBe("direct");
    expect(readTokenVariable({ T: "direct", T_FILE: file }, "T")).toBe("direct");
  });

  it("else the trimmed content of the file NAME_FILE names (a blank NAME counts as unset)", async () => {
    const file = join(dir, "token");
    await writeFile(file, `\n  ${SECRET}\n\n`);
    expect(readTokenVariable({ T_FILE: file }, "T")).toBe(SECRET);
    expect(readTokenVariable({ T: "  ", T_FILE: ` ${file} ` }, "T")).toBe(SECRET);
  });

  it("undefined when neither is set", () => {
    expect(readTokenVariable({}, "T")).toBeUndefined();
    expect(readTokenVariable({ T: "", T_FILE: " " }, "T")).toBeUndefined();
  });

  it.each([
    ["a missing file", async () => join(dir, "absent"), "cannot read", "(ENOENT)"],
    ["a folder", async () => dir, "cannot read", "(EISDIR)"],
    [
      "an empty file",
      async () => {
        const file = join(dir, "empty");
        await writeFile(file, " \n\t\n");
        return file;
      },
      "",
      "is empty",
    ],
  ])(
    "%s: a TokenFileError naming the variable and the path",
    async (_what, make, before, after) => {
      const path = await make();
      let error: unknown;
      try {
        readTokenVariable({ T_FILE: path }, "T");
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(TokenFileError);
      const message = errorMessage(error);
      expect(message.startsWith(`T_FILE: ${before}`.trim())).toBe(true);
      expect(message).toContain(path);
      expect(message).toContain(after);
    },
  );
});

describe("hasTokenVariable / requireTokenVariable", () => {
  it("hasTokenVariable: set, not whether readable", () => {
    expect(hasTokenVariable({ T_FILE: join(dir, "absent") }, "T")).toBe(true);
    expect(hasTokenVariable({ T: "x" }, "T")).toBe(true);
    expect(hasTokenVariable({ T: " " }, "T")).toBe(false);
  });

  it("requireTokenVariable: the token, or an error naming both variables and the server", async () => {
    expect(requireTokenVariable({ T: "x" }, "T", "the worker")).toBe("x");
    expect(() => requireTokenVariable({}, "T", "the worker")).toThrow(
      "T is not set (nor T_FILE); the worker refuses to start without a token",
    );
    expect(() => requireTokenVariable({ T_FILE: join(dir, "absent") }, "T", "the worker")).toThrow(
      TokenFileError,
    );
  });
});
