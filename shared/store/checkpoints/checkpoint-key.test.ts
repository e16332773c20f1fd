import { createHmac } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeTempDir } from "../../../test/support/store/store-helpers.ts";
import { TokenFileError } from "../../tokens/read-token.ts";
import { checkpointKeyFrom, deriveCheckpointKey } from "./checkpoint-key.ts";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await makeTempDir());
});
afterEach(async () => {
  await cleanup();
});

const TOKEN = "control-plane-token-3b9e";

function derived(secret: string): Buffer {
  return createHmac("sha256", secret).update("leviathan event store checkpoint key v1").digest();
}

describe("the checkpoint key", () => {
  it("comes from LEVIATHAN_STORE_KEY, through a fixed-label HMAC", () => {
    const key = checkpointKeyFrom({ LEVIATHAN_STORE_KEY: " store-secret \n" }, TOKEN);
    expect(key).toEqual({ key: derived("store-secret"), source: "LEVIATHAN_STORE_KEY" });
  });

  it("comes from the file LEVIATHAN_STORE_KEY_FILE names, as a mounted Secret gives it", async () => {
    const file = join(dir, "store-key");
    await writeFile(file, "store-secret\n");
    expect(checkpointKeyFrom({ LEVIATHAN_STORE_KEY_FILE: file }, TOKEN).key).toEqual(
      derived("store-secret"),
    );
    expect(() => checkpointKeyFrom({ LEVIATHAN_STORE_KEY_FILE: join(dir, "no") }, TOKEN)).toThrow(
      TokenFileError,
    );
  });

  it("is derived from the control plane's token when no store key is set, and is never the token", () => {
    const key = checkpointKeyFrom({}, TOKEN);
    expect(key).toEqual({ key: derived(TOKEN), source: "CONTROL_PLANE_TOKEN" });
    expect(key.key.equals(Buffer.from(TOKEN))).toBe(false);
    expect(key.key.toString("utf8")).not.toContain(TOKEN);
    expect(deriveCheckpointKey(TOKEN)).toEqual(key.key);
  });
});
