import { errorMessage } from "../../errors/error-message.ts";
import { derivedEventId } from "../../events/ids.ts";
import type { ValidationDetail } from "../../events/schema.ts";
import type { LeviathanEvent, StoredRecord } from "../../events/types.ts";
import type { Logger } from "../../log/logger.ts";
import { redact } from "../../log/logger.ts";
import { withRetries } from "../../net/with-retries.ts";
import type {
  AttemptView,
  EventPage,
  IngestReply,
  Summary,
  TargetState,
  TickDecisionView,
} from "../types.ts";
import { ControlPlaneRejectedError, ControlPlaneUnavailableError } from "./control-plane-errors.ts";

export interface ControlPlaneClientOptions {
  /** Base URL, e.g. `http://leviathan-control-plane:8000`. */
  url: string;
  token: string;
  /** Per try; default 10 s. */
  timeoutMs?: number;
  /** Tries per call, the first included; default 4. */
  attempts?: number;
  /** First backoff (doubling, full jitter); default 200 ms. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  logger?: Logger;
}

export interface HealthReply {
  status: string;
  detail?: string;
}

interface Call {
  method: "GET" | "POST";
  path: string;
  body?: unknown;
  /** A 404 is an answer (undefined), not an error. */
  notFoundIsEmpty?: boolean;
}

/** A reply that may be worth trying again (5xx); other statuses end the call at once. */
class RetryableReply extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The control plane's HTTP API for the CLI, the tick and the attempt. Every call
 * has a timeout and bounded retries with backoff on network errors and 5xx, never on 4xx.
 * Retrying a post is safe: events are idempotent by event_id. The token goes only into the
 * Authorization header, never into a message.
 */
export class ControlPlaneClient {
  readonly url: string;
  private readonly token: string;
  private readonly timeoutMs: number;
  private readonly attempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly logger: Logger | undefined;

  constructor(options: ControlPlaneClientOptions) {
    this.url = options.url.replace(/\/+$/, "");
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.attempts = options.attempts ?? 4;
    this.baseDelayMs = options.baseDelayMs ?? 200;
    this.maxDelayMs = options.maxDelayMs ?? 5_000;
    this.logger = options.logger;
  }

  /**
   * Sends events as one seed bundle. Its `bundle_id` is derived from the target and the event
   * ids, so a retry of the same list is the same bundle and is answered with duplicates.
   */
  postEvents(target: string, events: readonly LeviathanEvent[]): Promise<IngestReply> {
    const bundleId = derivedEventId("bundle", target, ...events.map((e) => e.event_id));
    return this.call<IngestReply>({
      method: "POST",
      path: "/v1/events/ingest",
      body: { target, bundle_id: bundleId, events },
    });
  }

  getTarget(targetId: string): Promise<TargetState> {
    return this.call<TargetState>({
      method: "GET",
      path: `/v1/targets/${encodeURIComponent(targetId)}`,
    });
  }

  getSummary(): Promise<Summary> {
    return this.call<Summary>({ method: "GET", path: "/v1/graph/summary" });
  }

  /** Records with seq > after, at most `limit` (server default 1,000, cut to 10,000). */
  getEvents(after = 0, limit?: number): Promise<EventPage> {
    const query = new URLSearchParams({ after: String(after) });
    if (limit !== undefined) query.set("limit", String(limit));
    return this.call<EventPage>({ method: "GET", path: `/v1/events?${query}` });
  }

  /** The attempt with its records, or undefined when the control plane knows no such attempt. */
  async getAttempt(attemptId: string): Promise<AttemptView | undefined> {
    return this.call<AttemptView | undefined>({
      method: "GET",
      path: `/v1/attempts/${encodeURIComponent(attemptId)}`,
      notFoundIsEmpty: true,
    });
  }

  /** The decision recorded for this tick of the target, or undefined when none was. */
  getTickDecision(targetId: string, tickId: string): Promise<TickDecisionView | undefined> {
    return this.call<TickDecisionView | undefined>({
      method: "GET",
      path: `/v1/targets/${encodeURIComponent(targetId)}/ticks/${encodeURIComponent(tickId)}`,
      notFoundIsEmpty: true,
    });
  }

  /** Appends `circuit.reset` for the target; the stored record comes back. */
  resetCircuit(targetId: string): Promise<StoredRecord> {
    return this.call<StoredRecord>({
      method: "POST",
      path: `/v1/targets/${encodeURIComponent(targetId)}/circuit/reset`,
    });
  }

  /** One try, no token: `{status: "ok"}`, or `starting`/`stopping`/`failed` from a 503. */
  async health(): Promise<HealthReply> {
    const what = "GET /health";
    let response: Response;
    try {
      response = await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (error) {
      throw new ControlPlaneUnavailableError(this.failure(what, error));
    }
    const body = (await response.json().catch(() => undefined)) as HealthReply | undefined;
    if ((response.status === 200 || response.status === 503) && typeof body?.status === "string") {
      return body;
    }
    throw new ControlPlaneUnavailableError(
      `${what} at ${this.url}: HTTP ${response.status}`,
      response.status,
    );
  }

  private async call<T>(call: Call): Promise<T> {
    const what = `${call.method} ${call.path.split("?")[0]}`;
    try {
      return await withRetries(() => this.once<T>(call, what), {
        attempts: this.attempts,
        baseDelayMs: this.baseDelayMs,
        maxDelayMs: this.maxDelayMs,
        retryable: (error) => !(error instanceof ControlPlaneRejectedError),
        onRetry: (error, attempt, delayMs) =>
          this.logger?.warn(
            { call: what, attempt, delay_ms: delayMs, error: this.failure(what, error) },
            "control plane call failed; retrying",
          ),
      });
    } catch (error) {
      if (error instanceof ControlPlaneRejectedError) throw error;
      const status = error instanceof RetryableReply ? error.status : undefined;
      throw new ControlPlaneUnavailableError(
        `${this.failure(what, error)} (after ${this.attempts} tries)`,
        status,
      );
    }
  }

  private async once<T>(call: Call, what: string): Promise<T> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.token}`,
      accept: "application/json",
    };
    if (call.body !== undefined) headers["content-type"] = "application/json";
    const response = await fetch(`${this.url}${call.path}`, {
      method: call.method,
      headers,
      ...(call.body !== undefined ? { body: JSON.stringify(call.body) } : {}),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const text = await response.text();
    if (response.ok) {
      try {
        return JSON.parse(text) as T;
      } catch {
        throw new RetryableReply(response.status, `${what}: the reply is not JSON`);
      }
    }
    if (response.status === 404 && call.notFoundIsEmpty) return undefined as T;
    const detail = detailOf(text) ?? `HTTP ${response.status}`;
    if (response.status >= 500) {
      throw new RetryableReply(response.status, `${what}: HTTP ${response.status}: ${detail}`);
    }
    throw new ControlPlaneRejectedError(response.status, detail, what);
  }

  /** A failure as one line, with the token removed should any layer have echoed it. */
  private failure(what: string, error: unknown): string {
    const cause = error instanceof Error ? error.cause : undefined;
    const reason =
      error instanceof RetryableReply
        ? error.message
        : `${what} at ${this.url}: ${requestFailure(error)}${cause ? ` (${requestFailure(cause)})` : ""}`;
    return redact(reason, [this.token]);
  }
}

/** A request's error as a reason: its message, but "timed out" for an aborted fetch's TimeoutError. */
function requestFailure(error: unknown): string {
  if (error instanceof Error && error.name === "TimeoutError") return "timed out";
  return errorMessage(error);
}

function detailOf(text: string): string | ValidationDetail[] | undefined {
  try {
    const body = JSON.parse(text) as { detail?: unknown };
    if (typeof body.detail === "string" || Array.isArray(body.detail)) {
      return body.detail as string | ValidationDetail[];
    }
  } catch {
    // Not our JSON (a proxy's page): the status says enough.
  }
  return undefined;
}
