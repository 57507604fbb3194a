import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteQueue } from './byte-queue.js';

describe('ByteQueue', () => {
  it('returns a piece inside one chunk as a view, and copies only a piece that spans chunks', () => {
    const q = new ByteQueue();
    const a = Buffer.from('abcdef');
    q.push(a);
    q.push(Buffer.from('ghij'));
    const ab = q.take(2);
    expect(ab.toString()).toBe('ab');
    const span = q.take(6); // cdef + gh
    expect(span.toString()).toBe('cdefgh');
    a.fill('x'.charCodeAt(0));
    expect(ab.toString()).toBe('xx'); // a view of the chunk
    expect(span.toString()).toBe('cdefgh'); // its own copy
    expect(q.length).toBe(2);
    expect(q.peek(2).toString()).toBe('ij');
    expect(q.length).toBe(2);
    q.skip(1);
    expect(q.take(1).toString()).toBe('j');
    expect(q.length).toBe(0);
    expect(q.take(0)).toHaveLength(0);
  });

  it('hands out the same bytes, in order, whatever the chunking and piece sizes (random)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 300 }),
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 30 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 50 }), fc.constantFrom('take', 'skip', 'peek')), { minLength: 1, maxLength: 40 }),
        (bytes, chunkSizes, ops) => {
          const data = Buffer.from(bytes);
          const q = new ByteQueue();
          for (let at = 0, i = 0; at < data.length; i++) {
            const n = chunkSizes[i % chunkSizes.length]!;
            q.push(data.subarray(at, at + n));
            at += n;
          }
          let pos = 0;
          for (const [want, op] of ops) {
            const n = Math.min(want, q.length);
            if (op === 'peek') {
              if (n > 0) expect(q.peek(n).subarray(0, n)).toEqual(data.subarray(pos, pos + n));
              continue;
            }
            if (op === 'take') expect(q.take(n)).toEqual(data.subarray(pos, pos + n));
            else q.skip(n);
            pos += n;
            expect(q.length).toBe(data.length - pos);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
