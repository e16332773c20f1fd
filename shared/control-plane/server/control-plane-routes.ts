import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { CONTROL_PLANE_ACTOR } from "../../events/actors.ts";
import { tickDecisionEventId } from "../../events/ids.ts";
import { MAX_ID_LENGTH, targetNameProblem } from "../../events/names.ts";
import type { LeviathanEvent } from "../../events/types.ts";
import type { AppendItem, AppendOutcome, EventStore } from "../../store/types.ts";
import type { ControlPlaneState } from "../state/types.ts";
import type { EventPage, IngestReply, StoreHead, TickDecisionView } from "../types.ts";
import { type AnswerParts, judgedSummaryParts, judgedTargetParts } from "./answer-parts.ts";
import { attemptView } from "./attempt-view.ts";
import { authorizeAppend, authorizeAttemptRead, type Principal } from "./authorize-request.ts";
import type { ControlPlaneMetrics } from "./control-plane-metrics.ts";
import { HttpError, sendJson, sendJsonParts, sendText, unprocessable } from "./http-reply.ts";
import type { JsonParts } from "./json-parts.ts";
import { judgeSummary, loadCron } from "./judge-stalled.ts";
import type { Route } from "./match-route.ts";
import { bodyKindOf } from "./media-type.ts";
import { parsePageQuery } from "./parse-page-query.ts";
import { parseJsonBody } from "./read-body.ts";

export type Health = "starting" | "ok" | "stopping" | "failed";

/** What a handler works with; `store` and `state` are only handed out once the store is open. */
export interface ControlPlaneServices {
  store: EventStore;
  state: ControlPlaneState;
  metrics: ControlPlaneMetrics;
  health(): Health;
  now(): Date;
  /**
   * Query answers as the pieces of their JSON text, by question, with the last seq they were
   * made at and the time (epoch ms) until which they hold (a target turns stalled with no new
   * record).
   */
  answers: Map<string, { seq: number; parts: JsonParts; validUntil: number }>;
}

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  query: URLSearchParams;
  /** Who asked; an attempt token is already limited to the routes it may use. */
  principal: Principal;
  /** The body, within the size limit; only after the token was checked. */
  readBody(): Promise<Buffer>;
}

export type Handler = (context: RequestContext, services: ControlPlaneServices) => Promise<void>;

/** The control plane's HTTP API, one row per route. */
export const CONTROL_PLANE_ROUTES: readonly Route<Handler>[] = [
  { template: "/health", methods: { GET: health }, public: true },
  { template: "/healthz", methods: { GET: health }, public: true },
  { template: "/v1/events/ingest", methods: { POST: ingestBundle } },
  { template: "/v1/events", methods: { GET: listEvents, POST: ingestCloudEvents } },
  { template: "/v1/graph/summary", methods: { GET: summary } },
  { template: "/v1/targets/:target", methods: { GET: target } },
  { template: "/v1/targets/:target/circuit/reset", methods: { POST: resetCircuit } },
  { template: "/v1/targets/:target/ticks/:tick", methods: { GET: tickDecision } },
  { template: "/v1/attempts/:id", methods: { GET: attempt } },
  { template: "/v1/store/head", methods: { GET: storeHead } },
  { template: "/metrics", methods: { GET: metrics } },
];

async function health(context: RequestContext, services: ControlPlaneServices): Promise<void> {
  const status = services.health();
  if (status === "ok") {
    sendJson(context.res, 200, { status });
    return;
  }
  const detail =
    status === "starting"
      ? "the event store is being opened and recovered"
      : status === "stopping"
        ? "the control plane is shutting down"
        : "the event store refuses appends until the control plane is restarted";
  sendJson(context.res, 503, { status, detail });
}

/**
 * The validators, loaded on the first ingest (the schemas, zod, would otherwise double the
 * start-up time) and kept: a dynamic import on every request costs a module resolution each
 * time, a few percent of a loaded control plane's CPU.
 */
let bundleModule: Promise<typeof import("./items-from-bundle.ts")> | undefined;
let cloudEventsModule: Promise<typeof import("./items-from-cloudevents.ts")> | undefined;

function bundleValidation(): Promise<typeof import("./items-from-bundle.ts")> {
  bundleModule ??= import("./items-from-bundle.ts");
  return bundleModule;
}

function cloudEventsValidation(): Promise<typeof import("./items-from-cloudevents.ts")> {
  cloudEventsModule ??= import("./items-from-cloudevents.ts");
  return cloudEventsModule;
}

async function ingestBundle(
  context: RequestContext,
  services: ControlPlaneServices,
): Promise<void> {
  const kind = bodyKindOf(context.req.headers["content-type"]);
  if (kind !== "json") throw new HttpError(415, "expected Content-Type: application/json");
  const receivedAt = services.now().toISOString();
  const body = parseJsonBody(await context.readBody());
  const { itemsFromBundle } = await bundleValidation();
  const { bundleId, items } = itemsFromBundle(body, receivedAt);
  authorizeAppend(context.principal, items);
  const outcome = await append(services, items);
  sendJson(context.res, 200, ingestReply(outcome, bundleId));
}

async function ingestCloudEvents(
  context: RequestContext,
  services: ControlPlaneServices,
): Promise<void> {
  const kind = bodyKindOf(context.req.headers["content-type"]);
  if (kind === "unsupported") {
    throw new HttpError(
      415,
      "expected Content-Type: application/json (binary mode), application/cloudevents+json " +
        "or application/cloudevents-batch+json",
    );
  }
  const receivedAt = services.now().toISOString();
  const body = await context.readBody();
  const { itemsFromCloudEvents } = await cloudEventsValidation();
  const items = itemsFromCloudEvents(kind, context.req.headers, body, receivedAt);
  authorizeAppend(context.principal, items);
  const outcome = await append(services, items);
  sendJson(context.res, 200, ingestReply(outcome, null));
}

async function listEvents(context: RequestContext, services: ControlPlaneServices): Promise<void> {
  const { after, limit } = parsePageQuery(context.query);
  const records = await services.store.readAfter(after, limit);
  const page: EventPage = { records, next_after: records.at(-1)?.seq ?? after };
  sendJson(context.res, 200, page);
}

async function summary(context: RequestContext, services: ControlPlaneServices): Promise<void> {
  await services.store.refresh();
  const cron = await loadCron();
  sendQueryAnswer(context, services, "summary", (now) =>
    judgedSummaryParts(cron, services.state.summary(), now),
  );
}

async function target(context: RequestContext, services: ControlPlaneServices): Promise<void> {
  const id = targetParam(context);
  await services.store.refresh();
  const cron = await loadCron();
  sendQueryAnswer(context, services, `target:${id}`, (now) =>
    judgedTargetParts(cron, services.state.target(id), now),
  );
}

/** Serialised answers stay valid until the next append; a big summary is costlier to stringify than to compute. */
const MAX_CACHED_ANSWERS = 256;

/**
 * Answers a query from the text made for the same question at the same last sequence number,
 * while it holds, or makes and keeps it: the summary at 100,000 events is ~800 KB of JSON, and
 * polling clients (the tick, `summary`, the console) ask far more often than events arrive.
 */
function sendQueryAnswer(
  context: RequestContext,
  services: ControlPlaneServices,
  key: string,
  answer: (now: number) => AnswerParts,
): void {
  const seq = services.store.stats().lastSeq;
  const now = services.now().getTime();
  const cached = services.answers.get(key);
  if (cached && cached.seq === seq && now < cached.validUntil) {
    sendJsonParts(context.res, 200, cached.parts);
    return;
  }
  // Kept encoded: a cached reply is then written without encoding megabytes again.
  const { parts, validUntil } = answer(now);
  if (services.answers.size >= MAX_CACHED_ANSWERS) services.answers.clear();
  services.answers.set(key, { seq, parts, validUntil });
  sendJsonParts(context.res, 200, parts);
}

async function attempt(context: RequestContext, services: ControlPlaneServices): Promise<void> {
  await services.store.refresh();
  const meta = services.state.attempt(context.params.id ?? "");
  if (!meta) throw new HttpError(404, "no such attempt");
  authorizeAttemptRead(context.principal, meta.target_id);
  sendJson(context.res, 200, attemptView(meta, await services.store.readSeqs(meta.seqs)));
}

/**
 * The decision a tick recorded, found through the store's id index (no scan): the id is
 * derived from the target and the tick id, and only a `scheduler.decided` of this target counts.
 */
async function tickDecision(
  context: RequestContext,
  services: ControlPlaneServices,
): Promise<void> {
  const targetId = targetParam(context);
  const tickId = context.params.tick ?? "";
  if (tickId.length > MAX_ID_LENGTH) throw new HttpError(404, "no decision recorded for this tick");
  await services.store.refresh();
  const seq = services.store.seqOf(tickDecisionEventId(targetId, tickId));
  const [record] = seq === undefined ? [] : await services.store.readSeqs([seq]);
  const payload = record?.event.payload;
  if (
    !record ||
    record.target !== targetId ||
    record.event.event_type !== "scheduler.decided" ||
    payload?.tick_id !== tickId
  ) {
    throw new HttpError(404, "no decision recorded for this tick");
  }
  const view: TickDecisionView = {
    target_id: targetId,
    tick_id: tickId,
    decision: payload.decision as Record<string, unknown>,
    record,
  };
  sendJson(context.res, 200, view);
}

async function resetCircuit(
  context: RequestContext,
  services: ControlPlaneServices,
): Promise<void> {
  const targetId = targetParam(context);
  const event: LeviathanEvent = {
    // Every reset is a new fact, so each gets a fresh id.
    event_id: `circuit-reset-${randomUUID()}`,
    event_type: "circuit.reset",
    timestamp: services.now().toISOString(),
    actor_id: CONTROL_PLANE_ACTOR,
    payload: { target_id: targetId },
  };
  const outcome = await append(services, [{ target: targetId, event }]);
  sendJson(context.res, 200, outcome.records[0]);
}

/**
 * The head of the hash chain and the latest checkpoint: kept outside the volume, they let
 * `store verify --expect-seq` and `--key-file` catch a store cut or re-chained later.
 */
async function storeHead(context: RequestContext, services: ControlPlaneServices): Promise<void> {
  await services.store.refresh();
  const { lastSeq, lastHash } = services.store.stats();
  const checkpoint = services.store.checkpoint();
  const head: StoreHead = {
    seq: lastSeq,
    hash: lastHash,
    checkpoint_seq: checkpoint?.seq ?? null,
    checkpoint_mac: checkpoint?.mac ?? null,
  };
  sendJson(context.res, 200, head);
}

async function metrics(context: RequestContext, services: ControlPlaneServices): Promise<void> {
  await services.store.refresh();
  const { registry } = services.metrics;
  const cron = await loadCron();
  const { state } = services;
  services.metrics.setTargets({
    targets: judgeSummary(cron, state.summary(), services.now().getTime()).body.targets,
    failuresByReason: state.failuresByReason(),
    blockedTasks: state.blockedTasks(),
  });
  sendText(context.res, 200, await registry.metrics(), registry.contentType);
}

function targetParam(context: RequestContext): string {
  const target = context.params.target ?? "";
  const problem = targetNameProblem(target);
  if (problem) throw unprocessable([{ path: "target", message: problem }]);
  return target;
}

/** Appends (resolves after fsync) and counts what was stored and what was a duplicate. */
async function append(
  services: ControlPlaneServices,
  items: readonly AppendItem[],
): Promise<AppendOutcome> {
  const outcome = await services.store.append(items);
  for (const record of outcome.records) {
    services.metrics.ingested.inc({ event_type: record.event.event_type });
  }
  if (outcome.duplicates > 0) services.metrics.duplicates.inc(outcome.duplicates);
  return outcome;
}

function ingestReply(outcome: AppendOutcome, bundleId: string | null): IngestReply {
  return {
    ingested: outcome.ingested,
    duplicates: outcome.duplicates,
    bundle_id: bundleId,
    status: "ok",
  };
}
