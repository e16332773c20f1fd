import { SeqColumn } from "./seq-column.ts";

/** Slots hold seqs as unsigned 32-bit integers; 0 marks an empty one. */
const MAX_SEQ = 0xffff_ffff;

/**
 * 32-bit string hash: the low half of cyrb53, to fit a 32-bit column. A match is only a
 * candidate (see EventIdTable), so collisions cost a record read, never a wrong answer. Stored
 * in snapshots, so changing it needs a new snapshot format.
 */
export function eventIdHash(id: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < id.length; i++) {
    const code = id.charCodeAt(i);
    h1 = Math.imul(h1 ^ code, 2654435761);
    h2 = Math.imul(h2 ^ code, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  return h1 >>> 0;
}

/**
 * Every stored event id, as an open-addressing table of seqs over the column of their id
 * hashes (indexed by seq - 1). A slot holds only a seq (4 bytes); its hash is read from the
 * column, so a million ids cost 8 MB of slots beside the 4 MB column, where slots holding
 * hash and seq as float64s took 32 MB and a Set of strings over 100 MB. A hash match is only a
 * candidate: the caller confirms it against the stored record, so a collision can never turn
 * a new event into a "duplicate".
 */
export class EventIdTable {
  private readonly hashes: SeqColumn;
  private slots: Uint32Array;
  private mask: number;

  /** The table of the records whose id hashes `hashes` lists, seq 1 first. */
  constructor(hashes: Uint32Array = new Uint32Array(0)) {
    this.hashes = new SeqColumn(hashes);
    let capacity = 1024;
    while (capacity * 0.6 < hashes.length) capacity *= 2;
    this.slots = new Uint32Array(capacity);
    this.mask = capacity - 1;
    for (let seq = 1; seq <= hashes.length; seq++) this.place(seq);
  }

  /** Records indexed: the next one pushed is seq `size + 1`. */
  get size(): number {
    return this.hashes.length;
  }

  /** Indexes the next record's event id hash. */
  push(hash: number): void {
    if (this.size + 1 > MAX_SEQ)
      throw new Error(`the event id table holds at most ${MAX_SEQ} records`);
    if (this.size + 1 > this.slots.length * 0.6) this.grow();
    this.hashes.push(hash);
    this.place(this.size);
  }

  /** Seqs whose event id has this hash (almost always zero or one), oldest first. */
  candidates(hash: number): number[] {
    const found: number[] = [];
    let slot = hash & this.mask;
    for (;;) {
      const seq = this.slots[slot]!;
      if (seq === 0) return found.sort((a, b) => a - b);
      if (this.hashes.get(seq - 1) === hash) found.push(seq);
      slot = (slot + 1) & this.mask;
    }
  }

  /** A copy of the hashes of seqs 1..length, for a snapshot. */
  hashColumn(length = this.size): Uint32Array {
    return this.hashes.copy(length);
  }

  private place(seq: number): void {
    let slot = this.hashes.get(seq - 1) & this.mask;
    while (this.slots[slot] !== 0) slot = (slot + 1) & this.mask;
    this.slots[slot] = seq;
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Uint32Array(old.length * 2);
    this.mask = this.slots.length - 1;
    for (const seq of old) if (seq !== 0) this.place(seq);
  }
}
