/**
 * The hidden marker that ties a PR to its task: PRs are matched by this, never by
 * parsing branch names.
 */
export interface Provenance {
  target: string;
  task: string;
  attempt: string;
}

const MARKER = /<!--\s*leviathan:\s*target=(\S+)\s+task=(\S+)\s+attempt=(\S+)\s*-->/;

export function formatProvenance({ target, task, attempt }: Provenance): string {
  return `<!-- leviathan: target=${target} task=${task} attempt=${attempt} -->`;
}

export function parseProvenance(body: string | null | undefined): Provenance | null {
  const match = body ? MARKER.exec(body) : null;
  if (!match) return null;
  return { target: match[1]!, task: match[2]!, attempt: match[3]! };
}

/** Agent PRs are those whose head branch starts with `agent/`. */
export function isAgentBranch(headRef: string): boolean {
  return headRef.startsWith("agent/");
}
