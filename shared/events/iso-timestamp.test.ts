import { describe, expect, it } from "vitest";
import { isIsoTimestamp, timestampMillis } from "./iso-timestamp.ts";

describe("isIsoTimestamp", () => {
  it.each([
    "2024-02-29T00:00:00Z",
    "2000-02-29T12:00:00Z",
    "2024-04-30T23:59:59.999999999Z",
    "2024-12-31T23:59:59+14:00",
    "2024-05-01T12:00:00-0530",
    "2024-05-01T12:00:00",
    "2024-05-01T12:00",
    "2024-05-01t12:00:00z",
  ])("accepts %s", (value) => {
    expect(isIsoTimestamp(value)).toBe(true);
  });

  it.each([
    ["February 30", "2018-02-30T00:00:00Z"],
    ["February 29 of a common year", "2023-02-29T00:00:00Z"],
    ["February 29 of a century that is not a leap year", "1900-02-29T00:00:00Z"],
    ["April 31", "2024-04-31T00:00:00Z"],
    ["September 31, without a zone", "2024-09-31T08:00:00"],
    ["month 13", "2021-13-01T00:00:00Z"],
    ["month 0", "2021-00-01T00:00:00Z"],
    ["day 0", "2021-01-00T00:00:00Z"],
    ["day 32", "2021-01-32T00:00:00Z"],
    ["hour 24", "2024-05-01T24:00:00Z"],
    ["hour 25", "2024-05-01T25:00:00Z"],
    ["minute 60", "2024-05-01T12:60:00Z"],
    ["second 61", "2024-05-01T12:00:61Z"],
    ["a zone of 25 hours", "2024-05-01T12:00:00+25:00"],
    ["a zone of 60 minutes", "2024-05-01T12:00:00+05:60"],
    ["a date without a time", "2024-05-01"],
    ["a space instead of T", "2024-05-01 12:00:00Z"],
  ])("refuses %s (%s)", (_name, value) => {
    expect(isIsoTimestamp(value)).toBe(false);
  });

  it("reads a timestamp without a zone as UTC", () => {
    expect(timestampMillis("2024-02-29T10:00:00")).toBe(Date.UTC(2024, 1, 29, 10));
    expect(timestampMillis("2024-02-29T10:00:00+02:00")).toBe(Date.UTC(2024, 1, 29, 8));
  });
});
