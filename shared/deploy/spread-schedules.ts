/** One target's cron as configured, and what its PingSource gets. */
export interface SpreadSchedule {
  target: string;
  cron: string;
  schedule: string;
  /** Why it could not be spread; absent when it was (or needed nothing). */
  unspread?: string;
}

/**
 * Schedules for many targets that do not all fire in the same minute. A cron whose minute field
 * is `*\/k` (2 ≤ k ≤ 59) fires every k minutes from minute 0; targets sharing one such k are
 * given the offsets 0, 1, …, k−1 in turn (`o-59/k`), so at most ⌈N/k⌉ of N targets fire in any
 * minute — for `*\/5`, ⌈N/5⌉. The other fields are kept as written. Any other minute field (a
 * fixed minute, a list, a range, `*`) is kept as written and reported as not spread: changing
 * when such a target runs is the operator's choice. Offsets follow the targets' order, so the
 * result is the same on every render of the same set.
 */
export function spreadSchedules(targets: ReadonlyArray<{ target: string; cron: string }>) {
  const next = new Map<number, number>();
  return targets.map(({ target, cron }): SpreadSchedule => {
    const fields = cron.trim().split(/\s+/);
    const step = /^\*\/(\d{1,2})$/.exec(fields[0] ?? "");
    const k = step ? Number(step[1]) : 0;
    if (fields.length !== 5 || !step || k < 2 || k > 59) {
      const unspread =
        fields.length !== 5
          ? "not a five-field cron"
          : k === 1 || fields[0] === "*"
            ? "fires every minute: nothing to spread"
            : `minute field ${JSON.stringify(fields[0])} is not */k`;
      return { target, cron, schedule: cron, unspread };
    }
    const offset = next.get(k) ?? 0;
    next.set(k, (offset + 1) % k);
    const minute = offset === 0 ? `*/${k}` : `${offset}-59/${k}`;
    return { target, cron, schedule: [minute, ...fields.slice(1)].join(" ") };
  });
}

/** The minutes of an hour (0–59) a schedule's minute field fires in, for checks and reports. */
export function minutesOf(schedule: string): number[] {
  const field = schedule.trim().split(/\s+/)[0] ?? "";
  const minutes = new Set<number>();
  for (const part of field.split(",")) {
    const match = /^(\*|\d+)(?:-(\d+))?(?:\/(\d+))?$/.exec(part);
    if (!match) return [];
    const from = match[1] === "*" ? 0 : Number(match[1]);
    const to = match[2] !== undefined ? Number(match[2]) : match[1] === "*" || match[3] ? 59 : from;
    const by = match[3] !== undefined ? Number(match[3]) : 1;
    for (let m = from; m <= to; m += by) minutes.add(m);
  }
  return [...minutes].sort((a, b) => a - b);
}
