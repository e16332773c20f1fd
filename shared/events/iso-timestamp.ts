/** ISO 8601 date-time; the zone is optional (read as UTC when missing). */
const ISO_TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-](\d{2})(?::?(\d{2}))?)?$/i;
const ZONE_AT_END = /(Z|[+-]\d{2}(:?\d{2})?)$/i;

/**
 * A date-time that names a real instant: `Date.parse` alone rolls `2018-02-30` over to March
 * and reads `24:00` as the next day, so every field is checked against the calendar first.
 */
export function isIsoTimestamp(value: string): boolean {
  const match = ISO_TIMESTAMP.exec(value);
  if (!match) return false;
  const [year, month, day, hour, minute, second, , zoneHour, zoneMinute] = match
    .slice(1)
    .map((part) => (part === undefined ? 0 : Number(part)));
  if (month! < 1 || month! > 12) return false;
  if (day! < 1 || day! > daysInMonth(year!, month!)) return false;
  if (hour! > 23 || minute! > 59 || second! > 59) return false;
  if (zoneHour! > 23 || zoneMinute! > 59) return false;
  return Number.isFinite(timestampMillis(value));
}

/** Milliseconds since the epoch; a timestamp without a zone is UTC. */
export function timestampMillis(value: string): number {
  const zoned = ZONE_AT_END.test(value.slice(10)) ? value : `${value}Z`;
  return Date.parse(zoned);
}

/** Leap years by the Gregorian rule, so 2024-02-29 is a day and 2023-02-29 is not. */
function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}
