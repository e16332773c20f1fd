import { parseArgs } from "node:util";
import { errorMessage } from "../../shared/errors/error-message.ts";
import type { Command } from "./command.ts";
import { EXIT, exitCodeOf } from "./exit-codes.ts";

/** Loaded lazily, so `leviathan --help` does not pay for Octokit or Kubernetes. */
const COMMANDS: Record<string, () => Promise<{ command: Command }>> = {
  start: () => import("./commands/start.ts"),
  "control-plane": () => import("./commands/control-plane.ts"),
  tick: () => import("./commands/tick.ts"),
  attempt: () => import("./commands/attempt.ts"),
  "backlog lint": () => import("./commands/backlog-lint.ts"),
  summary: () => import("./commands/summary.ts"),
  "events tail": () => import("./commands/events-tail.ts"),
  "circuit reset": () => import("./commands/circuit-reset.ts"),
  "token attempt": () => import("./commands/token-attempt.ts"),
  "store verify": () => import("./commands/store-verify.ts"),
  "store migrate": () => import("./commands/store-migrate.ts"),
  "store copy": () => import("./commands/store-copy.ts"),
  "render job": () => import("./commands/render-job.ts"),
  "render knative": () => import("./commands/render-knative.ts"),
  "targets lint": () => import("./commands/targets-lint.ts"),
  serve: () => import("./commands/serve.ts"),
};

const OVERVIEW = `leviathan — turns a repository's written backlog into reviewed pull requests, safely.

Usage: leviathan <command> [options]

Commands:
  start [--once] [--json]          run the whole loop locally (npm start)
  control-plane                    the event store's HTTP server (PORT, LEVIATHAN_DATA_DIR, CONTROL_PLANE_TOKEN)
  tick [--dry-run] [--json]        one scheduler tick for the configured target
  attempt                          one attempt, as a Job runs it (all settings from the environment)
  backlog lint [file]              check a backlog file (exit 1 on errors)
  summary                          what Leviathan did, from the running control plane
  events tail [--follow]           the event log, oldest first
  circuit reset <target>           close a target's circuit breaker
  token attempt <target> <id>      print one attempt's token (it may record and read that attempt only)
  store verify [dir|URL] [--key-file F] [--expect-seq N]   check an event store: chain, checkpoints, length
  store migrate [URL]              create or upgrade the PostgreSQL store's schema
  store copy --from DIR --to URL   move an NDJSON store into PostgreSQL, verified
  render job [--task ID] [--attempt N]   the Kubernetes Job for an attempt, as YAML
  render knative [--store postgres]   every manifest of knative/, as YAML
  serve tick|worker                that function's HTTP server, as its Knative Service runs it

Common options:
  --config FILE   autonomy config (default: LEVIATHAN_CONFIG, then ops/autonomy/dev.yaml)
  -h, --help      help for a command: leviathan <command> --help
`;

async function main(argv: string[]): Promise<number> {
  const [first, second] = argv;
  if (first === undefined || first === "-h" || first === "--help" || first === "help") {
    process.stdout.write(OVERVIEW);
    return first === undefined ? EXIT.usage : EXIT.ok;
  }
  const twoWords = second !== undefined ? `${first} ${second}` : "";
  const name = twoWords in COMMANDS ? twoWords : first;
  const load = COMMANDS[name];
  if (!load) {
    process.stderr.write(`leviathan: unknown command '${first}'. See 'leviathan --help'.\n`);
    return EXIT.usage;
  }
  const rest = argv.slice(name.split(" ").length);
  const { command } = await load();
  const options = {
    ...command.options,
    config: { type: "string" },
    help: { type: "boolean", short: "h" },
  } as const;
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: rest, options, allowPositionals: true, strict: true });
  } catch (error) {
    process.stderr.write(`leviathan ${name}: ${errorMessage(error)}\nUsage: ${command.usage}\n`);
    return EXIT.usage;
  }
  if (parsed.values.help) {
    process.stdout.write(
      `Usage: ${command.usage}\n\n${command.summary}\n${command.help ? `\n${command.help}\n` : ""}`,
    );
    return EXIT.ok;
  }
  if (typeof parsed.values.config === "string") process.env.LEVIATHAN_CONFIG = parsed.values.config;
  try {
    return await command.run({
      values: parsed.values as Record<string, string | boolean | undefined>,
      positionals: parsed.positionals,
      env: process.env,
      stdout: process.stdout,
      stderr: process.stderr,
    });
  } catch (error) {
    const code = exitCodeOf(error);
    const usage = code === EXIT.usage ? `Usage: ${command.usage}\n` : "";
    process.stderr.write(`leviathan ${name}: ${errorMessage(error)}\n${usage}`);
    return code;
  }
}

// `leviathan events tail | head` closes stdout early: that is the reader's choice, not an error.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw error;
});

const code = await main(process.argv.slice(2));
// Servers keep the process alive on their own; commands that finished set the exit code.
process.exitCode = code;
