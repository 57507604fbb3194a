import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeMessageRecord } from '../../protocol/message.js';
import { DefaultMessageStore } from '../default-message-store.js';
import type { DefaultMessageStoreConfig } from '../default-message-store.js';
import type { PutResult } from '../message-store.js';
import { testMessage } from '../message-store.conformance.js';
import { silentLogger } from '../store-common.js';
import { HASH_SLOT_SIZE, INDEX_ENTRY_SIZE, INDEX_HEADER_SIZE, decodeIndexHeader, indexFileSize } from './index-file.js';
import { indexKey, indexKeyHash, keysToIndex } from './index-keys.js';
import { IndexService } from './index-service.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'rmq-index-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const SMALL = { maxHashSlotNum: 16, maxIndexNum: 8 } as const;

function indexFiles(dir: string): string[] {
  return readdirSync(join(dir, 'index')).filter((n) => /^\d{17}$/.test(n)).sort();
}

async function started(dir: string, over: Partial<DefaultMessageStoreConfig> = {}): Promise<DefaultMessageStore> {
  const s = new DefaultMessageStore({ storePathRootDir: dir, mappedFileSizeCommitLog: 64 * 1024, maxMessageSize: 16 * 1024, ...SMALL, ...over });
  await s.start();
  return s;
}

async function putKeyed(s: DefaultMessageStore, topic: string, from: number, n: number, keys = (i: number) => `k${i} all`): Promise<PutResult[]> {
  const out: PutResult[] = [];
  for (let i = from; i < from + n; i++) {
    const r = await s.putMessage(testMessage(topic, i % 2, i, { props: { KEYS: keys(i) } }));
    expect(r.status, r.remark).toBe('PUT_OK');
    out.push(r);
  }
  return out;
}

function indexEntries(dir: string): number {
  let n = 0;
  for (const f of indexFiles(dir)) n += decodeIndexHeader(readFileSync(join(dir, 'index', f))).indexCount - 1;
  return n;
}

function found(s: DefaultMessageStore, topic: string, key: string): number[] {
  return s.queryMessage(topic, key, 64, 0, Number.MAX_SAFE_INTEGER).messages.map((m) => decodeMessageRecord(m)!.physicalOffset);
}

describe('index keys', () => {
  it('hashes keys as Java String.hashCode, made positive (IndexFile.indexKeyHashMethod)', () => {
    expect(indexKeyHash('hello')).toBe(99162322);
    // "polygenelubricants".hashCode() is Integer.MIN_VALUE; Math.abs leaves it negative, Java maps it to 0.
    expect(indexKeyHash('polygenelubricants')).toBe(0);
    expect(indexKey('T', 'k')).toBe('T#k');
  });

  it('indexes UNIQ_KEY then each non-empty KEYS word, nothing for rollbacks', () => {
    expect(keysToIndex(0, 'KEYS\u0001a  b\u0002UNIQ_KEY\u0001U1\u0002')).toEqual(['U1', 'a', 'b']);
    expect(keysToIndex(0, 'TAGS\u0001t\u0002')).toEqual([]);
    expect(keysToIndex(0xc, 'UNIQ_KEY\u0001U1\u0002')).toEqual([]);
  });
});

describe('IndexFile format and limits', () => {
  it('writes Java IndexFile bytes: header, slot and chained entries', async () => {
    const dir = tempDir();
    const s = await started(dir);
    const [a, b] = await putKeyed(s, 'F', 0, 2, () => 'same');
    await s.shutdown();
    const [name] = indexFiles(dir);
    expect(name).toMatch(/^\d{17}$/);
    const buf = readFileSync(join(dir, 'index', name!));
    expect(buf.length).toBe(indexFileSize(16, 8));
    const h = decodeIndexHeader(buf);
    // Two messages, each indexed under its UNIQ_KEY and "same": 4 entries, next number 5.
    expect(h).toMatchObject({ indexCount: 5, beginPhyOffset: a!.appended[0]!.physicalOffset, endPhyOffset: b!.appended[0]!.physicalOffset });
    expect(h.beginTimestamp).toBe(a!.appended[0]!.storeTimestamp);
    expect(h.endTimestamp).toBe(b!.appended[0]!.storeTimestamp);
    const hash = indexKeyHash('F#same');
    const slot = buf.readInt32BE(INDEX_HEADER_SIZE + (hash % 16) * HASH_SLOT_SIZE);
    expect(slot).toBe(4); // the newest "same" entry
    const entry = (n: number): [number, bigint, number, number] => {
      const at = INDEX_HEADER_SIZE + 16 * HASH_SLOT_SIZE + n * INDEX_ENTRY_SIZE;
      return [buf.readInt32BE(at), buf.readBigInt64BE(at + 4), buf.readInt32BE(at + 12), buf.readInt32BE(at + 16)];
    };
    expect(entry(4)).toEqual([hash, BigInt(b!.appended[0]!.physicalOffset), 0, 2]);
    expect(entry(2)).toEqual([hash, BigInt(a!.appended[0]!.physicalOffset), 0, 0]);
    expect(entry(1)[0]).toBe(indexKeyHash('F#U-F-0-0'));
  });

  it('starts a new file when one is full and queries across files, newest first', async () => {
    const dir = tempDir();
    const s = await started(dir);
    // maxIndexNum 8 → 7 entries per file; 10 messages × 3 keys = 30 entries → 5 files.
    const rs = await putKeyed(s, 'Roll', 0, 10);
    expect(indexFiles(dir)).toHaveLength(5);
    expect(found(s, 'Roll', 'all')).toEqual(rs.map((r) => r.appended[0]!.physicalOffset).reverse());
    for (let i = 0; i < 10; i++) expect(found(s, 'Roll', `k${i}`)).toEqual([rs[i]!.appended[0]!.physicalOffset]);
    await s.shutdown();
    const s2 = await started(dir);
    expect(s2.recoveryReport?.mode).toBe('normal');
    expect(found(s2, 'Roll', 'all')).toHaveLength(10);
    await s2.shutdown();
  });

  it('rejects sizes out of range', () => {
    expect(() => new IndexService({ dir: tempDir(), maxIndexNum: 1, logger: silentLogger })).toThrow(/maxIndexNum/);
    expect(() => new IndexService({ dir: tempDir(), maxHashSlotNum: 0, logger: silentLogger })).toThrow(/maxHashSlotNum/);
  });

  it('deletes files whose messages are all below the commit log start, never the last one', () => {
    const dir = tempDir();
    const idx = new IndexService({ dir, maxHashSlotNum: 4, maxIndexNum: 3, logger: silentLogger });
    idx.load(false);
    for (let i = 0; i < 6; i++) idx.build('T', 0, `KEYS\u0001k${i}\u0002`, i * 100, 1_700_000_000_000 + i);
    expect(readdirSync(dir).filter((n) => /^\d{17}$/.test(n))).toHaveLength(3);
    expect(idx.deleteExpired(100)).toHaveLength(0); // the first file's last message is at 100
    expect(idx.stats().indexFiles).toBe(3);
    const gone = idx.deleteExpired(150);
    expect(gone).toHaveLength(1);
    expect(gone[0]!.bytes).toBe(indexFileSize(4, 3));
    expect(idx.deleteExpired(10_000)).toHaveLength(1);
    expect(idx.stats().indexFiles).toBe(1);
    expect(idx.query('T', 'k5', 10, 0, Number.MAX_SAFE_INTEGER).physicalOffsets).toEqual([500]);
    expect(idx.query('T', 'k0', 10, 0, Number.MAX_SAFE_INTEGER).physicalOffsets).toEqual([]);
    idx.close();
  });
});

describe('index with retention and replication', () => {
  it('drops index files once the commit log below them is deleted', async () => {
    const dir = tempDir();
    const now = Date.now() + 60_000;
    const s = await started(dir, {
      mappedFileSizeCommitLog: 4096, maxMessageSize: 3000, clock: () => now, fileReservedTime: 0, deleteWhen: String(new Date(now).getHours()), deleteFileBatchMax: 100,
    });
    const rs: PutResult[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await s.putMessage(testMessage('Ret', 0, i, { body: Buffer.alloc(900, 98), props: { KEYS: `k${i} all` } }));
      expect(r.status).toBe('PUT_OK');
      rs.push(r);
    }
    const before = indexFiles(dir).length;
    expect(before).toBeGreaterThan(3);
    const r = await s.runCleanRound();
    const clMin = s.stats().commitLogMinOffset;
    expect(clMin).toBeGreaterThan(0);
    const gone = r.consumeQueueFiles.filter((f) => f.path.includes(`${join(dir, 'index')}`));
    expect(gone.length).toBeGreaterThan(0);
    expect(indexFiles(dir).length).toBe(before - gone.length);
    // What is left still answers for the messages that are left.
    const last = rs.at(-1)!.appended[0]!.physicalOffset;
    expect(found(s, 'Ret', 'k19')).toEqual([last]);
    expect(found(s, 'Ret', 'k0')).toEqual([]);
    await s.shutdown();
  });

  it('a slave indexes the records it replicates', async () => {
    const master = await started(tempDir());
    const slaveDir = tempDir();
    const slave = await started(slaveDir);
    slave.setWritable(false);
    const rs = await putKeyed(master, 'Rep', 0, 5);
    let offset = 0;
    for (let data; (data = master.getCommitLogData(offset, 64 * 1024)); offset += data.length) await slave.appendCommitLogData(offset, data);
    expect(found(slave, 'Rep', 'all')).toEqual(rs.map((r) => r.appended[0]!.physicalOffset).reverse());
    expect(found(slave, 'Rep', 'U-Rep-0-2')).toEqual([rs[2]!.appended[0]!.physicalOffset]);
    await master.shutdown();
    await slave.shutdown();
  });
});

describe('index recovery', () => {
  it('recovers after a crash: keys after the last checkpoint are indexed again, none twice', async () => {
    const NO_TIMER = { flushIntervalConsumeQueue: 600_000 }; // checkpoints only at start and stop
    const dir = tempDir();
    const s1 = await started(dir, NO_TIMER);
    const first = await putKeyed(s1, 'C', 0, 6);
    await s1.shutdown();
    const oldCheckpoint = readFileSync(join(dir, 'index', '.checkpoint.json'));
    const s2 = await started(dir, NO_TIMER);
    const more = await putKeyed(s2, 'C', 6, 5);
    // A copy of the running store is what a kill -9 leaves: abort marker, keys only in memory.
    const copy = tempDir();
    cpSync(dir, copy, { recursive: true });
    await s2.shutdown();
    // And this is a crash after the index files were written but before their checkpoint was.
    writeFileSync(join(dir, 'index', '.checkpoint.json'), oldCheckpoint);
    writeFileSync(join(dir, 'abort'), '');
    const all = [...first, ...more].map((r) => r.appended[0]!.physicalOffset).reverse();
    for (const d of [copy, dir]) {
      const s = await started(d, NO_TIMER);
      expect(s.recoveryReport?.mode).toBe('crash');
      expect(found(s, 'C', 'all')).toEqual(all);
      for (let i = 0; i < 11; i++) expect(found(s, 'C', `k${i}`)).toHaveLength(1);
      const after = await putKeyed(s, 'C', 11, 1);
      expect(found(s, 'C', 'k11')).toEqual([after[0]!.appended[0]!.physicalOffset]);
      await s.shutdown();
      // 12 messages × (UNIQ_KEY, kN, all): each key once.
      expect(indexEntries(d)).toBe(36);
    }
  });

  it('rebuilds the index from the commit log when its checkpoint is gone, and drops files newer than it', async () => {
    const dir = tempDir();
    const s = await started(dir);
    const rs = await putKeyed(s, 'R', 0, 4);
    await s.shutdown();
    rmSync(join(dir, 'index', '.checkpoint.json'));
    writeFileSync(join(dir, 'index', '99999999999999999'), 'junk');
    const s2 = await started(dir);
    expect(found(s2, 'R', 'all')).toEqual(rs.map((r) => r.appended[0]!.physicalOffset).reverse());
    expect(indexFiles(dir)).not.toContain('99999999999999999');
    await s2.shutdown();
  });

  it('drops the keys of records cut by a demotion truncation', async () => {
    const dir = tempDir();
    const s = await started(dir);
    const rs = await putKeyed(s, 'D', 0, 6);
    await s.truncateCommitLogTo(rs[3]!.appended[0]!.physicalOffset);
    expect(found(s, 'D', 'all')).toEqual(rs.slice(0, 3).map((r) => r.appended[0]!.physicalOffset).reverse());
    expect(found(s, 'D', 'k4')).toEqual([]);
    const again = await putKeyed(s, 'D', 3, 1, () => 'k3 all');
    expect(found(s, 'D', 'k3')).toEqual([again[0]!.appended[0]!.physicalOffset]);
    await s.shutdown();
    const s2 = await started(dir);
    expect(found(s2, 'D', 'all')).toHaveLength(4);
    await s2.shutdown();
  });

  it('builds nothing with messageIndexEnable=false', async () => {
    const dir = tempDir();
    const s = await started(dir, { messageIndexEnable: false });
    await putKeyed(s, 'N', 0, 2);
    expect(found(s, 'N', 'all')).toEqual([]);
    expect(existsSync(join(dir, 'index'))).toBe(false);
    await s.shutdown();
  });
});

