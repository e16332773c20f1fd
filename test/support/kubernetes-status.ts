/** The API server's `Status` body, which every error (and a delete) answers with. */
export interface StatusBody {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, never>;
  status: "Success" | "Failure";
  message?: string;
  reason?: string;
  details?: Record<string, unknown>;
  /** Set on failures; a successful delete's Status has none. */
  code?: number;
}

const REASONS: Record<number, string> = {
  400: "BadRequest",
  401: "Unauthorized",
  404: "NotFound",
  405: "MethodNotAllowed",
  409: "AlreadyExists",
  415: "UnsupportedMediaType",
  422: "Invalid",
  429: "TooManyRequests",
  500: "InternalError",
  503: "ServiceUnavailable",
};

export function failure(
  code: number,
  message: string,
  details?: Record<string, unknown>,
): StatusBody {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason: REASONS[code] ?? "Unknown",
    ...(details ? { details } : {}),
    code,
  };
}

export function success(details: Record<string, unknown>): StatusBody {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", details };
}
