import { createHash, randomBytes } from "node:crypto";
import { mkdir, open, rename, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { deflateSync } from "node:zlib";

/** Git's name for a blob of these bytes (SHA-1 object format). */
export function blobSha(bytes: Buffer): string {
  return createHash("sha1").update(`blob ${bytes.length}\0`).update(bytes).digest("hex");
}

/**
 * Stores these exact bytes as a loose blob in `gitDir` (no filters, no attributes, no
 * conversion: what was checked is what is stored) and returns its name. Written to a temporary
 * file and renamed, as git does, so a crash never leaves half an object under a real name.
 */
export async function writeBlob(gitDir: string, bytes: Buffer): Promise<string> {
  const sha = blobSha(bytes);
  const folder = join(gitDir, "objects", sha.slice(0, 2));
  const path = join(folder, sha.slice(2));
  if (await exists(path)) return sha;
  await mkdir(folder, { recursive: true });
  const temp = join(folder, `tmp_obj_${randomBytes(6).toString("hex")}`);
  const handle = await open(temp, "wx", 0o444);
  try {
    await handle.writeFile(
      deflateSync(Buffer.concat([Buffer.from(`blob ${bytes.length}\0`), bytes])),
    );
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  return sha;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
