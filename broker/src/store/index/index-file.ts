// One index file in Java's IndexFile layout (store/index/IndexFile.java), so the bytes match a
// Java broker's `index/<yyyyMMddHHmmssSSS>` files:
//
//   header (40 B): beginTimestamp i64 | endTimestamp i64 | beginPhyOffset i64 | endPhyOffset i64
//                  | hashSlotCount i32 | indexCount i32
//   slots (maxHashSlotNum × 4 B): newest entry number of the bucket (0 = empty)
//   entries (maxIndexNum × 20 B): keyHash i32 | phyOffset i64 | timeDiff i32 (seconds since
//                  beginTimestamp) | prevIndex i32 (previous entry of the bucket, 0 = none)
//
// Entry 0 is never used: indexCount starts at 1 and is the next entry number. All big-endian.
//
// Java maps the whole file; here the file is created sparse and written back in batches: a
// writable file keeps its slot table in memory (dirty 4 KiB pages are written at flush) and its
// entries since the last flush in a buffer. Sealed (full) files are read with positional reads.
import { closeSync, fstatSync, fsync, ftruncateSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { basename } from 'node:path';
import { StoreError } from '../../common/errors.js';
import { readInt64, writeInt64 } from '../store-common.js';
import { indexKeyHash } from './index-keys.js';

export const INDEX_HEADER_SIZE = 40;
export const HASH_SLOT_SIZE = 4;
export const INDEX_ENTRY_SIZE = 20;
/** Slot value and prevIndex meaning "no entry". */
const INVALID_INDEX = 0;
/** Dirty slot-table pages are written in units of this many bytes. */
const SLOT_PAGE_BYTES = 4096;
/** Entries read at once when a slot table is rebuilt from the entries. */
const REBUILD_CHUNK_ENTRIES = 64 * 1024;

export interface IndexHeader {
  beginTimestamp: number;
  endTimestamp: number;
  beginPhyOffset: number;
  endPhyOffset: number;
  hashSlotCount: number;
  /** Next entry number; 1 for an empty file. */
  indexCount: number;
}

interface IndexEntry {
  keyHash: number;
  phyOffset: number;
  timeDiff: number;
  prevIndex: number;
}

export function indexFileSize(hashSlotNum: number, indexNum: number): number {
  return INDEX_HEADER_SIZE + hashSlotNum * HASH_SLOT_SIZE + indexNum * INDEX_ENTRY_SIZE;
}

export function encodeIndexHeader(h: IndexHeader): Buffer {
  const buf = Buffer.alloc(INDEX_HEADER_SIZE);
  writeInt64(buf, h.beginTimestamp, 0);
  writeInt64(buf, h.endTimestamp, 8);
  writeInt64(buf, h.beginPhyOffset, 16);
  writeInt64(buf, h.endPhyOffset, 24);
  buf.writeInt32BE(h.hashSlotCount, 32);
  buf.writeInt32BE(h.indexCount, 36);
  return buf;
}

export function decodeIndexHeader(buf: Buffer): IndexHeader {
  const indexCount = buf.readInt32BE(36);
  return {
    beginTimestamp: readInt64(buf, 0),
    endTimestamp: readInt64(buf, 8),
    beginPhyOffset: readInt64(buf, 16),
    endPhyOffset: readInt64(buf, 24),
    hashSlotCount: buf.readInt32BE(32),
    indexCount: indexCount <= 0 ? 1 : indexCount, // IndexHeader.load
  };
}

export class IndexFile {
  readonly path: string;
  readonly name: string;
  readonly #fd: number;
  readonly #slotNum: number;
  readonly #indexNum: number;
  #header: IndexHeader;
  /** The whole slot table while the file takes keys (or is being rolled back). */
  #slots: Buffer | undefined;
  readonly #dirtyPages = new Set<number>();
  /** Entries from #flushedCount on, not yet written to the file. */
  #pending = Buffer.alloc(0);
  /** Entries below this number are in the file. */
  #flushedCount: number;
  #headerDirty = false;
  #closed = false;

  private constructor(path: string, fd: number, slotNum: number, indexNum: number, header: IndexHeader) {
    this.path = path;
    this.name = basename(path);
    this.#fd = fd;
    this.#slotNum = slotNum;
    this.#indexNum = indexNum;
    this.#header = header;
    this.#flushedCount = header.indexCount;
  }

  /** A new, empty file; a successor of a full file starts at that file's end (as in Java). */
  static create(path: string, hashSlotNum: number, indexNum: number, endPhyOffset: number, endTimestamp: number): IndexFile {
    const fd = openSync(path, 'wx+');
    try {
      ftruncateSync(fd, indexFileSize(hashSlotNum, indexNum)); // sparse: pages appear as written
    } catch (err) {
      closeSync(fd);
      rmSync(path, { force: true });
      throw err;
    }
    const header: IndexHeader = {
      beginTimestamp: Math.max(0, endTimestamp),
      endTimestamp: Math.max(0, endTimestamp),
      beginPhyOffset: Math.max(0, endPhyOffset),
      endPhyOffset: Math.max(0, endPhyOffset),
      hashSlotCount: 0,
      indexCount: 1,
    };
    const f = new IndexFile(path, fd, hashSlotNum, indexNum, header);
    f.#slots = Buffer.alloc(hashSlotNum * HASH_SLOT_SIZE);
    f.#headerDirty = true;
    return f;
  }

  /** Opens an existing file; throws StoreError RMQ_STORE_CORRUPT when its size does not fit the config. */
  static open(path: string, hashSlotNum: number, indexNum: number): IndexFile {
    const fd = openSync(path, 'r+');
    try {
      const size = fstatSync(fd).size;
      const expected = indexFileSize(hashSlotNum, indexNum);
      if (size !== expected) {
        throw new StoreError('RMQ_STORE_CORRUPT', `index file ${path} has ${size} bytes, expected ${expected} (maxHashSlotNum/maxIndexNum changed?)`);
      }
      const head = Buffer.alloc(INDEX_HEADER_SIZE);
      readSync(fd, head, 0, INDEX_HEADER_SIZE, 0);
      const header = decodeIndexHeader(head);
      if (header.indexCount > indexNum) throw new StoreError('RMQ_STORE_CORRUPT', `index file ${path} claims ${header.indexCount} entries of at most ${indexNum}`);
      return new IndexFile(path, fd, hashSlotNum, indexNum, header);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  get header(): Readonly<IndexHeader> {
    return this.#header;
  }

  /** Entries held (Java's indexCount − 1). */
  get entryCount(): number {
    return this.#header.indexCount - 1;
  }

  get full(): boolean {
    return this.#header.indexCount >= this.#indexNum;
  }

  get fileSize(): number {
    return indexFileSize(this.#slotNum, this.#indexNum);
  }

  /** Java IndexFile.putKey. False when the file is full. */
  putKey(key: string, phyOffset: number, storeTimestamp: number): boolean {
    const h = this.#header;
    if (h.indexCount >= this.#indexNum) return false;
    const slots = this.#activeSlots();
    const keyHash = indexKeyHash(key);
    const slotAt = (keyHash % this.#slotNum) * HASH_SLOT_SIZE;
    let slotValue = slots.readInt32BE(slotAt);
    if (slotValue <= INVALID_INDEX || slotValue > h.indexCount) slotValue = INVALID_INDEX;
    let timeDiff = Math.trunc((storeTimestamp - h.beginTimestamp) / 1000);
    if (h.beginTimestamp <= 0 || timeDiff < 0) timeDiff = 0;
    else if (timeDiff > 0x7fffffff) timeDiff = 0x7fffffff;

    const at = this.#reservePending(h.indexCount);
    this.#pending.writeInt32BE(keyHash, at);
    writeInt64(this.#pending, phyOffset, at + 4);
    this.#pending.writeInt32BE(timeDiff, at + 12);
    this.#pending.writeInt32BE(slotValue, at + 16);
    slots.writeInt32BE(h.indexCount, slotAt);
    this.#dirtyPages.add(Math.floor(slotAt / SLOT_PAGE_BYTES));

    if (h.indexCount <= 1) {
      h.beginPhyOffset = phyOffset;
      h.beginTimestamp = storeTimestamp;
    }
    if (slotValue === INVALID_INDEX) h.hashSlotCount++;
    h.indexCount++;
    h.endPhyOffset = phyOffset;
    h.endTimestamp = storeTimestamp;
    this.#headerDirty = true;
    return true;
  }

  /** Java IndexFile.isTimeMatched: the file's [begin, end] time range meets [begin, end]. */
  isTimeMatched(begin: number, end: number): boolean {
    const h = this.#header;
    return (
      (begin < h.beginTimestamp && end > h.endTimestamp) ||
      (begin >= h.beginTimestamp && begin <= h.endTimestamp) ||
      (end >= h.beginTimestamp && end <= h.endTimestamp)
    );
  }

  /**
   * Java IndexFile.selectPhyOffset: walks the key's bucket from the newest entry, adding the
   * offsets whose hash matches and whose (second-granular) time is within [begin, end].
   */
  selectPhyOffset(out: number[], key: string, maxNum: number, begin: number, end: number): void {
    const h = this.#header;
    const keyHash = indexKeyHash(key);
    const slotValue = this.#readSlot(keyHash % this.#slotNum);
    if (slotValue <= INVALID_INDEX || slotValue > h.indexCount || h.indexCount <= 1) return;
    for (let next = slotValue; out.length < maxNum; ) {
      const e = this.#readEntry(next);
      if (e.timeDiff < 0) break;
      const timeRead = h.beginTimestamp + e.timeDiff * 1000;
      const timeMatched = timeRead >= begin && timeRead <= end;
      if (e.keyHash === keyHash && timeMatched) out.push(e.phyOffset);
      if (e.prevIndex <= INVALID_INDEX || e.prevIndex > h.indexCount || e.prevIndex === next || timeRead < begin) break;
      next = e.prevIndex;
    }
  }

  /** Writes pending entries, dirty slot pages and the header (entries first). Page cache only. */
  writePending(): boolean {
    if (this.#closed) return false;
    const h = this.#header;
    let wrote = false;
    const pendingCount = h.indexCount - this.#flushedCount;
    if (pendingCount > 0) {
      this.#writeAll(this.#pending, pendingCount * INDEX_ENTRY_SIZE, this.#entryPosition(this.#flushedCount));
      this.#flushedCount = h.indexCount;
      wrote = true;
    }
    if (this.#slots && this.#dirtyPages.size > 0) {
      const slotBytes = this.#slotNum * HASH_SLOT_SIZE;
      for (const page of [...this.#dirtyPages].sort((a, b) => a - b)) {
        const from = page * SLOT_PAGE_BYTES;
        const to = Math.min(from + SLOT_PAGE_BYTES, slotBytes);
        this.#writeAll(this.#slots.subarray(from, to), to - from, INDEX_HEADER_SIZE + from);
      }
      this.#dirtyPages.clear();
      wrote = true;
    }
    if (this.#headerDirty) {
      this.#writeAll(encodeIndexHeader(h), INDEX_HEADER_SIZE, 0);
      this.#headerDirty = false;
      wrote = true;
    }
    return wrote;
  }

  /** fsync of what writePending wrote. */
  sync(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve, reject) => fsync(this.#fd, (err) => (err ? reject(err) : resolve())));
  }

  /** Drops the in-memory slot table of a full, written file (queries read the file). */
  release(): void {
    if (this.#dirtyPages.size === 0 && this.#flushedCount === this.#header.indexCount && !this.#headerDirty) this.#slots = undefined;
  }

  /**
   * Crash recovery: the file goes back to `header` (what the index checkpoint recorded as
   * durable). Entries below header.indexCount were fsynced before that checkpoint; the slot
   * table is recomputed from them (each bucket's slot is its newest entry), so slots written
   * later, or torn, do not matter.
   */
  rebuild(header: IndexHeader): void {
    const count = Math.min(Math.max(1, header.indexCount), this.#indexNum);
    const slots = Buffer.alloc(this.#slotNum * HASH_SLOT_SIZE);
    const chunk = Buffer.alloc(REBUILD_CHUNK_ENTRIES * INDEX_ENTRY_SIZE);
    let used = 0;
    for (let first = 1; first < count; first += REBUILD_CHUNK_ENTRIES) {
      const n = Math.min(REBUILD_CHUNK_ENTRIES, count - first);
      this.#readAll(chunk, n * INDEX_ENTRY_SIZE, this.#entryPosition(first));
      for (let k = 0; k < n; k++) {
        const slotAt = (chunk.readInt32BE(k * INDEX_ENTRY_SIZE) % this.#slotNum) * HASH_SLOT_SIZE;
        if (slots.readInt32BE(slotAt) === INVALID_INDEX) used++;
        slots.writeInt32BE(first + k, slotAt);
      }
    }
    this.#header = { ...header, indexCount: count, hashSlotCount: used };
    this.#slots = slots;
    this.#pending = Buffer.alloc(0);
    this.#flushedCount = count;
    this.#writeAll(slots, slots.length, INDEX_HEADER_SIZE);
    this.#writeAll(encodeIndexHeader(this.#header), INDEX_HEADER_SIZE, 0);
    this.#dirtyPages.clear();
    this.#headerDirty = false;
  }

  /**
   * Removes the newest entries whose commit-log offset is at or past `phyOffset` (demotion cut),
   * undoing them newest first so every slot gets back its previous head. Returns how many.
   */
  rollbackTo(phyOffset: number): number {
    const h = this.#header;
    if (h.indexCount <= 1) return 0;
    let removed = 0;
    let slots: Buffer | undefined;
    while (h.indexCount > 1) {
      const last = h.indexCount - 1;
      const e = this.#readEntry(last);
      if (e.phyOffset < phyOffset) break;
      slots ??= this.#activeSlots();
      const slotAt = (e.keyHash % this.#slotNum) * HASH_SLOT_SIZE;
      if (slots.readInt32BE(slotAt) === last) {
        slots.writeInt32BE(e.prevIndex, slotAt);
        if (e.prevIndex === INVALID_INDEX) h.hashSlotCount--;
        this.#dirtyPages.add(Math.floor(slotAt / SLOT_PAGE_BYTES));
      }
      h.indexCount = last;
      removed++;
    }
    if (removed === 0) return 0;
    if (this.#flushedCount > h.indexCount) this.#flushedCount = h.indexCount;
    if (h.indexCount > 1) {
      const e = this.#readEntry(h.indexCount - 1);
      h.endPhyOffset = e.phyOffset;
      h.endTimestamp = h.beginTimestamp + e.timeDiff * 1000;
    }
    this.#headerDirty = true;
    return removed;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeSync(this.#fd);
  }

  destroy(): void {
    this.close();
    rmSync(this.path, { force: true });
  }

  #entryPosition(n: number): number {
    return INDEX_HEADER_SIZE + this.#slotNum * HASH_SLOT_SIZE + n * INDEX_ENTRY_SIZE;
  }

  /** Room in #pending for entry `n` (≥ #flushedCount); returns its byte position there. */
  #reservePending(n: number): number {
    const at = (n - this.#flushedCount) * INDEX_ENTRY_SIZE;
    if (at + INDEX_ENTRY_SIZE > this.#pending.length) {
      const grown = Buffer.alloc(Math.max(64 * INDEX_ENTRY_SIZE, this.#pending.length * 2));
      this.#pending.copy(grown);
      this.#pending = grown;
    }
    return at;
  }

  #activeSlots(): Buffer {
    if (this.#slots) return this.#slots;
    const slots = Buffer.alloc(this.#slotNum * HASH_SLOT_SIZE);
    this.#readAll(slots, slots.length, INDEX_HEADER_SIZE);
    this.#slots = slots;
    return slots;
  }

  #readSlot(slotPos: number): number {
    if (this.#slots) return this.#slots.readInt32BE(slotPos * HASH_SLOT_SIZE);
    const buf = Buffer.alloc(HASH_SLOT_SIZE);
    this.#readAll(buf, HASH_SLOT_SIZE, INDEX_HEADER_SIZE + slotPos * HASH_SLOT_SIZE);
    return buf.readInt32BE(0);
  }

  #readEntry(n: number): IndexEntry {
    let buf: Buffer;
    let at = 0;
    if (n >= this.#flushedCount) {
      buf = this.#pending;
      at = (n - this.#flushedCount) * INDEX_ENTRY_SIZE;
    } else {
      buf = Buffer.alloc(INDEX_ENTRY_SIZE);
      this.#readAll(buf, INDEX_ENTRY_SIZE, this.#entryPosition(n));
    }
    return {
      keyHash: buf.readInt32BE(at),
      phyOffset: readInt64(buf, at + 4),
      timeDiff: buf.readInt32BE(at + 12),
      prevIndex: buf.readInt32BE(at + 16),
    };
  }

  #readAll(buf: Buffer, length: number, position: number): void {
    if (this.#closed) throw new StoreError('RMQ_STORE_CLOSED', `index file ${this.path} is closed`);
    let done = 0;
    while (done < length) {
      const n = readSync(this.#fd, buf, done, length - done, position + done);
      if (n === 0) {
        buf.fill(0, done, length); // sparse tail never written
        return;
      }
      done += n;
    }
  }

  #writeAll(buf: Buffer, length: number, position: number): void {
    let done = 0;
    while (done < length) done += writeSync(this.#fd, buf, done, length - done, position + done);
  }
}
