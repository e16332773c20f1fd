import type { ValidationDetail } from "../../events/schema.ts";

/** The control plane could not be reached, timed out, or kept failing (5xx) after retries. */
export class ControlPlaneUnavailableError extends Error {
  override readonly name = "ControlPlaneUnavailableError";
  constructor(
    message: string,
    /** The last HTTP status, when there was a reply at all. */
    readonly status?: number,
  ) {
    super(message);
  }
}

/** The control plane answered with a 4xx: repeating the same request would not help. */
export class ControlPlaneRejectedError extends Error {
  override readonly name = "ControlPlaneRejectedError";
  constructor(
    readonly status: number,
    readonly detail: string | ValidationDetail[],
    what: string,
  ) {
    super(`control plane rejected ${what}: ${status} ${describeDetail(detail)}`);
  }
}

/** How a place (env, file, config) was missing or unusable when looking for the control plane. */
export class ControlPlaneConfigError extends Error {
  override readonly name = "ControlPlaneConfigError";
}

export function describeDetail(detail: string | ValidationDetail[]): string {
  if (typeof detail === "string") return detail;
  return detail.map((d) => (d.path ? `${d.path}: ${d.message}` : d.message)).join("; ");
}
