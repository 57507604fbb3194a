// The commit log: every stored record (reference §3.4) appended back to back in segment files
// of `segmentSize` bytes, each named by its start offset as 20 zero-padded digits. A record
// never straddles segments: when it (plus 8 spare bytes) does not fit, an 8-byte BLANK
// (int32 remaining size, MAGIC_BLANK) ends the segment and the record starts the next one, so
// physical offsets are the ones Java RocketMQ would assign.
//
// Write path. append() is synchronous: it reserves the offset, encodes the record through the
// caller's callback and queues the bytes. Everything queued in one event-loop turn is written
// with one positional writev per segment (setImmediate runs after the poll phase, so appends
// from all sockets that were readable in that turn coalesce). One write is in flight at a time;
// what arrives meanwhile forms the next batch. Each append's callback runs, in offset order,
// once its bytes are written: the store dispatches to consume queues there, so nothing becomes
// readable before it is written, and a failed write fails that append and every append queued
// after it (their offsets depended on it), rewinds the append offset and truncates the partial
// bytes. Reads use readSync on the segment fds, up to the written offset.
//
// Flush. fsync runs (a) on an interval and (b) for group commit: waitForFlush(end) registers a
// waiter; an fsync covering the written offset starts as soon as none is in flight, and its
// completion acknowledges every waiter up to the offset it covered. Waiters that outlive the
// sync-flush timeout are acknowledged as timed out.
//
// Replication. A slave's raw bytes (appendRaw) take the same write and flush paths; readRaw
// serves a master's bytes; truncateTail cuts the log back while running (promotion, demotion).
import { closeSync, fstatSync, fsyncSync, mkdirSync, openSync, readSync, readdirSync, unlinkSync, ftruncateSync } from 'node:fs';
import { join } from 'node:path';
import { StoreError } from '../common/errors.js';
import { MAGIC_BLANK, MAGIC_V1, MAGIC_V2, PHYSICAL_OFFSET_POSITION, decodeMessageRecord, storeTimestampPosition } from '../protocol/message.js';
import type { DecodedRecord } from '../protocol/message.js';
import type { CleanableSegment, DeletedFile } from './clean-service.js';
import { readInt64 } from './store-common.js';
import type { StoreLogger } from './store-common.js';
import { describeIoError, writeFully } from './store-io.js';
import type { StoreIo } from './store-io.js';

/** Bytes always left free at a segment's end for the BLANK marker (CommitLog.END_FILE_MIN_BLANK_LENGTH). */
export const END_FILE_MIN_BLANK_LENGTH = 8;
/** Segment and consume-queue files are named by their start offset in this many digits (UtilAll.offset2FileName). */
export const FILE_NAME_DIGITS = 20;
/** Default segment size (mappedFileSizeCommitLog): 1 GiB. */
export const DEFAULT_SEGMENT_SIZE = 1024 * 1024 * 1024;
/** Smallest possible record: IPv4 hosts, empty body, topic and properties (§3.4). */
export const MIN_RECORD_SIZE = 91;
/** Record prefix that always contains STORETIMESTAMP: 56 + 8 with an IPv4 born host, 68 + 8 with IPv6. */
const TIMESTAMP_PEEK_BYTES = 76;
/** Recovery reads segments in chunks of this many bytes. */
const SCAN_CHUNK_BYTES = 4 * 1024 * 1024;

export function fileName(offset: number): string {
  return String(offset).padStart(FILE_NAME_DIGITS, '0');
}
const FILE_NAME_RE = /^\d{20}$/;

interface Segment {
  readonly start: number;
  readonly path: string;
  fd: number;
}

/** Called once an append's bytes are written (err undefined) or could not be (err set). */
export type WriteCallback = (err: Error | undefined) => void;
/** Called when an fsync covered the waiter (ok), failed (err), or the timeout passed (timedOut). */
export type FlushCallback = (err: Error | undefined, timedOut: boolean) => void;

interface PendingWrite {
  offset: number;
  /** Logical length: the record bytes, or for a BLANK the rest of the segment. */
  span: number;
  buffers: readonly Buffer[];
  done: WriteCallback | undefined;
}

interface FlushWaiter {
  end: number;
  deadline: number;
  done: FlushCallback;
}

export interface ScanResult {
  /** Offset after the last valid record (the new end of the log). */
  end: number;
  /** Why the scan stopped before the end of the files, if it did. */
  stopReason?: string;
}

export interface CommitLogOptions {
  dir: string;
  segmentSize: number;
  io: StoreIo;
  logger: StoreLogger;
  syncFlushTimeoutMs: number;
}

export class CommitLog {
  readonly #dir: string;
  readonly #segmentSize: number;
  readonly #io: StoreIo;
  readonly #logger: StoreLogger;
  readonly #syncFlushTimeoutMs: number;

  #segments: Segment[] = [];
  /** Start offset of segments[0]; segment i starts at #base + i × segmentSize. */
  #base = 0;
  /** Next offset to reserve (includes queued, unwritten bytes). */
  #appendOffset = 0;
  /** Every byte below this is written to its file and may be read. */
  #writtenOffset = 0;
  /** Every byte below this has been fsynced. */
  #flushedOffset = 0;

  #pending: PendingWrite[] = [];
  #writing = false;
  #drainScheduled = false;
  #idleWaiters: (() => void)[] = [];

  /** Group-commit waiters in arrival order (so by end offset and by deadline); [head, length) live. */
  #waiters: (FlushWaiter | undefined)[] = [];
  #waiterHead = 0;
  #waiterTimer: NodeJS.Timeout | undefined;
  #flushInFlight: Promise<Error | undefined> | undefined;
  #flushCount = 0;
  #closed = false;
  /** Lowest offset the log was cut back to (truncateTail) during the running fsync round. */
  #cutFloor = Infinity;

  constructor(options: CommitLogOptions) {
    this.#dir = options.dir;
    this.#segmentSize = options.segmentSize;
    this.#io = options.io;
    this.#logger = options.logger;
    this.#syncFlushTimeoutMs = options.syncFlushTimeoutMs;
  }

  get segmentSize(): number {
    return this.#segmentSize;
  }
  get minOffset(): number {
    return this.#base;
  }
  get appendOffset(): number {
    return this.#appendOffset;
  }
  get writtenOffset(): number {
    return this.#writtenOffset;
  }
  get flushedOffset(): number {
    return this.#flushedOffset;
  }
  /** Completed fsync rounds (each covers everything written when it started). */
  get flushCount(): number {
    return this.#flushCount;
  }

  // -------------------------------------------------------------------------------------------
  // Start-up (synchronous: runs once, before the store accepts traffic)

  /** Opens the existing segments. Returns the offset just past the last byte in the files. */
  open(): number {
    mkdirSync(this.#dir, { recursive: true });
    const names = readdirSync(this.#dir).filter((n) => FILE_NAME_RE.test(n)).sort();
    const size = this.#segmentSize;
    for (const name of names) {
      const start = Number(name);
      if (start % size !== 0) {
        throw new StoreError(
          'RMQ_STORE_CORRUPT',
          `commit log segment ${join(this.#dir, name)} does not start at a multiple of mappedFileSizeCommitLog ${size}; was the segment size changed?`,
        );
      }
      const expected = this.#segments.length === 0 ? start : this.#segments[this.#segments.length - 1]!.start + size;
      if (start !== expected) {
        throw new StoreError('RMQ_STORE_CORRUPT', `commit log segment ${fileName(expected)} is missing in ${this.#dir} (next is ${name})`);
      }
      const path = join(this.#dir, name);
      const fd = openSync(path, 'r+');
      this.#segments.push({ start, path, fd });
      if (fstatSync(fd).size > size) {
        throw new StoreError('RMQ_STORE_CORRUPT', `commit log segment ${path} is larger than mappedFileSizeCommitLog ${size}`);
      }
    }
    this.#base = this.#segments[0]?.start ?? 0;
    const last = this.#segments[this.#segments.length - 1];
    return last ? last.start + fstatSync(last.fd).size : 0;
  }

  #fileLength(seg: Segment): number {
    return fstatSync(seg.fd).size;
  }

  #segmentIndex(offset: number): number {
    return Math.floor((offset - this.#base) / this.#segmentSize);
  }

  /**
   * Whether `offset` can be where the data ends after a clean shutdown: inside the last
   * segment at exactly its length, or at the start of a segment that does not exist yet and
   * follows a full one.
   */
  isCleanEnd(offset: number): boolean {
    if (this.#segments.length === 0) return offset === this.#base;
    const idx = this.#segmentIndex(offset);
    const lastIdx = this.#segments.length - 1;
    if (idx === lastIdx) return this.#fileLength(this.#segments[lastIdx]!) === offset - this.#segments[lastIdx]!.start;
    if (idx === lastIdx + 1) return offset === this.#segments[lastIdx]!.start + this.#segmentSize;
    return false;
  }

  /** Whether a scan may start at `offset` (within the files; offsets come from a checkpoint). */
  canScanFrom(offset: number): boolean {
    if (offset === this.#base) return true;
    if (offset < this.#base) return false;
    const idx = this.#segmentIndex(offset);
    const seg = this.#segments[idx];
    if (seg) return offset - seg.start <= this.#fileLength(seg);
    return idx === this.#segments.length && offset === this.#base + idx * this.#segmentSize;
  }

  /**
   * Reads records from `from` to the end of the files, calling `onRecord` for each valid one
   * in order, and returns where the valid data ends. With `checkCrc` every body checksum is
   * verified (crash recovery). `afterSegment` runs between segments (lets the caller flush).
   */
  async scan(
    from: number,
    checkCrc: boolean,
    onRecord: (rec: DecodedRecord, physicalOffset: number) => void,
    afterSegment?: () => Promise<void>,
  ): Promise<ScanResult> {
    const size = this.#segmentSize;
    let idx = this.#segments.length === 0 ? 0 : this.#segmentIndex(from);
    let pos = from - (this.#base + idx * size);
    let chunk = Buffer.allocUnsafe(Math.min(SCAN_CHUNK_BYTES, size));
    for (; idx < this.#segments.length; idx++, pos = 0) {
      const seg = this.#segments[idx]!;
      const len = this.#fileLength(seg);
      let chunkStart = 0;
      let chunkLen = 0;
      // Makes [p, p + n) available in `chunk`; false when the file ends first.
      const need = (p: number, n: number): boolean => {
        if (p + n > len) return false;
        if (p >= chunkStart && p + n <= chunkStart + chunkLen) return true;
        if (n > chunk.length) chunk = Buffer.allocUnsafe(n);
        chunkStart = p;
        chunkLen = readSync(seg.fd, chunk, 0, Math.min(chunk.length, len - p), p);
        return chunkLen >= n;
      };
      for (;;) {
        if (pos === len && idx === this.#segments.length - 1) return { end: seg.start + pos };
        if (pos === len) return { end: seg.start + pos, stopReason: `segment ${seg.path} ends without a BLANK` };
        if (!need(pos, 8)) return { end: seg.start + pos, stopReason: `${len - pos} trailing bytes` };
        const at = pos - chunkStart;
        const recSize = chunk.readInt32BE(at);
        const magic = chunk.readInt32BE(at + 4);
        if (magic === MAGIC_BLANK) {
          if (recSize !== size - pos) return { end: seg.start + pos, stopReason: `bad BLANK size ${recSize} at ${seg.start + pos}` };
          break; // the rest of this segment is filler; continue with the next one
        }
        if (magic !== MAGIC_V1 && magic !== MAGIC_V2) {
          return { end: seg.start + pos, stopReason: `bad magic 0x${(magic >>> 0).toString(16)} at ${seg.start + pos}` };
        }
        if (recSize < MIN_RECORD_SIZE || pos + recSize + END_FILE_MIN_BLANK_LENGTH > size) {
          return { end: seg.start + pos, stopReason: `bad record size ${recSize} at ${seg.start + pos}` };
        }
        if (!need(pos, recSize)) return { end: seg.start + pos, stopReason: `record at ${seg.start + pos} is cut short` };
        let rec: DecodedRecord | undefined;
        try {
          rec = decodeMessageRecord(chunk, pos - chunkStart, checkCrc);
        } catch (err) {
          return { end: seg.start + pos, stopReason: describeIoError(err) };
        }
        if (!rec || rec.physicalOffset !== seg.start + pos) {
          return { end: seg.start + pos, stopReason: `record at ${seg.start + pos} names offset ${rec?.physicalOffset}` };
        }
        onRecord(rec, seg.start + pos);
        pos += recSize;
      }
      if (afterSegment) await afterSegment();
    }
    // A BLANK ended the last segment: the log continues at the next (not yet created) one.
    return { end: this.#base + idx * size };
  }

  /**
   * Cuts the log at `end` (recovery): truncates the segment holding it and deletes the later
   * ones. Returns how many bytes were dropped.
   */
  truncate(end: number): number {
    let dropped = 0;
    const keep = this.#segments.length === 0 ? 0 : Math.min(this.#segments.length, this.#segmentIndex(end) + 1);
    while (this.#segments.length > keep) {
      const seg = this.#segments.pop()!;
      dropped += this.#fileLength(seg);
      closeSync(seg.fd);
      unlinkSync(seg.path);
    }
    const last = this.#segments[this.#segments.length - 1];
    if (last && end < last.start + this.#segmentSize) {
      const len = this.#fileLength(last);
      const at = end - last.start;
      if (len > at) {
        dropped += len - at;
        ftruncateSync(last.fd, at);
        fsyncSync(last.fd);
      }
    }
    return dropped;
  }

  /** Sets the end found by recovery; everything before it is on disk. */
  setEnd(end: number): void {
    this.#appendOffset = end;
    this.#writtenOffset = end;
    this.#flushedOffset = end;
    if (this.#segments.length === 0) this.#base = end - (end % this.#segmentSize);
  }

  // -------------------------------------------------------------------------------------------
  // Appends

  /**
   * Reserves `size` bytes in one segment (ending the current one with a BLANK when needed),
   * calls `encode` with the record's physical offset and queues the returned bytes (exactly
   * `size` of them). Returns the physical offset. `done` runs once the bytes are written.
   */
  append(size: number, encode: (physicalOffset: number) => readonly Buffer[], done: WriteCallback): number {
    if (this.#closed) throw new StoreError('RMQ_STORE_CLOSED', 'commit log is closed');
    const segSize = this.#segmentSize;
    if (size + END_FILE_MIN_BLANK_LENGTH > segSize) throw new StoreError('RMQ_STORE_IO', `append of ${size} bytes exceeds the segment size`);
    const here = this.#appendOffset;
    const segEnd = here - ((here - this.#base) % segSize) + segSize;
    const remaining = segEnd - here;
    const needsBlank = size + END_FILE_MIN_BLANK_LENGTH > remaining;
    const offset = needsBlank ? segEnd : here;
    // Encode first: if it throws, nothing has been queued.
    const buffers = encode(offset);
    if (needsBlank) {
      const blank = Buffer.allocUnsafe(END_FILE_MIN_BLANK_LENGTH);
      blank.writeInt32BE(remaining, 0);
      blank.writeInt32BE(MAGIC_BLANK, 4);
      this.#pending.push({ offset: here, span: remaining, buffers: [blank], done: undefined });
    }
    this.#pending.push({ offset, span: size, buffers, done });
    this.#appendOffset = offset + size;
    if (!this.#drainScheduled && !this.#writing) {
      this.#drainScheduled = true;
      setImmediate(this.#drain);
    }
    return offset;
  }

  readonly #drain = (): void => {
    this.#drainScheduled = false;
    if (this.#writing) return;
    if (this.#pending.length === 0) {
      this.#notifyIdle();
      return;
    }
    const batch = this.#pending;
    this.#pending = [];
    this.#writing = true;
    this.#writeBatch(batch)
      .catch((err: unknown) => {
        // Not an I/O error (those are handled per group): a bug. Fail what is left rather than hang.
        this.#logger.error({ err }, 'commit log write loop failed');
        this.#fail(batch, 0, err instanceof Error ? err : new Error(String(err)));
      })
      .finally(() => {
        this.#writing = false;
        if (this.#waiterHead < this.#waiters.length) this.#startFlush();
        this.#drain();
      });
  };

  async #writeBatch(batch: PendingWrite[]): Promise<void> {
    let i = 0;
    while (i < batch.length) {
      const first = batch[i]!;
      let seg: Segment;
      try {
        seg = await this.#segmentFor(first.offset);
      } catch (err) {
        this.#fail(batch, i, err as Error);
        return;
      }
      const segEnd = seg.start + this.#segmentSize;
      const buffers: Buffer[] = [];
      let j = i;
      for (; j < batch.length && batch[j]!.offset < segEnd; j++) buffers.push(...batch[j]!.buffers);
      try {
        await writeFully(this.#io, seg.fd, buffers, first.offset - seg.start);
      } catch (err) {
        // Cut the partial bytes first, so a failed put is never followed by a torn record on disk.
        await this.#cutBack(seg);
        this.#fail(batch, i, err as Error);
        return;
      }
      const last = batch[j - 1]!;
      this.#writtenOffset = last.offset + last.span;
      for (let k = i; k < j; k++) {
        const w = batch[k]!;
        const done = w.done;
        if (!done) continue;
        w.done = undefined; // exactly one callback per append, whatever happens later
        try {
          done(undefined);
        } catch (err) {
          this.#logger.error({ err }, 'commit log append callback threw');
        }
      }
      i = j;
    }
  }

  /** Fails batch[from..] and everything queued after it, and rewinds the append offset. */
  #fail(batch: PendingWrite[], from: number, err: Error): void {
    const rest = this.#pending;
    this.#pending = [];
    this.#appendOffset = this.#writtenOffset;
    for (const list of [batch.slice(from), rest]) {
      for (const w of list) {
        const done = w.done;
        if (!done) continue;
        w.done = undefined;
        try {
          done(err);
        } catch (cbErr) {
          this.#logger.error({ err: cbErr }, 'commit log append callback threw');
        }
      }
    }
  }

  /** Removes partially written bytes past the written offset, so no torn record remains. */
  async #cutBack(seg: Segment): Promise<void> {
    const keep = Math.max(0, this.#writtenOffset - seg.start);
    try {
      await this.#io.ftruncate(seg.fd, keep);
    } catch (err) {
      // The bytes stay but are past the end: the next append overwrites them.
      this.#logger.error({ err, segment: seg.path, keep }, 'could not truncate a failed commit log write');
    }
  }

  async #segmentFor(offset: number): Promise<Segment> {
    const idx = this.#segmentIndex(offset);
    const existing = this.#segments[idx];
    if (existing) return existing;
    if (idx !== this.#segments.length) throw new StoreError('RMQ_STORE_IO', `commit log offset ${offset} skips a segment`);
    const start = this.#base + idx * this.#segmentSize;
    const path = join(this.#dir, fileName(start));
    const fd = await this.#io.open(path, 'w+');
    const seg = { start, path, fd };
    this.#segments.push(seg);
    try {
      await this.#io.syncDir(this.#dir);
    } catch (err) {
      this.#logger.warn({ err, dir: this.#dir }, 'could not fsync the commit log directory');
    }
    return seg;
  }

  /** Resolves when no write is in flight or queued. */
  whenIdle(): Promise<void> {
    if (!this.#writing && this.#pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #notifyIdle(): void {
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }

  // -------------------------------------------------------------------------------------------
  // Flush

  /** Calls `done` once an fsync covers [0, end), or when the sync-flush timeout passes. */
  waitForFlush(end: number, done: FlushCallback): void {
    if (this.#flushedOffset >= end) {
      done(undefined, false);
      return;
    }
    this.#waiters.push({ end, deadline: performance.now() + this.#syncFlushTimeoutMs, done });
    if (this.#waiterTimer === undefined) this.#armWaiterTimer();
    if (!this.#writing) this.#startFlush();
  }

  /** Starts an fsync round unless one is running; a running round restarts itself if needed. */
  #startFlush(): void {
    if (this.#flushInFlight || this.#closed) return;
    if (this.#writtenOffset > this.#flushedOffset) void this.#flushRound();
  }

  /** Fsyncs everything written so far. Resolves with the error, if any (never rejects). */
  #flushRound(): Promise<Error | undefined> {
    const round = this.#doFlush().finally(() => {
      this.#flushInFlight = undefined;
      // Puts that arrived during the round need another one: group commit.
      if (this.#waiterHead < this.#waiters.length && !this.#writing) this.#startFlush();
    });
    this.#flushInFlight = round;
    return round;
  }

  async #doFlush(): Promise<Error | undefined> {
    const target = this.#writtenOffset;
    const from = this.#flushedOffset;
    this.#cutFloor = Infinity;
    let error: Error | undefined;
    if (target > from) {
      const first = Math.max(0, this.#segmentIndex(from));
      const last = this.#segmentIndex(target - 1);
      try {
        // Taken before the first await: retention may drop head segments (shifting indices) meanwhile.
        for (const seg of this.#segments.slice(first, last + 1)) await this.#io.fsync(seg.fd);
        this.#flushCount++;
        // A cut meanwhile took bytes back: what is written past it now was not covered.
        const covered = Math.min(target, this.#cutFloor);
        if (covered > this.#flushedOffset) this.#flushedOffset = covered;
      } catch (err) {
        error = err instanceof Error ? err : new Error(String(err));
        this.#logger.error({ err: error, from, target }, 'commit log fsync failed');
      }
    }
    this.#ackWaiters(Math.min(target, this.#cutFloor), error);
    return error;
  }

  /** Acknowledges waiters covered by an fsync up to `target` (or failed by `error`). */
  #ackWaiters(target: number, error: Error | undefined): void {
    const waiters = this.#waiters;
    while (this.#waiterHead < waiters.length && waiters[this.#waiterHead]!.end <= target) {
      const w = waiters[this.#waiterHead]!;
      waiters[this.#waiterHead++] = undefined;
      w.done(error, false);
    }
    this.#compactWaiters();
  }

  #compactWaiters(): void {
    if (this.#waiterHead === this.#waiters.length) {
      this.#waiters = [];
      this.#waiterHead = 0;
      if (this.#waiterTimer !== undefined) {
        clearTimeout(this.#waiterTimer);
        this.#waiterTimer = undefined;
      }
    } else if (this.#waiterHead > 1024 && this.#waiterHead * 2 > this.#waiters.length) {
      this.#waiters = this.#waiters.slice(this.#waiterHead);
      this.#waiterHead = 0;
    }
  }

  /** One timer, for the oldest waiter (deadlines grow in arrival order). */
  #armWaiterTimer(): void {
    const head = this.#waiters[this.#waiterHead];
    if (!head) return;
    const delay = Math.max(0, head.deadline - performance.now());
    this.#waiterTimer = setTimeout(this.#expireWaiters, delay);
    this.#waiterTimer.unref();
  }

  readonly #expireWaiters = (): void => {
    this.#waiterTimer = undefined;
    const now = performance.now();
    const waiters = this.#waiters;
    while (this.#waiterHead < waiters.length && waiters[this.#waiterHead]!.deadline <= now) {
      const w = waiters[this.#waiterHead]!;
      waiters[this.#waiterHead++] = undefined;
      w.done(undefined, true);
    }
    this.#compactWaiters();
    if (this.#waiterHead < this.#waiters.length) this.#armWaiterTimer();
  };

  /** Periodic flush (ASYNC_FLUSH, and for puts that do not wait under SYNC_FLUSH). */
  flushInBackground(): void {
    // Not gated on #writing: under steady load a write is almost always in flight.
    this.#startFlush();
  }

  /** Fsyncs everything written so far; throws the fsync error. */
  async flush(): Promise<void> {
    const target = this.#writtenOffset;
    for (;;) {
      if (this.#flushInFlight) await this.#flushInFlight;
      // A cut (truncateTail) may have lowered the end meanwhile.
      if (this.#flushedOffset >= Math.min(target, this.#writtenOffset)) return;
      const err = await this.#flushRound();
      if (err) throw new StoreError('RMQ_STORE_IO', `commit log fsync failed: ${err.message}`, { cause: err });
    }
  }

  // -------------------------------------------------------------------------------------------
  // Retention (clean-service.ts decides what goes; these report and delete)

  /**
   * Head segments that may be deleted, oldest first: wholly below `limit` and the flushed
   * offset, and never the last segment (the one being written, or next to be).
   */
  headSegments(limit: number): CleanableSegment[] {
    const end = Math.min(limit, this.#flushedOffset);
    const out: CleanableSegment[] = [];
    for (let i = 0; i < this.#segments.length - 1; i++) {
      const seg = this.#segments[i]!;
      if (seg.start + this.#segmentSize > end) break;
      const st = fstatSync(seg.fd);
      out.push({ start: seg.start, bytes: st.size, lastModifiedMs: st.mtimeMs });
    }
    return out;
  }

  /**
   * Deletes up to `count` head segments under the rules of headSegments(limit). Synchronous,
   * like reads, so no read sees a half-deleted segment; later reads of the deleted range find
   * nothing (read() answers undefined below the min offset). An unlink that fails stops there
   * and keeps the segment.
   */
  deleteHeadSegments(count: number, limit: number): DeletedFile[] {
    const end = Math.min(limit, this.#flushedOffset);
    const deleted: DeletedFile[] = [];
    while (deleted.length < count && this.#segments.length > 1) {
      const seg = this.#segments[0]!;
      if (seg.start + this.#segmentSize > end) break;
      let bytes = 0;
      try {
        bytes = fstatSync(seg.fd).size;
        unlinkSync(seg.path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
          this.#logger.error({ err, segment: seg.path }, 'could not delete an expired commit log segment');
          break;
        }
      }
      this.#segments.shift();
      this.#base = this.#segments[0]!.start;
      try {
        closeSync(seg.fd);
      } catch {
        // already closed
      }
      deleted.push({ path: seg.path, bytes });
    }
    return deleted;
  }

  // -------------------------------------------------------------------------------------------
  // Reads (synchronous; page cache)

  #segmentAt(offset: number): Segment | undefined {
    if (offset < this.#base) return undefined;
    return this.#segments[this.#segmentIndex(offset)];
  }

  /** Bytes [offset, offset + size) of one segment, or undefined outside the written data. */
  read(offset: number, size: number): Buffer | undefined {
    if (size <= 0 || offset < this.#base || offset + size > this.#writtenOffset) return undefined;
    const seg = this.#segmentAt(offset);
    if (!seg || offset + size > seg.start + this.#segmentSize) return undefined;
    const buf = Buffer.allocUnsafe(size);
    try {
      if (readSync(seg.fd, buf, 0, size, offset - seg.start) !== size) return undefined;
    } catch (err) {
      this.#logger.error({ err, offset, size }, 'commit log read failed');
      return undefined;
    }
    return buf;
  }

  /**
   * The whole record starting at `offset`, or undefined when no record starts there. Offsets
   * come from clients (offset message ids), so the size is capped before allocating and the
   * record must name its own offset.
   */
  readRecord(offset: number, maxSize: number): Buffer | undefined {
    const head = this.read(offset, 8);
    if (!head) return undefined;
    const size = head.readInt32BE(0);
    const magic = head.readInt32BE(4);
    if ((magic !== MAGIC_V1 && magic !== MAGIC_V2) || size < MIN_RECORD_SIZE || size > maxSize) return undefined;
    const rec = this.read(offset, size);
    if (!rec || readInt64(rec, PHYSICAL_OFFSET_POSITION) !== offset) return undefined;
    return rec;
  }

  /** Store timestamp of the record at `offset` (size from its consume-queue entry), or -1. */
  readStoreTimestamp(offset: number, size: number): number {
    const head = this.read(offset, Math.min(size, TIMESTAMP_PEEK_BYTES));
    if (!head || head.length < TIMESTAMP_PEEK_BYTES) return -1;
    const magic = head.readInt32BE(4);
    if (magic !== MAGIC_V1 && magic !== MAGIC_V2) return -1;
    return readInt64(head, storeTimestampPosition(head.readInt32BE(36)));
  }

  // -------------------------------------------------------------------------------------------
  // Replication (DefaultMessageStore's ReplicableStore methods)

  /**
   * Every reserved byte is written (the write loop may still be winding down: its callbacks
   * have run, so whoever awaited an append sees this as true at once).
   */
  get idle(): boolean {
    return this.#pending.length === 0 && this.#writtenOffset === this.#appendOffset;
  }

  /** Resolves once no fsync round is in flight (a cut must not race one, see truncateTail). */
  async whenFlushIdle(): Promise<void> {
    while (this.#flushInFlight) await this.#flushInFlight;
  }

  /**
   * Raw bytes from `offset` for a slave: at most `maxBytes`, up to the written offset, never
   * past the segment end. Bytes the file does not hold read as zeros: our segments are not
   * preallocated, so after a BLANK the file ends where Java's zero-filled segment goes on.
   */
  readRaw(offset: number, maxBytes: number): Buffer | undefined {
    if (offset < this.#base || offset >= this.#writtenOffset || maxBytes <= 0) return undefined;
    const seg = this.#segmentAt(offset);
    if (!seg) return undefined;
    const n = Math.min(maxBytes, this.#writtenOffset - offset, seg.start + this.#segmentSize - offset);
    const buf = Buffer.allocUnsafe(n);
    let got = 0;
    try {
      while (got < n) {
        const r = readSync(seg.fd, buf, got, n - got, offset - seg.start + got);
        if (r === 0) break; // end of file: the rest is a BLANK's tail
        got += r;
      }
    } catch (err) {
      this.#logger.error({ err, offset, size: n }, 'commit log read failed');
      return undefined;
    }
    if (got < n) buf.fill(0, got);
    return buf;
  }

  /**
   * Restarts an empty log at `offset`, a multiple of the segment size: an empty slave starts
   * wherever its master's stream does (the start of the master's last segment). Leftover
   * segment files hold no bytes; they are deleted durably first, so the next open() does not
   * find a gap between them and the new first segment.
   */
  rebaseEmpty(offset: number): void {
    if (!this.idle || this.#appendOffset !== this.#base) {
      throw new StoreError('RMQ_STORE_CORRUPT', `commit log [${this.#base}, ${this.#appendOffset}) is not empty; cannot restart it at ${offset}`);
    }
    if (offset < 0 || offset % this.#segmentSize !== 0) {
      throw new StoreError('RMQ_STORE_CORRUPT', `an empty commit log can only start at a multiple of the segment size ${this.#segmentSize}, not ${offset}`);
    }
    if (this.#segments.length > 0) {
      for (const seg of this.#segments) {
        closeSync(seg.fd);
        unlinkSync(seg.path);
      }
      this.#segments = [];
      syncDirSync(this.#dir);
    }
    this.#base = offset;
    this.#appendOffset = offset;
    this.#writtenOffset = offset;
    this.#flushedOffset = offset;
  }

  /**
   * Queues replicated bytes at the append offset. The bytes are opaque here; a chunk that
   * crosses a segment end (our masters never send one) is split there. `done` runs once: after
   * the last byte is written, or when any part fails. `data` must not change until then.
   */
  appendRaw(data: Buffer, done: WriteCallback): void {
    if (this.#closed) throw new StoreError('RMQ_STORE_CLOSED', 'commit log is closed');
    let at = this.#appendOffset;
    let i = 0;
    while (i < data.length) {
      const segEnd = at - ((at - this.#base) % this.#segmentSize) + this.#segmentSize;
      const n = Math.min(data.length - i, segEnd - at);
      const last = i + n === data.length;
      const bytes = n === data.length ? data : data.subarray(i, i + n);
      this.#pending.push({ offset: at, span: n, buffers: [bytes], done: last ? done : undefined });
      at += n;
      i += n;
    }
    this.#appendOffset = at;
    if (!this.#drainScheduled && !this.#writing) {
      this.#drainScheduled = true;
      setImmediate(this.#drain);
    }
  }

  /**
   * Whether truncateTail(end) may run now: no write queued or in flight, and no fsync in flight
   * unless the cut stays inside the last segment (a running round holds the segments' fds).
   */
  canTruncateTailNow(end: number): boolean {
    if (!this.idle) return false;
    return this.#flushInFlight === undefined || this.#segments.length === 0 || this.#segmentIndex(end) >= this.#segments.length - 1;
  }

  /**
   * Cuts the log at `end` while running (a demoted master's divergent tail, or a partial
   * replicated record on promotion): deletes later segments and shortens the one holding
   * `end`, durably. See canTruncateTailNow; a running fsync round is told about the cut, so it
   * does not count the bytes written past `end` afterwards. Group-commit waiters beyond `end`
   * fail. Returns the bytes removed from the files.
   */
  truncateTail(end: number): number {
    if (!this.canTruncateTailNow(end)) throw new StoreError('RMQ_STORE_IO', 'commit log cut while a write, or an fsync of a segment it deletes, is in flight');
    if (end < this.#base || end > this.#writtenOffset) {
      throw new StoreError('RMQ_STORE_IO', `cannot cut the commit log [${this.#base}, ${this.#writtenOffset}) at ${end}`);
    }
    const segmentsBefore = this.#segments.length;
    const dropped = this.truncate(end);
    if (this.#segments.length < segmentsBefore) syncDirSync(this.#dir);
    this.#appendOffset = end;
    this.#writtenOffset = end;
    if (this.#flushedOffset > end) this.#flushedOffset = end;
    if (end < this.#cutFloor) this.#cutFloor = end;
    const waiters = this.#waiters;
    while (waiters.length > this.#waiterHead && waiters[waiters.length - 1]!.end > end) {
      waiters.pop()!.done(new StoreError('RMQ_STORE_IO', `the commit log was cut back to ${end} before these bytes were flushed`), false);
    }
    this.#compactWaiters();
    return dropped;
  }

  // -------------------------------------------------------------------------------------------

  /** Waits for queued writes, fsyncs, and closes the files. */
  async close(): Promise<void> {
    await this.whenIdle();
    let flushError: Error | undefined;
    try {
      await this.flush();
    } catch (err) {
      flushError = err as Error;
    }
    this.#closed = true;
    // Whoever still waits (a failed fsync) is told the flush did not happen in time.
    this.#expireAll();
    for (const seg of this.#segments) {
      try {
        await this.#io.close(seg.fd);
      } catch (err) {
        this.#logger.warn({ err, segment: seg.path }, 'could not close a commit log segment');
      }
    }
    this.#segments = [];
    if (flushError) throw flushError;
  }

  /** Closes the files without flushing (failed start-up). */
  closeNow(): void {
    this.#closed = true;
    this.#expireAll();
    for (const seg of this.#segments) {
      try {
        closeSync(seg.fd);
      } catch {
        // already closed
      }
    }
    this.#segments = [];
  }

  #expireAll(): void {
    const waiters = this.#waiters;
    while (this.#waiterHead < waiters.length) {
      const w = waiters[this.#waiterHead]!;
      waiters[this.#waiterHead++] = undefined;
      w.done(undefined, true);
    }
    this.#compactWaiters();
  }
}

/** Makes deletions in a directory durable (a later open() must not see a deleted file again). */
function syncDirSync(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
