export type DecodedHeaderValue = { ok: true; value: string } | { ok: false; problem: string };

/** Nothing to decode: no quote, no `%`, nothing outside ASCII (the common case). */
const PLAIN = /^[^"%\u0080-\uffff]*$/;
const HEX_PAIR = /^[0-9a-f]{2}$/i;
const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * A binary-mode `ce-*` header value as the CloudEvents HTTP binding reads it: double-quoted
 * strings unescaped first (RFC 7230 §3.2.6, as older senders quote instead of encoding), then one
 * round of percent-decoding, the bytes read as UTF-8. Senders must encode space, `"`, `%` and
 * everything outside U+0021–U+007E; a needless escape (`%41`) is accepted, lower-case hex too,
 * but bytes that are not UTF-8 (`%C0%A0`, an overlong space) are refused, and so is a `%` that
 * starts no escape, since an encoded value can never hold one.
 */
export function decodeHeaderValue(raw: string): DecodedHeaderValue {
  if (PLAIN.test(raw)) return { ok: true, value: raw };
  const unquoted = unquote(raw);
  if (unquoted === null) return { ok: false, problem: "has an unterminated quoted string" };
  const bytes = percentDecode(unquoted);
  if (bytes === null) return { ok: false, problem: "has a % that starts no %XX escape" };
  try {
    return { ok: true, value: UTF8.decode(bytes) };
  } catch {
    return { ok: false, problem: "is not UTF-8 once percent-decoded" };
  }
}

/** Quoted parts lose their quotes and backslash escapes; the rest stays as it is. */
function unquote(raw: string): string | null {
  if (!raw.includes('"')) return raw;
  let out = "";
  let quoted = false;
  for (let i = 0; i < raw.length; i++) {
    const char = raw[i]!;
    if (!quoted) {
      if (char === '"') quoted = true;
      else out += char;
    } else if (char === '"') {
      quoted = false;
    } else if (char === "\\") {
      if (i + 1 >= raw.length) return null;
      out += raw[++i];
    } else {
      out += char;
    }
  }
  return quoted ? null : out;
}

/**
 * Node hands header values over as latin1 (one char per byte), so a byte sent unencoded is the
 * char's code: the bytes are rebuilt exactly before they are read as UTF-8. (A char above U+00FF
 * can only come from a caller that is not Node's parser; it stands for its UTF-8 bytes.)
 */
function percentDecode(value: string): Uint8Array | null {
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const point = value.codePointAt(i)!;
    if (point !== 0x25) {
      if (point <= 0xff) bytes.push(point);
      else bytes.push(...Buffer.from(String.fromCodePoint(point), "utf8"));
      if (point > 0xffff) i++;
      continue;
    }
    const pair = value.slice(i + 1, i + 3);
    if (!HEX_PAIR.test(pair)) return null;
    bytes.push(Number.parseInt(pair, 16));
    i += 2;
  }
  return Uint8Array.from(bytes);
}
