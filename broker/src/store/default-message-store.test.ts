import { cpSync, existsSync, mkdtempSync, openSync, closeSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync, writeSync, appendFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MAGIC_BLANK, decodeMessageRecord, tagsCode } from '../protocol/message.js';
import { DefaultMessageStore } from './default-message-store.js';
import type { DefaultMessageStoreConfig } from './default-message-store.js';
import type { GetResult, PutResult } from './message-store.js';
import { runMessageStoreConformance, testMessage } from './message-store.conformance.js';
import type { StoreLogger } from './store-common.js';
import { errnoError, nodeStoreIo } from './store-io.js';
import type { StoreIo } from './store-io.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'rmq-store-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const KiB = 1024;

function newStore(dir: string, over: Partial<DefaultMessageStoreConfig> = {}): DefaultMessageStore {
  return new DefaultMessageStore({
    storePathRootDir: dir,
    mappedFileSizeCommitLog: 64 * KiB,
    mappedFileSizeConsumeQueue: 10 * 20,
    maxMessageSize: 16 * KiB,
    ...over,
  });
}

async function started(dir: string, over: Partial<DefaultMessageStoreConfig> = {}): Promise<DefaultMessageStore> {
  const s = newStore(dir, over);
  await s.start();
  return s;
}

class MemoryLogger implements StoreLogger {
  lines: { level: string; obj: object; msg?: string | undefined }[] = [];
  info(obj: object, msg?: string): void {
    this.lines.push({ level: 'info', obj, msg });
  }
  warn(obj: object, msg?: string): void {
    this.lines.push({ level: 'warn', obj, msg });
  }
  error(obj: object, msg?: string): void {
    this.lines.push({ level: 'error', obj, msg });
  }
}

function ok(r: PutResult): PutResult {
  expect(r.status, r.remark).toBe('PUT_OK');
  return r;
}

function bodies(r: GetResult): string[] {
  return r.messages.map((m) => decodeMessageRecord(m)!.body.toString());
}

function segments(dir: string): string[] {
  return readdirSync(join(dir, 'commitlog')).sort();
}

function lastSegment(dir: string): string {
  return join(dir, 'commitlog', segments(dir).at(-1)!);
}

/** Node I/O whose fsyncs, while `hang` is set, wait until release() (which also clears `hang`). */
interface FsyncGate {
  io: StoreIo;
  hang: boolean;
  stuck: (() => void)[];
  release(): void;
}

function fsyncGate(): FsyncGate {
  const gate: FsyncGate = {
    hang: false,
    stuck: [],
    io: {
      ...nodeStoreIo,
      fsync: async (fd) => {
        if (gate.hang) await new Promise<void>((resolve) => gate.stuck.push(resolve));
        return nodeStoreIo.fsync(fd);
      },
    },
    release() {
      gate.hang = false;
      for (const release of gate.stuck) release();
    },
  };
  return gate;
}

async function fill(store: DefaultMessageStore, topic: string, queueId: number, n: number, from = 0): Promise<PutResult[]> {
  const rs: PutResult[] = [];
  for (let i = from; i < from + n; i++) rs.push(ok(await store.putMessage(testMessage(topic, queueId, i, { tags: `tag${i % 3}` }))));
  return rs;
}

// ---------------------------------------------------------------------------------------------

const combos: { name: string; cfg: Partial<DefaultMessageStoreConfig> }[] = [
  { name: 'ASYNC_FLUSH, 64 KiB segments, 10-entry queue files', cfg: { flushDiskType: 'ASYNC_FLUSH' } },
  { name: 'SYNC_FLUSH, 64 KiB segments, 10-entry queue files', cfg: { flushDiskType: 'SYNC_FLUSH' } },
  {
    name: 'SYNC_FLUSH, 4 KiB segments, 7-entry queue files, fast checkpoints',
    cfg: { flushDiskType: 'SYNC_FLUSH', mappedFileSizeCommitLog: 4 * KiB, maxMessageSize: 3 * KiB, mappedFileSizeConsumeQueue: 7 * 20, flushIntervalConsumeQueue: 5 },
  },
  {
    name: 'ASYNC_FLUSH, 4 KiB segments, fast flushes',
    cfg: { flushDiskType: 'ASYNC_FLUSH', mappedFileSizeCommitLog: 4 * KiB, maxMessageSize: 3 * KiB, flushIntervalCommitLog: 1, flushIntervalConsumeQueue: 3 },
  },
  { name: 'ASYNC_FLUSH, default sizes', cfg: { mappedFileSizeCommitLog: undefined, mappedFileSizeConsumeQueue: undefined, maxMessageSize: undefined } },
];

for (const { name, cfg } of combos) {
  runMessageStoreConformance(`DefaultMessageStore (${name})`, () => {
    const dir = tempDir();
    const store = newStore(dir, cfg);
    return {
      store,
      maxMessageSize: cfg.maxMessageSize === undefined && 'maxMessageSize' in cfg ? 4 * 1024 * 1024 : (cfg.maxMessageSize ?? 16 * KiB),
      dispose: () => rmSync(dir, { recursive: true, force: true }),
    };
  });
}

// ---------------------------------------------------------------------------------------------

describe('DefaultMessageStore on disk', () => {
  it('rejects invalid configuration and caps maxMessageSize at the segment size', async () => {
    const dir = tempDir();
    const logger = new MemoryLogger();
    const capped = await started(dir, { mappedFileSizeCommitLog: 4 * KiB, maxMessageSize: 64 * KiB, logger });
    expect(logger.lines.some((l) => l.level === 'warn' && /maxMessageSize/.test(l.msg ?? ''))).toBe(true);
    const big = await capped.putMessage(testMessage('Cap', 0, 0, { body: Buffer.alloc(4 * KiB) }));
    expect(big).toMatchObject({ status: 'MESSAGE_ILLEGAL', remark: expect.stringMatching(/maxMessageSize 4088/) as unknown });
    ok(await capped.putMessage(testMessage('Cap', 0, 1, { body: Buffer.alloc(3 * KiB) })));
    await capped.shutdown();
    expect(() => newStore(dir, { mappedFileSizeConsumeQueue: 1001 })).toThrow(/multiple of 20/);
    expect(() => newStore(dir, { mappedFileSizeCommitLog: -1 })).toThrow(/mappedFileSizeCommitLog/);
    expect(() => newStore(dir, { flushDiskType: 'SOMETIMES' as never })).toThrow(/flushDiskType/);
  });

  it('keeps everything across a clean restart and continues the offsets', async () => {
    const dir = tempDir();
    const s1 = await started(dir);
    for (let t = 0; t < 3; t++) await fill(s1, `Topic${t}`, t, 12);
    const before = s1.getMessages('Topic1', 1, 0, { maxMsgNums: 32 });
    const end = s1.stats().commitLogMaxOffset;
    await s1.shutdown();
    expect(existsSync(join(dir, 'abort'))).toBe(false);
    expect(existsSync(join(dir, 'lock'))).toBe(false);

    const s2 = await started(dir);
    expect(s2.recoveryReport).toMatchObject({ mode: 'normal', scannedBytes: 0, truncatedBytes: 0, redispatched: 0, commitLogEnd: end });
    expect(existsSync(join(dir, 'abort'))).toBe(true);
    const after = s2.getMessages('Topic1', 1, 0, { maxMsgNums: 32 });
    expect(after.messages.map((b) => b.toString('hex'))).toEqual(before.messages.map((b) => b.toString('hex')));
    expect(s2.queues().get('Topic2')?.get(2)).toEqual({ minOffset: 0, maxOffset: 12 });
    const next = ok(await s2.putMessage(testMessage('Topic1', 1, 12))).appended[0]!;
    expect(next.queueOffset).toBe(12);
    expect(next.physicalOffset).toBe(end);
    const lastBefore = decodeMessageRecord(before.messages.at(-1)!)!.storeTimestamp;
    expect(next.storeTimestamp).toBeGreaterThanOrEqual(lastBefore);
    await s2.shutdown();

    const s3 = await started(dir);
    expect(s3.getMaxOffsetInQueue('Topic1', 1)).toBe(13);
    await s3.shutdown();
  });

  it('names segments by 20-digit offsets and ends a full segment with a BLANK', async () => {
    const dir = tempDir();
    const segSize = 4 * KiB;
    const store = await started(dir, { mappedFileSizeCommitLog: segSize, maxMessageSize: 2 * KiB });
    const rs: PutResult[] = [];
    for (let i = 0; i < 30; i++) rs.push(ok(await store.putMessage(testMessage('Seg', 0, i, { body: Buffer.alloc(200, i) }))));
    const k = rs.findIndex((r) => r.appended[0]!.physicalOffset >= segSize);
    expect(rs[k]!.appended[0]!.physicalOffset).toBe(segSize);
    const prev = rs[k - 1]!.appended[0]!;
    const blankAt = prev.physicalOffset + prev.size;
    // The next record (plus 8 spare bytes) did not fit in what was left.
    expect(rs[k]!.appended[0]!.size + 8).toBeGreaterThan(segSize - blankAt);
    expect(segments(dir).slice(0, 2)).toEqual(['00000000000000000000', '00000000000000004096']);
    const seg0 = readFileSync(join(dir, 'commitlog', '00000000000000000000'));
    expect(seg0.readInt32BE(blankAt)).toBe(segSize - blankAt);
    expect(seg0.readInt32BE(blankAt + 4)).toBe(MAGIC_BLANK);
    // Every record sits where its offset says and names that offset.
    for (const r of rs) {
      const a = r.appended[0]!;
      const seg = readFileSync(join(dir, 'commitlog', String(a.physicalOffset - (a.physicalOffset % segSize)).padStart(20, '0')));
      const rec = decodeMessageRecord(seg, a.physicalOffset % segSize, true)!;
      expect(rec.physicalOffset).toBe(a.physicalOffset);
      expect(rec.queueOffset).toBe(a.queueOffset);
    }
    expect(bodies(store.getMessages('Seg', 0, 0, { maxMsgNums: 32 }))).toHaveLength(30);
    await store.shutdown();
    // Consume-queue files: 10 entries (200 bytes) each, named by byte offset.
    expect(readdirSync(join(dir, 'consumequeue', 'Seg', '0')).sort()).toEqual([
      '00000000000000000000',
      '00000000000000000200',
      '00000000000000000400',
    ]);
    expect(statSync(join(dir, 'consumequeue', 'Seg', '0', '00000000000000000400')).size).toBe(10 * 20);
  });

  it('serves entries from both flushed consume-queue files and the in-memory tail', async () => {
    const dir = tempDir();
    const store = await started(dir, { flushIntervalConsumeQueue: 10 });
    await fill(store, 'Mixed', 0, 25);
    await new Promise((r) => setTimeout(r, 80));
    expect(statSync(join(dir, 'consumequeue', 'Mixed', '0', '00000000000000000400')).size).toBe(5 * 20);
    await fill(store, 'Mixed', 0, 10, 25);
    const all = store.getMessages('Mixed', 0, 0, { maxMsgNums: 64 });
    expect(bodies(all)).toEqual(Array.from({ length: 35 }, (_, i) => `Mixed/0/${i}`));
    await store.shutdown();
  });

  describe('recovery', () => {
    it('truncates garbage after the last record and reports it', async () => {
      const dir = tempDir();
      const s1 = await started(dir);
      await fill(s1, 'Torn', 0, 20);
      const end = s1.stats().commitLogMaxOffset;
      await s1.shutdown();
      appendFileSync(lastSegment(dir), Buffer.from('this is not a record, just 37 bytes!!'));
      const logger = new MemoryLogger();
      const s2 = await started(dir, { logger });
      expect(s2.recoveryReport).toMatchObject({ mode: 'crash', truncatedBytes: 37, commitLogEnd: end });
      expect(s2.recoveryReport!.reason).toMatch(/checkpoint/);
      const warn = logger.lines.find((l) => l.level === 'warn' && /dropped 37 bytes/.test(l.msg ?? ''));
      expect(warn?.obj).toMatchObject({ droppedBytes: 37 });
      expect(bodies(s2.getMessages('Torn', 0, 0, { maxMsgNums: 32 }))).toEqual(Array.from({ length: 20 }, (_, i) => `Torn/0/${i}`));
      const next = ok(await s2.putMessage(testMessage('Torn', 0, 20))).appended[0]!;
      expect(next).toMatchObject({ physicalOffset: end, queueOffset: 20 });
      await s2.shutdown();
      expect(statSync(lastSegment(dir)).size).toBe(end + next.size);
    });

    it('drops a record cut short by a crash, and its queue entry, then appends in its place', async () => {
      const dir = tempDir();
      const s1 = await started(dir, { flushDiskType: 'SYNC_FLUSH' });
      const rs = await fill(s1, 'Cut', 0, 15);
      await fill(s1, 'Other', 0, 3);
      const last = ok(await s1.putMessage(testMessage('Cut', 0, 15))).appended[0]!;
      await s1.shutdown();
      // Simulate a crash that tore the last record: abort marker back, tail cut mid-record.
      writeFileSync(join(dir, 'abort'), '');
      truncateSync(lastSegment(dir), last.physicalOffset + 40);
      const s2 = await started(dir);
      expect(s2.recoveryReport).toMatchObject({
        mode: 'crash',
        truncatedBytes: 40,
        commitLogEnd: last.physicalOffset,
        consumeQueueEntriesDropped: 1,
      });
      expect(s2.recoveryReport!.reason).toMatch(/abort/);
      expect(s2.getMaxOffsetInQueue('Cut', 0)).toBe(15);
      expect(s2.getMaxOffsetInQueue('Other', 0)).toBe(3);
      expect(bodies(s2.getMessages('Cut', 0, 0, { maxMsgNums: 32 }))).toEqual(rs.map((_, i) => `Cut/0/${i}`));
      const again = ok(await s2.putMessage(testMessage('Cut', 0, 99))).appended[0]!;
      expect(again).toMatchObject({ physicalOffset: last.physicalOffset, queueOffset: 15 });
      expect(bodies(s2.getMessages('Cut', 0, 15, { maxMsgNums: 32 }))).toEqual(['Cut/0/99']);
      await s2.shutdown();
    });

    it('detects a corrupt body by its CRC after a crash', async () => {
      const src = tempDir();
      // No checkpoint after start-up: everything written is in the range a crash recovery checks.
      const s1 = await started(src, { flushIntervalConsumeQueue: 3_600_000 });
      await fill(s1, 'Crc', 0, 5);
      const last = ok(await s1.putMessage(testMessage('Crc', 0, 5, { body: Buffer.alloc(100, 1) }))).appended[0]!;
      const dir = tempDir();
      cpSync(src, dir, { recursive: true });
      await s1.shutdown();
      // Flip one body byte (IPv4 hosts: the body starts 88 bytes into the record).
      const fd = openSync(lastSegment(dir), 'r+');
      writeSync(fd, Buffer.from([2]), 0, 1, last.physicalOffset + 88 + 50);
      closeSync(fd);
      const s2 = await started(dir);
      expect(s2.recoveryReport).toMatchObject({ mode: 'crash', truncatedBytes: last.size, commitLogEnd: last.physicalOffset });
      expect(s2.recoveryReport!.truncateReason).toMatch(/CRC/);
      expect(s2.getMaxOffsetInQueue('Crc', 0)).toBe(5);
      await s2.shutdown();
    });

    it('recovers a copy taken while running: rebuilds queues not yet flushed', async () => {
      const dir = tempDir();
      // Checkpoints effectively never run, so the consume-queue files on disk stay empty.
      const s1 = await started(dir, { flushDiskType: 'SYNC_FLUSH', flushIntervalConsumeQueue: 3_600_000 });
      for (let q = 0; q < 4; q++) await fill(s1, 'Live', q, 7);
      const expected = s1.getMessages('Live', 2, 0, { maxMsgNums: 32 });
      const copy = tempDir();
      cpSync(dir, copy, { recursive: true });
      await s1.shutdown();
      expect(existsSync(join(copy, 'abort'))).toBe(true);
      const logger = new MemoryLogger();
      const s2 = await started(copy, { logger });
      expect(s2.recoveryReport).toMatchObject({ mode: 'crash', truncatedBytes: 0, redispatched: 28 });
      expect(logger.lines.some((l) => l.level === 'warn' && /stale store lock/.test(l.msg ?? ''))).toBe(true);
      const got = s2.getMessages('Live', 2, 0, { maxMsgNums: 32 });
      expect(got.messages.map((b) => b.toString('hex'))).toEqual(expected.messages.map((b) => b.toString('hex')));
      // Tag codes are rebuilt from the TAGS property.
      const t1 = s2.getMessages('Live', 0, 0, { maxMsgNums: 32, tagsFilter: (c) => c === tagsCode('tag1') });
      expect(t1.queueOffsets).toEqual([1, 4]);
      await s2.shutdown();
    });

    it('rebuilds deleted consume-queue files from the commit log', async () => {
      const dir = tempDir();
      const s1 = await started(dir);
      for (let t = 0; t < 3; t++) await fill(s1, `Rebuild${t}`, 1, 23);
      const expected = s1.getMessages('Rebuild1', 1, 0, { maxMsgNums: 32 });
      await s1.shutdown();
      rmSync(join(dir, 'consumequeue'), { recursive: true });
      const s2 = await started(dir);
      expect(s2.recoveryReport).toMatchObject({ mode: 'normal', queuesBehind: 3, redispatched: 69, truncatedBytes: 0 });
      const got = s2.getMessages('Rebuild1', 1, 0, { maxMsgNums: 32 });
      expect(got.messages.map((b) => b.toString('hex'))).toEqual(expected.messages.map((b) => b.toString('hex')));
      const tag2 = s2.getMessages('Rebuild0', 1, 0, { maxMsgNums: 32, tagsFilter: (c) => c === tagsCode('tag2') });
      expect(tag2.queueOffsets).toEqual([2, 5, 8, 11, 14, 17, 20]);
      await s2.shutdown();
    });

    it('completes a consume queue that is behind', async () => {
      const dir = tempDir();
      const s1 = await started(dir);
      await fill(s1, 'Behind', 0, 25);
      await fill(s1, 'Ahead', 0, 5);
      await s1.shutdown();
      truncateSync(join(dir, 'consumequeue', 'Behind', '0', '00000000000000000400'), 2 * 20);
      const s2 = await started(dir);
      expect(s2.recoveryReport).toMatchObject({ mode: 'normal', queuesBehind: 1, redispatched: 3 });
      expect(s2.getMaxOffsetInQueue('Behind', 0)).toBe(25);
      expect(bodies(s2.getMessages('Behind', 0, 20, { maxMsgNums: 32 }))).toEqual([20, 21, 22, 23, 24].map((i) => `Behind/0/${i}`));
      await s2.shutdown();
    });

    it('repairs a consume queue whose tail was zeroed by a crash', async () => {
      const dir = tempDir();
      const s1 = await started(dir);
      await fill(s1, 'Zero', 0, 25);
      await s1.shutdown();
      writeFileSync(join(dir, 'abort'), '');
      const fd = openSync(join(dir, 'consumequeue', 'Zero', '0', '00000000000000000400'), 'r+');
      writeSync(fd, Buffer.alloc(3 * 20), 0, 3 * 20, 2 * 20);
      closeSync(fd);
      const s2 = await started(dir);
      expect(s2.recoveryReport).toMatchObject({ mode: 'crash', consumeQueueEntriesDropped: 3, queuesBehind: 1, redispatched: 3 });
      expect(bodies(s2.getMessages('Zero', 0, 20, { maxMsgNums: 32 }))).toEqual([20, 21, 22, 23, 24].map((i) => `Zero/0/${i}`));
      await s2.shutdown();
    });

    it('scans the whole log when the checkpoint is missing', async () => {
      const dir = tempDir();
      const s1 = await started(dir, { mappedFileSizeCommitLog: 4 * KiB, maxMessageSize: 2 * KiB });
      await fill(s1, 'NoCp', 0, 40);
      const end = s1.stats().commitLogMaxOffset;
      await s1.shutdown();
      rmSync(join(dir, 'checkpoint'));
      const s2 = await started(dir, { mappedFileSizeCommitLog: 4 * KiB, maxMessageSize: 2 * KiB });
      expect(s2.recoveryReport).toMatchObject({ mode: 'crash', scannedFrom: 0, commitLogEnd: end, truncatedBytes: 0, redispatched: 0 });
      expect(s2.recoveryReport!.reason).toMatch(/no usable checkpoint/);
      expect(s2.getMaxOffsetInQueue('NoCp', 0)).toBe(40);
      await s2.shutdown();
    });

    it('refuses a commit log written with a different segment size', async () => {
      const dir = tempDir();
      const s1 = await started(dir, { mappedFileSizeCommitLog: 4 * KiB, maxMessageSize: 2 * KiB });
      await fill(s1, 'Size', 0, 40);
      await s1.shutdown();
      await expect(started(dir, { mappedFileSizeCommitLog: 8 * KiB * 3, maxMessageSize: 2 * KiB })).rejects.toThrow(/segment size/);
      // The failed start released the lock: the right configuration still opens.
      const s3 = await started(dir, { mappedFileSizeCommitLog: 4 * KiB, maxMessageSize: 2 * KiB });
      expect(s3.getMaxOffsetInQueue('Size', 0)).toBe(40);
      await s3.shutdown();
    });

    it('does not bring deleted topics back after a crash', async () => {
      const dir = tempDir();
      const s1 = await started(dir, { flushIntervalConsumeQueue: 3_600_000 });
      await fill(s1, 'Doomed', 0, 5);
      await fill(s1, 'Alive', 0, 5);
      s1.deleteTopics(['Doomed']);
      expect(existsSync(join(dir, 'consumequeue', 'Doomed'))).toBe(false);
      const copy = tempDir();
      cpSync(dir, copy, { recursive: true });
      await s1.shutdown();
      const s2 = await started(copy);
      expect(s2.recoveryReport?.mode).toBe('crash');
      expect(s2.queues().has('Doomed')).toBe(false);
      expect(s2.getMaxOffsetInQueue('Alive', 0)).toBe(5);
      await s2.shutdown();
    });

    it('moves the min offset when old files are gone (OFFSET_TOO_SMALL)', async () => {
      const dir = tempDir();
      const s1 = await started(dir);
      await fill(s1, 'Old', 0, 25);
      await s1.shutdown();
      rmSync(join(dir, 'consumequeue', 'Old', '0', '00000000000000000000'));
      const s2 = await started(dir);
      expect(s2.getMinOffsetInQueue('Old', 0)).toBe(10);
      expect(s2.getMessages('Old', 0, 3, { maxMsgNums: 32 })).toMatchObject({ status: 'OFFSET_TOO_SMALL', nextBeginOffset: 10, minOffset: 10 });
      expect(bodies(s2.getMessages('Old', 0, 10, { maxMsgNums: 1 }))).toEqual(['Old/0/10']);
      expect(s2.getEarliestMessageTime('Old', 0)).toBe(s2.getMessageStoreTimestamp('Old', 0, 10));
      await s2.shutdown();

      // The first commit-log segment deleted: queue entries pointing into it are skipped.
      const dir2 = tempDir();
      const cfg = { mappedFileSizeCommitLog: 4 * KiB, maxMessageSize: 2 * KiB };
      const s3 = await started(dir2, cfg);
      const rs = await fill(s3, 'Head', 0, 40);
      await s3.shutdown();
      rmSync(join(dir2, 'commitlog', '00000000000000000000'));
      const s4 = await started(dir2, cfg);
      const firstKept = rs.findIndex((r) => r.appended[0]!.physicalOffset >= 4 * KiB);
      expect(s4.stats().commitLogMinOffset).toBe(4 * KiB);
      expect(s4.getMinOffsetInQueue('Head', 0)).toBe(firstKept);
      expect(s4.getMessages('Head', 0, 0, { maxMsgNums: 32 })).toMatchObject({ status: 'OFFSET_TOO_SMALL', nextBeginOffset: firstKept });
      expect(s4.lookMessageByOffset(0)).toBeUndefined();
      await s4.shutdown();
    });
  });

  it('answers OFFSET_FOUND_NULL when a queue entry points at data that is no longer a record', async () => {
    const dir = tempDir();
    const store = await started(dir);
    await fill(store, 'Null', 0, 3);
    const last = ok(await store.putMessage(testMessage('Null', 0, 3))).appended[0]!;
    const fd = openSync(lastSegment(dir), 'r+');
    writeSync(fd, Buffer.alloc(4), 0, 4, last.physicalOffset + 4); // destroy the magic
    closeSync(fd);
    expect(store.getMessages('Null', 0, 3, { maxMsgNums: 32 })).toMatchObject({ status: 'OFFSET_FOUND_NULL', nextBeginOffset: 4, messages: [] });
    expect(bodies(store.getMessages('Null', 0, 0, { maxMsgNums: 32 }))).toEqual(['Null/0/0', 'Null/0/1', 'Null/0/2']);
    expect(store.lookMessageByOffset(last.physicalOffset)).toBeUndefined();
    await store.shutdown();
  });

  it('waits for start-up when shut down during it, and cannot be started twice', async () => {
    const dir = tempDir();
    const s1 = await started(dir);
    await fill(s1, 'Life', 0, 3);
    await s1.shutdown();
    const s2 = newStore(dir);
    const starting = s2.start();
    await s2.shutdown();
    await starting;
    expect(existsSync(join(dir, 'lock'))).toBe(false);
    expect(existsSync(join(dir, 'abort'))).toBe(false);
    await expect(s2.start()).rejects.toThrow(/cannot start/);
    expect((await s2.putMessage(testMessage('Life', 0, 3))).status).toBe('SERVICE_NOT_AVAILABLE');
  });

  describe('locking', () => {
    it('refuses a second store on the same directory until the first shuts down', async () => {
      const dir = tempDir();
      const s1 = await started(dir);
      const s2 = newStore(dir);
      await expect(s2.start()).rejects.toThrow(/already open in this process/);
      await s1.shutdown();
      const s3 = await started(dir);
      await s3.shutdown();
    });

    it('refuses a directory locked by another running process and takes over a dead one', async () => {
      const dir = tempDir();
      writeFileSync(join(dir, 'lock'), `pid=${process.ppid}\nhost=${hostname()}\n`);
      await expect(started(dir)).rejects.toThrow(new RegExp(`locked by running process ${process.ppid}`));
      writeFileSync(join(dir, 'lock'), `pid=2147483646\nhost=${hostname()}\n`);
      const logger = new MemoryLogger();
      const s = await started(dir, { logger });
      expect(readFileSync(join(dir, 'lock'), 'utf8')).toContain(`pid=${process.pid}`);
      expect(logger.lines.some((l) => /stale store lock/.test(l.msg ?? ''))).toBe(true);
      await s.shutdown();
    });
  });

  describe('flushing', () => {
    it('group-commits concurrent SYNC_FLUSH puts with few fsyncs', async () => {
      const dir = tempDir();
      let fsyncs = 0;
      const io: StoreIo = { ...nodeStoreIo, fsync: (fd) => (fsyncs++, nodeStoreIo.fsync(fd)) };
      const store = await started(dir, { flushDiskType: 'SYNC_FLUSH', io, flushIntervalCommitLog: 3_600_000, flushIntervalConsumeQueue: 3_600_000 });
      const rounds0 = store.commitLogFlushCount;
      const fsyncs0 = fsyncs;
      const rs = await Promise.all(Array.from({ length: 300 }, (_, i) => store.putMessage(testMessage('Group', i % 4, i))));
      expect(rs.every((r) => r.status === 'PUT_OK')).toBe(true);
      const rounds = store.commitLogFlushCount - rounds0;
      expect(rounds).toBeGreaterThanOrEqual(1);
      expect(rounds).toBeLessThanOrEqual(5);
      expect(fsyncs - fsyncs0).toBeLessThanOrEqual(10);
      expect(store.stats().flushedOffset).toBe(store.stats().commitLogMaxOffset);
      await store.shutdown();
    });

    it('resolves a waiting SYNC_FLUSH put only after an fsync covering it', async () => {
      const dir = tempDir();
      const gate = fsyncGate();
      const store = await started(dir, { flushDiskType: 'SYNC_FLUSH', io: gate.io });
      gate.hang = true;
      let settled: PutResult | undefined;
      const pending = store.putMessages([testMessage('Wait', 0, 0), testMessage('Wait', 0, 1)]).then((r) => (settled = r));
      await new Promise((r) => setTimeout(r, 60));
      expect(settled).toBeUndefined();
      // Already readable (dispatched after the write), just not acknowledged.
      expect(store.getMaxOffsetInQueue('Wait', 0)).toBe(2);
      expect(gate.stuck.length).toBeGreaterThan(0);
      gate.release();
      const r = await pending;
      expect(r.status).toBe('PUT_OK');
      const last = r.appended[1]!;
      expect(store.stats().flushedOffset).toBeGreaterThanOrEqual(last.physicalOffset + last.size);
      await store.shutdown();
    });

    it('fsyncs in the background under steady ASYNC_FLUSH load', async () => {
      const dir = tempDir();
      const store = await started(dir, { flushDiskType: 'ASYNC_FLUSH', flushIntervalCommitLog: 5, flushIntervalConsumeQueue: 3_600_000 });
      const deadline = Date.now() + 150;
      let i = 0;
      let flushedDuringLoad = 0;
      const producer = async (): Promise<void> => {
        while (Date.now() < deadline) {
          ok(await store.putMessage(testMessage('Steady', i % 2, i++)));
          flushedDuringLoad = Math.max(flushedDuringLoad, store.stats().flushedOffset);
        }
      };
      await Promise.all(Array.from({ length: 16 }, producer));
      expect(flushedDuringLoad).toBeGreaterThan(0);
      expect(store.commitLogFlushCount).toBeGreaterThan(1);
      await store.shutdown();
    });

    it('answers FLUSH_DISK_TIMEOUT when the fsync does not finish in time, with the message stored', async () => {
      const dir = tempDir();
      const gate = fsyncGate();
      const store = await started(dir, { flushDiskType: 'SYNC_FLUSH', io: gate.io, syncFlushTimeout: 100 });
      gate.hang = true;
      const t0 = Date.now();
      const r = await store.putMessage(testMessage('Slow', 0, 0));
      expect(r.status).toBe('FLUSH_DISK_TIMEOUT');
      expect(r.remark).toMatch(/100 ms/);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(90);
      expect(r.appended).toHaveLength(1);
      expect(bodies(store.getMessages('Slow', 0, 0, { maxMsgNums: 1 }))).toEqual(['Slow/0/0']);
      // A producer that does not wait is acknowledged after the write alone.
      const noWait = await store.putMessage(testMessage('Slow', 0, 1, { wait: false }));
      expect(noWait.status).toBe('PUT_OK');
      gate.release();
      await store.shutdown();
    });

    it('reports a failed fsync as FLUSH_DISK_TIMEOUT with the cause', async () => {
      const dir = tempDir();
      let fail = false;
      const io: StoreIo = { ...nodeStoreIo, fsync: (fd) => (fail ? Promise.reject(errnoError('EIO', 'i/o error, fsync')) : nodeStoreIo.fsync(fd)) };
      const logger = new MemoryLogger();
      const store = await started(dir, { flushDiskType: 'SYNC_FLUSH', io, logger });
      fail = true;
      const r = await store.putMessage(testMessage('Eio', 0, 0));
      expect(r.status).toBe('FLUSH_DISK_TIMEOUT');
      expect(r.remark).toMatch(/fsync failed: EIO/);
      expect(logger.lines.some((l) => l.level === 'error' && /fsync failed/.test(l.msg ?? ''))).toBe(true);
      fail = false;
      ok(await store.putMessage(testMessage('Eio', 0, 1)));
      await store.shutdown();
    });
  });

  describe('disk errors', () => {
    /** Fails commit-log writes on demand; `partial` writes half the bytes first, like a filling disk. */
    function faultyIo(): { io: StoreIo; fail: (code: string | undefined, partial?: boolean) => void } {
      const commitLogFds = new Set<number>();
      let failCode: string | undefined;
      let partial = false;
      let wrotePartial = false;
      const io: StoreIo = {
        ...nodeStoreIo,
        open: async (path, flags) => {
          const fd = await nodeStoreIo.open(path, flags);
          if (path.includes('commitlog')) commitLogFds.add(fd);
          return fd;
        },
        writev: async (fd, buffers, position) => {
          if (!failCode || !commitLogFds.has(fd)) return nodeStoreIo.writev(fd, buffers, position);
          if (partial && !wrotePartial) {
            wrotePartial = true;
            const whole = Buffer.concat(buffers);
            return nodeStoreIo.writev(fd, [whole.subarray(0, Math.floor(whole.length / 2))], position);
          }
          throw errnoError(failCode, 'no space left on device, write');
        },
      };
      return {
        io,
        fail: (code, p = false) => {
          failCode = code;
          partial = p;
          wrotePartial = false;
        },
      };
    }

    for (const partial of [false, true]) {
      it(`turns ENOSPC into IO_ERROR with nothing visible${partial ? ' (after a partial write)' : ''}`, async () => {
        const dir = tempDir();
        const faults = faultyIo();
        const logger = new MemoryLogger();
        const store = await started(dir, { io: faults.io, logger, flushDiskType: 'SYNC_FLUSH' });
        const dispatched: number[] = [];
        store.onDispatch((d) => dispatched.push(d.queueOffset));
        const first = ok(await store.putMessage(testMessage('Full', 0, 0))).appended[0]!;
        const end = store.stats().commitLogMaxOffset;

        faults.fail('ENOSPC', partial);
        const failed = await Promise.all([0, 1, 2].map((i) => store.putMessage(testMessage('Full', i === 2 ? 1 : 0, 10 + i))));
        for (const r of failed) {
          expect(r.status).toBe('IO_ERROR');
          expect(r.remark).toMatch(/ENOSPC/);
          expect(r.appended).toEqual([]);
        }
        expect(logger.lines.filter((l) => l.level === 'error' && /write failed/.test(l.msg ?? ''))).toHaveLength(1);
        expect(dispatched).toEqual([0]);
        expect(store.getMaxOffsetInQueue('Full', 0)).toBe(1);
        expect(store.queues().has('Full')).toBe(true);
        expect(store.queues().get('Full')!.has(1)).toBe(false);
        expect(store.getMessages('Full', 0, 1, { maxMsgNums: 32 }).status).toBe('OFFSET_OVERFLOW_ONE');
        expect(store.getMessages('Full', 1, 0, { maxMsgNums: 32 }).status).toBe('NO_MESSAGE_IN_QUEUE');
        expect(store.lookMessageByOffset(end)).toBeUndefined();
        expect(store.stats().commitLogMaxOffset).toBe(end);
        expect(statSync(lastSegment(dir)).size).toBe(end); // the partial bytes were cut back

        faults.fail(undefined);
        const next = ok(await store.putMessage(testMessage('Full', 0, 1))).appended[0]!;
        expect(next).toMatchObject({ physicalOffset: end, queueOffset: 1 });
        expect(bodies(store.getMessages('Full', 0, 0, { maxMsgNums: 32 }))).toEqual(['Full/0/0', 'Full/0/1']);
        expect(first.queueOffset).toBe(0);
        await store.shutdown();

        const reopened = await started(dir);
        expect(reopened.recoveryReport).toMatchObject({ mode: 'normal', truncatedBytes: 0 });
        expect(bodies(reopened.getMessages('Full', 0, 0, { maxMsgNums: 32 }))).toEqual(['Full/0/0', 'Full/0/1']);
        await reopened.shutdown();
      });
    }

    it('fails puts with IO_ERROR when a new segment cannot be created', async () => {
      const dir = tempDir();
      let failOpen = false;
      const io: StoreIo = {
        ...nodeStoreIo,
        open: (path, flags) => (failOpen && path.includes('commitlog') ? Promise.reject(errnoError('EMFILE', 'too many open files, open')) : nodeStoreIo.open(path, flags)),
      };
      const store = await started(dir, { io, mappedFileSizeCommitLog: 4 * KiB, maxMessageSize: 2 * KiB });
      await fill(store, 'Roll', 0, 5);
      failOpen = true;
      let failedAt = -1;
      for (let i = 5; i < 40 && failedAt < 0; i++) {
        const r = await store.putMessage(testMessage('Roll', 0, i, { tags: 'x' }));
        if (r.status === 'IO_ERROR') failedAt = i;
      }
      expect(failedAt).toBeGreaterThan(0);
      failOpen = false;
      const next = ok(await store.putMessage(testMessage('Roll', 0, failedAt)));
      expect(next.appended[0]!.queueOffset).toBe(failedAt);
      expect(next.appended[0]!.physicalOffset).toBe(4 * KiB);
      await store.shutdown();
      const reopened = await started(dir, { mappedFileSizeCommitLog: 4 * KiB, maxMessageSize: 2 * KiB });
      expect(reopened.getMaxOffsetInQueue('Roll', 0)).toBe(failedAt + 1);
      await reopened.shutdown();
    });
  });
});
