// The attempt Job's entry, for a runtime that starts this file directly; `leviathan attempt`
// runs the same function.
import { attemptForge } from "./attempt-forge.ts";
import { runAttemptJob } from "./run-attempt-job.ts";

process.exitCode = await runAttemptJob(process.env, {
  stderr: process.stderr,
  createForge: attemptForge,
});
