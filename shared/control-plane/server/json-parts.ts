// JSON text as a list of UTF-8 pieces, the same bytes `JSON.stringify` gives once the pieces
// are written one after another. A reply of megabytes is never joined into one text or Buffer:
// the pieces that did not change since the last answer are written again as they are, so an
// answer after an append encodes (and allocates) only what the append changed.

/** Pieces that, written in order, are one JSON text (or one run of members of an object). */
export type JsonParts = readonly Buffer[];

/** How many members of a big record are encoded together and kept as one piece. */
export const MEMBERS_PER_BLOCK = 256;

/** A run of a record's members by position, and the members it was made from. */
interface Block {
  keys: string[];
  values: unknown[];
  /** `,"key":value,...`: the leading comma is left out when the block comes first. */
  bytes: Buffer;
}

const blocksByRecord = new WeakMap<object, Block[]>();

function sameMembers(block: Block | undefined, record: object, keys: string[]): boolean {
  if (block?.keys.length !== keys.length) return false;
  const values = record as Record<string, unknown>;
  for (let i = 0; i < keys.length; i++) {
    if (block.keys[i] !== keys[i] || block.values[i] !== values[keys[i]!]) return false;
  }
  return true;
}

function encodeBlock(record: object, keys: string[]): Block {
  const values = keys.map((key) => (record as Record<string, unknown>)[key]);
  let text = "";
  for (let i = 0; i < keys.length; i++) {
    const json = JSON.stringify(values[i]);
    if (json !== undefined) text += `,${JSON.stringify(keys[i])}:${json}`;
  }
  return { keys, values, bytes: Buffer.from(text) };
}

/**
 * A record's members without its braces, as kept blocks. The record may be one the state
 * changes in place (a target's `tasks`): each block is compared member by member with what it
 * was made from, and only a block with a changed, added or moved member is encoded again. Its
 * values must be frozen (a new object for each change), as the state hands them out.
 */
export function recordMembers(record: object): JsonParts {
  const keys = Object.keys(record);
  const kept = blocksByRecord.get(record) ?? [];
  const blocks: Block[] = [];
  for (let start = 0; start < keys.length; start += MEMBERS_PER_BLOCK) {
    const blockKeys = keys.slice(start, start + MEMBERS_PER_BLOCK);
    const old = kept[blocks.length];
    blocks.push(sameMembers(old, record, blockKeys) ? old! : encodeBlock(record, blockKeys));
  }
  blocksByRecord.set(record, blocks);
  return joinMembers(blocks.map((block) => block.bytes));
}

/** A first piece without its comma: a view of the same memory, kept so answers share it. */
const withoutComma = new WeakMap<Buffer, Buffer>();

function cutComma(piece: Buffer): Buffer {
  let cut = withoutComma.get(piece);
  if (cut === undefined) {
    cut = piece.subarray(1);
    withoutComma.set(piece, cut);
  }
  return cut;
}

/**
 * A run of members, `,"key":value,...` in pieces (empty ones allowed), as an object's inside:
 * the leading comma goes.
 */
export function joinMembers(pieces: readonly Buffer[]): Buffer[] {
  const parts: Buffer[] = [];
  for (const piece of pieces) {
    if (piece.length === 0) continue;
    parts.push(parts.length === 0 ? cutComma(piece) : piece);
  }
  return parts;
}

/**
 * `prefix` then the object as `JSON.stringify` writes it (undefined members left out), with the
 * members `pieces` gives (a record's members, see `recordMembers`) inside braces of their own.
 * A prefix `,"key":` makes it a run of members for `joinMembers`.
 */
export function objectParts(
  prefix: string,
  value: object,
  pieces: (key: string, member: unknown) => JsonParts | undefined,
): Buffer[] {
  const parts: Buffer[] = [];
  let text = `${prefix}{`;
  let first = true;
  for (const [key, member] of Object.entries(value)) {
    const kept = pieces(key, member);
    const json = kept === undefined ? JSON.stringify(member) : "{";
    if (json === undefined) continue;
    text += `${first ? "" : ","}${JSON.stringify(key)}:${json}`;
    first = false;
    if (kept !== undefined) {
      parts.push(Buffer.from(text), ...kept);
      text = "}";
    }
  }
  parts.push(Buffer.from(`${text}}`));
  return parts;
}

/** The number of bytes the pieces make together. */
export function partsLength(parts: JsonParts): number {
  let length = 0;
  for (const part of parts) length += part.length;
  return length;
}
