// A consume queue: the index of one topic/queueId over the commit log. Entry i (the logical
// queue offset) is 20 bytes: int64 commit-log offset, int32 record size, int64 tag code. Files
// under consumequeue/<topic>/<queueId>/ hold `entriesPerFile` entries each (Java: 300 000) and
// are named by their first entry's byte offset (index × 20) in 20 digits.
//
// Entries are appended synchronously at dispatch into an in-memory tail buffer, which serves
// reads at once; flush() writes the tail to the files and fsyncs them (the store does this
// periodically, before writing its checkpoint) and then drops it from memory. Older entries are
// read from the files with readSync.
import { closeSync, ftruncateSync, mkdirSync, openSync, readSync, readdirSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { StoreError } from '../common/errors.js';
import { fileName } from './commit-log.js';
import { CQ_ENTRY_SIZE, FILLER_SIZE, entryOffset, entrySize, writeEntry } from './store-common.js';
import type { QueueView, StoreLogger } from './store-common.js';
import type { DeletedFile } from './clean-service.js';
import { writeFully } from './store-io.js';
import type { StoreIo } from './store-io.js';

/** Default entries per consume-queue file (mappedFileSizeConsumeQueue = 300 000 × 20 bytes). */
export const DEFAULT_CQ_ENTRIES_PER_FILE = 300_000;
/** Initial capacity, in entries, of a queue's in-memory tail; it doubles as needed. */
const INITIAL_TAIL_ENTRIES = 64;
/** Entries read per step when checking a queue's tail backwards during recovery. */
const TAIL_CHECK_ENTRIES = 1024;

const FILE_NAME_RE = /^\d{20}$/;
const EMPTY = Buffer.alloc(0);

interface CqFile {
  /** Logical offset of the file's first entry. */
  readonly index: number;
  readonly path: string;
  /** -1 until first used. */
  fd: number;
}

export interface ConsumeQueueOptions {
  dir: string;
  topic: string;
  queueId: number;
  entriesPerFile: number;
  io: StoreIo;
  logger: StoreLogger;
}

export class ConsumeQueue implements QueueView {
  readonly topic: string;
  readonly queueId: number;
  readonly #dir: string;
  readonly #perFile: number;
  readonly #io: StoreIo;
  readonly #logger: StoreLogger;

  #files: CqFile[] = [];
  #min = 0;
  /** Entries [#tailBase, #tailBase + #tailCount) are in #tail; everything below is in the files. */
  #tail: Buffer = EMPTY;
  #tailBase = 0;
  #tailCount = 0;
  /** Entries below this are fsynced. */
  #synced = 0;
  #flushing: Promise<void> | undefined;
  #destroyed = false;

  constructor(options: ConsumeQueueOptions) {
    this.topic = options.topic;
    this.queueId = options.queueId;
    this.#dir = options.dir;
    this.#perFile = options.entriesPerFile;
    this.#io = options.io;
    this.#logger = options.logger;
  }

  get minOffset(): number {
    return this.#min;
  }
  get maxOffset(): number {
    return this.#tailBase + this.#tailCount;
  }
  /** Entries below this offset are durable. */
  get syncedOffset(): number {
    return this.#synced;
  }
  get destroyed(): boolean {
    return this.#destroyed;
  }

  // -------------------------------------------------------------------------------------------
  // Start-up

  /**
   * Loads the files of an existing queue. Returns how many entries were dropped because files
   * were inconsistent (a missing file, a short non-last file, a partial last entry).
   */
  load(): number {
    let dropped = 0;
    const bytesPerFile = this.#perFile * CQ_ENTRY_SIZE;
    const names = readdirSync(this.#dir).filter((n) => FILE_NAME_RE.test(n)).sort();
    for (const name of names) {
      const byteOffset = Number(name);
      const path = join(this.#dir, name);
      const prev = this.#files[this.#files.length - 1];
      const index = byteOffset / CQ_ENTRY_SIZE;
      const bad =
        byteOffset % bytesPerFile !== 0
          ? 'is not aligned to mappedFileSizeConsumeQueue'
          : prev && index !== prev.index + this.#perFile
            ? 'does not follow the previous file'
            : prev && fileSizeOf(prev.path) !== bytesPerFile
              ? 'follows a file that is not full'
              : undefined;
      if (bad) {
        // Everything from here on cannot be addressed; the store rebuilds it from the commit log.
        const size = fileSizeOf(path);
        dropped += Math.floor(size / CQ_ENTRY_SIZE);
        this.#logger.warn({ file: path, reason: bad }, 'dropping consume queue file');
        unlinkSync(path);
        continue;
      }
      this.#files.push({ index, path, fd: -1 });
    }
    const last = this.#files[this.#files.length - 1];
    if (!last) return dropped;
    const size = fileSizeOf(last.path);
    const whole = Math.floor(size / CQ_ENTRY_SIZE);
    if (whole * CQ_ENTRY_SIZE !== size) {
      ftruncateSync(this.#fd(last), whole * CQ_ENTRY_SIZE);
      dropped++;
    }
    this.#tailBase = last.index + whole;
    this.#synced = this.#tailBase;
    this.#min = this.#files[0]!.index;
    return dropped;
  }

  /**
   * Drops tail entries that point at or past `commitLogEnd` or are torn (zero size): after the
   * commit log lost its tail, the queue must not name records that are gone. Returns the count.
   */
  truncateToCommitLog(commitLogEnd: number): number {
    let end = this.maxOffset;
    while (end > this.#min) {
      const from = Math.max(this.#min, end - TAIL_CHECK_ENTRIES);
      const entries = this.readEntries(from, end - from);
      let k = entries.length / CQ_ENTRY_SIZE - 1;
      for (; k >= 0; k--) {
        const size = entrySize(entries, k);
        if (size === FILLER_SIZE) break;
        if (size > 0 && entryOffset(entries, k) + size <= commitLogEnd) break;
      }
      if (k >= 0) {
        end = from + k + 1;
        break;
      }
      end = from;
    }
    const dropped = this.maxOffset - end;
    if (dropped > 0) this.truncateTo(end);
    return dropped;
  }

  /** Moves the min offset past entries whose commit-log data is gone (Java correctMinOffset). */
  correctMinOffset(commitLogMin: number): void {
    const real = (i: number): boolean => {
      const e = this.readEntries(i, 1);
      const size = entrySize(e, 0);
      return size !== FILLER_SIZE && size > 0 && entryOffset(e, 0) >= commitLogMin;
    };
    const max = this.maxOffset;
    if (this.#min >= max || real(this.#min)) return;
    let lo = this.#min + 1;
    let hi = max;
    while (lo < hi) {
      const mid = lo + Math.floor((hi - lo) / 2);
      if (real(mid)) hi = mid;
      else lo = mid + 1;
    }
    this.#min = lo;
  }

  /** The last entry's commit-log offset and size, or undefined for an empty queue. */
  lastEntry(): { offset: number; size: number } | undefined {
    if (this.maxOffset <= this.#min) return undefined;
    const e = this.readEntries(this.maxOffset - 1, 1);
    return { offset: entryOffset(e, 0), size: entrySize(e, 0) };
  }

  /** Removes entries from `index` on (recovery only: no flush may be running). */
  truncateTo(index: number): void {
    if (index >= this.maxOffset) return;
    if (index >= this.#tailBase) {
      this.#tailCount = index - this.#tailBase;
    } else {
      this.#tailCount = 0;
      this.#tailBase = index;
      while (this.#files.length > 0) {
        const last = this.#files[this.#files.length - 1]!;
        if (last.index < index || (last.index === index && this.#files.length === 1)) {
          ftruncateSync(this.#fd(last), (index - last.index) * CQ_ENTRY_SIZE);
          break;
        }
        if (last.fd >= 0) closeSync(last.fd);
        unlinkSync(last.path);
        this.#files.pop();
      }
    }
    if (this.#synced > index) this.#synced = index;
    if (this.#min > index) this.#min = index;
  }

  /**
   * Makes a run-time truncateTo durable (replication: a cut commit log must not get stale
   * entries back after a power loss): fsyncs the last file and the directory. Like truncateTo,
   * it must not overlap a flush.
   */
  async syncTruncation(): Promise<void> {
    const last = this.#files[this.#files.length - 1];
    if (!last) return;
    await this.#io.fsync(this.#fd(last));
    await this.#io.syncDir(this.#dir);
  }

  // -------------------------------------------------------------------------------------------
  // Appends

  /** Appends the entry for logical offset `maxOffset`. */
  append(physicalOffset: number, size: number, tags: number): void {
    if (this.#tailCount * CQ_ENTRY_SIZE === this.#tail.length) this.#growTail();
    writeEntry(this.#tail, this.#tailCount * CQ_ENTRY_SIZE, physicalOffset, size, tags);
    this.#tailCount++;
  }

  /**
   * Fills offsets [maxOffset, index) with filler entries (recovery found a record at queue
   * offset `index` but the entries before it are gone). A queue that is still empty simply
   * starts at `index`, with fillers from the start of its first file.
   */
  fillTo(index: number): void {
    if (index <= this.maxOffset) return;
    if (this.maxOffset === 0 && this.#files.length === 0) {
      this.#tailBase = index - (index % this.#perFile);
      this.#synced = this.#tailBase;
      this.#min = index;
    }
    while (this.maxOffset < index) this.append(0, FILLER_SIZE, 0);
  }

  #growTail(): void {
    const next = Buffer.allocUnsafe(Math.max(INITIAL_TAIL_ENTRIES * CQ_ENTRY_SIZE, this.#tail.length * 2));
    this.#tail.copy(next, 0, 0, this.#tailCount * CQ_ENTRY_SIZE);
    this.#tail = next;
  }

  /** Writes the in-memory tail to the files and fsyncs them. Concurrent calls are serialized. */
  flush(): Promise<void> {
    const prev = this.#flushing;
    const run = prev ? prev.then(() => this.#flushOnce()) : this.#flushOnce();
    // #flushing never rejects: it only orders flushes; the caller gets `run` and its error.
    const settled: Promise<void> = run.then(noop, noop).then(() => {
      if (this.#flushing === settled) this.#flushing = undefined;
    });
    this.#flushing = settled;
    return run;
  }

  async #flushOnce(): Promise<void> {
    if (this.#destroyed) return;
    const count = this.#tailCount;
    const start = this.#tailBase;
    const end = start + count;
    if (count === 0 && this.#synced >= end) return;
    const touched: CqFile[] = [];
    // #tail may be replaced by a larger buffer while we write; the old one keeps these bytes.
    const tail = this.#tail;
    let i = start;
    while (i < end) {
      const file = await this.#fileForWrite(i);
      const chunkEnd = Math.min(end, file.index + this.#perFile);
      const data = tail.subarray((i - start) * CQ_ENTRY_SIZE, (chunkEnd - start) * CQ_ENTRY_SIZE);
      await writeFully(this.#io, file.fd, [data], (i - file.index) * CQ_ENTRY_SIZE);
      touched.push(file);
      i = chunkEnd;
    }
    if (this.#destroyed) return;
    // Written: drop them from memory (entries appended meanwhile stay).
    this.#tail.copyWithin(0, count * CQ_ENTRY_SIZE, this.#tailCount * CQ_ENTRY_SIZE);
    this.#tailBase += count;
    this.#tailCount -= count;
    if (touched.length === 0 && this.#files.length > 0) touched.push(this.#files[this.#files.length - 1]!);
    for (const file of touched) await this.#io.fsync(file.fd);
    if (end > this.#synced) this.#synced = end;
  }

  async #fileForWrite(index: number): Promise<CqFile> {
    const fileIndex = index - (index % this.#perFile);
    const last = this.#files[this.#files.length - 1];
    if (last && last.index === fileIndex) {
      if (last.fd < 0) last.fd = await this.#io.open(last.path, 'r+');
      return last;
    }
    if (last && fileIndex !== last.index + this.#perFile) {
      throw new StoreError('RMQ_STORE_IO', `consume queue ${this.topic}/${this.queueId}: write at ${index} skips a file`);
    }
    if (!last) mkdirSync(this.#dir, { recursive: true });
    const path = join(this.#dir, fileName(fileIndex * CQ_ENTRY_SIZE));
    const file: CqFile = { index: fileIndex, path, fd: await this.#io.open(path, 'w+') };
    this.#files.push(file);
    if (this.#files.length === 1) this.#min = Math.max(this.#min, fileIndex);
    return file;
  }

  // -------------------------------------------------------------------------------------------
  // Reads

  readEntries(from: number, count: number): Buffer {
    const start = from;
    const end = Math.min(from + count, this.maxOffset);
    if (end <= start || start < this.#firstFileIndex()) return EMPTY;
    const base = this.#tailBase;
    if (start >= base) return this.#tail.subarray((start - base) * CQ_ENTRY_SIZE, (end - base) * CQ_ENTRY_SIZE);
    const out = Buffer.allocUnsafe((end - start) * CQ_ENTRY_SIZE);
    let i = start;
    while (i < end && i < base) {
      const file = this.#files[Math.floor((i - this.#files[0]!.index) / this.#perFile)];
      if (!file) throw new StoreError('RMQ_STORE_IO', `consume queue ${this.topic}/${this.queueId}: no file for offset ${i}`);
      const chunkEnd = Math.min(end, base, file.index + this.#perFile);
      const len = (chunkEnd - i) * CQ_ENTRY_SIZE;
      let n: number;
      try {
        n = readSync(this.#fd(file), out, (i - start) * CQ_ENTRY_SIZE, len, (i - file.index) * CQ_ENTRY_SIZE);
      } catch (err) {
        throw new StoreError('RMQ_STORE_IO', `consume queue ${this.topic}/${this.queueId}: read failed`, { cause: err });
      }
      if (n !== len) throw new StoreError('RMQ_STORE_IO', `consume queue ${this.topic}/${this.queueId}: short read at ${i}`);
      i = chunkEnd;
    }
    if (i < end) this.#tail.copy(out, (i - start) * CQ_ENTRY_SIZE, (i - base) * CQ_ENTRY_SIZE, (end - base) * CQ_ENTRY_SIZE);
    return out;
  }

  #firstFileIndex(): number {
    return this.#files[0]?.index ?? this.#tailBase;
  }

  #fd(file: CqFile): number {
    if (file.fd < 0) file.fd = openSync(file.path, 'r+');
    return file.fd;
  }

  // -------------------------------------------------------------------------------------------

  /**
   * Retention, after the commit log lost its head: moves the min offset past entries whose
   * records are below `commitLogMin` (correctMinOffset), then deletes the files wholly below the
   * new min offset that are already written, always keeping the last file (Java
   * ConsumeQueue.deleteExpiredFile). File deletion waits while a flush holds the files: then
   * `pending` is set and the caller retries later. Synchronous, like reads.
   */
  deleteExpiredFiles(commitLogMin: number): { files: DeletedFile[]; pending: boolean } {
    const files: DeletedFile[] = [];
    if (this.#destroyed) return { files, pending: false };
    this.correctMinOffset(commitLogMin);
    const below = Math.min(this.#min, this.#synced, this.#tailBase);
    const first = this.#files[0];
    if (!first || first.index + this.#perFile > below || this.#files.length < 2) return { files, pending: false };
    if (this.#flushing) return { files, pending: true };
    while (this.#files.length > 1) {
      const file = this.#files[0]!;
      if (file.index + this.#perFile > below) break;
      let bytes = 0;
      try {
        bytes = fileSizeOf(file.path);
        unlinkSync(file.path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
          this.#logger.error({ err, file: file.path }, 'could not delete an expired consume queue file');
          return { files, pending: true };
        }
      }
      if (file.fd >= 0) {
        try {
          closeSync(file.fd);
        } catch {
          // already closed
        }
        file.fd = -1;
      }
      this.#files.shift();
      files.push({ path: file.path, bytes });
    }
    return { files, pending: false };
  }

  /** Deletes the queue's files (topic deletion). Open files are closed once a flush finishes. */
  destroy(): void {
    this.#destroyed = true;
    rmSync(this.#dir, { recursive: true, force: true });
    this.#tail = EMPTY;
    this.#tailCount = 0;
    const closeAll = (): void => this.#closeFiles();
    if (this.#flushing) void this.#flushing.then(closeAll, closeAll);
    else closeAll();
  }

  /** Flushes (unless destroyed) and closes the files. */
  async close(): Promise<void> {
    try {
      if (!this.#destroyed) await this.flush();
      else if (this.#flushing) await this.#flushing;
    } finally {
      this.#closeFiles();
    }
  }

  /** Closes the files without flushing. */
  closeNow(): void {
    this.#closeFiles();
  }

  #closeFiles(): void {
    for (const file of this.#files) {
      if (file.fd >= 0) {
        try {
          closeSync(file.fd);
        } catch {
          // already closed
        }
        file.fd = -1;
      }
    }
  }
}

function fileSizeOf(path: string): number {
  return statSync(path).size;
}

function noop(): void {}
