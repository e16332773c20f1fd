import { type ErrorTable, lookUpError } from "../../shared/errors/error-table.ts";
import { UsageError } from "./command.ts";

/** Every exit code of `leviathan` (functions/README.md lists them with their commands). */
export const EXIT = {
  /** Done; `start --once` after a successful attempt or a skip; a backlog with warnings only. */
  ok: 0,
  /** The command failed (its message on stderr), or found errors (`backlog lint`, `store verify`). */
  failed: 1,
  /** A bad invocation: unknown command or option, bad argument (the usage follows the message). */
  usage: 2,
  /** `store verify`: the records contradict the checkpoints, or a checkpoint does not verify. */
  checkpointsContradicted: 3,
  /** `store verify`: the store ends below `--expect-seq`. */
  belowExpectedSeq: 4,
} as const;

/** The one table from an error a command throws to the exit code; any other error is `failed`. */
const COMMAND_ERROR_EXIT: ErrorTable<number> = [[UsageError, EXIT.usage]];

export function exitCodeOf(error: unknown): number {
  return lookUpError(COMMAND_ERROR_EXIT, error) ?? EXIT.failed;
}
