// The CloudEvents HTTP binding (cloudevents/spec bindings/http-protocol-binding.md §3.1.3.2):
// unquote, one round of percent-decoding, UTF-8 or refused.
import { describe, expect, it } from "vitest";
import { decodeHeaderValue } from "./decode-header-value.ts";

/** What Node's parser hands over for these bytes on the wire: one latin1 char per byte. */
function asNodeReceivesIt(text: string): string {
  return Buffer.from(text, "utf8").toString("latin1");
}

describe("decodeHeaderValue", () => {
  it.each([
    ["the spec's example", "Euro%20%E2%82%AC%20%F0%9F%98%80", "Euro € 😀"],
    ["lower-case hex", "Euro%20%e2%82%ac", "Euro €"],
    ["a needless escape", "%41%42c", "ABc"],
    ["an encoded percent", "100%25", "100%"],
    ["an encoded double quote", "say%20%22hi%22", 'say "hi"'],
    ["nothing to decode", "/leviathan/radix/worker", "/leviathan/radix/worker"],
    ["a double-quoted value", '"Euro \\"quoted\\" \\\\ back"', 'Euro "quoted" \\ back'],
    ["a quoted part, then decoded", '"a b"%20c', "a b c"],
    ["a quoted %, decoded after unquoting", '"%20"', " "],
    ["bytes sent unencoded", asNodeReceivesIt("Grüße €"), "Grüße €"],
    ["an empty value", "", ""],
  ])("%s", (_name, raw, value) => {
    expect(decodeHeaderValue(raw)).toEqual({ ok: true, value });
  });

  it.each([
    ["an overlong space (the spec's example)", "%C0%A0", "is not UTF-8 once percent-decoded"],
    ["a lone continuation byte", "a%80b", "is not UTF-8 once percent-decoded"],
    ["a truncated sequence", "%E2%82", "is not UTF-8 once percent-decoded"],
    ["an encoded surrogate", "%ED%A0%80", "is not UTF-8 once percent-decoded"],
    ["a latin1 byte sent unencoded", "caf\u00e9", "is not UTF-8 once percent-decoded"],
    ["a % at the end", "100%", "has a % that starts no %XX escape"],
    ["a % before non-hex", "%zz", "has a % that starts no %XX escape"],
    ["a % with one hex digit", "%4", "has a % that starts no %XX escape"],
    ["an unterminated quote", '"abc', "has an unterminated quoted string"],
    ["a backslash ending a quote", '"abc\\', "has an unterminated quoted string"],
  ])("refuses %s", (_name, raw, problem) => {
    expect(decodeHeaderValue(raw)).toEqual({ ok: false, problem });
  });
});
