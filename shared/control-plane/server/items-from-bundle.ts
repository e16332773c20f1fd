/** Who records the events the control plane derives itself (artifacts, circuit resets). */
import { CONTROL_PLANE_ACTOR } from "../../events/actors.ts";
import { derivedEventId } from "../../events/ids.ts";
import { type Artifact, type Bundle, bundleSchema, detailsFromZod } from "../../events/schema.ts";
import type { LeviathanEvent } from "../../events/types.ts";
import type { AppendItem } from "../../store/types.ts";
import { unprocessable } from "./http-reply.ts";

export { CONTROL_PLANE_ACTOR };

/** The same artifact in the same bundle always gets the same id, so a resent bundle dedupes. */
export function artifactEventId(bundleId: string, sha256: string): string {
  return derivedEventId("artifact", bundleId, sha256);
}

export function artifactEvent(
  bundle: Pick<Bundle, "target" | "bundle_id">,
  artifact: Artifact,
  receivedAt: string,
): LeviathanEvent {
  return {
    event_id: artifactEventId(bundle.bundle_id, artifact.sha256),
    event_type: "artifact.created",
    timestamp: receivedAt,
    actor_id: CONTROL_PLANE_ACTOR,
    payload: {
      sha256: artifact.sha256,
      kind: artifact.kind,
      uri: artifact.uri,
      size: artifact.size,
      bundle_id: bundle.bundle_id,
      target_id: bundle.target,
    },
  };
}

/**
 * A seed bundle (`POST /v1/events/ingest`) as the items to append: its events in order, then one
 * `artifact.created` per artifact. Any problem anywhere rejects the whole bundle (422).
 */
export function itemsFromBundle(
  body: unknown,
  receivedAt: string,
): { bundleId: string; items: AppendItem[] } {
  const parsed = bundleSchema.safeParse(body);
  if (!parsed.success) throw unprocessable(detailsFromZod(parsed.error));
  const bundle = parsed.data;
  const items: AppendItem[] = bundle.events.map((event) => ({
    target: bundle.target,
    event: event as LeviathanEvent,
  }));
  for (const artifact of bundle.artifacts ?? []) {
    items.push({ target: bundle.target, event: artifactEvent(bundle, artifact, receivedAt) });
  }
  return { bundleId: bundle.bundle_id, items };
}
