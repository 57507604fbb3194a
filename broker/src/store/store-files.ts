// The store's small bookkeeping files in storePathRootDir: `lock` (one process per store),
// `abort` (present while running: found at start-up means the last run did not shut down
// cleanly) and `checkpoint` (how far recovery can trust the files; format below).
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, realpathSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { StoreError } from '../common/errors.js';
import { readInt64, writeInt64 } from './store-common.js';
import type { StoreLogger } from './store-common.js';

export const LOCK_FILE = 'lock';
export const ABORT_FILE = 'abort';
export const CHECKPOINT_FILE = 'checkpoint';
const CHECKPOINT_TMP = 'checkpoint.tmp';

// ---------------------------------------------------------------------------------------------
// Lock

/** Store directories locked by this process (a second store in the same process is refused too). */
const lockedDirs = new Set<string>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the store lock: creates `lock` exclusively with our pid and host name. A lock left by a
 * process that no longer runs (kill -9) is taken over with a warning. Node has no flock(), so
 * liveness is judged by pid on the same host; a lock written on another host (a volume that
 * moved to a new node) is treated as stale. Returns the release function.
 */
export function acquireStoreLock(root: string, logger: StoreLogger): () => void {
  const key = realpathSync(root);
  if (lockedDirs.has(key)) {
    throw new StoreError('RMQ_STORE_IO', `store directory ${root} is already open in this process; shut the other store down first`);
  }
  const path = join(root, LOCK_FILE);
  const host = hostname();
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      try {
        writeSync(fd, `pid=${process.pid}\nhost=${host}\n`);
      } finally {
        closeSync(fd);
      }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) {
        throw new StoreError('RMQ_STORE_IO', `cannot create store lock ${path}: ${(err as Error).message}`, { cause: err });
      }
    }
    let text = '';
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      // vanished meanwhile: retry the create
    }
    const pid = Number(/pid=(\d+)/.exec(text)?.[1] ?? NaN);
    const owner = /host=(.*)/.exec(text)?.[1];
    if (Number.isInteger(pid) && owner === host && pid !== process.pid && isAlive(pid)) {
      throw new StoreError(
        'RMQ_STORE_IO',
        `store directory ${root} is locked by running process ${pid} (${path}); stop that broker first, or point this one at another storePathRootDir`,
      );
    }
    logger.warn({ lock: path, pid: Number.isNaN(pid) ? undefined : pid, host: owner }, 'taking over a stale store lock');
    try {
      unlinkSync(path);
    } catch {
      // someone else removed it
    }
  }
  lockedDirs.add(key);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    lockedDirs.delete(key);
    try {
      unlinkSync(path);
    } catch {
      // already gone
    }
  };
}

// ---------------------------------------------------------------------------------------------
// Abort marker

export function abortMarkerExists(root: string): boolean {
  return existsSync(join(root, ABORT_FILE));
}

export function createAbortMarker(root: string): void {
  const fd = openSync(join(root, ABORT_FILE), 'w');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function removeAbortMarker(root: string): void {
  try {
    unlinkSync(join(root, ABORT_FILE));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Checkpoint
//
//   0  u32  magic 'RMQC'             24 i64  lastStoreTimestamp
//   4  u32  version (1)              32 i64  written at (ms)
//   8  i64  commitLogFlushedOffset   40 u32  queue count, then per queue:
//   16 i64  consumeQueueSafeOffset          u16 topic length, topic (UTF-8), i32 queueId, i64 maxOffset
//   then u32 tombstone count, per tombstone: u16 topic length, topic, i64 commit-log offset
//   then u32 CRC32 of everything before it.
//
// commitLogFlushedOffset: the commit log is fsynced up to here (a record boundary).
// consumeQueueSafeOffset: every record below it has its consume-queue entry fsynced, so crash
//   recovery re-dispatches from here.
// queues: each queue's durable entry count; a queue found shorter at start-up is behind and is
//   completed from the commit log (also catches deleted consume-queue files).
// tombstones: topics deleted at a commit-log offset; their older records are not re-dispatched.
//
// Written to checkpoint.tmp, fsynced, renamed over `checkpoint`. Every value only grows, so an
// older checkpoint that survives a crash is still a safe (if slower) starting point.

const CHECKPOINT_MAGIC = 0x524d5143;
const CHECKPOINT_VERSION = 1;
const CHECKPOINT_HEADER_BYTES = 44;

export interface CheckpointQueue {
  topic: string;
  queueId: number;
  maxOffset: number;
}

export interface Checkpoint {
  commitLogFlushedOffset: number;
  consumeQueueSafeOffset: number;
  lastStoreTimestamp: number;
  writtenAt: number;
  queues: CheckpointQueue[];
  tombstones: Map<string, number>;
}

export function encodeCheckpoint(cp: Checkpoint): Buffer {
  let size = CHECKPOINT_HEADER_BYTES + 4 + 4;
  const topics = new Map<string, Buffer>();
  const topicBytes = (t: string): Buffer => {
    let b = topics.get(t);
    if (!b) topics.set(t, (b = Buffer.from(t, 'utf8')));
    return b;
  };
  for (const q of cp.queues) size += 2 + topicBytes(q.topic).length + 4 + 8;
  for (const t of cp.tombstones.keys()) size += 2 + topicBytes(t).length + 8;
  const buf = Buffer.alloc(size);
  buf.writeUInt32BE(CHECKPOINT_MAGIC, 0);
  buf.writeUInt32BE(CHECKPOINT_VERSION, 4);
  writeInt64(buf, cp.commitLogFlushedOffset, 8);
  writeInt64(buf, cp.consumeQueueSafeOffset, 16);
  writeInt64(buf, cp.lastStoreTimestamp, 24);
  writeInt64(buf, cp.writtenAt, 32);
  buf.writeUInt32BE(cp.queues.length, 40);
  let p = CHECKPOINT_HEADER_BYTES;
  for (const q of cp.queues) {
    const t = topicBytes(q.topic);
    p = buf.writeUInt16BE(t.length, p);
    p += t.copy(buf, p);
    p = buf.writeInt32BE(q.queueId, p);
    writeInt64(buf, q.maxOffset, p);
    p += 8;
  }
  p = buf.writeUInt32BE(cp.tombstones.size, p);
  for (const [topic, offset] of cp.tombstones) {
    const t = topicBytes(topic);
    p = buf.writeUInt16BE(t.length, p);
    p += t.copy(buf, p);
    writeInt64(buf, offset, p);
    p += 8;
  }
  buf.writeUInt32BE(crc32(buf.subarray(0, p)) >>> 0, p);
  return buf;
}

/** Decodes a checkpoint; returns why not when the bytes are not a valid one. */
export function decodeCheckpoint(buf: Buffer): Checkpoint | string {
  if (buf.length < CHECKPOINT_HEADER_BYTES + 8) return `${buf.length} bytes is too short`;
  if (buf.readUInt32BE(0) !== CHECKPOINT_MAGIC) return 'bad magic';
  if (buf.readUInt32BE(4) !== CHECKPOINT_VERSION) return `unknown version ${buf.readUInt32BE(4)}`;
  const crcAt = buf.length - 4;
  if ((crc32(buf.subarray(0, crcAt)) >>> 0) !== buf.readUInt32BE(crcAt)) return 'CRC mismatch';
  try {
    const queues: CheckpointQueue[] = [];
    const n = buf.readUInt32BE(40);
    let p = CHECKPOINT_HEADER_BYTES;
    for (let i = 0; i < n; i++) {
      const len = buf.readUInt16BE(p);
      const topic = buf.toString('utf8', p + 2, p + 2 + len);
      p += 2 + len;
      queues.push({ topic, queueId: buf.readInt32BE(p), maxOffset: readInt64(buf, p + 4) });
      p += 12;
    }
    const tombstones = new Map<string, number>();
    const m = buf.readUInt32BE(p);
    p += 4;
    for (let i = 0; i < m; i++) {
      const len = buf.readUInt16BE(p);
      const topic = buf.toString('utf8', p + 2, p + 2 + len);
      p += 2 + len;
      tombstones.set(topic, readInt64(buf, p));
      p += 8;
    }
    if (p !== crcAt) return 'length mismatch';
    return {
      commitLogFlushedOffset: readInt64(buf, 8),
      consumeQueueSafeOffset: readInt64(buf, 16),
      lastStoreTimestamp: readInt64(buf, 24),
      writtenAt: readInt64(buf, 32),
      queues,
      tombstones,
    };
  } catch {
    return 'truncated';
  }
}

/** Reads the checkpoint; a string says why there is no usable one. */
export function readCheckpoint(root: string): Checkpoint | string {
  let buf: Buffer;
  try {
    buf = readFileSync(join(root, CHECKPOINT_FILE));
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no checkpoint file' : (err as Error).message;
  }
  return decodeCheckpoint(buf);
}

/** Writes checkpoint.tmp durably; the caller renames it in with commitCheckpoint(). */
export async function writeCheckpointTmp(root: string, cp: Checkpoint): Promise<void> {
  const handle = await open(join(root, CHECKPOINT_TMP), 'w');
  try {
    await handle.writeFile(encodeCheckpoint(cp));
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

/** Atomically replaces the checkpoint with checkpoint.tmp (synchronous, so nothing interleaves). */
export function commitCheckpoint(root: string): void {
  renameSync(join(root, CHECKPOINT_TMP), join(root, CHECKPOINT_FILE));
}

export function writeCheckpointSync(root: string, cp: Checkpoint): void {
  const tmp = join(root, CHECKPOINT_TMP);
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, encodeCheckpoint(cp));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  commitCheckpoint(root);
}
