/**
 * The JSON event format reads an attribute or extension whose value is `null` as unset, so a
 * structured event is judged without them. `data` is no attribute: a null `data` is an explicit
 * null payload and stays. `Object.fromEntries` defines own properties, so a `__proto__` member
 * stays a member and never becomes a prototype.
 */
export function withoutNullAttributes(event: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(event).filter(([name, value]) => value !== null || name === "data"),
  );
}
