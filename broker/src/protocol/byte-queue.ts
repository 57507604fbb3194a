// Received socket chunks held until a decoder takes whole pieces out of them. A piece that lies
// inside one chunk is returned as a view of it (no copy); only a piece that spans chunks is copied,
// exactly its own bytes, once.

export class ByteQueue {
  readonly #chunks: Buffer[] = [];
  #length = 0;

  /** Bytes held. */
  get length(): number {
    return this.#length;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#length += chunk.length;
  }

  /** At least the next `n` bytes (n ≤ length) as one buffer, without consuming them. */
  peek(n: number): Buffer {
    if (this.#chunks[0]!.length < n) this.#merge(n);
    return this.#chunks[0]!;
  }

  /** Removes and returns the next `n` bytes (n ≤ length). */
  take(n: number): Buffer {
    if (n === 0) return EMPTY;
    if (this.#chunks[0]!.length < n) this.#merge(n);
    const first = this.#chunks[0]!;
    this.#length -= n;
    if (first.length === n) {
      this.#chunks.shift();
      return first;
    }
    this.#chunks[0] = first.subarray(n);
    return first.subarray(0, n);
  }

  /** Drops the next `n` bytes (n ≤ length) without copying them. */
  skip(n: number): void {
    let left = n;
    this.#length -= n;
    while (left > 0) {
      const c = this.#chunks[0]!;
      if (c.length <= left) {
        left -= c.length;
        this.#chunks.shift();
      } else {
        this.#chunks[0] = c.subarray(left);
        left = 0;
      }
    }
  }

  /** Makes the first chunk hold the next `n` bytes by copying exactly those bytes into a new one. */
  #merge(n: number): void {
    const merged = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const c = this.#chunks[0]!;
      const k = Math.min(c.length, n - filled);
      c.copy(merged, filled, 0, k);
      filled += k;
      if (k === c.length) this.#chunks.shift();
      else this.#chunks[0] = c.subarray(k);
    }
    this.#chunks.unshift(merged);
  }
}

export const EMPTY = Buffer.alloc(0);
