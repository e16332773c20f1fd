import { StringDecoder } from "node:string_decoder";
import { redact } from "../log/logger.ts";

/** The marker at the start of a tail whose beginning was cut. */
export function cutMarker(characters: number): string {
  return `[… ${characters} earlier characters cut]\n`;
}

/**
 * The last `limit` characters of a stream of output, with every secret already replaced when
 * a character is kept: only the few characters that could still be the start of a secret wait,
 * unredacted, for the next chunk. Memory stays within about twice the limit whatever the
 * stream's length; what was cut is said by a marker at the start.
 */
export class OutputTail {
  private kept = "";
  private pending = "";
  private dropped = 0;
  private readonly decoder = new StringDecoder("utf8");
  private readonly secrets: string[];
  /** The longest secret less one: a tail of raw text this long may be a secret's beginning. */
  private readonly hold: number;

  constructor(
    readonly limit: number,
    secrets: ReadonlyArray<string | undefined> = [],
  ) {
    // `redact` leaves shorter values alone (they would cut ordinary words): so does the hold.
    this.secrets = secrets.filter((s): s is string => s !== undefined && s.length >= 4);
    this.hold = Math.max(0, ...this.secrets.map((s) => s.length - 1));
  }

  push(chunk: Buffer | string): void {
    const text = typeof chunk === "string" ? chunk : this.decoder.write(chunk);
    const all = redact(this.pending + text, this.secrets);
    const back = Math.min(this.hold, all.length);
    this.pending = all.slice(all.length - back);
    this.keep(all.slice(0, all.length - back));
  }

  /** The tail as it may be shown: redacted, at most `limit` characters after the marker. */
  text(): string {
    // What still waits is shorter than any secret, and redacted as it stands.
    const all = this.kept + redact(this.pending, this.secrets);
    if (all.length <= this.limit && this.dropped === 0) return all;
    const cut = this.dropped + Math.max(0, all.length - this.limit);
    return cutMarker(cut) + all.slice(-this.limit);
  }

  private keep(text: string): void {
    this.kept += text;
    // Sliced now and then rather than on every chunk, so many small chunks stay cheap.
    if (this.kept.length > 2 * this.limit) {
      this.dropped += this.kept.length - this.limit;
      this.kept = this.kept.slice(-this.limit);
    }
  }
}
