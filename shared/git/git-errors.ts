/**
 * Errors of the attempt's git commands. Their messages are already redacted; callers map them
 * to failure reasons (a failed clone is `clone_failed`, a failed push `push_failed`).
 */
export class GitCommandError extends Error {
  override readonly name: string = "GitCommandError";
  constructor(
    /** The git subcommand that failed: `clone`, `push`, `status`, … */
    readonly command: string,
    message: string,
  ) {
    super(message);
  }
}

/** The command ran past its time limit and was killed. */
export class GitTimeoutError extends GitCommandError {
  override readonly name = "GitTimeoutError";
  constructor(
    command: string,
    readonly timeoutMs: number,
  ) {
    super(command, `git ${command} timed out after ${timeoutMs} ms and was stopped`);
  }
}
