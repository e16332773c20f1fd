export type Method = "GET" | "POST";

/** One path template (`/v1/targets/:target`) and what each method does there. */
export interface Route<Handler> {
  template: string;
  methods: Partial<Record<Method, Handler>>;
  /** Answered without a token (health checks). */
  public?: boolean;
}

export interface RouteMatch<Handler> {
  route: Route<Handler>;
  params: Record<string, string>;
}

/**
 * The route whose template matches `path` exactly, segment by segment; `:name` segments match
 * one non-empty segment, percent-decoded. A segment that does not decode matches nothing.
 */
export function matchRoute<Handler>(
  routes: readonly Route<Handler>[],
  path: string,
): RouteMatch<Handler> | undefined {
  const segments = path.split("/");
  for (const route of routes) {
    const parts = route.template.split("/");
    if (parts.length !== segments.length) continue;
    const params: Record<string, string> = {};
    let matched = true;
    for (let i = 0; i < parts.length && matched; i++) {
      const part = parts[i]!;
      const segment = segments[i]!;
      if (part.startsWith(":")) {
        const value = decodeSegment(segment);
        if (value === undefined || value === "") matched = false;
        else params[part.slice(1)] = value;
      } else if (part !== segment) {
        matched = false;
      }
    }
    if (matched) return { route, params };
  }
  return undefined;
}

function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}
