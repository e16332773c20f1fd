/**
 * A count per bare repository of the changes that may have moved its refs: each git command the
 * forge runs that is not a read, each git smart-HTTP request (a push is one), each creation.
 * An answer that depends on where refs point is kept under the count it was worked out at, so
 * any such change has it worked out afresh. The count goes up when the change has ended: a read
 * that ran meanwhile is kept under the count before, which no later read asks for. Kept for the
 * process (every forge in it shares one disk's counts); a restarted forge starts with nothing
 * kept.
 */
const generations = new Map<string, number>();

export function refsGeneration(gitDir: string): number {
  return generations.get(gitDir) ?? 0;
}

export function refsChanged(gitDir: string): void {
  generations.set(gitDir, refsGeneration(gitDir) + 1);
}
