/**
 * A branch name safe to pass to git as data: no leading `-` (an option), no `..`, `@{`, or
 * characters git refuses in refs. The attempt's branches are `agent/<executor>-<attempt_id>`.
 */
export function isSafeBranchName(name: string): boolean {
  if (!/^[A-Za-z0-9._/-]+$/.test(name)) return false;
  if (name.startsWith("-") || name.startsWith("/") || name.endsWith("/")) return false;
  if (name.includes("..") || name.includes("//") || name.endsWith(".lock")) return false;
  return name.split("/").every((part) => part !== "" && !part.startsWith("."));
}

export function assertSafeBranchName(name: string): void {
  if (!isSafeBranchName(name)) throw new Error(`not a safe branch name: ${JSON.stringify(name)}`);
}
