import { findControlPlaneToken } from "../../../shared/control-plane/client/find-control-plane-token.ts";
import {
  attemptTokenSubjectProblem,
  deriveAttemptToken,
} from "../../../shared/tokens/attempt-token.ts";
import { type Command, UsageError } from "../command.ts";

export const command: Command = {
  usage: "leviathan token attempt <target> <attempt_id>",
  summary: "Print the attempt token of one attempt, derived from the control plane's token.",
  help:
    "The token the worker gives that attempt's Job, for running or replaying an attempt by hand\n" +
    "(CONTROL_PLANE_TOKEN of `leviathan attempt`). With it the control plane lets one do two\n" +
    "things only:\n" +
    "  - record that attempt's own lifecycle: POST /v1/events/ingest or /v1/events with events\n" +
    "    of type attempt.created, attempt.started, attempt.succeeded, attempt.failed, pr.created\n" +
    "    or artifact.created, for that target, with that payload.attempt_id and the event id\n" +
    "    <attempt_id>.<type> (an artifact's with its sha256 after: .<sha256>);\n" +
    "  - read that attempt: GET /v1/attempts/<attempt_id>.\n" +
    "Anything else is refused (403) and nothing of the request is stored. The control plane\n" +
    "keeps no list of these tokens, it derives each again to check it: a token works until the\n" +
    "control plane's own token changes.\n\n" +
    "Prints the token alone on one line. Needs no control plane running, only its token:\n" +
    "CONTROL_PLANE_TOKEN, else the file CONTROL_PLANE_TOKEN_FILE names, else\n" +
    "<LEVIATHAN_HOME>/control-plane.token (local mode writes it).",
  async run({ positionals, env, stdout }) {
    const [targetId, attemptId, ...rest] = positionals;
    if (targetId === undefined || attemptId === undefined) {
      throw new UsageError("needs a target and an attempt id");
    }
    if (rest.length > 0) throw new UsageError(`takes two arguments, not ${positionals.length}`);
    const subject = { targetId, attemptId };
    const problem = attemptTokenSubjectProblem(subject);
    if (problem) throw new UsageError(problem);
    const found = await findControlPlaneToken(env);
    if (found.kind === "missing") throw new Error(found.problem);
    stdout.write(`${deriveAttemptToken(found.token, subject)}\n`);
    return 0;
  },
};
