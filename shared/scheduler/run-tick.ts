import type { BacklogCache } from "../backlog/backlog-cache.ts";
import { BACKLOG_FILE, parseBacklog, unreadableBacklog } from "../backlog/parse-backlog.ts";
import type { BacklogParse } from "../backlog/types.ts";
import type { AutonomyConfig } from "../config/schema.ts";
import type { AttemptView, TargetState } from "../control-plane/types.ts";
import { errorMessage } from "../errors/error-message.ts";
import { jobNameFor } from "../events/ids.ts";
import type { AttemptRequest, LeviathanEvent } from "../events/types.ts";
import { type Forge, ForgeUnavailableError, type PullRequest } from "../forge/types.ts";
import type { JobRunner, JobStatus } from "../jobs/types.ts";
import type { Logger } from "../log/logger.ts";
import { closureEvent, planPullRequestClosures } from "./close-pull-requests.ts";
import { decide, decideBeforeInputs } from "./decide.ts";
import {
  applyReconciliation,
  DEFAULT_GRACE_SECONDS,
  planReconciliation,
} from "./reconcile-attempts.ts";
import { isCircuitOpen } from "./rules/circuit-breaker.ts";
import {
  attemptRequestOf,
  decidedEvent,
  recordedDecision,
  tickPolicyOf,
} from "./scheduler-events.ts";
import type { Decision } from "./types.ts";

/** What the tick needs from the control plane; the HTTP client satisfies it. */
export interface TickControlPlane {
  /** The decision recorded for a tick id, if any (`scheduler.decided`). */
  getTickDecision(
    targetId: string,
    tickId: string,
  ): Promise<{ decision: Record<string, unknown> } | undefined>;
  /** For a replay: whether its attempt is still only requested, and the request as stored. */
  getAttempt(attemptId: string): Promise<AttemptView | undefined>;
  getTarget(targetId: string): Promise<TargetState>;
  postEvents(
    targetId: string,
    events: LeviathanEvent[],
  ): Promise<{ ingested: number; duplicates: number }>;
}

export interface TickDependencies {
  controlPlane: TickControlPlane;
  /** Created only when the forge must be asked (never for a disabled target). */
  forge: () => Forge;
  /** For reconciliation; without one (or when it cannot list) only deadlines are judged. */
  jobs?: JobRunner;
  /** Sends the attempt request to the worker. */
  dispatch: (request: AttemptRequest) => Promise<unknown>;
  /** Parses by blob sha, kept across ticks: an unchanged backlog is not parsed again. */
  backlogCache?: BacklogCache;
  logger: Logger;
  now?: () => Date;
}

export interface TickRequest {
  config: AutonomyConfig;
  configName: string;
  /** The ping's CloudEvent id, or a fresh one for a manual tick. */
  tickId: string;
  /** `--dry-run` or `dry_run: true`: evaluate everything, write nothing anywhere. */
  dryRun: boolean;
  graceSeconds?: number;
}

export interface TickOutcome {
  decision: Decision;
  /** Everything this tick recorded (or, in a dry run, would have recorded), in order. */
  events: LeviathanEvent[];
  dispatched: boolean;
  dryRun: boolean;
  forgeRequests: number;
  /** Requested attempts whose Job never appeared and which were sent to the worker again. */
  redispatched: string[];
}

/**
 * One tick for one target: gather facts (Jobs, target state, open PRs, backlog), reconcile,
 * decide with the pure `decide`, record the decision, then dispatch. Facts come from the control
 * plane and the forge; policy is `decide`'s.
 *
 * A tick id is decided once: its decision is recorded as `scheduler.decided` under an id derived
 * from the tick id, after every other event of the tick and before the dispatch, and a tick
 * whose id already has one answers with it and does nothing else. `attempt.requested` is
 * recorded before the request is sent, so a crash between the two leaves a trace the next tick
 * reconciles.
 */
export async function runTick(request: TickRequest, deps: TickDependencies): Promise<TickOutcome> {
  const { config, dryRun } = request;
  const now = deps.now?.() ?? new Date();
  const log = deps.logger.child({ target: config.target_id, tick: request.tickId, dryRun });
  const record = async (events: LeviathanEvent[]) => {
    if (dryRun || events.length === 0) return;
    await deps.controlPlane.postEvents(config.target_id, events);
  };

  const recorded = await deps.controlPlane.getTickDecision(config.target_id, request.tickId);
  if (recorded) {
    const decision = replayedDecision(recorded.decision);
    log.info({ decision }, "tick already decided: answering its decision");
    const resent = dryRun ? [] : await resendUnreceived(decision, deps, log);
    return outcome(decision, [], false, dryRun, 0, resent);
  }

  const early = decideBeforeInputs({ config, tickId: request.tickId, now });
  if (early) {
    await record(early.events);
    const decided = await recordDecision(early.decision, request, deps, now, log);
    log.info({ decision: decided.decision }, "tick decided without asking anything");
    return outcome(decided.decision, [...early.events, decided.event], false, dryRun, 0, []);
  }

  // Jobs before the target state: a Job seen as ended sent its last event before it exited.
  const jobs = await listJobs(deps, config.target_id, log);
  let target = await deps.controlPlane.getTarget(config.target_id);
  const failed = planReconciliation({
    target,
    jobs,
    now,
    attemptTimeoutSeconds: config.attempt_timeout_seconds,
    graceSeconds: request.graceSeconds ?? DEFAULT_GRACE_SECONDS,
  });
  if (failed.length > 0) {
    log.warn({ attempts: failed.map((e) => e.payload.attempt_id) }, "reconciled attempts");
    await record(failed);
    target = applyReconciliation(target, failed);
  }
  const redispatched = dryRun ? [] : await redispatchOrphans(target, jobs, request, deps, log);

  let forge: Forge | undefined;
  let openPullRequests: PullRequest[] | "unavailable" = [];
  let backlog: BacklogParse = unreadableBacklog("not read: an earlier guardrail decided");
  const closures: LeviathanEvent[] = [];
  // A tripped breaker needs nothing from the forge: do not spend its rate limit.
  if (!isCircuitOpen(config, target)) {
    forge = deps.forge();
    openPullRequests = await listOpenPullRequests(forge, log);
    if (openPullRequests !== "unavailable") {
      closures.push(
        ...(await closePullRequests(forge, target, openPullRequests, config, now, log)),
      );
      backlog = await readBacklog(forge, config, log, deps.backlogCache);
    }
  }

  const plan = decide({
    config,
    configName: request.configName,
    backlog,
    openPullRequests,
    target,
    tickId: request.tickId,
    now,
  });
  const requested = plan.dispatch;
  await record([...closures, ...plan.events.filter((e) => e !== requested?.event)]);
  const first =
    requested && !dryRun ? await recordRequest(requested.event, config, deps, log) : false;
  const decision =
    plan.decision.action === "dispatch" && requested && !dryRun && !first
      ? { ...plan.decision, dispatched: false as const }
      : plan.decision;
  const decided = await recordDecision(decision, request, deps, now, log);
  // The tick that stored the request sends it, even if a concurrent delivery of the same ping
  // recorded the decision first: nobody else will.
  if (first && requested) await deps.dispatch(requested.request);
  const forgeRequests = forge?.requestCount ?? 0;
  const events = [...failed, ...closures, ...plan.events, decided.event];
  const answer = decided.replayed && !first ? decided.decision : decision;
  log.info({ decision: answer, forgeRequests, dispatched: first }, "tick decided");
  return outcome(answer, events, first, dryRun, forgeRequests, redispatched);
}

/**
 * Records `attempt.requested` alone, so the reply says whether this tick was first: a concurrent
 * tick maps onto the same attempt id, finds it already stored, and sends nothing.
 */
async function recordRequest(
  requested: LeviathanEvent,
  config: AutonomyConfig,
  deps: TickDependencies,
  log: Logger,
): Promise<boolean> {
  const reply = await deps.controlPlane.postEvents(config.target_id, [requested]);
  if (reply.ingested === 1) return true;
  log.info({ attempt: requested.payload.attempt_id }, "attempt already requested by another tick");
  return false;
}

/**
 * Records the decision last and alone, so the reply says whether this delivery of the tick was
 * first. When another delivery of the same ping recorded one meanwhile, that one stands.
 */
async function recordDecision(
  decision: Decision,
  request: TickRequest,
  deps: TickDependencies,
  now: Date,
  log: Logger,
): Promise<{ decision: Decision; event: LeviathanEvent; replayed: boolean }> {
  const targetId = request.config.target_id;
  const event = decidedEvent(targetId, request.tickId, decision, now, tickPolicyOf(request.config));
  if (request.dryRun) return { decision, event, replayed: false };
  const reply = await deps.controlPlane.postEvents(targetId, [event]);
  if (reply.ingested === 1) return { decision, event, replayed: false };
  const recorded = await deps.controlPlane.getTickDecision(targetId, request.tickId);
  log.info({ decision: recorded?.decision }, "another delivery of this tick decided first");
  return {
    decision: recorded ? replayedDecision(recorded.decision) : decision,
    event,
    replayed: recorded !== undefined,
  };
}

/**
 * A repeat of a ping whose first delivery never reached the worker (the worker was down, the
 * tick answered 503, PingSource retried) sends the same request again: the attempt is still
 * only requested and its Job does not exist, as `redispatchOrphans` judges it. The same
 * attempt and Job name, so nothing new; only the tick that stored the request does it, and
 * without a job runner nothing is sent (whether the worker got it cannot be told).
 */
async function resendUnreceived(
  decision: Decision,
  deps: TickDependencies,
  log: Logger,
): Promise<string[]> {
  if (decision.action !== "dispatch" || decision.dispatched === false || !deps.jobs) return [];
  const attempt = await deps.controlPlane.getAttempt(decision.attempt_id);
  const stored = attempt?.records.find((r) => r.event.event_type === "attempt.requested");
  if (attempt?.status !== "requested" || !stored) return [];
  try {
    const job = await deps.jobs.status(jobNameFor(decision.attempt_id));
    if (job.phase !== "missing") return [];
  } catch (error) {
    log.warn({ err: errorMessage(error) }, "cannot ask for the Job: not sending again");
    return [];
  }
  const request = attemptRequestOf(stored.event.payload);
  if (!request) {
    log.warn({ attempt: decision.attempt_id }, "the stored request is not one: not sending again");
    return [];
  }
  await deps.dispatch(request);
  return [decision.attempt_id];
}

/** A recorded decision as the answer to a repeat, marked as such. */
function replayedDecision(recorded: Record<string, unknown>): Decision {
  return { ...recordedDecision(recorded), replayed: true };
}

function outcome(
  decision: Decision,
  events: LeviathanEvent[],
  dispatched: boolean,
  dryRun: boolean,
  forgeRequests: number,
  redispatched: string[],
): TickOutcome {
  return { decision, events, dispatched, dryRun, forgeRequests, redispatched };
}

async function listJobs(
  deps: TickDependencies,
  targetId: string,
  log: Logger,
): Promise<JobStatus[] | "unavailable"> {
  if (!deps.jobs) return "unavailable";
  try {
    return await deps.jobs.list(targetId);
  } catch (error) {
    log.warn({ err: errorMessage(error) }, "cannot list Jobs: reconciling by deadline only");
    return "unavailable";
  }
}

/**
 * An attempt recorded as requested whose Job does not exist was never received by the worker
 * (the tick died between record and send, or the worker was down). Sending it again is safe:
 * the Job name is derived from the attempt id.
 */
async function redispatchOrphans(
  target: TargetState,
  jobs: JobStatus[] | "unavailable",
  request: TickRequest,
  deps: TickDependencies,
  log: Logger,
): Promise<string[]> {
  if (jobs === "unavailable") return [];
  const existing = new Set(jobs.filter((job) => job.phase !== "missing").map((job) => job.name));
  const sent: string[] = [];
  for (const attempt of target.running_details) {
    if (attempt.status !== "requested" || existing.has(jobNameFor(attempt.attempt_id))) continue;
    try {
      await deps.dispatch({
        target_id: request.config.target_id,
        task_id: attempt.task_id,
        attempt_id: attempt.attempt_id,
        attempt_number: attempt.attempt_number ?? 1,
        config: request.configName,
      });
      sent.push(attempt.attempt_id);
    } catch (error) {
      log.warn({ attempt: attempt.attempt_id, err: errorMessage(error) }, "redispatch failed");
    }
  }
  return sent;
}

async function listOpenPullRequests(
  forge: Forge,
  log: Logger,
): Promise<PullRequest[] | "unavailable"> {
  try {
    return await forge.listOpenPullRequests();
  } catch (error) {
    if (!(error instanceof ForgeUnavailableError)) throw error;
    log.warn({ err: error.message, status: error.status }, "forge unavailable: failing safe");
    return "unavailable";
  }
}

async function closePullRequests(
  forge: Forge,
  target: TargetState,
  open: PullRequest[],
  config: AutonomyConfig,
  now: Date,
  log: Logger,
): Promise<LeviathanEvent[]> {
  const events: LeviathanEvent[] = [];
  for (const { number, known } of planPullRequestClosures(target.open_pull_requests, open)) {
    try {
      const event = closureEvent(await forge.getPullRequest(number), known, config.target_id, now);
      if (event) events.push(event);
    } catch (error) {
      // The next tick asks again; an unknown PR state never blocks a decision.
      log.warn({ pr: number, err: errorMessage(error) }, "cannot fetch a closed PR");
    }
  }
  return events;
}

async function readBacklog(
  forge: Forge,
  config: AutonomyConfig,
  log: Logger,
  cache: BacklogCache | undefined,
): Promise<BacklogParse> {
  try {
    const file = await forge.readFileWithSha(BACKLOG_FILE, config.target_branch);
    if (file === null) {
      return unreadableBacklog(
        `${BACKLOG_FILE} not found on ${config.target_branch}`,
        BACKLOG_FILE,
      );
    }
    return cache ? cache.parse(file, BACKLOG_FILE) : parseBacklog(file.text, BACKLOG_FILE);
  } catch (error) {
    log.warn({ err: errorMessage(error) }, "cannot read the backlog");
    return unreadableBacklog(`cannot read ${BACKLOG_FILE}: ${errorMessage(error)}`, BACKLOG_FILE);
  }
}
