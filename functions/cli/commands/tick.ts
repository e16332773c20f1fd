import { randomUUID } from "node:crypto";
import { forgeFromConfig } from "../../../shared/forge/github/forge-from-config.ts";
import { createLogger } from "../../../shared/log/logger.ts";
import { composeTick } from "../../../shared/scheduler/compose-tick.ts";
import { describeDecision } from "../../../shared/scheduler/describe-decision.ts";
import { parseTickEnv } from "../../../shared/scheduler/tick-env.ts";
import type { Command } from "../command.ts";

export const command: Command = {
  usage: "leviathan tick [--dry-run] [--json] [--target NAME]",
  summary: "Run one scheduler tick for the configured target and print its decision.",
  help:
    "Applies every scheduling guardrail from recorded state, records the decision in the\n" +
    "control plane and, on a dispatch, sends the attempt request to the worker.\n\n" +
    "Options:\n" +
    "  --dry-run       evaluate everything, write nothing anywhere (no event, Job, branch or PR)\n" +
    "  --json          print only the decision, one JSON line, on stdout (logs go to stderr)\n" +
    "  --target NAME   use <NAME>.yaml beside the config, as a ping naming a target does\n\n" +
    "Environment: LEVIATHAN_CONFIG, GITHUB_TOKEN, CONTROL_PLANE_URL / CONTROL_PLANE_TOKEN (or the\n" +
    "files local mode writes under LEVIATHAN_HOME), K_SINK, LEVIATHAN_JOB_RUNNER. Each token may\n" +
    "instead be in the file its *_FILE variable names (GITHUB_TOKEN_FILE, CONTROL_PLANE_TOKEN_FILE).\n" +
    "Exit 0 for any decision; non-zero only for errors.",
  options: {
    "dry-run": { type: "boolean" },
    json: { type: "boolean" },
    target: { type: "string" },
  },
  async run({ values, env, stdout }) {
    // Structured logs on stderr (the decision, the forge requests it took); stdout is the answer.
    const logger = createLogger("tick");
    const tick = composeTick(parseTickEnv(env), { logger, createForge: forgeFromConfig });
    const outcome = await tick.run({
      ...(typeof values.target === "string" ? { target: values.target } : {}),
      tickId: `cli-${randomUUID()}`,
      dryRun: values["dry-run"] === true,
    });
    if (values.json) {
      stdout.write(`${JSON.stringify(outcome.decision)}\n`);
    } else {
      stdout.write(`${describeDecision(outcome)}\n`);
    }
    return 0;
  },
};
