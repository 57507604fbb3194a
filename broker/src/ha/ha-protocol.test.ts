import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../common/errors.js';
import { encodeFrameHeader, encodeReport, FrameReader, initialTransferOffset, ReportReader, type HAFrame } from './ha-protocol.js';

function frame(offset: number, body: Buffer): Buffer {
  return Buffer.concat([encodeFrameHeader(offset, body.length), body]);
}

/** Cuts `buf` at the given (sorted, deduplicated) positions. */
function cut(buf: Buffer, points: number[]): Buffer[] {
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of [...new Set(points)].filter((x) => x > 0 && x < buf.length).sort((a, b) => a - b)) {
    out.push(buf.subarray(prev, p));
    prev = p;
  }
  out.push(buf.subarray(prev));
  return out;
}

function bytewise(buf: Buffer): Buffer[] {
  return [...buf].map((b) => Buffer.from([b]));
}

function readFrames(pieces: Buffer[], max?: number): HAFrame[] {
  const r = new FrameReader(max);
  const out: HAFrame[] = [];
  for (const p of pieces) {
    r.push(p);
    for (let f = r.next(); f; f = r.next()) out.push({ offset: f.offset, body: Buffer.from(f.body) });
  }
  return out;
}

describe('HA wire encoding', () => {
  it('encodes reports and frame headers big-endian, as Java ByteBuffer.putLong/putInt', () => {
    expect(encodeReport(0x0102030405).toString('hex')).toBe('0000000102030405');
    expect(encodeFrameHeader(1073741824, 32768).toString('hex')).toBe('0000000040000000' + '00008000');
    expect(encodeFrameHeader(7, 0).toString('hex')).toBe('0000000000000007' + '00000000');
  });

  it('refuses offsets and sizes a Java peer could not read back', () => {
    expect(() => encodeReport(-1)).toThrow(ProtocolError);
    expect(() => encodeReport(2 ** 53)).toThrow(ProtocolError);
    expect(() => encodeFrameHeader(0, -1)).toThrow(ProtocolError);
    expect(() => encodeFrameHeader(0, 2 ** 31)).toThrow(ProtocolError);
  });

  it('an empty slave starts at the master last segment; others where they report', () => {
    expect(initialTransferOffset(0, 0, 1024)).toBe(0);
    expect(initialTransferOffset(0, 1023, 1024)).toBe(0);
    expect(initialTransferOffset(0, 1024, 1024)).toBe(1024);
    expect(initialTransferOffset(0, 5000, 1024)).toBe(4096);
    expect(initialTransferOffset(300, 5000, 1024)).toBe(300);
  });
});

describe('ReportReader (master side)', () => {
  const stream = Buffer.concat([encodeReport(5), encodeReport(1 << 20), encodeReport(2 ** 40 + 3)]);

  it('keeps the last whole report of each read', () => {
    expect(new ReportReader().push(stream)).toBe(2 ** 40 + 3);
  });

  it('handles byte-at-a-time delivery', () => {
    const r = new ReportReader();
    const seen: number[] = [];
    for (const b of bytewise(stream)) {
      const v = r.push(b);
      if (v !== undefined) seen.push(v);
    }
    expect(seen).toEqual([5, 1 << 20, 2 ** 40 + 3]);
  });

  it('gives the same final offset for any split', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), { minLength: 1, maxLength: 20 }), fc.array(fc.nat(200)), (values, points) => {
        const buf = Buffer.concat(values.map(encodeReport));
        const r = new ReportReader();
        let last: number | undefined;
        const seen: number[] = [];
        for (const p of cut(buf, points)) {
          const v = r.push(p);
          if (v !== undefined) {
            last = v;
            seen.push(v);
          }
        }
        expect(last).toBe(values[values.length - 1]);
        // Whatever was seen is a subsequence of what was sent.
        let i = 0;
        for (const v of seen) {
          while (i < values.length && values[i] !== v) i++;
          expect(i).toBeLessThan(values.length);
          i++;
        }
      }),
    );
  });

  it('rejects a negative offset (e.g. garbage 0xff bytes)', () => {
    expect(() => new ReportReader().push(Buffer.alloc(8, 0xff))).toThrow(ProtocolError);
  });
});

describe('FrameReader (slave side)', () => {
  const frames = [frame(0, Buffer.from('hello')), frame(5, Buffer.alloc(0)), frame(5, Buffer.alloc(3000, 7)), frame(3005, Buffer.from([1]))];
  const stream = Buffer.concat(frames);
  const expected = [
    { offset: 0, body: Buffer.from('hello') },
    { offset: 5, body: Buffer.alloc(0) },
    { offset: 5, body: Buffer.alloc(3000, 7) },
    { offset: 3005, body: Buffer.from([1]) },
  ];

  it('decodes whole, byte-at-a-time and split input identically', () => {
    expect(readFrames([stream])).toEqual(expected);
    expect(readFrames(bytewise(stream))).toEqual(expected);
    fc.assert(
      fc.property(fc.array(fc.nat(stream.length)), (points) => {
        expect(readFrames(cut(stream, points))).toEqual(expected);
      }),
    );
  });

  it('returns a view (no copy) when a body lies in one chunk', () => {
    const r = new FrameReader();
    r.push(stream);
    const f = r.next()!;
    expect(f.body.buffer).toBe(stream.buffer);
  });

  it('rejects a negative body size as soon as the header is complete', () => {
    const h = Buffer.alloc(12);
    h.writeInt32BE(-1, 8);
    const r = new FrameReader();
    r.push(h);
    expect(() => r.next()).toThrow(/body size -1/);
  });

  it('rejects an oversized body before buffering it', () => {
    const r = new FrameReader(1024);
    r.push(encodeFrameHeader(0, 1025));
    expect(() => r.next()).toThrow(ProtocolError);
  });

  it('rejects a negative offset', () => {
    const h = Buffer.alloc(12, 0xff);
    h.writeInt32BE(0, 8);
    const r = new FrameReader();
    r.push(h);
    expect(() => r.next()).toThrow(ProtocolError);
  });

  it('exposes the pending header while the body is incomplete', () => {
    const r = new FrameReader();
    r.push(frame(42, Buffer.alloc(100)).subarray(0, 50));
    expect(r.next()).toBeUndefined();
    expect(r.pendingHeader).toEqual({ offset: 42, size: 100 });
    expect(r.bufferedBytes).toBe(38);
  });

  it('arbitrary bytes only ever raise ProtocolError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat(300)), (bytes, points) => {
        try {
          readFrames(cut(Buffer.from(bytes), points), 256);
        } catch (err) {
          expect(err).toBeInstanceOf(ProtocolError);
        }
      }),
    );
  });
});
