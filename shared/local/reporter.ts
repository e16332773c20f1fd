/**
 * What local mode tells a person (or, with `--json`, a program): one line per thing that
 * happened. Logs of the parts go to stderr; this is the story on stdout.
 */
export interface Reporter {
  say(kind: string, text: string, fields?: Record<string, unknown>): void;
}

export function createReporter(
  out: NodeJS.WritableStream,
  json: boolean,
  now = () => new Date(),
): Reporter {
  return {
    say(kind, text, fields = {}) {
      const at = now();
      if (json) {
        out.write(
          `${JSON.stringify({ time: at.toISOString(), kind, message: text, ...fields })}\n`,
        );
        return;
      }
      const clock = at.toISOString().slice(11, 19);
      out.write(`${clock}  ${text}\n`);
    },
  };
}
