import { Writable } from "node:stream";
import { pino } from "pino";
import type { Logger } from "../../shared/log/logger.ts";

/** A logger whose every line is kept, to prove what never reaches the log. */
export function captureLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString("utf8"));
      done();
    },
  });
  return { logger: pino({ level: "debug" }, stream), lines };
}
