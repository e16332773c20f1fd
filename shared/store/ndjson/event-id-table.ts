/**
 * 53-bit string hash (cyrb53). Stored in snapshots, so changing it needs a new snapshot format.
 * Never 0: 0 marks an empty slot.
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
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0) || 1;
}

/**
 * Every stored event id, as hash → seq in an open-addressing table (a million ids in 32 MB,
 * where a Set of strings takes over 100 MB). A hash match is only a candidate: the caller
 * confirms it against the stored record, so a collision can never turn a new event into a
 * "duplicate".
 */
export class EventIdTable {
  private keys: Float64Array;
  private seqs: Float64Array;
  private mask: number;
  size = 0;

  constructor(expected = 0) {
    let capacity = 1024;
    while (capacity * 0.6 < expected) capacity *= 2;
    this.keys = new Float64Array(capacity);
    this.seqs = new Float64Array(capacity);
    this.mask = capacity - 1;
  }

  add(hash: number, seq: number): void {
    if (this.size + 1 > this.keys.length * 0.6) this.grow();
    this.place(hash, seq);
    this.size++;
  }

  /** Seqs whose event id has this hash (almost always zero or one), oldest first. */
  candidates(hash: number): number[] {
    const found: number[] = [];
    let slot = (hash >>> 0) & this.mask;
    for (;;) {
      const key = this.keys[slot]!;
      if (key === 0) return found.sort((a, b) => a - b);
      if (key === hash) found.push(this.seqs[slot]!);
      slot = (slot + 1) & this.mask;
    }
  }

  private place(hash: number, seq: number): void {
    let slot = (hash >>> 0) & this.mask;
    while (this.keys[slot] !== 0) slot = (slot + 1) & this.mask;
    this.keys[slot] = hash;
    this.seqs[slot] = seq;
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldSeqs = this.seqs;
    this.keys = new Float64Array(oldKeys.length * 2);
    this.seqs = new Float64Array(oldKeys.length * 2);
    this.mask = this.keys.length - 1;
    for (let i = 0; i < oldKeys.length; i++) {
      const key = oldKeys[i]!;
      if (key !== 0) this.place(key, oldSeqs[i]!);
    }
  }
}
