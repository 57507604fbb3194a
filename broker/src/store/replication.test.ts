// DefaultMessageStore as a ReplicableStore: a master's commit log copied to a slave through
// getCommitLogData / appendCommitLogData in random chunks must give a byte-identical log and the
// same consume queues, across slave restarts (clean and crashed) with a partial record pending,
// slaves that start at the master's last segment, promotion and demotion.
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreError } from '../common/errors.js';
import { prng } from '../common/prng.testbed.js';
import { MAGIC_BLANK, SysFlag, createOffsetMsgId, decodeMessageRecord, encodeHost } from '../protocol/message.js';
import { prepareChildStore, runUntilKilled } from './child-store.testbed.js';
import { DefaultMessageStore } from './default-message-store.js';
import type { DefaultMessageStoreConfig } from './default-message-store.js';
import type { DispatchedMessage, PutMessageInput, PutResult, ReplicableStore } from './message-store.js';
import { testMessage } from './message-store.conformance.js';
import { errnoError, nodeStoreIo } from './store-io.js';
import type { StoreIo } from './store-io.js';

const KiB = 1024;
/** Small segments, so streams cross many BLANKs and segment boundaries. */
const SEG = 4 * KiB;

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'rmq-repl-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function newStore(dir: string, over: Partial<DefaultMessageStoreConfig> = {}): DefaultMessageStore {
  return new DefaultMessageStore({
    storePathRootDir: dir,
    mappedFileSizeCommitLog: SEG,
    maxMessageSize: 3 * KiB,
    mappedFileSizeConsumeQueue: 7 * 20,
    flushIntervalConsumeQueue: 20,
    ...over,
  });
}

async function started(dir: string, over: Partial<DefaultMessageStoreConfig> = {}): Promise<DefaultMessageStore> {
  const s = newStore(dir, over);
  await s.start();
  return s;
}

async function slaveAt(dir: string, over: Partial<DefaultMessageStoreConfig> = {}): Promise<DefaultMessageStore> {
  const s = newStore(dir, over);
  s.setWritable(false);
  await s.start();
  return s;
}

const V6_BORN = encodeHost('[2001:db8::17]:40000');
const V6_STORE = encodeHost('[fd00::5]:10911');

/** Message i: three topics plus a long one (V2 magic), four queues, varied sizes, some IPv6 hosts and half messages. */
function msg(i: number, tag = 'm'): PutMessageInput {
  const topic = i % 29 === 11 ? `Long${'y'.repeat(140)}` : `Topic${i % 3}`;
  const big = i % 10 === 0;
  return testMessage(topic, i % 4, i, {
    tags: `tag${i % 4}`,
    body: Buffer.alloc(20 + ((i * 397) % (big ? 2500 : 400)), (i + tag.charCodeAt(0)) & 0xff),
    props: { src: tag },
    ...(i % 7 === 3 ? { bornHost: V6_BORN, storeHost: V6_STORE } : {}),
    ...(i % 19 === 5 ? { sysFlag: SysFlag.TRANSACTION_PREPARED } : {}),
  });
}

function ok(r: PutResult): PutResult {
  expect(r.status, r.remark).toBe('PUT_OK');
  return r;
}

/** Puts messages [from, from + n), 16 at a time. */
async function putN(store: DefaultMessageStore, from: number, n: number, tag = 'm'): Promise<void> {
  for (let i = from; i < from + n; i += 16) {
    const batch: Promise<PutResult>[] = [];
    for (let k = i; k < Math.min(from + n, i + 16); k++) batch.push(store.putMessage(msg(k, tag)));
    for (const r of await Promise.all(batch)) ok(r);
  }
}

/** Copies [start, until) from `from` to `to` in chunks of `chunk()` bytes (capped by the source at segment ends). */
async function copy(from: ReplicableStore, to: ReplicableStore, chunk: () => number, start: number, until = from.getMaxPhyOffset()): Promise<void> {
  let off = start;
  while (off < until) {
    const data = from.getCommitLogData(off, Math.min(chunk(), until - off));
    if (!data) throw new Error(`no data at ${off}`);
    await to.appendCommitLogData(off, data);
    off += data.length;
    expect(to.getMaxPhyOffset()).toBe(off);
  }
}

const randomChunks = (seed: number, max = 32 * KiB): (() => number) => {
  const rand = prng(seed);
  return () => {
    const r = rand();
    if (r < 0.2) return 1 + Math.floor(rand() * 8); // tiny: headers split everywhere
    if (r < 0.5) return 1 + Math.floor(rand() * 600);
    return 1 + Math.floor(rand() * max);
  };
};

/** Both logs hold the same bytes in [from, to), read through getCommitLogData. */
function expectSameLog(a: ReplicableStore, b: ReplicableStore, from: number, to: number): void {
  for (let off = from; off < to; ) {
    const x = a.getCommitLogData(off, 64 * KiB);
    const y = b.getCommitLogData(off, 64 * KiB);
    expect(x, `master at ${off}`).toBeDefined();
    expect(y?.length, `slave at ${off}`).toBe(x!.length);
    expect(y!.equals(x!), `bytes at ${off}`).toBe(true);
    off += x!.length;
  }
}

/** The slave's queues match the master's from the slave's min offsets on (messages, offsets, ids). */
function expectSameQueues(master: DefaultMessageStore, slave: DefaultMessageStore, slaveStart = 0): void {
  const mq = master.queues();
  const sq = slave.queues();
  for (const [topic, byQueue] of sq) {
    for (const queueId of byQueue.keys()) expect(mq.get(topic)?.has(queueId), `slave-only queue ${topic}/${queueId}`).toBe(true);
  }
  for (const [topic, byQueue] of mq) {
    for (const [queueId, bounds] of byQueue) {
      const sb = sq.get(topic)?.get(queueId);
      // A queue with no record at or after the slave's start is unknown to the slave.
      const last = master.getMessages(topic, queueId, bounds.maxOffset - 1, { maxMsgNums: 1 });
      if (slaveStart > 0 && decodeMessageRecord(last.messages[0]!)!.physicalOffset < slaveStart) {
        expect(sb).toBeUndefined();
        continue;
      }
      expect(sb, `${topic}/${queueId}`).toBeDefined();
      expect(sb!.maxOffset, `${topic}/${queueId} max`).toBe(bounds.maxOffset);
      if (sb!.minOffset > 0) {
        expect(slave.getMessages(topic, queueId, sb!.minOffset - 1, { maxMsgNums: 1 }).status).toBe('OFFSET_TOO_SMALL');
        const before = master.getMessages(topic, queueId, sb!.minOffset - 1, { maxMsgNums: 1 });
        expect(decodeMessageRecord(before.messages[0]!)!.physicalOffset).toBeLessThan(slaveStart);
      }
      for (let off = sb!.minOffset; off < sb!.maxOffset; ) {
        const a = master.getMessages(topic, queueId, off, { maxMsgNums: 9 });
        const b = slave.getMessages(topic, queueId, off, { maxMsgNums: 9 });
        expect(b.status, `${topic}/${queueId}@${off}`).toBe('FOUND');
        expect(b.queueOffsets).toEqual(a.queueOffsets);
        expect(b.nextBeginOffset).toBe(a.nextBeginOffset);
        expect(b.messages.length).toBe(a.messages.length);
        for (let k = 0; k < a.messages.length; k++) {
          expect(b.messages[k]!.equals(a.messages[k]!)).toBe(true);
          const rec = decodeMessageRecord(b.messages[k]!, 0, true)!;
          expect(rec.physicalOffset).toBeGreaterThanOrEqual(slaveStart);
          // The offset message id (store host + physical offset) resolves on either broker.
          const id = createOffsetMsgId(rec.storeHost, rec.physicalOffset);
          expect(id).toBe(createOffsetMsgId(decodeMessageRecord(a.messages[k]!)!.storeHost, decodeMessageRecord(a.messages[k]!)!.physicalOffset));
          expect(slave.lookMessageByOffset(rec.physicalOffset)?.equals(a.messages[k]!)).toBe(true);
        }
        off = a.nextBeginOffset;
      }
    }
  }
}

/** Record boundaries of the master's log in [from, to) and where its BLANKs are. */
function units(store: ReplicableStore, from: number, to: number): { records: { offset: number; size: number }[]; blanks: number[] } {
  const records: { offset: number; size: number }[] = [];
  const blanks: number[] = [];
  for (let off = from; off < to; ) {
    const head = store.getCommitLogData(off, 8)!;
    const size = head.readInt32BE(0);
    if (head.readInt32BE(4) === MAGIC_BLANK) blanks.push(off);
    else records.push({ offset: off, size });
    off += size;
  }
  return { records, blanks };
}

function segmentFiles(dir: string): string[] {
  return readdirSync(join(dir, 'commitlog')).sort();
}

async function expectRejects(p: Promise<unknown>, code: string, pattern: RegExp): Promise<void> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(StoreError);
  expect((err as StoreError).code).toBe(code);
  expect((err as Error).message).toMatch(pattern);
}

// ---------------------------------------------------------------------------------------------

describe('ReplicableStore: master side', () => {
  it('serves written bytes within one segment, with zeros after each BLANK', async () => {
    const dir = tempDir();
    const master = await started(dir);
    try {
      await putN(master, 0, 60);
      const max = master.getMaxPhyOffset();
      expect(max).toBeGreaterThan(4 * SEG);
      expect(master.getMinPhyOffset()).toBe(0);
      const { blanks } = units(master, 0, max);
      expect(blanks.length).toBeGreaterThanOrEqual(4);
      for (const b of blanks) {
        const segStart = b - (b % SEG);
        const whole = master.getCommitLogData(segStart, 10 * SEG)!;
        expect(whole.length).toBe(SEG); // never crosses the segment end
        const tail = whole.subarray(b - segStart);
        expect(tail.readInt32BE(0)).toBe(SEG - (b - segStart));
        expect(tail.readInt32BE(4)).toBe(MAGIC_BLANK);
        expect(tail.subarray(8).every((x) => x === 0)).toBe(true);
        // Our files are not preallocated: the zeros come from the read, not the disk.
        expect(statSync(join(dir, 'commitlog', String(segStart).padStart(20, '0'))).size).toBe(b - segStart + 8);
        // A read starting inside the zero tail.
        if (SEG - (b - segStart) > 60) expect(master.getCommitLogData(b + 10, 50)!.equals(Buffer.alloc(50))).toBe(true);
      }
      expect(master.getCommitLogData(max, 100)).toBeUndefined();
      expect(master.getCommitLogData(max + 1, 100)).toBeUndefined();
      expect(master.getCommitLogData(-1, 100)).toBeUndefined();
      expect(master.getCommitLogData(0, 0)).toBeUndefined();
      expect(master.getCommitLogData(max - 5, 100)!.length).toBe(5);

      // Queued but not yet written bytes are not served (a failed write could take them back).
      const pending = master.putMessage(msg(1000));
      expect(master.getMaxPhyOffset()).toBe(max);
      expect(master.getCommitLogData(max, 100)).toBeUndefined();
      ok(await pending);
      expect(master.getMaxPhyOffset()).toBeGreaterThan(max);
      expect(master.getCommitLogData(max, 100)).toBeDefined();
    } finally {
      await master.shutdown();
    }
    await master.shutdown();
    expect(() => master.getCommitLogData(0, 10)).toThrow(/message store is stopped/);
  });
});

describe('ReplicableStore: slave side', () => {
  const variants: { name: string; seed: number; cfg: Partial<DefaultMessageStoreConfig>; chunk: (seed: number) => () => number }[] = [
    { name: 'random chunks, ASYNC_FLUSH', seed: 1, cfg: {}, chunk: (s) => randomChunks(s) },
    { name: 'random chunks, SYNC_FLUSH', seed: 2, cfg: { flushDiskType: 'SYNC_FLUSH' }, chunk: (s) => randomChunks(s) },
    { name: '32 KiB frames (the HA batch size)', seed: 3, cfg: {}, chunk: () => () => 32 * KiB },
    { name: '1-byte chunks', seed: 4, cfg: {}, chunk: () => () => 1 },
  ];
  for (const v of variants) {
    it(`copies a live master byte for byte and indexes the same messages (${v.name})`, { timeout: 60_000 }, async () => {
      const masterDir = tempDir();
      const master = await started(masterDir);
      const slaveDir = tempDir();
      const slave = await slaveAt(slaveDir, v.cfg);
      const seen: { master: DispatchedMessage[]; slave: DispatchedMessage[] } = { master: [], slave: [] };
      master.onDispatch((m) => seen.master.push(m));
      slave.onDispatch((m) => seen.slave.push(m));
      try {
        const total = v.name.startsWith('1-byte') ? 25 : 150;
        const chunk = v.chunk(v.seed);
        // The master keeps writing while the slave copies.
        const producing = putN(master, 0, total);
        let off = 0;
        let done = false;
        void producing.then(() => (done = true));
        while (!done || off < master.getMaxPhyOffset()) {
          const max = master.getMaxPhyOffset();
          if (off < max) {
            await copy(master, slave, chunk, off, max);
            off = max;
          } else {
            await new Promise((r) => setImmediate(r));
          }
        }
        await producing;
        await copy(master, slave, chunk, off);
        expect(slave.getMaxPhyOffset()).toBe(master.getMaxPhyOffset());
        expect(units(master, 0, master.getMaxPhyOffset()).blanks.length).toBeGreaterThan(0);
        expectSameLog(master, slave, 0, master.getMaxPhyOffset());
        expectSameQueues(master, slave);
        // Dispatched in commit-log order with the master's queue offsets (half messages get none).
        expect(seen.slave).toEqual(seen.master);
        expect(seen.slave.length).toBeLessThan(total);
        // Same segment files; the slave's are complete, zeros included, like Java's.
        expect(segmentFiles(slaveDir)).toEqual(segmentFiles(masterDir));
        for (const name of segmentFiles(slaveDir).slice(0, -1)) expect(statSync(join(slaveDir, 'commitlog', name)).size).toBe(SEG);
        const stats = slave.stats();
        expect(stats.commitLogMaxOffset).toBe(master.getMaxPhyOffset());
        if (v.cfg.flushDiskType === 'SYNC_FLUSH') expect(stats.flushedOffset).toBe(stats.commitLogMaxOffset);
      } finally {
        await master.shutdown();
        await slave.shutdown();
      }
      // A clean restart of both finds the same state.
      const [m2, s2] = [await started(masterDir), await slaveAt(slaveDir, v.cfg)];
      try {
        expect(s2.recoveryReport?.mode).toBe('normal');
        expectSameLog(m2, s2, 0, m2.getMaxPhyOffset());
        expectSameQueues(m2, s2);
      } finally {
        await m2.shutdown();
        await s2.shutdown();
      }
    });
  }

  it('accepts pipelined chunks (each continuing where the previous one ends)', async () => {
    const master = await started(tempDir());
    const slave = await slaveAt(tempDir(), { flushDiskType: 'SYNC_FLUSH' });
    try {
      await putN(master, 0, 80);
      const chunk = randomChunks(9, 3000);
      const inFlight: Promise<void>[] = [];
      for (let off = 0; off < master.getMaxPhyOffset(); ) {
        const data = master.getCommitLogData(off, chunk())!;
        inFlight.push(slave.appendCommitLogData(off, data));
        off += data.length;
      }
      await Promise.all(inFlight);
      expectSameLog(master, slave, 0, master.getMaxPhyOffset());
      expectSameQueues(master, slave);
      // Group commit: far fewer fsyncs than chunks.
      expect(slave.commitLogFlushCount).toBeLessThan(inFlight.length);
    } finally {
      await master.shutdown();
      await slave.shutdown();
    }
  });

  it('refuses puts as a slave but keeps appending replicated data', async () => {
    const master = await started(tempDir());
    const slave = await slaveAt(tempDir());
    try {
      expect(slave.writable).toBe(false);
      const r = await slave.putMessage(msg(0));
      expect(r).toMatchObject({ status: 'SERVICE_NOT_AVAILABLE', appended: [], remark: expect.stringMatching(/read-only \(slave role\)/) as unknown });
      expect((await slave.putMessages([msg(0), msg(4)])).status).toBe('SERVICE_NOT_AVAILABLE');
      await putN(master, 0, 20);
      await copy(master, slave, () => 700, 0);
      expectSameQueues(master, slave);
      expect(slave.stats().putMessageCount).toBe(0);
    } finally {
      await master.shutdown();
      await slave.shutdown();
    }
  });

  it('refuses a chunk that does not continue the log and changes nothing', async () => {
    const master = await started(tempDir());
    const slave = await slaveAt(tempDir());
    try {
      await putN(master, 0, 30);
      const { records } = units(master, 0, master.getMaxPhyOffset());
      const r2 = records[2]!;
      // Stop inside record 2, then send a chunk that completes it but breaks the next header.
      await copy(master, slave, () => 5000, 0, r2.offset + 30);
      const good = master.getCommitLogData(r2.offset + 30, r2.size + 100)!;
      const bad = Buffer.from(good);
      bad.writeInt32BE(0x12345678, r2.size - 30 + 4);
      await expectRejects(slave.appendCommitLogData(r2.offset + 30, bad), 'RMQ_STORE_CORRUPT', /bad magic 0x12345678/);
      expect(slave.getMaxPhyOffset()).toBe(r2.offset + 30);
      await expectRejects(slave.appendCommitLogData(r2.offset + 31, good), 'RMQ_STORE_CORRUPT', /does not continue the commit log, which ends at/);
      await expectRejects(slave.appendCommitLogData(0, good), 'RMQ_STORE_CORRUPT', /does not continue/);
      expect(slave.getMaxPhyOffset()).toBe(r2.offset + 30);
      // The right bytes still fit.
      await copy(master, slave, randomChunks(5), r2.offset + 30);
      expectSameLog(master, slave, 0, master.getMaxPhyOffset());
      expectSameQueues(master, slave);
      // An empty append is a no-op; a non-Buffer is refused.
      await slave.appendCommitLogData(slave.getMaxPhyOffset(), Buffer.alloc(0));
      await expectRejects(slave.appendCommitLogData(slave.getMaxPhyOffset(), 'x' as unknown as Buffer), 'RMQ_STORE_CORRUPT', /not a Buffer/);
    } finally {
      await master.shutdown();
      await slave.shutdown();
    }
    await expectRejects(slave.appendCommitLogData(0, Buffer.alloc(1)), 'RMQ_STORE_CLOSED', /stopped/);
  });

  it('starts an empty slave at the master\'s last segment and keeps that start across restarts', async () => {
    const master = await started(tempDir());
    const slaveDir = tempDir();
    let slave = await slaveAt(slaveDir);
    try {
      await putN(master, 0, 70);
      const max = master.getMaxPhyOffset();
      const start = max - (max % SEG);
      expect(start).toBeGreaterThan(2 * SEG);
      expect(slave.getMaxPhyOffset()).toBe(0);
      await expectRejects(slave.appendCommitLogData(start + 8, Buffer.alloc(8)), 'RMQ_STORE_CORRUPT', /multiple of mappedFileSizeCommitLog 4096/);
      await copy(master, slave, randomChunks(21), start);
      expect(slave.getMinPhyOffset()).toBe(start);
      expect(slave.getCommitLogData(start - 1, 10)).toBeUndefined();
      expectSameLog(master, slave, start, max);
      expectSameQueues(master, slave, start);
      expect(segmentFiles(slaveDir)[0]).toBe(String(start).padStart(20, '0'));

      await slave.shutdown();
      slave = await slaveAt(slaveDir);
      expect(slave.recoveryReport?.mode).toBe('normal');
      expect(slave.getMinPhyOffset()).toBe(start);
      expectSameQueues(master, slave, start);

      // More data, including new segments, then a crash-style restart (abort marker left behind).
      await putN(master, 100, 40);
      await copy(master, slave, randomChunks(22), max);
      const crashDir = tempDir();
      cpSync(slaveDir, crashDir, { recursive: true });
      rmSync(join(crashDir, 'lock'), { force: true });
      const crashed = await slaveAt(crashDir);
      try {
        expect(crashed.recoveryReport?.mode).toBe('crash');
        expect(crashed.getMinPhyOffset()).toBe(start);
        expect(crashed.getMaxPhyOffset()).toBe(master.getMaxPhyOffset());
        expectSameQueues(master, crashed, start);
      } finally {
        await crashed.shutdown();
      }
      expectSameLog(master, slave, start, master.getMaxPhyOffset());
      expectSameQueues(master, slave, start);
    } finally {
      await master.shutdown();
      await slave.shutdown();
    }
  });

  describe('restart with a partial unit pending', () => {
    /** Where in the stream the slave stops: inside a record, inside a BLANK header, inside the zero tail. */
    const cases: { name: string; stopAt: (r: ReturnType<typeof units>) => { stop: number; resume: number } }[] = [
      {
        name: 'inside a record',
        stopAt: (u) => {
          const r = u.records[17]!;
          return { stop: r.offset + Math.floor(r.size / 2), resume: r.offset };
        },
      },
      { name: 'inside a record header', stopAt: (u) => ({ stop: u.records[20]!.offset + 5, resume: u.records[20]!.offset }) },
      { name: 'inside a BLANK header', stopAt: (u) => ({ stop: u.blanks[1]! + 3, resume: u.blanks[1]! }) },
      { name: 'inside a BLANK\'s zero tail', stopAt: (u) => ({ stop: u.blanks[2]! + 60, resume: u.blanks[2]! }) },
    ];
    for (const c of cases) {
      it(`clean shutdown cuts it and the stream resumes at the last unit boundary (${c.name})`, async () => {
        const master = await started(tempDir());
        const slaveDir = tempDir();
        let slave = await slaveAt(slaveDir, { flushDiskType: 'SYNC_FLUSH' });
        try {
          await putN(master, 0, 80);
          const { stop, resume } = c.stopAt(units(master, 0, master.getMaxPhyOffset()));
          await copy(master, slave, randomChunks(31, 2000), 0, stop);
          expect(slave.getMaxPhyOffset()).toBe(stop); // counts the partial bytes
          await slave.shutdown();
          slave = await slaveAt(slaveDir, { flushDiskType: 'SYNC_FLUSH' });
          expect(slave.recoveryReport).toMatchObject({ mode: 'normal', truncatedBytes: 0 });
          expect(slave.getMaxPhyOffset()).toBe(resume);
          await copy(master, slave, randomChunks(32), resume);
          expectSameLog(master, slave, 0, master.getMaxPhyOffset());
          expectSameQueues(master, slave);
        } finally {
          await master.shutdown();
          await slave.shutdown();
        }
      });

      it(`a crash keeps only complete units and the stream resumes (${c.name})`, async () => {
        const master = await started(tempDir());
        const slaveDir = tempDir();
        const slave = await slaveAt(slaveDir);
        const crashDir = tempDir();
        try {
          await putN(master, 0, 80);
          const { stop } = c.stopAt(units(master, 0, master.getMaxPhyOffset()));
          await copy(master, slave, randomChunks(33, 2000), 0, stop);
          // A copy of the running slave's files is what a kill -9 leaves behind.
          cpSync(slaveDir, crashDir, { recursive: true });
          rmSync(join(crashDir, 'lock'), { force: true });
        } finally {
          await slave.shutdown();
        }
        const crashed = await slaveAt(crashDir);
        try {
          expect(crashed.recoveryReport?.mode).toBe('crash');
          const max = crashed.getMaxPhyOffset();
          const { resume } = c.stopAt(units(master, 0, master.getMaxPhyOffset()));
          // A BLANK whose zero tail was cut short still ends its segment: the next one follows.
          const inZeros = c.name.includes('zero tail');
          expect(max).toBe(inZeros ? resume - (resume % SEG) + SEG : resume);
          await copy(master, crashed, randomChunks(34), max);
          expectSameLog(master, crashed, 0, master.getMaxPhyOffset());
          expectSameQueues(master, crashed);
        } finally {
          await master.shutdown();
          await crashed.shutdown();
        }
      });
    }
  });

  it('resumes the stream after a failed write, re-reading the partial record on disk', async () => {
    let failWrites = 0;
    const io: StoreIo = {
      ...nodeStoreIo,
      writev: (fd, buffers, position) => (failWrites > 0 && failWrites-- > 0 ? Promise.reject(errnoError('EIO', 'injected')) : nodeStoreIo.writev(fd, buffers, position)),
    };
    const master = await started(tempDir());
    const slave = await slaveAt(tempDir(), { io });
    try {
      await putN(master, 0, 60);
      const { records } = units(master, 0, master.getMaxPhyOffset());
      const stop = records[25]!.offset + 40;
      await copy(master, slave, randomChunks(41, 1500), 0, stop);
      failWrites = 1;
      const next = master.getCommitLogData(stop, 3000)!;
      await expectRejects(slave.appendCommitLogData(stop, next), 'RMQ_STORE_IO', /EIO/);
      expect(slave.getMaxPhyOffset()).toBe(stop);
      // Pipelined chunks after a failing one fail with it.
      failWrites = 1;
      const a = master.getCommitLogData(stop, 100)!;
      const b = master.getCommitLogData(stop + 100, 2000)!;
      const results = await Promise.allSettled([slave.appendCommitLogData(stop, a), slave.appendCommitLogData(stop + 100, b)]);
      expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
      expect(slave.getMaxPhyOffset()).toBe(stop);
      await copy(master, slave, randomChunks(42), stop);
      expectSameLog(master, slave, 0, master.getMaxPhyOffset());
      expectSameQueues(master, slave);
    } finally {
      await master.shutdown();
      await slave.shutdown();
    }
  });

  it('flushes replicated data in the background under ASYNC_FLUSH', async () => {
    const master = await started(tempDir());
    const slave = await slaveAt(tempDir(), { flushIntervalCommitLog: 5 });
    try {
      await putN(master, 0, 40);
      await copy(master, slave, () => 32 * KiB, 0);
      const until = Date.now() + 5000;
      while (slave.stats().flushedOffset < slave.getMaxPhyOffset() && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
      expect(slave.stats().flushedOffset).toBe(slave.getMaxPhyOffset());
    } finally {
      await master.shutdown();
      await slave.shutdown();
    }
  });
});

describe('ReplicableStore: role changes', () => {
  it('promotion drops a partial record at once and puts continue the master\'s queue offsets', async () => {
    const master = await started(tempDir());
    const slaveDir = tempDir();
    let slave = await slaveAt(slaveDir);
    try {
      await putN(master, 0, 90);
      const { records } = units(master, 0, master.getMaxPhyOffset());
      const partial = records[60]!;
      await copy(master, slave, randomChunks(51), 0, partial.offset + 77);
      const expected = new Map<string, number>();
      for (const [topic, byQueue] of slave.queues()) for (const [q, b] of byQueue) expected.set(`${topic}/${q}`, b.maxOffset);

      expect(newStore(tempDir()).writable).toBe(true);
      slave.setWritable(true);
      expect(slave.getMaxPhyOffset()).toBe(partial.offset); // final on return
      const r = ok(await slave.putMessage(testMessage('Topic0', 0, 1000)));
      const a = r.appended[0]!;
      expect(a.physicalOffset).toBe(partial.offset);
      expect(a.queueOffset).toBe(expected.get('Topic0/0'));
      // Every queue the master had: its next put continues the master's numbering.
      for (const topic of ['Topic0', 'Topic1', 'Topic2']) {
        for (let q = 0; q < 4; q++) {
          const put = ok(await slave.putMessage(testMessage(topic, q, 5000 + q, { tags: 'after' })));
          const before = expected.get(`${topic}/${q}`);
          expect(before, `${topic}/${q}`).toBeGreaterThan(0);
          expect(put.appended[0]!.queueOffset, `${topic}/${q}`).toBe(before! + (topic === 'Topic0' && q === 0 ? 1 : 0));
        }
      }
      // The promoted store is a master for a new slave.
      const next = await slaveAt(tempDir());
      try {
        await copy(slave, next, randomChunks(52), 0);
        expectSameLog(slave, next, 0, slave.getMaxPhyOffset());
        expectSameQueues(slave, next);
      } finally {
        await next.shutdown();
      }
      const max = slave.getMaxPhyOffset();
      await slave.shutdown();
      slave = await started(slaveDir);
      expect(slave.recoveryReport?.mode).toBe('normal');
      expect(slave.getMaxPhyOffset()).toBe(max);
      const after = ok(await slave.putMessage(testMessage('Topic0', 0, 9999)));
      expect(after.appended[0]!.queueOffset).toBe(expected.get('Topic0/0')! + 2);
    } finally {
      await master.shutdown();
      await slave.shutdown();
    }
  });

  it('refuses puts on a writable store that holds a partial replicated record until promoted', async () => {
    const master = await started(tempDir());
    const store = await started(tempDir()); // never told it is a slave
    try {
      await putN(master, 0, 10);
      const { records } = units(master, 0, master.getMaxPhyOffset());
      await copy(master, store, () => 333, 0, records[5]!.offset + 10);
      const r = await store.putMessage(testMessage('Topic0', 0, 100));
      expect(r).toMatchObject({ status: 'SERVICE_NOT_AVAILABLE', remark: expect.stringMatching(/10 bytes of a replicated record/) as unknown });
      store.setWritable(true);
      expect(ok(await store.putMessage(testMessage('Topic0', 0, 100))).appended[0]!.physicalOffset).toBe(records[5]!.offset);
    } finally {
      await master.shutdown();
      await store.shutdown();
    }
  });

  it('waits for in-flight writes before dropping the partial record on promotion', async () => {
    const master = await started(tempDir());
    const slave = await slaveAt(tempDir(), { flushDiskType: 'SYNC_FLUSH' });
    try {
      await putN(master, 0, 30);
      const { records } = units(master, 0, master.getMaxPhyOffset());
      const stop = records[12]!.offset + 20;
      await copy(master, slave, () => 900, 0, records[10]!.offset);
      const last = slave.appendCommitLogData(records[10]!.offset, master.getCommitLogData(records[10]!.offset, stop - records[10]!.offset)!);
      slave.setWritable(true); // the chunk is still being written: the cut waits for it
      expect(slave.getMaxPhyOffset()).toBeLessThan(stop);
      const put = slave.putMessage(testMessage('Topic1', 1, 500));
      // Under SYNC_FLUSH the chunk waited for an fsync that the cut overtook.
      await expectRejects(last, 'RMQ_STORE_IO', /cut back to \d+ before these bytes were flushed/);
      const r = ok(await put);
      expect(r.appended[0]!.physicalOffset).toBe(records[12]!.offset);
      const before = master.getMessages('Topic1', 1, 0, { maxMsgNums: 64 }).messages.filter((m) => decodeMessageRecord(m)!.physicalOffset < records[12]!.offset);
      expect(r.appended[0]!.queueOffset).toBe(before.length);
    } finally {
      await master.shutdown();
      await slave.shutdown();
    }
  });

  it('truncateCommitLogTo lets a demoted master follow the new master', { timeout: 30_000 }, async () => {
    const oldDir = tempDir();
    let old = await started(oldDir);
    const promoted = await slaveAt(tempDir());
    try {
      await putN(old, 0, 50);
      const fork = old.getMaxPhyOffset();
      await copy(old, promoted, randomChunks(61), 0);
      promoted.setWritable(true);
      // Both take writes: the logs diverge at `fork`.
      await putN(promoted, 1000, 45, 'n');
      await putN(old, 2000, 60, 'o');
      const oldMax = old.getMaxPhyOffset();
      expect(oldMax - fork).toBeGreaterThan(2 * SEG);

      old.setWritable(false);
      // Not a record boundary / out of range: refused, nothing changes.
      await expectRejects(old.truncateCommitLogTo(fork + 1), 'RMQ_STORE_CORRUPT', /no record starts there/);
      await expectRejects(old.truncateCommitLogTo(oldMax + 1), 'RMQ_STORE_CORRUPT', /it holds \[0, /);
      await expectRejects(old.truncateCommitLogTo(-1), 'RMQ_STORE_CORRUPT', /it holds/);
      expect(old.getMaxPhyOffset()).toBe(oldMax);
      expect(await old.truncateCommitLogTo(oldMax)).toBe(0);

      const dropped = await old.truncateCommitLogTo(fork);
      expect(dropped).toBe(oldMax - fork);
      expect(old.getMaxPhyOffset()).toBe(fork);
      expect(old.getCommitLogData(fork, 10)).toBeUndefined();
      // Each queue is back where the fork left it.
      for (const [topic, byQueue] of old.queues()) {
        for (const [q, b] of byQueue) {
          const r = old.getMessages(topic, q, b.maxOffset - 1, { maxMsgNums: 1 });
          expect(decodeMessageRecord(r.messages[0]!)!.physicalOffset).toBeLessThan(fork);
        }
      }
      expect((await old.putMessage(msg(1))).status).toBe('SERVICE_NOT_AVAILABLE');

      // A crash right after the cut must not bring the old tail back (checkpoint and queues).
      const snapDir = tempDir();
      cpSync(oldDir, snapDir, { recursive: true });
      rmSync(join(snapDir, 'lock'), { force: true });
      const snap = await slaveAt(snapDir);
      try {
        expect(snap.getMaxPhyOffset()).toBe(fork);
        await copy(promoted, snap, randomChunks(62), fork);
        expectSameLog(promoted, snap, 0, promoted.getMaxPhyOffset());
        expectSameQueues(promoted, snap);
      } finally {
        await snap.shutdown();
      }

      await copy(promoted, old, randomChunks(63), fork);
      expectSameLog(promoted, old, 0, promoted.getMaxPhyOffset());
      expectSameQueues(promoted, old);
      await old.shutdown();
      old = await slaveAt(oldDir);
      expect(old.recoveryReport?.mode).toBe('normal');
      expectSameQueues(promoted, old);
    } finally {
      await old.shutdown();
      await promoted.shutdown();
    }
  });

  it('truncates at a BLANK, at a segment start and inside a partial replicated record', async () => {
    const master = await started(tempDir());
    try {
      await putN(master, 0, 60);
      const { blanks, records } = units(master, 0, master.getMaxPhyOffset());
      const segStart = blanks[2]! - (blanks[2]! % SEG) + SEG;
      const aDir = tempDir();
      const a = await slaveAt(aDir);
      let last = -1;
      try {
        await copy(master, a, randomChunks(71), 0);
        expect(await a.truncateCommitLogTo(segStart)).toBe(master.getMaxPhyOffset() - segStart);
        expect(await a.truncateCommitLogTo(blanks[2]!)).toBe(segStart - blanks[2]!);
        await copy(master, a, randomChunks(72), blanks[2]!);
        expectSameLog(master, a, 0, master.getMaxPhyOffset());
        expectSameQueues(master, a);
        // A partial record: its start is a valid cut point.
        const r = records.at(-3)!;
        expect(await a.truncateCommitLogTo(r.offset)).toBe(master.getMaxPhyOffset() - r.offset);
        await copy(master, a, () => 10, r.offset, r.offset + 30);
        expect(await a.truncateCommitLogTo(r.offset)).toBe(30);
        await copy(master, a, randomChunks(73), r.offset);
        expectSameLog(master, a, 0, master.getMaxPhyOffset());
        expectSameQueues(master, a);
        // Down to nothing: the queues go, and the stream can start again, even elsewhere.
        expect(await a.truncateCommitLogTo(0)).toBe(master.getMaxPhyOffset());
        expect(a.queues().size).toBe(0);
        expect(a.getMaxPhyOffset()).toBe(0);
        last = master.getMaxPhyOffset() - (master.getMaxPhyOffset() % SEG);
        await copy(master, a, randomChunks(74), last);
        expect(a.getMinPhyOffset()).toBe(last);
        expectSameQueues(master, a, last);
      } finally {
        await a.shutdown();
      }
      // The emptied segment 0 was deleted: the reopened log starts at `last`.
      const a2 = await slaveAt(aDir);
      try {
        expect(a2.recoveryReport?.mode).toBe('normal');
        expect(a2.getMinPhyOffset()).toBe(last);
        expect(segmentFiles(aDir)[0]).toBe(String(last).padStart(20, '0'));
        expectSameQueues(master, a2, last);
      } finally {
        await a2.shutdown();
      }
      const b = await started(tempDir());
      try {
        await copy(master, b, randomChunks(75), 0);
        // A put issued while a cut runs waits for it, then continues at the cut.
        const cut = b.truncateCommitLogTo(records[4]!.offset);
        const put = b.putMessage(testMessage('Topic2', 2, 77));
        await cut;
        const r = ok(await put);
        expect(r.appended[0]!.physicalOffset).toBe(records[4]!.offset);
        expect(r.appended[0]!.queueOffset).toBe(
          master.getMessages('Topic2', 2, 0, { maxMsgNums: 64 }).messages.filter((m) => decodeMessageRecord(m)!.physicalOffset < records[4]!.offset).length,
        );
      } finally {
        await b.shutdown();
      }
    } finally {
      await master.shutdown();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// kill -9 of a real process in the middle of replicating (the approach of
// default-message-store.kill.test.ts: the child runs the store's own sources, transpiled by
// child-store.testbed.ts).

const KILL_CONFIG = { mappedFileSizeCommitLog: SEG, maxMessageSize: 3 * KiB, mappedFileSizeConsumeQueue: 7 * 20, flushIntervalConsumeQueue: 30 };

// A master taking puts from 4 producers and a slave (SYNC_FLUSH) copying it in random chunks of
// 1..5000 bytes; prints "ack <end>" each time an append resolved (stdout on a pipe is synchronous).
const CHILD = `
const cfg = JSON.parse(process.argv[4]);
const master = new DefaultMessageStore({ storePathRootDir: process.argv[2], ...cfg });
const slave = new DefaultMessageStore({ storePathRootDir: process.argv[3], ...cfg, flushDiskType: 'SYNC_FLUSH' });
slave.setWritable(false);
await master.start();
await slave.start();
process.stdout.write('ready\\n');
producers(4, async (n) => {
  const tag = 't' + (n % 3);
  const body = Buffer.alloc(30 + ((n * 397) % (n % 10 === 0 ? 2500 : 400)), n % 251);
  const r = await master.putMessage({
    topic: 'KillTopic' + (n % 2), queueId: n % 4, flag: 0, sysFlag: 0, bornTimestamp: Date.now(), bornHost, storeHost,
    reconsumeTimes: 0, preparedTransactionOffset: 0, body,
    properties: encodeProperties({ UNIQ_KEY: 'K' + n, TAGS: tag }), tagsCode: tagsCode(tag), waitStoreMsgOK: false,
  });
  if (r.status !== 'PUT_OK') process.stdout.write('not-ok ' + r.status + '\\n');
  await new Promise((r) => setTimeout(r, 1));
});
for (;;) {
  const off = slave.getMaxPhyOffset();
  if (off >= master.getMaxPhyOffset()) {
    await new Promise((r) => setImmediate(r));
    continue;
  }
  const data = master.getCommitLogData(off, 1 + Math.floor(Math.random() * 5000));
  await slave.appendCommitLogData(off, data);
  process.stdout.write('ack ' + (off + data.length) + '\\n');
}
`;

/** What a store's commit-log files hold (read before the store is opened): [start, end) and the files. */
function commitLogFiles(dir: string): { start: number; end: number; files: { start: number; bytes: Buffer }[] } {
  const files = segmentFiles(dir).map((name) => ({ start: Number(name), bytes: readFileSync(join(dir, 'commitlog', name)) }));
  const last = files.at(-1);
  return { start: files[0]?.start ?? 0, end: last ? last.start + last.bytes.length : 0, files };
}

/** Every byte in `files` is the master's byte at the same offset. */
function expectSameBytes(master: ReplicableStore, left: ReturnType<typeof commitLogFiles>): void {
  for (const f of left.files) {
    for (let at = 0; at < f.bytes.length; ) {
      const x = master.getCommitLogData(f.start + at, f.bytes.length - at);
      expect(x, `master at ${f.start + at}`).toBeDefined();
      expect(x!.equals(f.bytes.subarray(at, at + x!.length)), `slave file bytes at ${f.start + at} differ from the master's`).toBe(true);
      at += x!.length;
    }
  }
}

/**
 * Where crash recovery must end a log whose files hold the master's bytes [0, filesEnd): at the
 * first record not wholly in the files, at a BLANK whose 8-byte header is not, or after the
 * last BLANK (whose zero tail may be cut short: it still ends its segment).
 */
function recoveredEnd(u: ReturnType<typeof units>, masterEnd: number, filesEnd: number): number {
  // Unit start → [bytes the files must hold for it to survive, where the next unit starts].
  const next = new Map<number, [number, number]>();
  for (const r of u.records) next.set(r.offset, [r.offset + r.size, r.offset + r.size]);
  for (const b of u.blanks) next.set(b, [b + 8, b - (b % SEG) + SEG]);
  for (let off = 0; off < masterEnd; ) {
    const unit = next.get(off);
    if (!unit) throw new Error(`no unit of the master starts at ${off}`);
    if (unit[0] > filesEnd) return off;
    off = unit[1];
  }
  return masterEnd;
}

describe('ReplicableStore: kill -9 of a slave mid-append', () => {
  const work = mkdtempSync(join(tmpdir(), 'rmq-repl-kill-'));
  dirs.push(work);
  beforeAll(() => prepareChildStore(work, CHILD));

  /** Runs the child until the slave acknowledged `killAfter` chunks, SIGKILLs it, returns the last acknowledged end. */
  async function runAndKill(masterDir: string, slaveDir: string, killAfter: number): Promise<number> {
    let acks = 0;
    let lastAck = 0;
    await runUntilKilled(work, [masterDir, slaveDir, JSON.stringify(KILL_CONFIG)], (line) => {
      const [kind, end] = line.split(' ');
      if (kind === 'ack') {
        lastAck = Number(end);
        return ++acks === killAfter;
      }
      if (kind !== 'ready') throw new Error(`child said: ${line}`);
      return false;
    });
    return lastAck;
  }

  for (const killAfter of [200, 2000]) {
    it(`recovers to a record boundary and the stream continues (killed after ${killAfter} chunks)`, { timeout: 120_000 }, async () => {
      const masterDir = join(work, `master-${killAfter}`);
      const slaveDir = join(work, `slave-${killAfter}`);
      const lastAck = await runAndKill(masterDir, slaveDir, killAfter);
      const left = commitLogFiles(slaveDir);
      const master = await started(masterDir, KILL_CONFIG);
      const slave = await slaveAt(slaveDir, { ...KILL_CONFIG, flushDiskType: 'SYNC_FLUSH' });
      try {
        expect(master.recoveryReport?.mode).toBe('crash');
        expect(slave.recoveryReport?.mode).toBe('crash');
        const max = slave.getMaxPhyOffset();
        const masterEnd = master.getMaxPhyOffset();
        const reports = `master ${JSON.stringify(master.recoveryReport)}, slave ${JSON.stringify(slave.recoveryReport)}`;
        // The slave's files only held bytes the master had written (and served) before the kill:
        // a kill -9 loses nothing from the page cache, so the master's recovery must keep them all.
        expect(masterEnd, `the master recovered to ${masterEnd}, below the ${left.end} bytes the slave's files held (${reports})`).toBeGreaterThanOrEqual(left.end);
        // ... and they are the master's bytes at the same offsets.
        expectSameBytes(master, left);
        expect(max).toBeLessThanOrEqual(masterEnd);
        // Every unit that was complete in the acknowledged bytes survived.
        const u = units(master, 0, masterEnd);
        let completeAcked = 0;
        for (const r of u.records) if (r.offset + r.size <= lastAck) completeAcked = Math.max(completeAcked, r.offset + r.size);
        for (const b of u.blanks) if (b - (b % SEG) + SEG <= lastAck) completeAcked = Math.max(completeAcked, b - (b % SEG) + SEG);
        expect(max).toBeGreaterThanOrEqual(completeAcked);
        // The recovered end is a unit boundary of the master's log: a record, a BLANK (the slave
        // died before it had the BLANK's 8-byte header) or the segment after a BLANK.
        const boundaries = new Set([...u.records.map((r) => r.offset), ...u.blanks, ...u.blanks.map((b) => b - (b % SEG) + SEG), masterEnd]);
        expect(boundaries.has(max), `slave ends at ${max} (${reports})`).toBe(true);
        // Exactly the one recovery must find: past every unit the slave's files held completely.
        expect(max, `slave ends at ${max}, its files held ${left.end} bytes (${reports})`).toBe(recoveredEnd(u, masterEnd, left.end));
        await copy(master, slave, randomChunks(killAfter), max);
        expectSameLog(master, slave, 0, master.getMaxPhyOffset());
        expectSameQueues(master, slave);
      } finally {
        await master.shutdown();
        await slave.shutdown();
      }
    });
  }
});
