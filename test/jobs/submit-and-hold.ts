// A runner in its own process, for tests of what another process sees after it died:
//   node --import tsx submit-and-hold.ts <home> <fake-attempt.mjs> '<AttemptJob JSON>'
// Submits the job, prints "submitted <pid>", then stays alive until killed.
import { createProcessJobRunner } from "../../shared/jobs/process/process-job-runner.ts";
import type { AttemptJob } from "../../shared/jobs/types.ts";

const [home, script, jobJson] = process.argv.slice(2);
if (!home || !script || !jobJson) throw new Error("usage: submit-and-hold <home> <script> <job>");
const runner = createProcessJobRunner({
  home,
  command: [process.execPath, script],
  secrets: { GITHUB_TOKEN: "test-token-held0000000000" },
});
const job = JSON.parse(jobJson) as AttemptJob;
await runner.submit(job);
const status = await runner.status(job.name);
process.stdout.write(`submitted ${status.phase}\n`);
setInterval(() => {}, 60_000);
