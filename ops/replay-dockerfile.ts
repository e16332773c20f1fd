// Replays ops/Dockerfile without a container engine and starts every entry point of knative/
// as the manifests do (the logic, and what each step does, is in shared/deploy/replay/):
//
//   node --import tsx ops/replay-dockerfile.ts [--ref HEAD] [--json] [--plan] [--keep]
//                                              [--dockerfile FILE] [--dockerignore FILE]
//
// --plan parses and prints what would run, without running it. --json prints one JSON report on
// stdout (progress goes to stderr). Exit 0 when every entry point answered 200 and stopped with 0.
import { parseArgs } from "node:util";
import { printReplayReport } from "../shared/deploy/replay/print-replay-report.ts";
import { replayDockerfile } from "../shared/deploy/replay/replay-dockerfile.ts";
import { ReplayError } from "../shared/deploy/replay/replay-types.ts";
import { projectRoot } from "../shared/fs/project-root.ts";

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      ref: { type: "string", default: "HEAD" },
      dockerfile: { type: "string" },
      dockerignore: { type: "string" },
      plan: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      keep: { type: "boolean", default: false },
    },
  });
  const report = await replayDockerfile({
    repo: projectRoot(),
    ref: values.ref,
    ...(values.dockerfile ? { dockerfile: values.dockerfile } : {}),
    ...(values.dockerignore ? { dockerignore: values.dockerignore } : {}),
    plan: values.plan,
    keep: values.keep,
    log: (line) => process.stderr.write(`replay: ${line}\n`),
    onInterrupt: (cleanUp) => {
      const onSignal = (signal: NodeJS.Signals) => {
        void cleanUp().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
      };
      process.once("SIGINT", onSignal);
      process.once("SIGTERM", onSignal);
    },
  });
  return printReplayReport(report, values.json, {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  });
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    const message =
      error instanceof ReplayError
        ? error.message
        : error instanceof Error
          ? (error.stack ?? error.message)
          : String(error);
    process.stderr.write(`replay failed: ${message}\n`);
    process.exit(1);
  },
);
