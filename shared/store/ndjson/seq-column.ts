/**
 * A growable array of unsigned 32-bit integers indexed by `seq - 1`: byte offsets inside a
 * segment and event-id hashes for a million records cost 4 MB each, where float64s cost 8 and
 * JavaScript arrays of objects ten times that.
 */
export class SeqColumn {
  private data: Uint32Array;
  length = 0;

  constructor(initial?: Uint32Array) {
    this.data = initial ?? new Uint32Array(1024);
    this.length = initial?.length ?? 0;
  }

  get(index: number): number {
    return this.data[index]!;
  }

  /** Throws for a value a column cannot hold, rather than storing it wrapped. */
  push(value: number): void {
    if (!Number.isInteger(value) || value < 0 || value > MAX_VALUE) {
      throw new RangeError(`${value} does not fit a 32-bit column`);
    }
    if (this.length === this.data.length) {
      const grown = new Uint32Array(Math.max(1024, this.data.length * 2));
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length++] = value;
  }

  /** A copy of the first `length` values, safe to keep while appends go on. */
  copy(length = this.length): Uint32Array {
    return this.data.slice(0, length);
  }
}

const MAX_VALUE = 0xffff_ffff;
