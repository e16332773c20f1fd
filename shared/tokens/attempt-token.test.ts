import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { deriveAttemptToken, looksLikeAttemptToken, verifyAttemptToken } from "./attempt-token.ts";

const KEY = "control-plane-token-for-attempt-token-tests";
const SUBJECT = { targetId: "radix", attemptId: "attempt-task-1-0a1b2c3d" };

/** The token's four `~`-separated parts, one of them replaced. */
function withPart(token: string, index: number, value: string): string {
  const parts = token.split("~");
  parts[index] = value;
  return parts.join("~");
}

const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** The base64url character after `c`, wrapping round: always a different character. */
function nextChar(c: string): string {
  return BASE64URL[(BASE64URL.indexOf(c) + 1) % BASE64URL.length]!;
}

/**
 * The MAC written with its last character's lowest bit flipped: 43 characters carry 258 bits
 * for 32 bytes, so that bit is spare and the text still decodes to the same bytes.
 */
function sameBytesOtherText(mac: string): string {
  const last = BASE64URL.indexOf(mac.at(-1)!);
  return mac.slice(0, -1) + BASE64URL[last ^ 1]!;
}

describe("deriveAttemptToken / verifyAttemptToken", () => {
  it("round-trips: the token names its target and attempt and verifies under the same key", () => {
    const token = deriveAttemptToken(KEY, SUBJECT);
    expect(token).toMatch(/^lvat1~radix~attempt-task-1-0a1b2c3d~[A-Za-z0-9_-]{43}$/);
    expect(verifyAttemptToken(KEY, token)).toEqual(SUBJECT);
    expect(looksLikeAttemptToken(token)).toBe(true);
  });

  it("is deterministic and different for every subject and key", () => {
    const token = deriveAttemptToken(KEY, SUBJECT);
    expect(deriveAttemptToken(KEY, { ...SUBJECT })).toBe(token);
    const others = [
      deriveAttemptToken(KEY, { ...SUBJECT, targetId: "radix2" }),
      deriveAttemptToken(KEY, { ...SUBJECT, attemptId: "attempt-task-1-0a1b2c3e" }),
      deriveAttemptToken(`${KEY}x`, SUBJECT),
    ];
    const macs = new Set([token, ...others].map((t) => t.split("~")[3]));
    expect(macs.size).toBe(4);
  });

  it("accepts the largest subjects it makes: a 63-character target, a 200-character id with dots", () => {
    const subject = { targetId: `a${"-b".repeat(31)}`, attemptId: `${"x.".repeat(99)}yy` };
    expect(subject.targetId).toHaveLength(63);
    expect(subject.attemptId).toHaveLength(200);
    expect(verifyAttemptToken(KEY, deriveAttemptToken(KEY, subject))).toEqual(subject);
  });

  describe("refuses every tampering", () => {
    const token = deriveAttemptToken(KEY, SUBJECT);
    const mac = token.split("~")[3]!;
    const cases: Array<[string, string]> = [
      ["a changed first MAC character", withPart(token, 3, nextChar(mac[0]!) + mac.slice(1))],
      [
        "a changed middle MAC character",
        withPart(token, 3, mac.slice(0, 20) + nextChar(mac[20]!) + mac.slice(21)),
      ],
      [
        "a MAC that decodes to the same bytes but is not written so",
        withPart(token, 3, sameBytesOtherText(mac)),
      ],
      ["a MAC with padding", `${token}=`],
      ["a MAC one character short", token.slice(0, -1)],
      ["a MAC one character long", `${token}A`],
      [
        "a MAC with a stray character inside",
        withPart(token, 3, `${mac.slice(0, 10)}.${mac.slice(10)}`),
      ],
      ["an empty MAC", withPart(token, 3, "")],
      ["a changed attempt id", withPart(token, 2, "attempt-task-1-0a1b2c3e")],
      ["another task's attempt id", withPart(token, 2, "attempt-task-2-0a1b2c3d")],
      ["a changed target", withPart(token, 1, "other")],
      ["a target in capitals", withPart(token, 1, "RADIX")],
      ["another version", withPart(token, 0, "lvat2")],
      ["no version", token.slice("lvat1~".length)],
      ["a fifth part", `${token}~extra`],
      ["a part missing", withPart(token, 2, "").replace("~~", "~")],
      ["leading white space", ` ${token}`],
      ["the operator's own token", KEY],
      ["nothing", ""],
      [
        "a token derived under another key",
        deriveAttemptToken("another-control-plane-token", SUBJECT),
      ],
      ["a token derived under the key with a suffix", deriveAttemptToken(`${KEY} `, SUBJECT)],
    ];
    it.each(cases)("%s", (_what, tampered) => {
      expect(tampered).not.toBe(token);
      expect(verifyAttemptToken(KEY, tampered)).toBeNull();
    });

    it("the spare-bit MAC really does decode to the same bytes", () => {
      const other = sameBytesOtherText(mac);
      expect(other).not.toBe(mac);
      expect(Buffer.from(other, "base64url").equals(Buffer.from(mac, "base64url"))).toBe(true);
    });

    it("an id and target swapped between two valid tokens", () => {
      const other = deriveAttemptToken(KEY, { targetId: "other", attemptId: "attempt-x-00000000" });
      expect(verifyAttemptToken(KEY, withPart(token, 3, other.split("~")[3]!))).toBeNull();
      expect(verifyAttemptToken(KEY, withPart(other, 2, SUBJECT.attemptId))).toBeNull();
    });

    it("a MAC made over the same fields without the version context", () => {
      const bare = createHmac("sha256", KEY)
        .update(`${SUBJECT.targetId}\n${SUBJECT.attemptId}`)
        .digest("base64url");
      expect(verifyAttemptToken(KEY, withPart(token, 3, bare))).toBeNull();
    });
  });

  it.each<[string, { targetId: string; attemptId: string }]>([
    ["an empty target", { targetId: "", attemptId: "a" }],
    ["a target in capitals", { targetId: "Radix", attemptId: "a" }],
    ["a target starting with '-'", { targetId: "-radix", attemptId: "a" }],
    ["a target with '~'", { targetId: "ra~dix", attemptId: "a" }],
    ["a 64-character target", { targetId: "a".repeat(64), attemptId: "a" }],
    ["an empty attempt id", { targetId: "radix", attemptId: "" }],
    ["an attempt id with '~'", { targetId: "radix", attemptId: "a~b" }],
    ["an attempt id with '/'", { targetId: "radix", attemptId: "a/b" }],
    ["an attempt id with '..'", { targetId: "radix", attemptId: "a..b" }],
    ["an attempt id starting with a dot", { targetId: "radix", attemptId: ".a" }],
    ["an attempt id ending with a dot", { targetId: "radix", attemptId: "a." }],
    ["an attempt id with a space", { targetId: "radix", attemptId: "a b" }],
    ["a 201-character attempt id", { targetId: "radix", attemptId: "a".repeat(201) }],
  ])("refuses to derive a token for %s", (_what, subject) => {
    expect(() => deriveAttemptToken(KEY, subject)).toThrow(/cannot make an attempt token/);
  });

  it("a token of the right shape but a subject it would never make is refused unchecked", () => {
    const mac = createHmac("sha256", KEY)
      .update(`leviathan attempt token v1\nRADIX\n${SUBJECT.attemptId}`)
      .digest("base64url");
    expect(verifyAttemptToken(KEY, `lvat1~RADIX~${SUBJECT.attemptId}~${mac}`)).toBeNull();
  });

  it("looksLikeAttemptToken: only the prefix counts", () => {
    expect(looksLikeAttemptToken("lvat1~anything")).toBe(true);
    expect(looksLikeAttemptToken("lvat1")).toBe(false);
    expect(looksLikeAttemptToken("lvat2~radix~a~mac")).toBe(false);
    expect(looksLikeAttemptToken(KEY)).toBe(false);
  });
});
