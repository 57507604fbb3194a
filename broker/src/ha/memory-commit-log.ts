// An in-memory commit log with exactly the replication surface HAService and HAClient use
// (ReplicableStore's getCommitLogData / appendCommitLogData / getMaxPhyOffset / onDispatch), for
// tests of the HA layer without the file store. Bytes are opaque here: no record parsing.
import { StoreError } from '../common/errors.js';
import type { DispatchedMessage } from '../store/message-store.js';
import type { HAMasterStore } from './ha-service.js';
import type { HASlaveStore } from './ha-client.js';

export interface MemoryCommitLogOptions {
  /** Segment size: reads never cross a multiple of it; an empty log starts only at one. */
  segmentSize: number;
  /** Resolve appendCommitLogData after this many ms (simulates a slow disk). */
  appendDelayMs?: number;
}

export class MemoryCommitLog implements HAMasterStore, HASlaveStore {
  readonly segmentSize: number;
  appendDelayMs: number;
  /** Make the next appendCommitLogData calls fail (I/O error injection). */
  failAppends = 0;
  /** While true every method throws StoreError RMQ_STORE_CLOSED (a store shut down under the HA layer). */
  closed = false;
  /** Every appendCommitLogData call, in order. */
  readonly appendCalls: Array<{ offset: number; length: number }> = [];
  #base = 0;
  #buf = Buffer.alloc(64 * 1024);
  #length = 0;
  #listeners: Array<(m: DispatchedMessage) => void> = [];

  constructor(options: MemoryCommitLogOptions) {
    this.segmentSize = options.segmentSize;
    this.appendDelayMs = options.appendDelayMs ?? 0;
  }

  getMaxPhyOffset(): number {
    this.#open();
    return this.#base + this.#length;
  }

  getMinPhyOffset(): number {
    return this.#base;
  }

  getCommitLogData(offset: number, maxBytes: number): Buffer | undefined {
    this.#open();
    const max = this.getMaxPhyOffset();
    if (offset < this.#base || offset >= max) return undefined;
    const segmentEnd = offset - (offset % this.segmentSize) + this.segmentSize;
    const end = Math.min(offset + maxBytes, max, segmentEnd);
    return Buffer.from(this.#buf.subarray(offset - this.#base, end - this.#base));
  }

  /** The bytes in [from, to). */
  read(from: number, to = this.getMaxPhyOffset()): Buffer {
    return Buffer.from(this.#buf.subarray(from - this.#base, to - this.#base));
  }

  /** Master side: appends as a put would, and fires onDispatch. Returns the end offset. */
  append(data: Buffer, dispatch = true): number {
    this.#write(data);
    const end = this.getMaxPhyOffset();
    if (dispatch) {
      const m: DispatchedMessage = { topic: 'T', queueId: 0, queueOffset: 0, tagsCode: 0, physicalOffset: end - data.length, storeTimestamp: Date.now() };
      for (const l of this.#listeners) l(m);
    }
    return end;
  }

  /** Starts an empty log at `offset` (a master whose older segments were deleted). */
  resetTo(offset: number): void {
    this.#base = offset;
    this.#length = 0;
  }

  async appendCommitLogData(offset: number, data: Buffer): Promise<void> {
    this.appendCalls.push({ offset, length: data.length });
    if (this.appendDelayMs > 0) await new Promise((r) => setTimeout(r, this.appendDelayMs));
    this.#open();
    if (this.failAppends > 0) {
      this.failAppends--;
      throw new StoreError('RMQ_STORE_IO', `injected append failure at ${offset}`);
    }
    const max = this.getMaxPhyOffset();
    if (max === 0 && this.#length === 0) {
      if (offset % this.segmentSize !== 0) throw new StoreError('RMQ_STORE_CORRUPT', `an empty commit log can only start at a segment boundary, not ${offset}`);
      this.#base = offset;
    } else if (offset !== max) {
      throw new StoreError('RMQ_STORE_CORRUPT', `replicated data at ${offset} does not continue the commit log ending at ${max}`);
    }
    this.#write(data);
  }

  onDispatch(listener: (m: DispatchedMessage) => void): () => void {
    this.#listeners = [...this.#listeners, listener];
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }

  #open(): void {
    if (this.closed) throw new StoreError('RMQ_STORE_CLOSED', 'memory commit log is closed');
  }

  #write(data: Buffer): void {
    const need = this.#length + data.length;
    if (need > this.#buf.length) {
      const grown = Buffer.alloc(Math.max(need, this.#buf.length * 2));
      this.#buf.copy(grown, 0, 0, this.#length);
      this.#buf = grown;
    }
    data.copy(this.#buf, this.#length);
    this.#length = need;
  }
}
