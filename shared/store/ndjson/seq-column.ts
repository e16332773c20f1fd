/**
 * A growable array of numbers indexed by `seq - 1`: byte offsets and event-id hashes for a
 * million records cost 8 MB each, where JavaScript arrays of objects would cost ten times that.
 */
export class SeqColumn {
  private data: Float64Array;
  length = 0;

  constructor(initial?: Float64Array) {
    this.data = initial ?? new Float64Array(1024);
    this.length = initial?.length ?? 0;
  }

  get(index: number): number {
    return this.data[index]!;
  }

  push(value: number): void {
    if (this.length === this.data.length) {
      const grown = new Float64Array(Math.max(1024, this.data.length * 2));
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length++] = value;
  }

  /** Undoes pushes (a rolled-back append). */
  truncate(length: number): void {
    this.length = Math.min(this.length, length);
  }

  /** A copy of the first `length` values, safe to keep while appends go on. */
  copy(length = this.length): Float64Array {
    return this.data.slice(0, length);
  }
}
