import { cpSync, mkdtempSync, readdirSync, rmSync, statSync, unlinkSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeMessageRecord } from '../protocol/message.js';
import { parseDeleteWhen } from './clean-service.js';
import type { DiskUsageProbe } from './clean-service.js';
import { DefaultMessageStore } from './default-message-store.js';
import type { DefaultMessageStoreConfig } from './default-message-store.js';
import type { GetResult, PutResult } from './message-store.js';
import { testMessage } from './message-store.conformance.js';
import type { StoreLogger } from './store-common.js';
import { errnoError, nodeStoreIo } from './store-io.js';
import type { StoreIo } from './store-io.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'rmq-clean-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const KiB = 1024;
const HOUR = 3_600_000;
const SEGMENT = 4 * KiB;
const CQ_PER_FILE = 10;
/** 1100-byte bodies: records of about 1215 bytes, three per 4 KiB segment. */
const BODY = 1100;

class MemoryLogger implements StoreLogger {
  lines: { level: string; obj: Record<string, unknown>; msg?: string | undefined }[] = [];
  info(obj: object, msg?: string): void {
    this.lines.push({ level: 'info', obj: obj as Record<string, unknown>, msg });
  }
  warn(obj: object, msg?: string): void {
    this.lines.push({ level: 'warn', obj: obj as Record<string, unknown>, msg });
  }
  error(obj: object, msg?: string): void {
    this.lines.push({ level: 'error', obj: obj as Record<string, unknown>, msg });
  }
  rounds(): Record<string, unknown>[] {
    return this.lines.filter((l) => /^retention: deleted/.test(l.msg ?? '')).map((l) => l.obj);
  }
}

/** Local time `daysAhead` days from now at hh:30 (the deleteWhen check uses local hours). */
function atHour(hour: number, daysAhead: number): number {
  const d = new Date(Date.now() + daysAhead * 24 * HOUR);
  d.setHours(hour, 30, 0, 0);
  return d.getTime();
}

/**
 * A fixed clock a minute ahead and a deleteWhen hour that is not the clock's, so only disk
 * pressure (or a manual request) can trigger deletion.
 */
function offHours(): Pick<DefaultMessageStoreConfig, 'clock' | 'deleteWhen'> {
  const now = Date.now() + 60_000;
  return { clock: () => now, deleteWhen: String((new Date(now).getHours() + 12) % 24).padStart(2, '0') };
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}

function storeBytes(dir: string): number {
  let n = 0;
  for (const f of filesUnder(join(dir, 'commitlog'))) n += statSync(f).size;
  return n;
}

/** A disk at a fixed ratio, whatever is deleted. */
function fixedDisk(state: { ratio: number }): DiskUsageProbe {
  return () => ({ usedBytes: Math.round(state.ratio * 1e12), totalBytes: 1e12 });
}

function segments(dir: string): string[] {
  return readdirSync(join(dir, 'commitlog')).sort();
}

function cqFiles(dir: string, topic: string, queueId: number): string[] {
  return readdirSync(join(dir, 'consumequeue', topic, String(queueId))).sort();
}

function ok(r: PutResult): PutResult {
  expect(r.status, r.remark).toBe('PUT_OK');
  return r;
}

async function fill(store: DefaultMessageStore, topic: string, queueId: number, n: number, from = 0): Promise<PutResult[]> {
  const rs: PutResult[] = [];
  for (let i = from; i < from + n; i++) rs.push(ok(await store.putMessage(testMessage(topic, queueId, i, { body: Buffer.alloc(BODY, i % 251) }))));
  return rs;
}

function base(dir: string, over: Partial<DefaultMessageStoreConfig>): DefaultMessageStoreConfig {
  return {
    storePathRootDir: dir,
    mappedFileSizeCommitLog: SEGMENT,
    mappedFileSizeConsumeQueue: CQ_PER_FILE * 20,
    maxMessageSize: 3 * KiB,
    // Rounds run only when a test asks, unless it sets an interval.
    cleanResourceInterval: 3_600_000,
    diskUsage: fixedDisk({ ratio: 0.1 }),
    ...over,
  };
}

async function started(dir: string, over: Partial<DefaultMessageStoreConfig> = {}): Promise<DefaultMessageStore> {
  const s = new DefaultMessageStore(base(dir, over));
  await s.start();
  return s;
}

/** Ages a commit-log segment's modification time. */
function age(dir: string, name: string, hours: number): void {
  const t = new Date(Date.now() - hours * HOUR);
  utimesSync(join(dir, 'commitlog', name), t, t);
}

function firstQueueOffsetAtOrAbove(puts: PutResult[], commitLogMin: number): number {
  const hit = puts.find((p) => p.appended[0]!.physicalOffset >= commitLogMin);
  return hit!.appended[0]!.queueOffset;
}

// ---------------------------------------------------------------------------------------------

describe('retention configuration', () => {
  it('parses deleteWhen and rejects bad values', () => {
    expect([...parseDeleteWhen('04')]).toEqual([4]);
    expect([...parseDeleteWhen('04;16')]).toEqual([4, 16]);
    expect(() => parseDeleteWhen('24')).toThrow(/deleteWhen/);
    expect(() => parseDeleteWhen('4am')).toThrow(/deleteWhen/);
    expect(() => parseDeleteWhen('')).toThrow(/deleteWhen/);
    const dir = tempDir();
    expect(() => new DefaultMessageStore(base(dir, { deleteWhen: '04;x' }))).toThrow(/deleteWhen/);
    expect(() => new DefaultMessageStore(base(dir, { fileReservedTime: -1 }))).toThrow(/fileReservedTime/);
    expect(() => new DefaultMessageStore(base(dir, { cleanResourceInterval: 0 }))).toThrow(/cleanResourceInterval/);
    expect(() => new DefaultMessageStore(base(dir, { diskMaxUsedSpaceRatio: Number.NaN }))).toThrow(/diskMaxUsedSpaceRatio/);
    const logger = new MemoryLogger();
    new DefaultMessageStore(base(dir, { diskSpaceWarningLevelRatio: 97, logger }));
    expect(logger.lines.some((l) => l.level === 'warn' && l.obj.effective === 90)).toBe(true);
  });
});

describe('CleanService: expiry by time', () => {
  it('deletes expired segments only at a deleteWhen hour, oldest first, keeping the active one', async () => {
    const dir = tempDir();
    const logger = new MemoryLogger();
    let now = Date.now();
    const store = await started(dir, { deleteWhen: '04;16', clock: () => now, logger });
    const puts = await fill(store, 'T', 0, 30);
    expect(segments(dir).length).toBe(10);

    // Fresh files at 04:30: nothing has expired.
    now = atHour(4, 0) < Date.now() ? atHour(4, 0) : atHour(4, -1);
    expect((await store.runCleanRound()).commitLogFiles).toEqual([]);
    // Four days later, but at 05:30: expired, yet not the hour to delete.
    now = atHour(5, 4);
    const off = await store.runCleanRound();
    expect(off.reason).toBeUndefined();
    expect(off.commitLogFiles).toEqual([]);
    expect(segments(dir).length).toBe(10);
    expect(store.stats().lastCleanAt).toBe(now);

    // 16:30 four days later: everything but the segment being written goes.
    now = atHour(16, 4);
    const r = await store.runCleanRound();
    expect(r.reason).toBe('expired');
    expect(r.commitLogFiles.length).toBe(9);
    expect(segments(dir)).toEqual([String(9 * SEGMENT).padStart(20, '0')]);
    expect(store.stats()).toMatchObject({ commitLogMinOffset: 9 * SEGMENT, commitLogFilesDeleted: 9, lastCleanAt: now });
    expect(store.stats().bytesDeleted).toBeGreaterThan(9 * 3 * BODY);
    // One log line for the round, with what and why.
    const rounds = logger.rounds();
    expect(rounds).toHaveLength(1);
    expect(rounds[0]).toMatchObject({ reason: 'expired', commitLogFiles: 9, commitLogMinOffset: 9 * SEGMENT });

    // Puts and reads go on in the kept segment.
    const more = await fill(store, 'T', 0, 2, 30);
    const min = store.getMinOffsetInQueue('T', 0);
    expect(min).toBe(firstQueueOffsetAtOrAbove(puts, 9 * SEGMENT));
    const got = store.getMessages('T', 0, min, { maxMsgNums: 32 });
    expect(got.status).toBe('FOUND');
    expect(got.queueOffsets.at(-1)).toBe(more[1]!.appended[0]!.queueOffset);
    await store.shutdown();
  });

  it('stops at the first unexpired segment (never deletes from the middle)', async () => {
    const dir = tempDir();
    let now = Date.now();
    const store = await started(dir, { clock: () => now, deleteWhen: '04' });
    await fill(store, 'T', 0, 30);
    const names = segments(dir);
    age(dir, names[0]!, 100);
    age(dir, names[1]!, 100);
    age(dir, names[3]!, 100); // expired, but behind a fresh one
    now = Date.now() + 60_000;
    const d = new Date(now);
    d.setHours(4, 30, 0, 0);
    now = d.getTime();
    // 04:30 today may be before the fresh files were written: only the aged ones count as expired.
    const r = await store.runCleanRound();
    expect(r.commitLogFiles.map((f) => f.path.slice(-20))).toEqual([names[0], names[1]]);
    expect(segments(dir)).toEqual(names.slice(2));
    await store.shutdown();
  });

  it('runs rounds on its own every cleanResourceInterval and stops at shutdown', async () => {
    const dir = tempDir();
    const now = Date.now() + 60_000;
    const store = await started(dir, { clock: () => now, fileReservedTime: 0, deleteWhen: String(new Date(now).getHours()), cleanResourceInterval: 10 });
    await fill(store, 'T', 0, 12);
    // Rounds also run during the puts; in the end all but the active segment are gone.
    for (let i = 0; i < 200 && (store.stats().commitLogFilesDeleted ?? 0) < 3; i++) await new Promise((r) => setTimeout(r, 10));
    expect(store.stats().commitLogFilesDeleted).toBe(3);
    expect(segments(dir)).toHaveLength(1);
    expect(store.stats().lastCleanAt).toBe(now);
    await store.shutdown();
    const files = segments(dir);
    await new Promise((r) => setTimeout(r, 40));
    expect(segments(dir)).toEqual(files);
  });

  it('deletes expired files at any hour after a manual request', async () => {
    const dir = tempDir();
    const now = atHour(10, 4);
    const store = await started(dir, { clock: () => now, deleteWhen: '04' });
    await fill(store, 'T', 0, 9);
    expect((await store.runCleanRound()).commitLogFiles).toEqual([]);
    store.deleteExpiredFilesManually();
    const r = await store.runCleanRound();
    expect(r.reason).toBe('manual');
    expect(r.commitLogFiles.length).toBe(2);
    await store.shutdown();
  });
});

describe('CleanService: disk pressure', () => {
  it('above diskMaxUsedSpaceRatio deletes expired segments at any hour, but not fresh ones', async () => {
    const dir = tempDir();
    const logger = new MemoryLogger();
    const disk = { ratio: 0.8 };
    const store = await started(dir, { ...offHours(), diskUsage: fixedDisk(disk), logger });
    await fill(store, 'T', 0, 15);
    const names = segments(dir);
    expect((await store.runCleanRound()).commitLogFiles).toEqual([]);
    expect(logger.lines.some((l) => l.level === 'warn' && /no commit-log file has expired/.test(l.msg ?? ''))).toBe(true);
    age(dir, names[0]!, 73);
    const r = await store.runCleanRound();
    expect(r).toMatchObject({ reason: 'disk-usage', diskUsageRatio: 0.8, diskFull: false });
    expect(r.commitLogFiles.map((f) => f.path.slice(-20))).toEqual([names[0]]);
    expect(store.stats().diskUsageRatio).toBe(0.8);
    await store.shutdown();
  });

  it('above diskSpaceCleanForciblyRatio force-cleans unexpired segments oldest first, only as many as needed', async () => {
    const dir = tempDir();
    const logger = new MemoryLogger();
    // 100 KiB disk: about 36 KiB of commit log after the puts, other data filling it to 88 %.
    const total = 100 * KiB;
    const other = { bytes: 0 };
    const store = await started(dir, {
      ...offHours(),
      diskUsage: () => ({ usedBytes: other.bytes + storeBytes(dir), totalBytes: total }),
      logger,
    });
    const puts = await fill(store, 'T', 0, 30);
    other.bytes = Math.ceil(0.88 * total) - storeBytes(dir);
    const used = other.bytes + storeBytes(dir);
    expect(used / total).toBeGreaterThan(0.85);
    expect(used / total).toBeLessThan(0.9);
    // The fewest oldest segments that bring usage to 85 % or below.
    const sizes = segments(dir).map((n) => statSync(join(dir, 'commitlog', n)).size);
    let need = 0;
    for (let u = used; u / total > 0.85; u -= sizes[need++]!);

    const r = await store.runCleanRound();
    expect(r.reason).toBe('forced');
    expect(r.commitLogFiles.length).toBe(need);
    expect(r.diskUsageRatio).toBeLessThanOrEqual(0.85);
    expect(segments(dir).length).toBe(10 - need);
    expect(logger.rounds()[0]).toMatchObject({ reason: 'forced', commitLogFiles: need });
    // Below the forcing level now, and nothing has expired: the next round deletes nothing.
    expect((await store.runCleanRound()).commitLogFiles).toEqual([]);
    const min = store.getMinOffsetInQueue('T', 0);
    expect(min).toBe(firstQueueOffsetAtOrAbove(puts, need * SEGMENT));
    await store.shutdown();
  });

  it('deletes at most deleteFileBatchMax per round and never the segment being written', async () => {
    const dir = tempDir();
    const disk = { ratio: 0.99 };
    const store = await started(dir, { ...offHours(), diskUsage: fixedDisk(disk), deleteFileBatchMax: 4 });
    // 99 % is past the hard limit too; let the puts in first.
    disk.ratio = 0.5;
    await store.runCleanRound();
    await fill(store, 'T', 0, 31); // 11 segments, the last one holding one record
    disk.ratio = 0.99;
    const counts: number[] = [];
    for (let i = 0; i < 5; i++) counts.push((await store.runCleanRound()).commitLogFiles.length);
    expect(counts).toEqual([4, 4, 2, 0, 0]);
    expect(segments(dir)).toEqual([String(10 * SEGMENT).padStart(20, '0')]);
    expect(store.stats().commitLogMinOffset).toBe(10 * SEGMENT);
    // The active segment still takes writes once usage drops.
    disk.ratio = 0.5;
    await store.runCleanRound();
    const more = await fill(store, 'T', 0, 1, 31);
    expect(more[0]!.appended[0]!.physicalOffset).toBeGreaterThan(10 * SEGMENT);
    expect(store.getMessages('T', 0, store.getMinOffsetInQueue('T', 0), { maxMsgNums: 8 }).messages).toHaveLength(2);
    await store.shutdown();
  });

  it('never deletes data that is not flushed and checkpointed', async () => {
    const dir = tempDir();
    const disk = { ratio: 0.5 };
    let failFsync = false;
    const io: StoreIo = {
      ...nodeStoreIo,
      fsync: (fd) => (failFsync ? Promise.reject(errnoError('EIO', 'injected')) : nodeStoreIo.fsync(fd)),
    };
    const logger = new MemoryLogger();
    const store = await started(dir, {
      ...offHours(),
      diskUsage: fixedDisk(disk),
      io,
      logger,
      flushIntervalCommitLog: 3_600_000,
      flushIntervalConsumeQueue: 3_600_000,
    });
    failFsync = true;
    await fill(store, 'T', 0, 15);
    disk.ratio = 0.88;
    const r = await store.runCleanRound();
    expect(r.commitLogFiles).toEqual([]);
    expect(segments(dir).length).toBe(5);
    expect(logger.lines.some((l) => /checkpoint before cleaning failed/.test(l.msg ?? ''))).toBe(true);
    failFsync = false;
    expect((await store.runCleanRound()).commitLogFiles.length).toBe(4);
    await store.shutdown();
  });
});

describe('CleanService: disk full', () => {
  it('refuses puts above diskSpaceWarningLevelRatio and accepts them again when usage drops', async () => {
    const dir = tempDir();
    const logger = new MemoryLogger();
    const disk = { ratio: 0.95 };
    const store = await started(dir, { ...offHours(), diskUsage: fixedDisk(disk), logger });
    // Probed at start: refused before any round.
    const r1 = await store.putMessage(testMessage('T', 0, 0));
    expect(r1.status).toBe('SERVICE_NOT_AVAILABLE');
    expect(r1.appended).toEqual([]);
    expect(r1.remark).toMatch(/disk full: 95\.0% .*diskSpaceWarningLevelRatio 90%/);
    const batch = await store.putMessages([testMessage('T', 0, 0), testMessage('T', 0, 1)]);
    expect(batch.status).toBe('SERVICE_NOT_AVAILABLE');
    expect(store.stats()).toMatchObject({ diskFull: true, diskUsageRatio: 0.95 });
    expect(logger.lines.some((l) => l.level === 'error' && /refusing puts/.test(l.msg ?? ''))).toBe(true);
    expect(store.getMaxOffsetInQueue('T', 0)).toBe(0);

    disk.ratio = 0.6;
    const round = await store.runCleanRound();
    expect(round.diskFull).toBe(false);
    ok(await store.putMessage(testMessage('T', 0, 0)));
    expect(store.stats().diskFull).toBe(false);
    expect(logger.lines.some((l) => l.level === 'info' && /accepting puts/.test(l.msg ?? ''))).toBe(true);

    // Set again by a later round.
    disk.ratio = 0.91;
    await store.runCleanRound();
    expect((await store.putMessage(testMessage('T', 0, 1))).remark).toMatch(/disk full: 91\.0%/);
    await store.shutdown();
  });

  it('accepts puts again in the same round that frees enough space', async () => {
    const dir = tempDir();
    const total = 100 * KiB;
    const other = { bytes: 0 };
    const store = await started(dir, {
      ...offHours(),
      diskUsage: () => ({ usedBytes: other.bytes + storeBytes(dir), totalBytes: total }),
    });
    await fill(store, 'T', 0, 30);
    other.bytes = Math.ceil(0.92 * total) - storeBytes(dir);
    await store.runCleanRound();
    // The round that saw 92 % also force-cleaned below 85 %.
    expect(store.stats().diskFull).toBe(false);
    expect(store.stats().diskUsageRatio).toBeLessThanOrEqual(0.85);
    ok(await store.putMessage(testMessage('T', 0, 30)));
    await store.shutdown();
  });

  it('does not need a working probe', async () => {
    const dir = tempDir();
    const logger = new MemoryLogger();
    const store = await started(dir, {
      logger,
      diskUsage: () => {
        throw new Error('statfs not supported');
      },
    });
    ok(await store.putMessage(testMessage('T', 0, 0)));
    const r = await store.runCleanRound();
    expect(r.diskUsageRatio).toBeUndefined();
    expect(store.stats().diskUsageRatio).toBeUndefined();
    expect(logger.lines.some((l) => l.level === 'warn' && /cannot measure disk usage/.test(l.msg ?? ''))).toBe(true);
    await store.shutdown();
  });

  it('measures the real disk by default', async () => {
    const dir = tempDir();
    const store = await started(dir, { diskUsage: undefined });
    const ratio = store.stats().diskUsageRatio;
    expect(ratio).toBeGreaterThan(0);
    expect(ratio).toBeLessThanOrEqual(1);
    await store.shutdown();
  });
});

describe('CleanService: consume queues', () => {
  it('deletes consume-queue files below the commit-log min offset and advances min offsets', async () => {
    const dir = tempDir();
    const logger = new MemoryLogger();
    const now = Date.now() + 60_000;
    const store = await started(dir, { clock: () => now, fileReservedTime: 0, deleteWhen: String(new Date(now).getHours()), deleteFileBatchMax: 100, logger });
    // Small messages for B (many entries per segment) interleaved with big ones for A.
    const a: PutResult[] = [];
    const b: PutResult[] = [];
    for (let i = 0; i < 27; i++) {
      a.push(...(await fill(store, 'A', 0, 1, i)));
      for (let k = 0; k < 2; k++) b.push(ok(await store.putMessage(testMessage('B', 1, i * 2 + k))));
    }
    // C is written only at the start: it expires completely.
    for (let i = 0; i < 25; i++) ok(await store.putMessage(testMessage('C', 0, i)));
    a.push(...(await fill(store, 'A', 0, 8, 27)));

    const r = await store.runCleanRound();
    const clMin = store.stats().commitLogMinOffset;
    expect(clMin).toBeGreaterThan(0);
    expect(r.commitLogMinOffset).toBe(clMin);
    const minA = store.getMinOffsetInQueue('A', 0);
    const minB = store.getMinOffsetInQueue('B', 1);
    expect(minA).toBe(firstQueueOffsetAtOrAbove(a, clMin));
    expect(minB).toBe(b.find((p) => p.appended[0]!.physicalOffset >= clMin)?.appended[0]!.queueOffset ?? 54);
    expect(store.getMinOffsetInQueue('C', 0)).toBe(25);
    expect(store.getMaxOffsetInQueue('C', 0)).toBe(25);

    // Files wholly below the new min are gone; the last file of each queue stays.
    for (const [topic, q, min] of [['A', 0, minA], ['B', 1, minB], ['C', 0, 25]] as const) {
      const files = cqFiles(dir, topic, q);
      expect(files.length).toBeGreaterThan(0);
      const first = Number(files[0]) / 20;
      expect(first + CQ_PER_FILE > min || files.length === 1).toBe(true);
    }
    expect(cqFiles(dir, 'C', 0)).toEqual([String(20 * 20).padStart(20, '0')]);
    const expected = (min: number, max: number): number => Math.min(Math.floor(min / CQ_PER_FILE), Math.ceil(max / CQ_PER_FILE) - 1);
    expect(r.consumeQueueFiles.length).toBe(expected(minA, 35) + expected(minB, 54) + expected(25, 25));
    expect(cqFiles(dir, 'A', 0).length).toBe(4 - expected(minA, 35));
    expect(store.stats().consumeQueueFilesDeleted).toBe(r.consumeQueueFiles.length);
    expect(store.stats().filesDeleted).toBe(r.commitLogFiles.length + r.consumeQueueFiles.length);

    // Pull semantics over the new bounds.
    const small = store.getMessages('A', 0, 0, { maxMsgNums: 4 });
    expect(small).toMatchObject({ status: 'OFFSET_TOO_SMALL', nextBeginOffset: minA, minOffset: minA });
    const found = store.getMessages('A', 0, minA, { maxMsgNums: 64 });
    expect(found.status).toBe('FOUND');
    expect(found.queueOffsets[0]).toBe(minA);
    expect(found.queueOffsets.at(-1)).toBe(34);
    expect(store.getMessages('C', 0, 0, { maxMsgNums: 4 })).toMatchObject({ status: 'OFFSET_TOO_SMALL', nextBeginOffset: 25 });
    expect(store.getMessages('C', 0, 25, { maxMsgNums: 4 }).status).toBe('OFFSET_OVERFLOW_ONE');
    expect(store.getEarliestMessageTime('C', 0)).toBe(-1);
    expect(store.getOffsetInQueueByTime('A', 0, 0)).toBe(minA);
    expect(store.queues().get('A')!.get(0)).toEqual({ minOffset: minA, maxOffset: 35 });
    // A queue that expired completely keeps taking messages at its max offset.
    const c = ok(await store.putMessage(testMessage('C', 0, 25)));
    expect(c.appended[0]!.queueOffset).toBe(25);
    expect(store.getMessages('C', 0, 25, { maxMsgNums: 4 }).status).toBe('FOUND');
    expect(logger.rounds()).toHaveLength(1);
    await store.shutdown();
  });
});

describe('CleanService: concurrency', () => {
  it('reads and puts racing deletion see missing data, never a crash', async () => {
    const dir = tempDir();
    const now = Date.now() + 60_000;
    const store = await started(dir, {
      clock: () => now,
      fileReservedTime: 0,
      deleteWhen: String(new Date(now).getHours()),
      flushIntervalConsumeQueue: 2,
      flushIntervalCommitLog: 1,
    });
    const firstPut = (await fill(store, 'R', 0, 1))[0]!;
    const held = store.getMessages('R', 0, 0, { maxMsgNums: 1 });
    let producing = true;
    const producer = (async () => {
      for (let i = 1; i < 240; i++) {
        ok(await store.putMessage(testMessage('R', i % 2, i, { body: Buffer.alloc(BODY, i % 251) })));
        if (i % 7 === 0) await new Promise((r) => setTimeout(r, 1));
      }
      producing = false;
    })();
    let rounds = 0;
    const cleaner = (async () => {
      while (producing) {
        await store.runCleanRound();
        rounds++;
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    const statuses = new Map<string, number>();
    // Queue 0 is pulled as fast as possible; queue 1 slowly, one message at a time, so the
    // deletion overtakes it.
    const consumer = async (queueId: number, maxMsgNums: number, pauseMs: number): Promise<void> => {
      let offset = 0;
      let idle = 0;
      // The slow one starts from 0 after the first deletion: it is behind from the start.
      while (pauseMs > 0 && producing && (store.stats().commitLogFilesDeleted ?? 0) === 0) await new Promise((res) => setTimeout(res, 1));
      while (producing || idle < 3) {
        let r: GetResult;
        try {
          r = store.getMessages('R', queueId, offset, { maxMsgNums });
        } catch (err) {
          throw new Error(`getMessages threw at ${offset}: ${String(err)}`);
        }
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        if (r.status === 'FOUND') {
          r.messages.forEach((m, i) => {
            const d = decodeMessageRecord(m, 0, true)!;
            expect(d.queueOffset).toBe(r.queueOffsets[i]);
            expect(d.queueId).toBe(queueId);
          });
        } else if (r.status === 'OFFSET_TOO_SMALL') {
          expect(r.nextBeginOffset).toBe(r.minOffset);
        }
        if (r.status === 'OFFSET_OVERFLOW_ONE') idle = producing ? 0 : idle + 1;
        offset = r.nextBeginOffset;
        // Replication-style raw reads and lookups by offset across the moving head.
        const min = store.stats().commitLogMinOffset;
        if (min > 0) expect(store.lookMessageByOffset(min - SEGMENT)).toBeUndefined();
        store.getEarliestMessageTime('R', queueId);
        await new Promise((res) => (pauseMs > 0 ? setTimeout(res, pauseMs) : setImmediate(res)));
      }
    };
    await Promise.all([producer, cleaner, consumer(0, 4, 0), consumer(1, 1, 5)]);
    expect(statuses.get('OFFSET_TOO_SMALL') ?? 0).toBeGreaterThan(0);
    expect(rounds).toBeGreaterThan(3);
    expect(store.stats().commitLogFilesDeleted).toBeGreaterThan(10);
    // Min offsets move together with the commit log: entries never point at deleted data.
    expect(statuses.get('OFFSET_FOUND_NULL') ?? 0).toBe(0);
    expect(statuses.get('FOUND') ?? 0).toBeGreaterThan(0);
    // Bytes handed out before the deletion stay valid (they are copies).
    expect(decodeMessageRecord(held.messages[0]!, 0, true)!.queueOffset).toBe(0);
    expect(store.lookMessageByOffset(firstPut.appended[0]!.physicalOffset)).toBeUndefined();
    const replica = store as unknown as { getCommitLogData?: (offset: number, max: number) => Buffer | undefined };
    if (typeof replica.getCommitLogData === 'function') expect(replica.getCommitLogData(0, 1024)).toBeUndefined();
    for (const q of [0, 1]) {
      const min = store.getMinOffsetInQueue('R', q);
      const all = store.getMessages('R', q, min, { maxMsgNums: 1000 });
      expect(all.messages.length).toBe(store.getMaxOffsetInQueue('R', q) - min);
    }
    await store.shutdown();
  });
});

describe('CleanService: restart', () => {
  async function cleaned(dir: string): Promise<{ store: DefaultMessageStore; puts: PutResult[]; clMin: number; minA: number }> {
    const now = Date.now() + 60_000;
    const store = await started(dir, { clock: () => now, fileReservedTime: 0, deleteWhen: String(new Date(now).getHours()), deleteFileBatchMax: 100 });
    const puts = await fill(store, 'A', 0, 40);
    await store.runCleanRound();
    const clMin = store.stats().commitLogMinOffset;
    expect(clMin).toBe(13 * SEGMENT);
    const minA = store.getMinOffsetInQueue('A', 0);
    expect(minA).toBe(firstQueueOffsetAtOrAbove(puts, clMin));
    return { store, puts, clMin, minA };
  }

  it('keeps min offsets advanced after a clean restart, without rescanning the log', async () => {
    const dir = tempDir();
    const { store, clMin, minA } = await cleaned(dir);
    await store.shutdown();
    const s2 = await started(dir);
    expect(s2.recoveryReport).toMatchObject({ mode: 'normal', redispatched: 0, truncatedBytes: 0 });
    expect(s2.recoveryReport!.scannedFrom).toBeGreaterThanOrEqual(clMin);
    expect(s2.stats().commitLogMinOffset).toBe(clMin);
    expect(s2.getMinOffsetInQueue('A', 0)).toBe(minA);
    expect(s2.getMaxOffsetInQueue('A', 0)).toBe(40);
    expect(s2.getMessages('A', 0, 0, { maxMsgNums: 4 })).toMatchObject({ status: 'OFFSET_TOO_SMALL', nextBeginOffset: minA });
    expect(s2.getMessages('A', 0, minA, { maxMsgNums: 64 }).messages).toHaveLength(40 - minA);
    const next = await fill(s2, 'A', 0, 1, 40);
    expect(next[0]!.appended[0]).toMatchObject({ queueOffset: 40 });
    await s2.shutdown();
  });

  it('recovers after a crash that followed a cleanup', async () => {
    const dir = tempDir();
    const { store, clMin, minA } = await cleaned(dir);
    await fill(store, 'A', 0, 2, 40);
    // A copy of the running store is what a kill -9 leaves behind (abort marker present).
    const copy = tempDir();
    cpSync(dir, copy, { recursive: true });
    await store.shutdown();
    const s2 = await started(copy);
    expect(s2.recoveryReport!.mode).toBe('crash');
    expect(s2.stats().commitLogMinOffset).toBe(clMin);
    expect(s2.getMinOffsetInQueue('A', 0)).toBe(minA);
    expect(s2.getMaxOffsetInQueue('A', 0)).toBe(42);
    expect(s2.getMessages('A', 0, minA, { maxMsgNums: 64 }).messages).toHaveLength(42 - minA);
    await s2.shutdown();
  });

  it('recovers when segments went but their consume-queue files did not (crash between the two)', async () => {
    const dir = tempDir();
    const store = await started(dir);
    const puts = await fill(store, 'A', 0, 40);
    await store.shutdown();
    const names = segments(dir);
    for (const n of names.slice(0, 5)) unlinkSync(join(dir, 'commitlog', n));
    const cqBefore = cqFiles(dir, 'A', 0);
    const s2 = await started(dir, offHours());
    const minA = firstQueueOffsetAtOrAbove(puts, 5 * SEGMENT);
    expect(s2.stats().commitLogMinOffset).toBe(5 * SEGMENT);
    expect(s2.getMinOffsetInQueue('A', 0)).toBe(minA);
    expect(s2.getMessages('A', 0, minA, { maxMsgNums: 64 }).messages).toHaveLength(40 - minA);
    // The first round removes the orphaned consume-queue files even though no segment expired.
    const r = await s2.runCleanRound();
    expect(r.commitLogFiles).toEqual([]);
    expect(r.reason).toBe('consume-queue');
    expect(r.consumeQueueFiles.length).toBe(Math.floor(minA / CQ_PER_FILE));
    expect(cqFiles(dir, 'A', 0)).toEqual(cqBefore.slice(Math.floor(minA / CQ_PER_FILE)));
    await s2.shutdown();
    const s3 = await started(dir);
    expect(s3.getMinOffsetInQueue('A', 0)).toBe(minA);
    expect(s3.recoveryReport!.mode).toBe('normal');
    await s3.shutdown();
  });
});
