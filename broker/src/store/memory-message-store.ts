// An in-memory MessageStore with the file store's semantics (same validation, record layout,
// consume-queue entries and getMessages table, via store-common.ts), for processor unit tests.
// Physical offsets are the running sum of record sizes: there are no segments, so no BLANKs.
// Nothing is ever evicted.
import { StoreError } from '../common/errors.js';
import { createOffsetMsgId, storeTimestampPosition } from '../protocol/message.js';
import { MemoryIndex } from './index/memory-index.js';
import { collectQueryResult } from './index/query.js';
import type {
  AppendedMessage,
  BoundaryType,
  DispatchedMessage,
  GetMessageOptions,
  GetResult,
  MessageStore,
  PutMessageInput,
  PutResult,
  QueryMessageResult,
  QueueBounds,
  StoreStats,
} from './message-store.js';
import { queueBoundsTable } from './queue-bounds.js';
import {
  CQ_ENTRY_SIZE,
  DEFAULT_MAX_MESSAGE_SIZE,
  StoreClock,
  checkBatch,
  encodeRecord,
  entryOffset,
  getMessagesFromQueue,
  hasQueueEntry,
  readInt64,
  rejected,
  searchOffsetByTime,
  writeEntry,
} from './store-common.js';
import type { QueueView, RecordReader } from './store-common.js';

export interface MemoryMessageStoreConfig {
  /** Largest record in bytes (default 4 MiB). */
  maxMessageSize?: number;
  /** Index KEYS and UNIQ_KEY for queryMessage (default true). */
  messageIndexEnable?: boolean;
}

class MemoryQueue implements QueueView {
  readonly minOffset = 0;
  #entries = Buffer.alloc(64 * CQ_ENTRY_SIZE);
  #count = 0;

  get maxOffset(): number {
    return this.#count;
  }

  append(physicalOffset: number, size: number, tags: number): void {
    if ((this.#count + 1) * CQ_ENTRY_SIZE > this.#entries.length) {
      const next = Buffer.alloc(this.#entries.length * 2);
      this.#entries.copy(next);
      this.#entries = next;
    }
    writeEntry(this.#entries, this.#count * CQ_ENTRY_SIZE, physicalOffset, size, tags);
    this.#count++;
  }

  readEntries(from: number, count: number): Buffer {
    const end = Math.min(from + count, this.#count);
    if (from < 0 || end <= from) return Buffer.alloc(0);
    return this.#entries.subarray(from * CQ_ENTRY_SIZE, end * CQ_ENTRY_SIZE);
  }

  physicalOffsetAt(offset: number): number {
    return entryOffset(this.#entries, offset);
  }
}

export class MemoryMessageStore implements MessageStore {
  readonly #maxMessageSize: number;
  #state: 'new' | 'running' | 'stopped' = 'new';
  readonly #records = new Map<number, Buffer>();
  #nextPhysicalOffset = 0;
  readonly #queues = new Map<string, Map<number, MemoryQueue>>();
  #listeners: ((msg: DispatchedMessage) => void)[] = [];
  readonly #clock = new StoreClock();
  readonly #index: MemoryIndex | undefined;
  #putMessageCount = 0;
  #getMessageCount = 0;

  constructor(config: MemoryMessageStoreConfig = {}) {
    this.#maxMessageSize = config.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    this.#index = config.messageIndexEnable === false ? undefined : new MemoryIndex();
  }

  start(): Promise<void> {
    if (this.#state !== 'new') return Promise.reject(new StoreError('RMQ_STORE_CLOSED', `message store cannot start: it is ${this.#state}`));
    this.#state = 'running';
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    this.#state = 'stopped';
    return Promise.resolve();
  }

  putMessage(msg: PutMessageInput): Promise<PutResult> {
    return this.putMessages([msg]);
  }

  putMessages(msgs: readonly PutMessageInput[]): Promise<PutResult> {
    if (this.#state !== 'running') return Promise.resolve(rejected('SERVICE_NOT_AVAILABLE', `message store is ${this.#state}`));
    const sizes = checkBatch(msgs, this.#maxMessageSize);
    if (typeof sizes === 'string') return Promise.resolve(rejected('MESSAGE_ILLEGAL', sizes));
    const first = msgs[0]!;
    const storeTimestamp = this.#clock.now();
    let queue: MemoryQueue | undefined;
    const appended: AppendedMessage[] = [];
    // Encode everything first so a failure leaves nothing behind.
    const records: Buffer[] = [];
    let phys = this.#nextPhysicalOffset;
    let queueOffset = this.#queue(first.topic, first.queueId, false)?.maxOffset ?? 0;
    try {
      for (let i = 0; i < msgs.length; i++) {
        const m = msgs[i]!;
        const q = hasQueueEntry(m.sysFlag) ? queueOffset++ : 0;
        records.push(encodeRecord(m, q, phys, storeTimestamp));
        appended.push({ physicalOffset: phys, queueOffset: q, size: sizes[i]!, storeTimestamp, offsetMsgId: createOffsetMsgId(m.storeHost, phys) });
        phys += sizes[i]!;
      }
    } catch (err) {
      return Promise.resolve(rejected('MESSAGE_ILLEGAL', err instanceof Error ? err.message : String(err)));
    }
    this.#nextPhysicalOffset = phys;
    for (let i = 0; i < msgs.length; i++) {
      const m = msgs[i]!;
      const a = appended[i]!;
      this.#records.set(a.physicalOffset, records[i]!);
      this.#index?.build(m.topic, m.sysFlag, m.properties, a.physicalOffset, storeTimestamp);
      if (!hasQueueEntry(m.sysFlag)) continue;
      queue ??= this.#queue(m.topic, m.queueId, true)!;
      queue.append(a.physicalOffset, a.size, m.tagsCode);
      this.#notify({
        topic: m.topic,
        queueId: m.queueId,
        queueOffset: a.queueOffset,
        tagsCode: m.tagsCode,
        physicalOffset: a.physicalOffset,
        storeTimestamp,
      });
    }
    this.#putMessageCount += msgs.length;
    return Promise.resolve({ status: 'PUT_OK', appended });
  }

  #notify(msg: DispatchedMessage): void {
    for (const listener of this.#listeners) {
      try {
        listener(msg);
      } catch {
        // a failing listener must not fail the put (same as the file store)
      }
    }
  }

  #queue(topic: string, queueId: number, create: boolean): MemoryQueue | undefined {
    let byQueue = this.#queues.get(topic);
    if (!byQueue) {
      if (!create) return undefined;
      this.#queues.set(topic, (byQueue = new Map<number, MemoryQueue>()));
    }
    let q = byQueue.get(queueId);
    if (!q && create) byQueue.set(queueId, (q = new MemoryQueue()));
    return q;
  }

  #assertReadable(): void {
    if (this.#state !== 'running') throw new StoreError('RMQ_STORE_CLOSED', `message store is ${this.#state}`);
  }

  readonly #readRecord: RecordReader = (physicalOffset, size) => {
    const r = this.#records.get(physicalOffset);
    return r && r.length === size ? r : undefined;
  };

  getMessages(topic: string, queueId: number, offset: number, options: GetMessageOptions): GetResult {
    this.#assertReadable();
    const result = getMessagesFromQueue(this.#queue(topic, queueId, false), offset, options, this.#readRecord);
    this.#getMessageCount += result.messages.length;
    return result;
  }

  getMinOffsetInQueue(topic: string, queueId: number): number {
    return this.#queue(topic, queueId, false)?.minOffset ?? 0;
  }

  getMaxOffsetInQueue(topic: string, queueId: number): number {
    return this.#queue(topic, queueId, false)?.maxOffset ?? 0;
  }

  #timestampAt(q: MemoryQueue, offset: number): number {
    const r = this.#records.get(q.physicalOffsetAt(offset));
    return r ? readInt64(r, storeTimestampPosition(r.readInt32BE(36))) : -1;
  }

  getOffsetInQueueByTime(topic: string, queueId: number, timestamp: number, boundary?: BoundaryType): number {
    this.#assertReadable();
    const q = this.#queue(topic, queueId, false);
    if (!q) return 0;
    return searchOffsetByTime(q.minOffset, q.maxOffset, timestamp, (i) => this.#timestampAt(q, i), boundary);
  }

  queryMessage(topic: string, key: string, maxNum: number, begin: number, end: number): QueryMessageResult {
    this.#assertReadable();
    if (!this.#index) return { messages: [], bufferTotalSize: 0, indexLastUpdateTimestamp: 0, indexLastUpdatePhyoffset: 0 };
    return collectQueryResult(this.#index.query(topic, key, maxNum, begin, end), topic, key, (phy) => this.#records.get(phy));
  }

  getEarliestMessageTime(topic: string, queueId: number): number {
    this.#assertReadable();
    const q = this.#queue(topic, queueId, false);
    if (!q || q.maxOffset === 0) return -1;
    return this.#timestampAt(q, q.minOffset);
  }

  getMessageStoreTimestamp(topic: string, queueId: number, queueOffset: number): number {
    this.#assertReadable();
    const q = this.#queue(topic, queueId, false);
    if (!q || queueOffset < q.minOffset || queueOffset >= q.maxOffset) return -1;
    return this.#timestampAt(q, queueOffset);
  }

  lookMessageByOffset(physicalOffset: number): Buffer | undefined {
    this.#assertReadable();
    return this.#records.get(physicalOffset);
  }

  deleteTopics(topics: Iterable<string>): void {
    for (const topic of topics) this.#queues.delete(topic);
  }

  queues(): Map<string, Map<number, QueueBounds>> {
    return queueBoundsTable(this.#queues, (q) => q);
  }

  onDispatch(listener: (msg: DispatchedMessage) => void): () => void {
    this.#listeners = [...this.#listeners, listener];
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }

  stats(): StoreStats {
    return {
      commitLogMinOffset: 0,
      commitLogMaxOffset: this.#nextPhysicalOffset,
      flushedOffset: this.#nextPhysicalOffset,
      putMessageCount: this.#putMessageCount,
      getMessageCount: this.#getMessageCount,
    };
  }
}
