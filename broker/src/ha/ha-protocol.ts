// The classic (non-DLedger, non-controller) RocketMQ master/slave HA byte protocol, as pure
// codecs: no sockets, timers or options. Raw TCP, no remoting framing, all integers big-endian.
//
//   slave → master   ┌──────────────────────────┐
//                    │ slaveMaxOffset  (int64)  │   REPORT_SIZE = 8 bytes, repeated
//                    └──────────────────────────┘
//   master → slave   ┌──────────────────────────┬──────────────────┬──────────────────────┐
//                    │ physicOffset    (int64)  │ bodySize (int32) │ body: commit-log bytes│
//                    └──────────────────────────┴──────────────────┴──────────────────────┘
//                    TRANSFER_HEADER_SIZE = 12 bytes; bodySize 0 is a heartbeat.
//
// Source: apache/rocketmq store/.../ha/DefaultHAClient.java (REPORT_HEADER_SIZE, reportSlaveMaxOffset,
// dispatchReadRequest) and DefaultHAConnection.java (TRANSFER_HEADER_SIZE, ReadSocketService,
// WriteSocketService).
import { ProtocolError } from '../common/errors.js';
import { ByteQueue } from '../protocol/byte-queue.js';

/** Slave → master report: the slave's commit-log max offset. */
export const REPORT_SIZE = 8;
/** Master → slave frame header: physical offset int64 + body size int32. */
export const TRANSFER_HEADER_SIZE = 12;
/**
 * Largest frame body a slave accepts. Java's DefaultHAClient reads into a 4 MiB buffer and can never
 * complete a larger frame, so nothing a Java master sends (haTransferBatchSize, default 32 KiB) is
 * bigger; a larger size means garbage on the wire.
 */
export const DEFAULT_MAX_FRAME_BODY_BYTES = 4 * 1024 * 1024 - TRANSFER_HEADER_SIZE;
/** Offsets travel as int64 but we keep them in doubles: refuse anything past 2^53. */
const MAX_OFFSET = Number.MAX_SAFE_INTEGER;

export function encodeReport(offset: number): Buffer {
  checkOffset(offset, 'report offset');
  const b = Buffer.allocUnsafe(REPORT_SIZE);
  b.writeBigInt64BE(BigInt(offset), 0);
  return b;
}

export function encodeFrameHeader(offset: number, bodySize: number): Buffer {
  checkOffset(offset, 'frame offset');
  if (!Number.isInteger(bodySize) || bodySize < 0 || bodySize > 0x7fffffff) {
    throw new ProtocolError('RMQ_PROTOCOL_BAD_LENGTH', `HA frame body size ${bodySize} out of range`);
  }
  const b = Buffer.allocUnsafe(TRANSFER_HEADER_SIZE);
  b.writeBigInt64BE(BigInt(offset), 0);
  b.writeInt32BE(bodySize, 8);
  return b;
}

function checkOffset(offset: number, what: string): void {
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new ProtocolError('RMQ_PROTOCOL_BAD_LENGTH', `HA ${what} ${offset} out of range`);
  }
}

function readOffset(b: Buffer, at: number, what: string): number {
  const v = b.readBigInt64BE(at);
  if (v < 0n || v > BigInt(MAX_OFFSET)) throw new ProtocolError('RMQ_PROTOCOL_BAD_LENGTH', `HA ${what} ${v} out of range`);
  return Number(v);
}

/**
 * Master side: turns the slave's byte stream into offsets. Like DefaultHAConnection.ReadSocketService
 * it only looks at whole 8-byte units and keeps the last one of each read; at most 7 bytes are held
 * between reads.
 */
export class ReportReader {
  readonly #partial = Buffer.alloc(REPORT_SIZE);
  #partialLength = 0;

  /**
   * Feeds bytes; returns the last complete report they finish, or undefined when none completes.
   * Throws ProtocolError for an offset that cannot be a commit-log offset (negative, > 2^53).
   */
  push(chunk: Buffer): number | undefined {
    const total = this.#partialLength + chunk.length;
    if (total < REPORT_SIZE) {
      chunk.copy(this.#partial, this.#partialLength);
      this.#partialLength = total;
      return undefined;
    }
    const lastEnd = total - (total % REPORT_SIZE);
    // The last complete unit ends `lastEnd` bytes into (partial ++ chunk).
    const startInChunk = lastEnd - REPORT_SIZE - this.#partialLength;
    let value: number;
    if (startInChunk >= 0) {
      value = readOffset(chunk, startInChunk, 'report offset');
    } else {
      // The unit straddles the held partial bytes and this chunk.
      const unit = Buffer.allocUnsafe(REPORT_SIZE);
      this.#partial.copy(unit, 0, this.#partialLength + startInChunk, this.#partialLength);
      chunk.copy(unit, -startInChunk, 0, REPORT_SIZE + startInChunk);
      value = readOffset(unit, 0, 'report offset');
    }
    const rest = total - lastEnd;
    chunk.copy(this.#partial, 0, chunk.length - rest);
    this.#partialLength = rest;
    return value;
  }
}

export interface HAFrame {
  offset: number;
  /** Raw commit-log bytes; empty for a heartbeat. A view into the received chunk when possible. */
  body: Buffer;
}

/**
 * Slave side: an incremental decoder of master frames. It keeps a list of received chunks and a
 * byte count, validates each header as soon as its 12 bytes are there (before buffering the body),
 * returns bodies as subarrays when they lie inside one chunk and copies only when they straddle.
 */
export class FrameReader {
  readonly #maxBodyBytes: number;
  readonly #queue = new ByteQueue();
  /** Header of the frame whose body is being collected. */
  #header: { offset: number; size: number } | undefined;

  constructor(maxBodyBytes = DEFAULT_MAX_FRAME_BODY_BYTES) {
    this.#maxBodyBytes = maxBodyBytes;
  }

  /** Bytes held that do not form a complete frame yet. */
  get bufferedBytes(): number {
    return this.#queue.length;
  }

  push(chunk: Buffer): void {
    this.#queue.push(chunk);
  }

  /** The next complete frame, or undefined. Throws ProtocolError on a bad header. */
  next(): HAFrame | undefined {
    if (!this.#header) {
      if (this.#queue.length < TRANSFER_HEADER_SIZE) return undefined;
      const h = this.#queue.take(TRANSFER_HEADER_SIZE);
      const offset = readOffset(h, 0, 'frame offset');
      const size = h.readInt32BE(8);
      if (size < 0 || size > this.#maxBodyBytes) {
        throw new ProtocolError('RMQ_PROTOCOL_BAD_LENGTH', `HA frame at offset ${offset} has body size ${size} (max ${this.#maxBodyBytes})`);
      }
      this.#header = { offset, size };
    }
    const { offset, size } = this.#header;
    if (this.#queue.length < size) return undefined;
    this.#header = undefined;
    return { offset, body: this.#queue.take(size) };
  }

  /**
   * The header of the frame being collected, once its 12 bytes arrived (lets a slave reject a
   * frame at the wrong offset before its body is buffered).
   */
  get pendingHeader(): { offset: number; size: number } | undefined {
    return this.#header;
  }
}

/** Where a master starts sending to a slave that first reported `reported` (DefaultHAConnection.WriteSocketService). */
export function initialTransferOffset(reported: number, masterMaxOffset: number, segmentSize: number): number {
  if (reported !== 0) return reported;
  // An empty slave gets the master's last segment only, not the whole history.
  return Math.max(0, masterMaxOffset - (masterMaxOffset % segmentSize));
}
