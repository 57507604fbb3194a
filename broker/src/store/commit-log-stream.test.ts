// The replication stream parser on synthetic streams: whole, one byte at a time and in random
// splits must give the same records; a refused chunk must leave the parser exactly as it was;
// arbitrary corruption may only raise our own StoreError.
import { describe, expect, it } from 'vitest';
import { StoreError } from '../common/errors.js';
import { prng } from '../common/prng.testbed.js';
import { MAGIC_BLANK, SysFlag, encodeHost, encodeMessageRecord, encodeProperties } from '../protocol/message.js';
import { CommitLogStreamParser } from './commit-log-stream.js';
import type { StreamRecord } from './commit-log-stream.js';

const SEG = 4096;

interface Built {
  bytes: Buffer;
  records: StreamRecord[];
  /** Offsets of every unit (record or BLANK) start, and of each magic field. */
  units: number[];
}

/** A commit-log stream from `base` as a Java master sends it: BLANK + zeros where a record does not fit. */
function buildStream(base: number, count: number, rand: () => number): Built {
  const parts: Buffer[] = [];
  const records: StreamRecord[] = [];
  const units: number[] = [];
  let pos = base;
  for (let i = 0; i < count; i++) {
    const v6 = i % 11 === 5;
    const topic = i % 13 === 7 ? `T${'x'.repeat(150)}` : `Topic${i % 3}`;
    const properties = encodeProperties({ UNIQ_KEY: `K${i}`, TAGS: `tag${i % 4}` });
    const body = Buffer.alloc(Math.floor(rand() * (i % 9 === 0 ? 2500 : 300)), i & 0xff);
    const sysFlag = i % 17 === 3 ? SysFlag.TRANSACTION_PREPARED : 0;
    const encode = (physicalOffset: number): Buffer =>
      encodeMessageRecord({
        topic,
        queueId: i % 4,
        flag: 0,
        queueOffset: i,
        physicalOffset,
        sysFlag,
        bornTimestamp: 1_700_000_000_000 + i,
        bornHost: v6 ? encodeHost('[2001:db8::1]:4000') : encodeHost('10.0.0.1:4000'),
        storeTimestamp: 1_700_000_000_500 + i,
        storeHost: v6 ? encodeHost('[fd00::2]:10911') : encodeHost('10.0.0.2:10911'),
        reconsumeTimes: 0,
        preparedTransactionOffset: 0,
        body,
        properties,
      });
    let rec = encode(pos);
    const segEnd = pos - (pos % SEG) + SEG;
    if (pos + rec.length + 8 > segEnd) {
      const blank = Buffer.alloc(segEnd - pos);
      blank.writeInt32BE(segEnd - pos, 0);
      blank.writeInt32BE(MAGIC_BLANK, 4);
      parts.push(blank);
      units.push(pos);
      pos = segEnd;
      rec = encode(pos);
    }
    parts.push(rec);
    units.push(pos);
    records.push({
      physicalOffset: pos,
      size: rec.length,
      topic,
      queueId: i % 4,
      queueOffset: i,
      sysFlag: rec.readInt32BE(36),
      storeTimestamp: 1_700_000_000_500 + i,
      properties,
    });
    pos += rec.length;
  }
  return { bytes: Buffer.concat(parts), records, units };
}

function splits(len: number, rand: () => number, maxChunk: number): number[] {
  const cuts: number[] = [];
  let at = 0;
  while (at < len) {
    at = Math.min(len, at + 1 + Math.floor(rand() * maxChunk));
    cuts.push(at);
  }
  return cuts;
}

function feedAll(base: number, bytes: Buffer, cuts: number[]): StreamRecord[] {
  const p = new CommitLogStreamParser(SEG, base);
  const out: StreamRecord[] = [];
  let prev = 0;
  for (const cut of cuts) {
    out.push(...p.feed(base + prev, bytes.subarray(prev, cut)));
    prev = cut;
  }
  expect(p.pendingBytes).toBe(0);
  expect(p.offset).toBe(base + bytes.length);
  return out;
}

describe('CommitLogStreamParser', () => {
  const base = 3 * SEG;
  const built = buildStream(base, 120, prng(1));

  it('gives the same records whole, byte by byte and in random splits', () => {
    expect(built.bytes.length).toBeGreaterThan(4 * SEG); // several BLANKs
    expect(feedAll(base, built.bytes, [built.bytes.length])).toEqual(built.records);
    const bytewise = Array.from({ length: built.bytes.length }, (_, i) => i + 1);
    expect(feedAll(base, built.bytes, bytewise)).toEqual(built.records);
    for (let seed = 1; seed <= 30; seed++) {
      const rand = prng(seed);
      expect(feedAll(base, built.bytes, splits(built.bytes.length, rand, seed % 3 === 0 ? 40 : 5000)), `seed ${seed}`).toEqual(built.records);
    }
  });

  it('reports the boundary and pending bytes of a unit that is not complete', () => {
    const p = new CommitLogStreamParser(SEG, base);
    const first = built.records[0]!;
    expect(p.feed(base, built.bytes.subarray(0, 5))).toEqual([]);
    expect([p.boundary, p.offset, p.pendingBytes]).toEqual([base, base + 5, 5]);
    expect(p.feed(base + 5, built.bytes.subarray(5, first.size + 3))).toEqual([first]);
    expect([p.boundary, p.offset, p.pendingBytes]).toEqual([base + first.size, base + first.size + 3, 3]);
    p.reset(base + first.size);
    expect([p.boundary, p.offset, p.pendingBytes]).toEqual([base + first.size, base + first.size, 0]);
    expect(() => p.feed(base, built.bytes)).toThrow(/does not continue the stream/);
  });

  it('leaves the parser unchanged when it refuses a chunk, then takes the right one', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const rand = prng(seed * 7);
      const cuts = splits(built.bytes.length, rand, seed % 2 === 0 ? 300 : 3000);
      const p = new CommitLogStreamParser(SEG, base);
      const out: StreamRecord[] = [];
      let prev = 0;
      for (const cut of cuts) {
        const chunk = built.bytes.subarray(prev, cut);
        // Break the magic of every unit whose header completes inside this chunk.
        const bad = Buffer.from(chunk);
        let broken = false;
        for (const u of built.units) {
          const magicEnd = u - base + 8;
          if (magicEnd <= prev || magicEnd > cut) continue;
          for (let b = Math.max(prev, magicEnd - 4); b < magicEnd; b++) bad[b - prev] = 0;
          broken = true;
        }
        if (broken) {
          const before = [p.boundary, p.offset, p.pendingBytes];
          let err: unknown;
          try {
            p.feed(base + prev, bad);
          } catch (e) {
            err = e;
          }
          expect(err, `seed ${seed} chunk ending ${cut}`).toBeInstanceOf(StoreError);
          expect((err as StoreError).code).toBe('RMQ_STORE_CORRUPT');
          expect([p.boundary, p.offset, p.pendingBytes]).toEqual(before);
        }
        out.push(...p.feed(base + prev, chunk));
        prev = cut;
      }
      expect(out, `seed ${seed}`).toEqual(built.records);
    }
  });

  it('raises only StoreError on arbitrary corruption', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const rand = prng(seed * 13);
      const bytes = Buffer.from(built.bytes);
      const flips = 1 + Math.floor(rand() * 4);
      for (let f = 0; f < flips; f++) bytes[Math.floor(rand() * bytes.length)] = Math.floor(rand() * 256);
      const p = new CommitLogStreamParser(SEG, base);
      let prev = 0;
      try {
        for (const cut of splits(bytes.length, rand, 2000)) {
          p.feed(base + prev, bytes.subarray(prev, cut));
          prev = cut;
        }
      } catch (err) {
        expect(err, `seed ${seed}`).toBeInstanceOf(StoreError);
      }
    }
  });

  it('checks BLANK sizes, record sizes, offsets and topic names', () => {
    const rec = built.records[0]!;
    const one = built.bytes.subarray(0, rec.size);
    const expectCorrupt = (bytes: Buffer, at: number, pattern: RegExp): void => {
      const p = new CommitLogStreamParser(SEG, at);
      expect(() => p.feed(at, bytes)).toThrow(pattern);
    };
    const blank = Buffer.alloc(16);
    blank.writeInt32BE(SEG - 100, 0);
    blank.writeInt32BE(MAGIC_BLANK, 4);
    expectCorrupt(blank, base + 99, /BLANK at .* expected 3997/);
    expectCorrupt(one, base + 8, /names offset/);
    const crossing = Buffer.from(one);
    crossing.writeInt32BE(SEG, 0);
    expectCorrupt(crossing, base, /bad record size 4096/);
    const tiny = Buffer.from(one);
    tiny.writeInt32BE(40, 0);
    expectCorrupt(tiny, base, /bad record size 40/);
    const evil = encodeMessageRecord({
      topic: '..',
      queueId: 0,
      flag: 0,
      queueOffset: 0,
      physicalOffset: base,
      sysFlag: 0,
      bornTimestamp: 0,
      bornHost: encodeHost('1.2.3.4:5'),
      storeTimestamp: 0,
      storeHost: encodeHost('1.2.3.4:6'),
      reconsumeTimes: 0,
      preparedTransactionOffset: 0,
      body: Buffer.alloc(0),
      properties: '',
    });
    expectCorrupt(evil, base, /topic "\.\." is not a valid name/);
    // A BLANK is accepted at any position with the right size, including a segment start.
    const fullBlank = Buffer.alloc(SEG);
    fullBlank.writeInt32BE(SEG, 0);
    fullBlank.writeInt32BE(MAGIC_BLANK, 4);
    const p = new CommitLogStreamParser(SEG, 0);
    expect(p.feed(0, fullBlank)).toEqual([]);
    expect([p.boundary, p.pendingBytes]).toEqual([SEG, 0]);
  });
});
