import { type Logger, pino } from "pino";

export type { Logger };

/**
 * Structured JSON logs on stderr (stdout belongs to command output such as `tick --json`).
 * Every field that could carry a secret is redacted by name as a second line of defence; the
 * first is never putting a token in a log call.
 */
export function createLogger(name: string, options: { level?: string } = {}): Logger {
  return pino(
    {
      name,
      level: options.level ?? process.env.LOG_LEVEL ?? "info",
      redact: {
        paths: [
          "token",
          "*.token",
          "authorization",
          "*.authorization",
          "headers.authorization",
          "*.headers.authorization",
          "GITHUB_TOKEN",
          "CONTROL_PLANE_TOKEN",
          "*.GITHUB_TOKEN",
          "*.CONTROL_PLANE_TOKEN",
        ],
        censor: "[redacted]",
      },
    },
    pino.destination({ dest: 2, sync: true }),
  );
}

/** Removes every occurrence of each secret from a message (errors from git, HTTP clients …). */
export function redact(text: string, secrets: ReadonlyArray<string | undefined>): string {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 4) out = out.split(secret).join("[redacted]");
  }
  return out;
}
