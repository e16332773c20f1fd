import { createHmac, timingSafeEqual } from "node:crypto";

/** Domain separation: this MAC can never be mistaken for another use of the same key. */
const MESSAGE_PREFIX = "leviathan event store checkpoint v1";

/** Lowercase hex HMAC-SHA256 over the domain label, the seq and the head hash at that seq. */
export function checkpointMac(key: Buffer, seq: number, hash: string): string {
  return createHmac("sha256", key)
    .update(`${MESSAGE_PREFIX}\n${seq}\n${hash}`, "utf8")
    .digest("hex");
}

/** Compared in constant time, so a forger learns nothing from how long a check takes. */
export function macMatches(key: Buffer, seq: number, hash: string, mac: string): boolean {
  const expected = Buffer.from(checkpointMac(key, seq, hash), "hex");
  const given = Buffer.from(mac, "hex");
  return given.length === expected.length && timingSafeEqual(given, expected);
}
