import type { OpenPullRequest } from "../control-plane/types.ts";
import { derivedEventId } from "../events/ids.ts";
import type { LeviathanEvent } from "../events/types.ts";
import { parseProvenance } from "../forge/provenance.ts";
import type { PullRequest } from "../forge/types.ts";
import { SCHEDULER_ACTOR } from "./scheduler-events.ts";

export interface PullRequestToFetch {
  /** Fetch this one from the forge (`Forge.getPullRequest`). */
  number: number;
  /** What the store knows of it; `closureEvent` needs it. */
  known: OpenPullRequest;
}

/** `https://…/pull/42` → 42, for a stored PR recorded without its number. */
function numberFromUrl(url: string): number | null {
  const match = /\/pulls?\/(\d+)\/?$/.exec(url);
  return match ? Number(match[1]) : null;
}

/**
 * The PRs the store knows as open that have left the forge's open list; each is
 * fetched once and recorded as merged or closed. Matched by URL, else by number.
 */
export function planPullRequestClosures(
  storeOpen: readonly OpenPullRequest[],
  forgeOpen: readonly PullRequest[],
): PullRequestToFetch[] {
  const openUrls = new Set(forgeOpen.map((pr) => pr.html_url));
  const openNumbers = new Set(forgeOpen.map((pr) => pr.number));
  const toFetch: PullRequestToFetch[] = [];
  for (const known of storeOpen) {
    const number = known.pr_number ?? numberFromUrl(known.pr_url);
    if (openUrls.has(known.pr_url) || (number !== null && openNumbers.has(number))) continue;
    // Without a number there is nothing to fetch; the store keeps it open until one is known.
    if (number !== null) toFetch.push({ number, known });
  }
  return toFetch;
}

/**
 * `pr.merged` or `pr.closed` for a PR fetched after it left the open list; null when it is
 * open again (reopened meanwhile). The id depends on the PR and outcome only, so a second
 * tick records nothing new.
 */
export function closureEvent(
  pr: PullRequest,
  known: OpenPullRequest,
  targetId: string,
  now: Date,
): LeviathanEvent | null {
  if (pr.state === "open") return null;
  const eventType = pr.merged ? "pr.merged" : "pr.closed";
  return {
    event_id: derivedEventId(eventType, targetId, known.pr_url),
    event_type: eventType,
    timestamp: now.toISOString(),
    actor_id: SCHEDULER_ACTOR,
    payload: {
      pr_number: pr.number,
      pr_url: known.pr_url,
      target_id: targetId,
      task_id: known.task_id ?? parseProvenance(pr.body)?.task ?? null,
      attempt_id: known.attempt_id,
    },
  };
}
