import { createHmac } from "node:crypto";
import { readTokenVariable } from "../../tokens/read-token.ts";

/** Fixed label of the key derivation: the MAC key is never the secret itself. */
const KEY_LABEL = "leviathan event store checkpoint key v1";

/** Where the secret behind the checkpoint key came from (never the secret). */
export type CheckpointKeySource = "LEVIATHAN_STORE_KEY" | "CONTROL_PLANE_TOKEN";

export interface CheckpointKey {
  key: Buffer;
  source: CheckpointKeySource;
}

/**
 * The HMAC-SHA256 key of the store's checkpoints, derived from a secret under a fixed label.
 * The same derivation serves `LEVIATHAN_STORE_KEY` and the `CONTROL_PLANE_TOKEN` fallback, so
 * `store verify --key-file` takes whichever secret the control plane used.
 */
export function deriveCheckpointKey(secret: string): Buffer {
  return createHmac("sha256", secret).update(KEY_LABEL, "utf8").digest();
}

/**
 * The control plane's checkpoint key: `LEVIATHAN_STORE_KEY` (or the file `_FILE` names), else
 * derived from the control plane's token. Throws TokenFileError for an unreadable `_FILE`.
 */
export function checkpointKeyFrom(env: NodeJS.ProcessEnv, token: string): CheckpointKey {
  const secret = readTokenVariable(env, "LEVIATHAN_STORE_KEY");
  if (secret) return { key: deriveCheckpointKey(secret), source: "LEVIATHAN_STORE_KEY" };
  return { key: deriveCheckpointKey(token), source: "CONTROL_PLANE_TOKEN" };
}
