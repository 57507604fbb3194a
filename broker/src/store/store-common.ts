// What DefaultMessageStore and MemoryMessageStore share: input validation, record encoding, the
// consume-queue entry layout, the getMessages status table and the offset-by-time search. Both
// stores go through these functions so the conformance suite tests one set of semantics.
import {
  MAGIC_V1,
  MAGIC_V2,
  MAX_PROPERTIES_BYTES,
  Prop,
  SysFlag,
  encodeMessageRecord,
  encodeMessageRecordParts,
  getProperty,
  recordSize,
  tagsCode,
} from '../protocol/message.js';
import type { MessageRecord } from '../protocol/message.js';
import type { BoundaryType, GetMessageOptions, GetResult, GetStatus, PutMessageInput, PutResult, PutStatus } from './message-store.js';

// ---------------------------------------------------------------------------------------------
// Logging

/** The subset of a pino logger the store uses (pino's `(obj, msg)` call shape). */
export interface StoreLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: StoreLogger = { info() {}, warn() {}, error() {} };

/** Lets one line through per interval and counts the rest (errors that can repeat per put). */
export class LogThrottle {
  readonly #intervalMs: number;
  #last = -Infinity;
  #suppressed = 0;
  constructor(intervalMs: number) {
    this.#intervalMs = intervalMs;
  }
  /** Returns how many were suppressed since the last allowed one, or -1 to stay quiet. */
  allow(): number {
    const now = performance.now();
    if (now - this.#last < this.#intervalMs) {
      this.#suppressed++;
      return -1;
    }
    this.#last = now;
    const n = this.#suppressed;
    this.#suppressed = 0;
    return n;
  }
}

// ---------------------------------------------------------------------------------------------
// Limits and defaults (apache/rocketmq MessageStoreConfig, DefaultMessageStore)

/** Largest stored record (maxMessageSize, 4 MiB), checked against the full record size. */
export const DEFAULT_MAX_MESSAGE_SIZE = 4 * 1024 * 1024;

/**
 * Most consume-queue entries one getMessages call scans. Java reads at most
 * max(16 000 bytes, maxMsgNums × 20 bytes) of consume queue per pull (DefaultMessageStore
 * .getMessage, maxFilterMessageCount), i.e. 800 entries, so a filter that matches nothing
 * returns NO_MATCHED_MESSAGE after a bounded scan and the consumer continues from there.
 */
export const MIN_SCAN_ENTRIES = 800;

/** Java's default delay levels (messageDelayLevel), used to rebuild SCHEDULE_TOPIC tag codes. */
export const DEFAULT_DELAY_LEVELS_MS = [
  1_000, 5_000, 10_000, 30_000, 60_000, 120_000, 180_000, 240_000, 300_000, 360_000, 420_000, 480_000, 540_000,
  600_000, 1_200_000, 1_800_000, 3_600_000, 7_200_000,
] as const;

export const SCHEDULE_TOPIC = 'SCHEDULE_TOPIC_XXXX';

// ---------------------------------------------------------------------------------------------
// Consume-queue entries: int64 commit-log offset, int32 record size, int64 tag code

/** Bytes per consume-queue entry (ConsumeQueue.CQ_STORE_UNIT_SIZE). */
export const CQ_ENTRY_SIZE = 20;
/** Size field of a gap filler entry (ConsumeQueue.fillPreBlank: offset 0, Integer.MAX_VALUE, 0). */
export const FILLER_SIZE = 0x7fffffff;

const TWO_32 = 0x1_0000_0000;

/** Writes a safe integer as a big-endian int64 without going through BigInt (hot path). */
export function writeInt64(buf: Buffer, value: number, at: number): void {
  const hi = Math.floor(value / TWO_32);
  buf.writeInt32BE(hi | 0, at);
  buf.writeUInt32BE(value - hi * TWO_32, at + 4);
}

export function readInt64(buf: Buffer, at: number): number {
  return buf.readInt32BE(at) * TWO_32 + buf.readUInt32BE(at + 4);
}

export function writeEntry(buf: Buffer, at: number, physicalOffset: number, size: number, tags: number): void {
  writeInt64(buf, physicalOffset, at);
  buf.writeInt32BE(size, at + 8);
  writeInt64(buf, tags, at + 12);
}
export function entryOffset(entries: Buffer, k: number): number {
  return readInt64(entries, k * CQ_ENTRY_SIZE);
}
export function entrySize(entries: Buffer, k: number): number {
  return entries.readInt32BE(k * CQ_ENTRY_SIZE + 8);
}
export function entryTags(entries: Buffer, k: number): number {
  return readInt64(entries, k * CQ_ENTRY_SIZE + 12);
}

// ---------------------------------------------------------------------------------------------
// Puts

/** Whether a record gets a consume-queue entry: half and rollback transaction records do not. */
export function hasQueueEntry(sysFlag: number): boolean {
  const tran = sysFlag & SysFlag.TRANSACTION_MASK;
  return tran !== SysFlag.TRANSACTION_PREPARED && tran !== SysFlag.TRANSACTION_ROLLBACK;
}

export function rejected(status: PutStatus, remark: string): PutResult {
  return { status, appended: [], remark };
}

const MAX_QUEUE_ID = 0x7fffffff;

/**
 * Checks one message and returns its record size, or why it cannot be stored. Topics become
 * directory names, so anything that could escape the consume-queue directory is refused here
 * even if the processor already validated the topic.
 */
export function checkMessage(m: PutMessageInput, maxMessageSize: number): number | string {
  const topic = m.topic;
  if (typeof topic !== 'string' || topic.length === 0) return 'topic is empty';
  if (topic === '.' || topic === '..' || /[/\\\0]/.test(topic)) return `topic "${topic}" is not a valid name`;
  if (!Number.isInteger(m.queueId) || m.queueId < 0 || m.queueId > MAX_QUEUE_ID) return `queueId ${m.queueId} is out of range`;
  if (!Buffer.isBuffer(m.body)) return 'body is not a Buffer';
  if (m.bornHost.length !== 8 && m.bornHost.length !== 20) return `bornHost of ${m.bornHost.length} bytes`;
  if (m.storeHost.length !== 8 && m.storeHost.length !== 20) return `storeHost of ${m.storeHost.length} bytes`;
  const topicLen = Buffer.byteLength(topic, 'utf8');
  if (topicLen > 32767) return `topic of ${topicLen} bytes is too long`;
  const propsLen = Buffer.byteLength(m.properties, 'utf8');
  if (propsLen > MAX_PROPERTIES_BYTES) return `properties of ${propsLen} bytes exceed ${MAX_PROPERTIES_BYTES}`;
  const size = recordSize(m.body.length, topicLen, propsLen, m.bornHost.length, m.storeHost.length);
  if (size > maxMessageSize) return `message of ${size} bytes exceeds maxMessageSize ${maxMessageSize}`;
  return size;
}

/** Checks a put: one or more messages of one topic and queue. Returns record sizes or a reason. */
export function checkBatch(msgs: readonly PutMessageInput[], maxMessageSize: number): number[] | string {
  if (msgs.length === 0) return 'empty batch';
  const first = msgs[0]!;
  const sizes = new Array<number>(msgs.length);
  for (let i = 0; i < msgs.length; i++) {
    const m = msgs[i]!;
    if (m.topic !== first.topic || m.queueId !== first.queueId) return 'a batch must target one topic and queue';
    const size = checkMessage(m, maxMessageSize);
    if (typeof size === 'string') return msgs.length === 1 ? size : `message ${i} of the batch: ${size}`;
    sizes[i] = size;
  }
  return sizes;
}

/** Encodes the stored record with the offsets and timestamp assigned by the store. */
export function encodeRecord(m: PutMessageInput, queueOffset: number, physicalOffset: number, storeTimestamp: number): Buffer {
  return encodeMessageRecord(recordOf(m, queueOffset, physicalOffset, storeTimestamp));
}

/** The same record as buffers to write in order; a large body is shared, not copied (see encodeMessageRecordParts). */
export function encodeRecordParts(m: PutMessageInput, queueOffset: number, physicalOffset: number, storeTimestamp: number): Buffer[] {
  return encodeMessageRecordParts(recordOf(m, queueOffset, physicalOffset, storeTimestamp));
}

function recordOf(m: PutMessageInput, queueOffset: number, physicalOffset: number, storeTimestamp: number): MessageRecord {
  return {
    topic: m.topic,
    queueId: m.queueId,
    flag: m.flag,
    queueOffset,
    physicalOffset,
    sysFlag: m.sysFlag,
    bornTimestamp: m.bornTimestamp,
    bornHost: m.bornHost,
    storeTimestamp,
    storeHost: m.storeHost,
    reconsumeTimes: m.reconsumeTimes,
    preparedTransactionOffset: m.preparedTransactionOffset,
    body: m.body,
    properties: m.properties,
  };
}

/** Store timestamps never go backwards, so a queue stays sorted by time for offset-by-time. */
export class StoreClock {
  #last = 0;
  now(): number {
    const t = Date.now();
    if (t > this.#last) this.#last = t;
    return this.#last;
  }
  observe(t: number): void {
    if (t > this.#last) this.#last = t;
  }
  get last(): number {
    return this.#last;
  }
}

/**
 * The consume-queue tag code of a stored record, recomputed when queues are rebuilt from the
 * commit log: the TAGS hash, or for SCHEDULE_TOPIC_XXXX the delivery time (store time + the
 * DELAY level's delay), as Java's CommitLog.checkMessageAndReturnSize does.
 */
export function defaultTagsCodeOf(topic: string, properties: string, storeTimestamp: number): number {
  if (topic === SCHEDULE_TOPIC) {
    const level = Number(getProperty(properties, Prop.DELAY) ?? '0');
    if (Number.isInteger(level) && level > 0) {
      const idx = Math.min(level, DEFAULT_DELAY_LEVELS_MS.length) - 1;
      return storeTimestamp + DEFAULT_DELAY_LEVELS_MS[idx]!;
    }
  }
  return tagsCode(getProperty(properties, Prop.TAGS));
}

// ---------------------------------------------------------------------------------------------
// Reading records

/** True when `buf` holds a record of exactly `size` bytes (size field and magic agree). */
export function isRecordOf(buf: Buffer, size: number): boolean {
  if (buf.length < 8 || buf.readInt32BE(0) !== size) return false;
  const magic = buf.readInt32BE(4);
  return magic === MAGIC_V1 || magic === MAGIC_V2;
}

/** The properties string of a stored record, without decoding the rest. */
export function recordProperties(buf: Buffer): string {
  const sysFlag = buf.readInt32BE(36);
  let p = 48 + ((sysFlag & SysFlag.BORNHOST_V6) !== 0 ? 20 : 8) + 8 + ((sysFlag & SysFlag.STOREHOST_V6) !== 0 ? 20 : 8);
  p += 12; // reconsumeTimes, preparedTransactionOffset
  p += 4 + buf.readInt32BE(p);
  const v2 = buf.readInt32BE(4) === MAGIC_V2;
  p += v2 ? 2 + buf.readInt16BE(p) : 1 + buf.readUInt8(p);
  const len = buf.readInt16BE(p);
  return buf.toString('utf8', p + 2, p + 2 + len);
}

// ---------------------------------------------------------------------------------------------
// getMessages

/** A consume queue as getMessages sees it. */
export interface QueueView {
  readonly minOffset: number;
  readonly maxOffset: number;
  /**
   * Entries [from, from + count) clipped to maxOffset, 20 bytes each. The buffer is only valid
   * until the caller returns to the event loop (it may be a view of the queue's tail buffer).
   */
  readEntries(from: number, count: number): Buffer;
}

/** Reads the record an entry points to; undefined when its commit-log data is gone or invalid. */
export type RecordReader = (physicalOffset: number, size: number) => Buffer | undefined;

function emptyResult(status: GetStatus, nextBeginOffset: number, minOffset: number, maxOffset: number): GetResult {
  return { status, nextBeginOffset, minOffset, maxOffset, messages: [], queueOffsets: [], bufferTotalSize: 0 };
}

/**
 * The pull status table (reference §5.2, DefaultMessageStore.getMessage):
 *   no queue / max = 0   → NO_MESSAGE_IN_QUEUE, next 0
 *   offset < min         → OFFSET_TOO_SMALL, next min
 *   offset = max         → OFFSET_OVERFLOW_ONE, next offset
 *   offset > max         → OFFSET_OVERFLOW_BADLY, next max
 *   otherwise scan       → FOUND / NO_MATCHED_MESSAGE / OFFSET_FOUND_NULL, next = after the
 *                          last scanned entry (an entry that did not fit is not scanned)
 */
export function getMessagesFromQueue(
  queue: QueueView | undefined,
  offset: number,
  options: GetMessageOptions,
  readRecord: RecordReader,
): GetResult {
  if (!queue || queue.maxOffset === 0) return emptyResult('NO_MESSAGE_IN_QUEUE', 0, 0, 0);
  const min = queue.minOffset;
  const max = queue.maxOffset;
  if (offset < min || !Number.isSafeInteger(offset)) return emptyResult('OFFSET_TOO_SMALL', min, min, max);
  if (offset === max) return emptyResult('OFFSET_OVERFLOW_ONE', offset, min, max);
  if (offset > max) return emptyResult('OFFSET_OVERFLOW_BADLY', max, min, max);

  const maxMsgNums = Math.max(1, options.maxMsgNums | 0);
  const maxTotalBytes = options.maxTotalBytes ?? Infinity;
  const tagsFilter = options.tagsFilter;
  const propertiesFilter = options.propertiesFilter;
  const scanLimit = Math.max(MIN_SCAN_ENTRIES, maxMsgNums);
  const entries = queue.readEntries(offset, scanLimit);
  const count = entries.length / CQ_ENTRY_SIZE;

  const messages: Buffer[] = [];
  const queueOffsets: number[] = [];
  let total = 0;
  let missing = 0;
  let k = 0;
  for (; k < count; k++) {
    if (messages.length >= maxMsgNums) break;
    const size = entrySize(entries, k);
    if (size === FILLER_SIZE || size <= 0) {
      missing++;
      continue;
    }
    if (tagsFilter && !tagsFilter(entryTags(entries, k))) continue;
    // Stop before an entry that would exceed the byte limit; it is read by the next pull.
    if (messages.length > 0 && total + size > maxTotalBytes) break;
    const record = readRecord(entryOffset(entries, k), size);
    if (!record) {
      missing++;
      continue;
    }
    if (propertiesFilter && !propertiesFilter(recordProperties(record))) continue;
    messages.push(record);
    queueOffsets.push(offset + k);
    total += size;
  }
  const next = offset + k;
  let status: GetStatus = 'FOUND';
  if (messages.length === 0) status = missing > 0 && missing === k ? 'OFFSET_FOUND_NULL' : 'NO_MATCHED_MESSAGE';
  return { status, nextBeginOffset: next, minOffset: min, maxOffset: max, messages, queueOffsets, bufferTotalSize: total };
}

/**
 * LOWER: first offset in [min, max) whose store timestamp is at or after `timestamp`, or max when all
 * are older. `timestampAt` returns -1 for entries whose data is gone (treated as oldest).
 * Store timestamps are non-decreasing along a queue (StoreClock), so binary search applies.
 */
export function searchOffsetByTime(
  min: number,
  max: number,
  timestamp: number,
  timestampAt: (offset: number) => number,
  boundary: BoundaryType = 'LOWER',
): number {
  // LOWER: first offset stored at or after `timestamp`; UPPER: first stored after it, minus one.
  const upper = boundary === 'UPPER';
  let lo = min;
  let hi = max;
  while (lo < hi) {
    const mid = lo + Math.floor((hi - lo) / 2);
    const ts = timestampAt(mid);
    if (upper ? ts > timestamp : ts >= timestamp) hi = mid;
    else lo = mid + 1;
  }
  return upper ? Math.max(min, lo - 1) : lo;
}
