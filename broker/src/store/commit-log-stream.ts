// Parses the raw commit-log byte stream a master sends to a slave (reference §7.2) back into
// records. The stream is the master's segments byte for byte: records (§3.4) back to back, and
// where a record did not fit, an 8-byte BLANK (int32 remaining size, MAGIC_BLANK) followed by
// zeros up to the segment end (Java's segments are preallocated). Chunks end anywhere: inside a
// record, inside the BLANK, inside the zero tail.
//
// The parser is pure (no I/O, no timers). The store feeds each chunk before queueing its bytes
// for writing, so a chunk that does not continue the log validly is refused before anything is
// written; it dispatches the returned records once the bytes are on disk. feed() is
// all-or-nothing: when it throws, the parser is exactly as before the call.
//
// A record that spans chunks is collected in one reused buffer that only grows as its bytes
// arrive (a corrupt size field cannot make it allocate a segment's worth up front). Refusing a
// chunk never has to restore that buffer: a new unit's bytes are collected only at the end of a
// chunk, after every check on the chunk has passed.
import { StoreError } from '../common/errors.js';
import { MAGIC_BLANK, MAGIC_V1, MAGIC_V2, SysFlag } from '../protocol/message.js';
import { END_FILE_MIN_BLANK_LENGTH, MIN_RECORD_SIZE } from './commit-log.js';
import { readInt64 } from './store-common.js';

/** Bytes of a unit's header: int32 size, int32 magic (records and BLANKs alike). */
const UNIT_HEADER_BYTES = 8;
/** Initial size of each collection buffer; most records are smaller. */
const INITIAL_COLLECT_BYTES = 4096;

/** What the store needs to index a replicated record (strings are copies, not views). */
export interface StreamRecord {
  physicalOffset: number;
  size: number;
  topic: string;
  queueId: number;
  queueOffset: number;
  sysFlag: number;
  storeTimestamp: number;
  properties: string;
}

export class CommitLogStreamParser {
  readonly #segmentSize: number;
  /** Start of the unit (a record, or a BLANK through its segment end) being received. */
  #unitStart: number;
  /** Bytes of that unit received so far. */
  #got = 0;
  /** The unit's length once its header is known, else -1. */
  #size = -1;
  #blank = false;
  /** Holds the bytes received of the current unit when they span chunks (only [0, #got) matter). */
  #collect = Buffer.allocUnsafe(INITIAL_COLLECT_BYTES);

  /** `offset` must be a unit boundary: a record start, a BLANK or a segment start. */
  constructor(segmentSize: number, offset: number) {
    this.#segmentSize = segmentSize;
    this.#unitStart = offset;
  }

  /** End of the last complete record or BLANK tail: where an incomplete unit starts. */
  get boundary(): number {
    return this.#unitStart;
  }
  /** The offset the next chunk must start at. */
  get offset(): number {
    return this.#unitStart + this.#got;
  }
  /** Bytes received of a unit that is not complete yet. */
  get pendingBytes(): number {
    return this.#got;
  }

  /** Forgets any partial unit and continues at `offset`, which must be a unit boundary. */
  reset(offset: number): void {
    this.#unitStart = offset;
    this.#got = 0;
    this.#size = -1;
    this.#blank = false;
  }

  /**
   * Takes the next chunk (which must start at `offset`) and returns the records it completes,
   * in order. Throws StoreError RMQ_STORE_CORRUPT, leaving the parser unchanged, when the
   * bytes are not a valid continuation of the log.
   */
  feed(offset: number, data: Buffer): StreamRecord[] {
    if (offset !== this.offset) {
      throw new StoreError('RMQ_STORE_CORRUPT', `replicated chunk at ${offset} does not continue the stream at ${this.offset}`);
    }
    let unitStart = this.#unitStart;
    let got = this.#got;
    let size = this.#size;
    let blank = this.#blank;
    let collect = this.#collect;
    const out: StreamRecord[] = [];
    const len = data.length;
    let i = 0;
    while (i < len) {
      if (size < 0) {
        let header = data;
        let at = i;
        if (got > 0 || len - i < UNIT_HEADER_BYTES) {
          // The header spans chunks: collect it (a new unit's header only at the chunk end).
          const n = Math.min(UNIT_HEADER_BYTES - got, len - i);
          data.copy(collect, got, i, i + n);
          got += n;
          i += n;
          if (got < UNIT_HEADER_BYTES) break;
          header = collect;
          at = 0;
        }
        size = header.readInt32BE(at);
        blank = this.#checkHeader(size, header.readInt32BE(at + 4), unitStart);
      }
      const take = Math.min(size - got, len - i);
      if (blank) {
        // The BLANK's header and the zero tail are skipped, not kept.
        got += take;
      } else if (got === 0 && take === size) {
        // The whole record is in this chunk: decode it in place, no copy.
        out.push(decodeStreamRecord(data, i, size, unitStart));
        got = size;
      } else {
        if (collect.length < got + take) {
          // Grow with the bytes that actually arrived, at most to the record size.
          const grown = Buffer.allocUnsafe(Math.min(size, Math.max(collect.length * 2, got + take)));
          collect.copy(grown, 0, 0, got);
          collect = grown;
        }
        data.copy(collect, got, i, i + take);
        got += take;
        if (got === size) out.push(decodeStreamRecord(collect, 0, size, unitStart));
      }
      i += take;
      if (got === size) {
        unitStart += size;
        got = 0;
        size = -1;
        blank = false;
      }
    }
    this.#unitStart = unitStart;
    this.#got = got;
    this.#size = size;
    this.#blank = blank;
    this.#collect = collect;
    return out;
  }

  /** Validates a unit header at `unitStart`; returns whether it is a BLANK. */
  #checkHeader(size: number, magic: number, unitStart: number): boolean {
    const segEnd = unitStart - (unitStart % this.#segmentSize) + this.#segmentSize;
    if (magic === MAGIC_BLANK) {
      if (size !== segEnd - unitStart) {
        throw corrupt(
          `BLANK at ${unitStart} says ${size} bytes to the segment end, expected ${segEnd - unitStart}; does the master use mappedFileSizeCommitLog ${this.#segmentSize}?`,
        );
      }
      return true;
    }
    if (magic !== MAGIC_V1 && magic !== MAGIC_V2) throw corrupt(`bad magic 0x${(magic >>> 0).toString(16)} at ${unitStart}`);
    // Same rule as the master: a record always leaves room for the BLANK in its segment.
    if (size < MIN_RECORD_SIZE || unitStart + size + END_FILE_MIN_BLANK_LENGTH > segEnd) {
      throw corrupt(`bad record size ${size} at ${unitStart} (segment ends at ${segEnd})`);
    }
    return false;
  }
}

function corrupt(message: string): StoreError {
  return new StoreError('RMQ_STORE_CORRUPT', `replicated commit log: ${message}`);
}

/**
 * Reads the fields the store indexes from the record at buf[at, at + size), bounds-checking
 * every length against the record end (the lengths come from another process).
 */
export function decodeStreamRecord(buf: Buffer, at: number, size: number, physicalOffset: number): StreamRecord {
  const end = at + size;
  const bad = (why: string): never => {
    throw corrupt(`record at ${physicalOffset}: ${why}`);
  };
  const named = readInt64(buf, at + 28);
  if (named !== physicalOffset) bad(`it names offset ${named}`);
  const queueId = buf.readInt32BE(at + 12);
  const queueOffset = readInt64(buf, at + 20);
  if (queueId < 0 || queueOffset < 0 || !Number.isSafeInteger(queueOffset)) bad(`queue ${queueId} offset ${queueOffset}`);
  const sysFlag = buf.readInt32BE(at + 36);
  let p = at + 48 + ((sysFlag & SysFlag.BORNHOST_V6) !== 0 ? 20 : 8);
  const storeTimestamp = readInt64(buf, p);
  p += 8 + ((sysFlag & SysFlag.STOREHOST_V6) !== 0 ? 20 : 8);
  p += 12; // reconsumeTimes, preparedTransactionOffset
  if (p + 4 > end) bad('truncated fixed part');
  const bodyLen = buf.readInt32BE(p);
  p += 4;
  if (bodyLen < 0 || p + bodyLen > end) bad(`body length ${bodyLen}`);
  p += bodyLen;
  const v2 = buf.readInt32BE(at + 4) === MAGIC_V2;
  if (p + (v2 ? 2 : 1) > end) bad('truncated topic length');
  const topicLen = v2 ? buf.readInt16BE(p) : buf.readUInt8(p);
  p += v2 ? 2 : 1;
  if (topicLen <= 0 || p + topicLen + 2 > end) bad(`topic length ${topicLen}`);
  const topic = buf.toString('utf8', p, p + topicLen);
  // Topics become consume-queue directory names.
  if (topic === '.' || topic === '..' || /[/\\\0]/.test(topic)) bad(`topic "${topic}" is not a valid name`);
  p += topicLen;
  const propLen = buf.readInt16BE(p);
  p += 2;
  if (propLen < 0 || p + propLen !== end) bad(`properties length ${propLen}`);
  const properties = buf.toString('utf8', p, end);
  return { physicalOffset, size, topic, queueId, queueOffset, sysFlag, storeTimestamp, properties };
}
