// The file-backed message store: a CommitLog holding every record, a ConsumeQueue per
// topic/queueId indexing it, and the bookkeeping files that make restarts fast and crash
// recovery exact (store-files.ts).
//
// Put: validate → reserve commit-log space and assign queue offsets (synchronously, so records
// and queue offsets are in the same order) → the commit log writes the turn's records in one
// writev → in offset order, each put's entries are appended to its consume queue and the
// onDispatch listeners run → the put resolves (after a covering fsync under SYNC_FLUSH when the
// producer waits). A failed write rewinds the queue offsets; nothing of it was ever readable.
//
// Checkpoint (every flushIntervalConsumeQueue ms and at shutdown): note the written commit-log
// offset W, write and fsync every consume queue with new entries, fsync the commit log, then
// record (commit-log flushed offset, W as the consume-queue safe offset, each queue's durable
// length, deleted-topic tombstones) in `checkpoint`.
//
// Recovery (start): `abort` absent and the commit-log files ending exactly where the
// checkpoint says → normal: nothing is scanned unless a consume queue is shorter than the
// checkpoint recorded (deleted or truncated files), in which case the commit log is re-read from
// that queue's last entry. Otherwise (crash, or no usable checkpoint) → the commit log is
// scanned with CRC checks from the checkpoint's safe offset (or from the start without one),
// records are re-dispatched to queues that lack them, the first invalid record ends the log,
// the torn tail is truncated and reported (recoveryReport, log warn), and consume-queue entries
// that point past the new end are dropped.
//
// Replication (ReplicableStore, section below): a slave appends its master's raw commit-log bytes
// and indexes the records they complete; setWritable(false) refuses client puts meanwhile.
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, StoreError } from '../common/errors.js';
import { MAGIC_BLANK, createOffsetMsgId } from '../protocol/message.js';
import type { DecodedRecord } from '../protocol/message.js';
import { CleanService } from './clean-service.js';
import type { CleanRoundResult, CleanServiceOptions, CleanTarget, DeletedFile } from './clean-service.js';
import { CommitLog, DEFAULT_SEGMENT_SIZE, END_FILE_MIN_BLANK_LENGTH } from './commit-log.js';
import { CommitLogStreamParser } from './commit-log-stream.js';
import type { StreamRecord } from './commit-log-stream.js';
import { ConsumeQueue, DEFAULT_CQ_ENTRIES_PER_FILE } from './consume-queue.js';
import { IndexService } from './index/index-service.js';
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
  ReplicableStore,
  StoreStats,
} from './message-store.js';
import { queueBoundsTable } from './queue-bounds.js';
import {
  CQ_ENTRY_SIZE,
  DEFAULT_MAX_MESSAGE_SIZE,
  FILLER_SIZE,
  LogThrottle,
  StoreClock,
  checkBatch,
  defaultTagsCodeOf,
  encodeRecordParts,
  entryOffset,
  entrySize,
  getMessagesFromQueue,
  hasQueueEntry,
  isRecordOf,
  rejected,
  searchOffsetByTime,
  silentLogger,
} from './store-common.js';
import type { RecordReader, StoreLogger } from './store-common.js';
import {
  abortMarkerExists,
  acquireStoreLock,
  commitCheckpoint,
  createAbortMarker,
  readCheckpoint,
  removeAbortMarker,
  writeCheckpointSync,
  writeCheckpointTmp,
} from './store-files.js';
import type { Checkpoint } from './store-files.js';
import { describeIoError, nodeStoreIo } from './store-io.js';
import type { StoreIo } from './store-io.js';

export type FlushDiskType = 'ASYNC_FLUSH' | 'SYNC_FLUSH';

/**
 * Retention options (clean-service.ts): fileReservedTime (hours, 72), deleteWhen ("04"),
 * diskMaxUsedSpaceRatio (75), diskSpaceCleanForciblyRatio (85), diskSpaceWarningLevelRatio (90),
 * cleanResourceInterval (ms, 10 000), deleteFileBatchMax (10), clock and diskUsage (tests).
 */
export interface DefaultMessageStoreConfig extends CleanServiceOptions {
  storePathRootDir: string;
  /** Commit-log directory; default `<storePathRootDir>/commitlog`. */
  storePathCommitLog?: string;
  /** Commit-log segment size in bytes; default 1 GiB. Caps the record size (see maxMessageSize). */
  mappedFileSizeCommitLog?: number;
  /**
   * Consume-queue file size in BYTES, as in Java (default 6 000 000 = 300 000 entries of 20
   * bytes); must be a positive multiple of 20.
   */
  mappedFileSizeConsumeQueue?: number;
  /** Default ASYNC_FLUSH. */
  flushDiskType?: FlushDiskType;
  /** Background commit-log fsync interval, ms (default 500). */
  flushIntervalCommitLog?: number;
  /** Consume-queue flush + checkpoint interval, ms (default 1000). */
  flushIntervalConsumeQueue?: number;
  /** SYNC_FLUSH: how long a waiting put waits for its fsync before FLUSH_DISK_TIMEOUT, ms (default 5000). */
  syncFlushTimeout?: number;
  /** Largest record in bytes (default 4 MiB); capped at mappedFileSizeCommitLog − 8. */
  maxMessageSize?: number;
  logger?: StoreLogger;
  /** File operations of the write path (tests inject faults here). */
  io?: StoreIo;
  /** Tag code of a record when a consume queue is rebuilt from the commit log. */
  tagsCodeOf?: (topic: string, properties: string, storeTimestamp: number) => number;
  /** Index KEYS and UNIQ_KEY under `<storePathRootDir>/index` for queryMessage (default true). */
  messageIndexEnable?: boolean;
  /** Hash slots per index file (Java default 5 000 000). */
  maxHashSlotNum?: number;
  /** Entries per index file (Java default 20 000 000); a new file starts when one is full. */
  maxIndexNum?: number;
}

export interface RecoveryReport {
  /** 'normal': clean shutdown and a matching checkpoint; 'crash': everything else. */
  mode: 'normal' | 'crash';
  /** Why crash recovery ran (abort marker found, checkpoint missing or not matching the files). */
  reason?: string;
  /** Commit-log offset the scan started at, and how many bytes it read. */
  scannedFrom: number;
  scannedBytes: number;
  /** Commit-log end after recovery. */
  commitLogEnd: number;
  /** Bytes cut from the commit log: a torn or corrupt tail. */
  truncatedBytes: number;
  /** What ended the valid data, when bytes were cut. */
  truncateReason?: string;
  /** Consume-queue entries dropped (pointing past the commit-log end, torn, or in bad files). */
  consumeQueueEntriesDropped: number;
  /** Consume-queue entries rebuilt from the commit log. */
  redispatched: number;
  /** Queues found shorter than the checkpoint recorded (completed from the commit log). */
  queuesBehind: number;
  /** Offsets filled with filler entries because their records were gone. */
  gapEntries: number;
  durationMs: number;
}

interface QueueState {
  readonly cq: ConsumeQueue;
  /** Next queue offset to assign; runs ahead of cq.maxOffset while writes are in flight. */
  nextOffset: number;
}

type State = 'new' | 'starting' | 'running' | 'stopping' | 'stopped';

/** At most this many consume queues are flushed at once (they share libuv's 4 I/O threads with the commit log). */
const CQ_FLUSH_CONCURRENCY = 2;
/** Failed-write and failed-checkpoint errors are logged at most once per this interval. */
const ERROR_LOG_INTERVAL_MS = 5000;

export class DefaultMessageStore implements MessageStore, ReplicableStore {
  readonly #root: string;
  readonly #cqRoot: string;
  readonly #segmentSize: number;
  readonly #cqEntriesPerFile: number;
  readonly #syncFlush: boolean;
  readonly #flushIntervalMs: number;
  readonly #checkpointIntervalMs: number;
  readonly #syncFlushTimeoutMs: number;
  readonly #maxMessageSize: number;
  readonly #logger: StoreLogger;
  readonly #io: StoreIo;
  readonly #tagsCodeOf: (topic: string, properties: string, storeTimestamp: number) => number;
  readonly #commitLog: CommitLog;
  readonly #clean: CleanService;
  /** The key index (index/index-service.ts); undefined with messageIndexEnable=false. */
  readonly #index: IndexService | undefined;

  #state: State = 'new';
  /** Reads are served only while the files are open. */
  #readable = false;
  #queues = new Map<string, Map<number, QueueState>>();
  /** Queues with entries not yet flushed. */
  #dirty = new Set<ConsumeQueue>();
  #listeners: ((msg: DispatchedMessage) => void)[] = [];
  readonly #clock = new StoreClock();
  #tombstones = new Map<string, number>();
  #releaseLock: (() => void) | undefined;
  #flushTimer: NodeJS.Timeout | undefined;
  #checkpointTimer: NodeJS.Timeout | undefined;
  #checkpointChain: Promise<void> | undefined;
  #checkpointBusy = false;
  /** Bumped by deleteTopics' synchronous checkpoint; an async one built earlier is discarded. */
  #checkpointGeneration = 0;
  #lastCheckpoint = { flushed: -1, safe: -1 };
  #startPromise: Promise<void> | undefined;
  #shutdownPromise: Promise<void> | undefined;
  #putMessageCount = 0;
  #getMessageCount = 0;
  readonly #writeErrors = new LogThrottle(ERROR_LOG_INTERVAL_MS);
  readonly #checkpointErrors = new LogThrottle(ERROR_LOG_INTERVAL_MS);
  /** Client puts accepted; false on a slave (replicated appends go on). */
  #writable = true;
  /** Parser of the replicated byte stream; created by the first appendCommitLogData. */
  #replica: CommitLogStreamParser | undefined;
  /** End of the last replicated chunk written, and the end of its last complete record. */
  #replicaWrittenEnd = -1;
  #replicaBoundary = -1;
  /** Set while the commit log is being cut back: puts and replicated appends wait for it. */
  #gate: Promise<void> | undefined;
  readonly #replicaWarnings = new LogThrottle(ERROR_LOG_INTERVAL_MS);

  /** What start() found and repaired; undefined until start() completes. */
  recoveryReport: RecoveryReport | undefined;

  constructor(config: DefaultMessageStoreConfig) {
    const positive = (key: string, v: number | undefined, dflt: number): number => {
      const value = v ?? dflt;
      if (!Number.isSafeInteger(value) || value <= 0) throw new ConfigError(`${key} must be a positive integer, got ${String(v)}`);
      return value;
    };
    if (!config.storePathRootDir) throw new ConfigError('storePathRootDir is required');
    this.#root = config.storePathRootDir;
    this.#cqRoot = join(this.#root, 'consumequeue');
    this.#segmentSize = positive('mappedFileSizeCommitLog', config.mappedFileSizeCommitLog, DEFAULT_SEGMENT_SIZE);
    const cqBytes = positive('mappedFileSizeConsumeQueue', config.mappedFileSizeConsumeQueue, DEFAULT_CQ_ENTRIES_PER_FILE * CQ_ENTRY_SIZE);
    if (cqBytes % CQ_ENTRY_SIZE !== 0) throw new ConfigError(`mappedFileSizeConsumeQueue must be a multiple of ${CQ_ENTRY_SIZE} bytes, got ${cqBytes}`);
    this.#cqEntriesPerFile = cqBytes / CQ_ENTRY_SIZE;
    const flushDiskType = config.flushDiskType ?? 'ASYNC_FLUSH';
    if (flushDiskType !== 'ASYNC_FLUSH' && flushDiskType !== 'SYNC_FLUSH') {
      throw new ConfigError(`flushDiskType must be ASYNC_FLUSH or SYNC_FLUSH, got ${String(flushDiskType)}`);
    }
    this.#syncFlush = flushDiskType === 'SYNC_FLUSH';
    this.#flushIntervalMs = positive('flushIntervalCommitLog', config.flushIntervalCommitLog, 500);
    this.#checkpointIntervalMs = positive('flushIntervalConsumeQueue', config.flushIntervalConsumeQueue, 1000);
    this.#syncFlushTimeoutMs = positive('syncFlushTimeout', config.syncFlushTimeout, 5000);
    this.#logger = config.logger ?? silentLogger;
    const maxMessageSize = positive('maxMessageSize', config.maxMessageSize, DEFAULT_MAX_MESSAGE_SIZE);
    // A record never straddles segments, so nothing larger than a segment (less the BLANK) fits.
    this.#maxMessageSize = Math.min(maxMessageSize, this.#segmentSize - END_FILE_MIN_BLANK_LENGTH);
    if (this.#maxMessageSize < maxMessageSize) {
      this.#logger.warn(
        { maxMessageSize, mappedFileSizeCommitLog: this.#segmentSize, effective: this.#maxMessageSize },
        'maxMessageSize exceeds the commit-log segment size; larger messages are rejected',
      );
    }
    this.#io = config.io ?? nodeStoreIo;
    this.#tagsCodeOf = config.tagsCodeOf ?? defaultTagsCodeOf;
    const commitLogDir = config.storePathCommitLog ?? join(this.#root, 'commitlog');
    this.#commitLog = new CommitLog({
      dir: commitLogDir,
      segmentSize: this.#segmentSize,
      io: this.#io,
      logger: this.#logger,
      syncFlushTimeoutMs: this.#syncFlushTimeoutMs,
    });
    this.#index =
      config.messageIndexEnable === false
        ? undefined
        : new IndexService({ dir: join(this.#root, 'index'), maxHashSlotNum: config.maxHashSlotNum, maxIndexNum: config.maxIndexNum, logger: this.#logger });
    this.#clean = new CleanService(config, { target: this.#cleanTarget(), paths: [commitLogDir, this.#root], logger: this.#logger });
  }

  /** Completed commit-log fsync rounds (group commit makes this much smaller than the put count). */
  get commitLogFlushCount(): number {
    return this.#commitLog.flushCount;
  }

  // -------------------------------------------------------------------------------------------
  // Lifecycle

  start(): Promise<void> {
    if (this.#state !== 'new') return Promise.reject(new StoreError('RMQ_STORE_CLOSED', `message store cannot start: it is ${this.#state}`));
    this.#state = 'starting';
    this.#startPromise = this.#doStart();
    return this.#startPromise;
  }

  async #doStart(): Promise<void> {
    try {
      mkdirSync(this.#root, { recursive: true });
      this.#releaseLock = acquireStoreLock(this.#root, this.#logger);
      const crashed = abortMarkerExists(this.#root);
      // Created before anything is touched: a failure from here on means crash recovery next time.
      createAbortMarker(this.#root);
      this.#readable = true;
      await this.#recover(crashed);
    } catch (err) {
      this.#readable = false;
      this.#commitLog.closeNow();
      for (const st of this.#allStates()) st.cq.closeNow();
      this.#index?.close();
      this.#releaseLock?.();
      this.#state = 'stopped';
      throw err;
    }
    this.#flushTimer = setInterval(() => this.#commitLog.flushInBackground(), this.#flushIntervalMs);
    this.#flushTimer.unref();
    this.#checkpointTimer = setInterval(this.#periodicCheckpoint, this.#checkpointIntervalMs);
    this.#checkpointTimer.unref();
    this.#clean.start();
    this.#state = 'running';
  }

  shutdown(): Promise<void> {
    if (this.#state === 'new') {
      this.#state = 'stopped';
      return Promise.resolve();
    }
    if (this.#state === 'stopped' && !this.#shutdownPromise) return Promise.resolve();
    this.#shutdownPromise ??= this.#doShutdown();
    return this.#shutdownPromise;
  }

  async #doShutdown(): Promise<void> {
    // A shutdown during start-up waits for it; a failed start has already closed everything.
    if (this.#state === 'starting') await this.#startPromise?.catch(noop);
    if (this.#state === 'stopped') return;
    this.#state = 'stopping';
    clearInterval(this.#flushTimer);
    clearInterval(this.#checkpointTimer);
    await this.#clean.stop();
    await this.#settleReplication();
    let clean = true;
    await this.#commitLog.whenIdle();
    try {
      await this.#checkpoint();
    } catch (err) {
      clean = false;
      this.#logger.error({ err }, 'final checkpoint failed; the next start runs crash recovery');
    }
    this.#readable = false;
    try {
      await this.#commitLog.close();
    } catch (err) {
      clean = false;
      this.#logger.error({ err }, 'closing the commit log failed');
    }
    this.#index?.close();
    for (const st of this.#allStates()) {
      try {
        await st.cq.close();
      } catch (err) {
        clean = false;
        this.#logger.error({ err, topic: st.cq.topic, queueId: st.cq.queueId }, 'closing a consume queue failed');
      }
    }
    if (clean) removeAbortMarker(this.#root);
    this.#releaseLock?.();
    this.#state = 'stopped';
  }

  // -------------------------------------------------------------------------------------------
  // Puts

  putMessage(msg: PutMessageInput): Promise<PutResult> {
    return this.putMessages([msg]);
  }

  putMessages(msgs: readonly PutMessageInput[]): Promise<PutResult> {
    if (this.#state !== 'running') return Promise.resolve(rejected('SERVICE_NOT_AVAILABLE', `message store is ${this.#state}`));
    if (!this.#writable || this.#gate !== undefined || this.#replicaPending()) return this.#putBlocked(msgs);
    const diskFull = this.#clean.diskFullRemark;
    if (diskFull !== undefined) return Promise.resolve(rejected('SERVICE_NOT_AVAILABLE', diskFull));
    const sizes = checkBatch(msgs, this.#maxMessageSize);
    if (typeof sizes === 'string') return Promise.resolve(rejected('MESSAGE_ILLEGAL', sizes));
    let total = 0;
    for (const s of sizes) total += s;
    if (total + END_FILE_MIN_BLANK_LENGTH > this.#segmentSize) {
      return Promise.resolve(
        rejected('MESSAGE_ILLEGAL', `batch of ${total} bytes does not fit in a commit-log segment of ${this.#segmentSize} bytes`),
      );
    }
    return new Promise((resolve) => this.#append(msgs, sizes, total, resolve));
  }

  #append(msgs: readonly PutMessageInput[], sizes: number[], total: number, resolve: (r: PutResult) => void): void {
    const first = msgs[0]!;
    const st = msgs.some((m) => hasQueueEntry(m.sysFlag)) ? this.#queueState(first.topic, first.queueId) : undefined;
    const storeTimestamp = this.#clock.now();
    const appended: AppendedMessage[] = [];
    let queueOffset = st ? st.nextOffset : 0;
    const encode = (physicalOffset: number): Buffer[] => {
      const buffers: Buffer[] = [];
      let phys = physicalOffset;
      for (let i = 0; i < msgs.length; i++) {
        const m = msgs[i]!;
        // Half and rollback transaction records have no queue entry and queue offset 0 (Java).
        const q = hasQueueEntry(m.sysFlag) ? queueOffset++ : 0;
        for (const part of encodeRecordParts(m, q, phys, storeTimestamp)) buffers.push(part);
        appended.push({ physicalOffset: phys, queueOffset: q, size: sizes[i]!, storeTimestamp, offsetMsgId: createOffsetMsgId(m.storeHost, phys) });
        phys += sizes[i]!;
      }
      return buffers;
    };
    try {
      this.#commitLog.append(total, encode, (err) => this.#written(err, msgs, appended, st, resolve));
    } catch (err) {
      resolve(rejected('MESSAGE_ILLEGAL', describeIoError(err)));
      return;
    }
    if (st) st.nextOffset = queueOffset;
  }

  /** Runs in commit-log order once the put's bytes are written (or failed to be). */
  #written(
    err: Error | undefined,
    msgs: readonly PutMessageInput[],
    appended: AppendedMessage[],
    st: QueueState | undefined,
    resolve: (r: PutResult) => void,
  ): void {
    if (err) {
      if (st) this.#rewindQueue(st);
      const suppressed = this.#writeErrors.allow();
      if (suppressed >= 0) this.#logger.error({ err, suppressed }, 'commit log write failed; puts rejected with IO_ERROR');
      resolve(rejected('IO_ERROR', `commit log write failed: ${describeIoError(err)}`));
      return;
    }
    for (let i = 0; i < msgs.length; i++) {
      const m = msgs[i]!;
      const a = appended[i]!;
      this.#buildIndex(m.topic, m.sysFlag, m.properties, a.physicalOffset, a.storeTimestamp);
      if (st && hasQueueEntry(m.sysFlag)) this.#dispatch(st, m, a);
    }
    this.#putMessageCount += msgs.length;
    if (this.#syncFlush && msgs.some((m) => m.waitStoreMsgOK)) {
      const last = appended[appended.length - 1]!;
      this.#commitLog.waitForFlush(last.physicalOffset + last.size, (flushErr, timedOut) => {
        if (flushErr) resolve({ status: 'FLUSH_DISK_TIMEOUT', appended, remark: `fsync failed: ${describeIoError(flushErr)}` });
        else if (timedOut) resolve({ status: 'FLUSH_DISK_TIMEOUT', appended, remark: `not flushed to disk within ${this.#syncFlushTimeoutMs} ms` });
        else resolve({ status: 'PUT_OK', appended });
      });
    } else {
      resolve({ status: 'PUT_OK', appended });
    }
  }

  /** The index dispatcher (Java CommitLogDispatcherBuildIndex); a failure only logs. */
  #buildIndex(topic: string, sysFlag: number, properties: string, physicalOffset: number, storeTimestamp: number): void {
    if (!this.#index) return;
    try {
      this.#index.build(topic, sysFlag, properties, physicalOffset, storeTimestamp);
    } catch (err) {
      const suppressed = this.#writeErrors.allow();
      if (suppressed >= 0) this.#logger.error({ err, physicalOffset, suppressed }, 'message index: could not index a record');
    }
  }

  #dispatch(st: QueueState, m: PutMessageInput, a: AppendedMessage): void {
    const cq = st.cq;
    if (cq.destroyed) return; // topic deleted while the write was in flight
    if (cq.maxOffset !== a.queueOffset) {
      // Queue offsets are assigned in commit-log order, so this is a bug; keep the queue addressable.
      this.#logger.error({ topic: m.topic, queueId: m.queueId, expected: cq.maxOffset, got: a.queueOffset }, 'consume queue out of order');
      if (a.queueOffset < cq.maxOffset) return;
      cq.fillTo(a.queueOffset);
    }
    cq.append(a.physicalOffset, a.size, m.tagsCode);
    this.#dirty.add(cq);
    if (this.#listeners.length === 0) return;
    const msg: DispatchedMessage = {
      topic: m.topic,
      queueId: m.queueId,
      queueOffset: a.queueOffset,
      tagsCode: m.tagsCode,
      physicalOffset: a.physicalOffset,
      storeTimestamp: a.storeTimestamp,
    };
    for (const listener of this.#listeners) {
      try {
        listener(msg);
      } catch (err) {
        this.#logger.error({ err }, 'onDispatch listener threw');
      }
    }
  }

  /** After a failed write: later puts of the queue failed too, so the next offset is the queue's end. */
  #rewindQueue(st: QueueState): void {
    st.nextOffset = st.cq.maxOffset;
    const byQueue = this.#queues.get(st.cq.topic);
    if (st.nextOffset === 0 && st.cq.minOffset === 0 && byQueue?.get(st.cq.queueId) === st) {
      // The put created the queue; do not leave an empty queue behind.
      byQueue.delete(st.cq.queueId);
      if (byQueue.size === 0) this.#queues.delete(st.cq.topic);
    }
  }

  #queueState(topic: string, queueId: number): QueueState {
    let byQueue = this.#queues.get(topic);
    if (!byQueue) this.#queues.set(topic, (byQueue = new Map<number, QueueState>()));
    let st = byQueue.get(queueId);
    if (!st) {
      const cq = new ConsumeQueue({
        dir: join(this.#cqRoot, topic, String(queueId)),
        topic,
        queueId,
        entriesPerFile: this.#cqEntriesPerFile,
        io: this.#io,
        logger: this.#logger,
      });
      byQueue.set(queueId, (st = { cq, nextOffset: 0 }));
    }
    return st;
  }

  *#allStates(): Iterable<QueueState> {
    for (const byQueue of this.#queues.values()) yield* byQueue.values();
  }

  #cq(topic: string, queueId: number): ConsumeQueue | undefined {
    return this.#queues.get(topic)?.get(queueId)?.cq;
  }

  // -------------------------------------------------------------------------------------------
  // Reads

  #assertReadable(): void {
    if (!this.#readable) throw new StoreError('RMQ_STORE_CLOSED', `message store is ${this.#state}`);
  }

  /** An entry's record, checked to be a record of the entry's size. */
  readonly #readRecord: RecordReader = (physicalOffset, size) => {
    const buf = this.#commitLog.read(physicalOffset, size);
    return buf && isRecordOf(buf, size) ? buf : undefined;
  };

  getMessages(topic: string, queueId: number, offset: number, options: GetMessageOptions): GetResult {
    this.#assertReadable();
    const result = getMessagesFromQueue(this.#cq(topic, queueId), offset, options, this.#readRecord);
    this.#getMessageCount += result.messages.length;
    return result;
  }

  getMinOffsetInQueue(topic: string, queueId: number): number {
    return this.#cq(topic, queueId)?.minOffset ?? 0;
  }

  getMaxOffsetInQueue(topic: string, queueId: number): number {
    return this.#cq(topic, queueId)?.maxOffset ?? 0;
  }

  #timestampAt(cq: ConsumeQueue, offset: number): number {
    const e = cq.readEntries(offset, 1);
    if (e.length < CQ_ENTRY_SIZE) return -1;
    const size = entrySize(e, 0);
    if (size === FILLER_SIZE || size <= 0) return -1;
    return this.#commitLog.readStoreTimestamp(entryOffset(e, 0), size);
  }

  getOffsetInQueueByTime(topic: string, queueId: number, timestamp: number, boundary?: BoundaryType): number {
    this.#assertReadable();
    const cq = this.#cq(topic, queueId);
    if (!cq) return 0;
    return searchOffsetByTime(cq.minOffset, cq.maxOffset, timestamp, (i) => this.#timestampAt(cq, i), boundary);
  }

  queryMessage(topic: string, key: string, maxNum: number, begin: number, end: number): QueryMessageResult {
    this.#assertReadable();
    if (!this.#index) return { messages: [], bufferTotalSize: 0, indexLastUpdateTimestamp: 0, indexLastUpdatePhyoffset: 0 };
    const hits = this.#index.query(topic, key, maxNum, begin, end);
    return collectQueryResult(hits, topic, key, (phy) => this.lookMessageByOffset(phy));
  }

  getEarliestMessageTime(topic: string, queueId: number): number {
    this.#assertReadable();
    const cq = this.#cq(topic, queueId);
    if (!cq || cq.minOffset >= cq.maxOffset) return -1;
    return this.#timestampAt(cq, cq.minOffset);
  }

  getMessageStoreTimestamp(topic: string, queueId: number, queueOffset: number): number {
    this.#assertReadable();
    const cq = this.#cq(topic, queueId);
    if (!cq || queueOffset < cq.minOffset || queueOffset >= cq.maxOffset) return -1;
    return this.#timestampAt(cq, queueOffset);
  }

  lookMessageByOffset(physicalOffset: number): Buffer | undefined {
    this.#assertReadable();
    if (!Number.isSafeInteger(physicalOffset)) return undefined;
    return this.#commitLog.readRecord(physicalOffset, this.#maxMessageSize);
  }

  // -------------------------------------------------------------------------------------------
  // Admin

  deleteTopics(topics: Iterable<string>): void {
    let changed = false;
    for (const topic of topics) {
      if (!topic || topic === '.' || topic === '..' || /[/\\\0]/.test(topic)) continue;
      const byQueue = this.#queues.get(topic);
      if (byQueue) {
        for (const st of byQueue.values()) {
          this.#dirty.delete(st.cq);
          st.cq.destroy();
        }
        this.#queues.delete(topic);
      }
      rmSync(join(this.#cqRoot, topic), { recursive: true, force: true });
      // Records of the topic below this offset must not come back through re-dispatch.
      this.#tombstones.set(topic, this.#commitLog.appendOffset);
      changed = true;
    }
    if (!changed || !this.#readable) return;
    this.#checkpointGeneration++;
    const { flushed, safe } = this.#lastCheckpoint;
    if (flushed < 0) return;
    try {
      writeCheckpointSync(this.#root, this.#buildCheckpoint(flushed, safe));
    } catch (err) {
      this.#logger.error({ err }, 'could not record deleted topics in the checkpoint');
    }
  }

  queues(): Map<string, Map<number, QueueBounds>> {
    return queueBoundsTable(this.#queues, (st) => st.cq);
  }

  onDispatch(listener: (msg: DispatchedMessage) => void): () => void {
    // Copy on write: a listener may unsubscribe while the list is being walked.
    this.#listeners = [...this.#listeners, listener];
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }

  stats(): StoreStats {
    const clean = this.#clean.stats();
    return {
      commitLogMinOffset: this.#commitLog.minOffset,
      commitLogMaxOffset: this.#commitLog.writtenOffset,
      flushedOffset: this.#commitLog.flushedOffset,
      putMessageCount: this.#putMessageCount,
      getMessageCount: this.#getMessageCount,
      diskUsageRatio: clean.diskUsageRatio,
      diskFull: clean.diskFull,
      lastCleanAt: clean.lastCleanAt,
      filesDeleted: clean.commitLogFilesDeleted + clean.consumeQueueFilesDeleted,
      commitLogFilesDeleted: clean.commitLogFilesDeleted,
      consumeQueueFilesDeleted: clean.consumeQueueFilesDeleted,
      bytesDeleted: clean.bytesDeleted,
    };
  }

  // -------------------------------------------------------------------------------------------
  // Replication (ReplicableStore: classic master/slave HA, reference §7)
  //
  // A slave's commit log is the master's byte for byte. appendCommitLogData parses each chunk
  // (commit-log-stream.ts) before queueing it on the commit log's normal write path, reserves
  // the queue offsets the records carry, and dispatches the complete records once written, as
  // puts do. A chunk may end inside a record: those bytes are written (getMaxPhyOffset counts
  // them, so the master continues right after them) but indexed only when the record completes.
  // The checkpoint's safe offset stays at the last complete record, so a restart (or crash)
  // cuts such a partial record and the slave asks the master for it again. Promotion cuts it too
  // (puts cannot continue a record the old master never finished sending).

  /**
   * Written bytes only: bytes queued but not yet written are not served, so a slave never gets
   * bytes a failed write takes back. After a BLANK the rest of the segment reads as zeros.
   */
  getCommitLogData(offset: number, maxBytes: number): Buffer | undefined {
    this.#assertReadable();
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(maxBytes)) return undefined;
    return this.#commitLog.readRaw(offset, maxBytes);
  }

  /**
   * The written offset: everything below it can be served by getCommitLogData, and a slave
   * reports it to its master (including the bytes of a partial replicated record).
   */
  getMaxPhyOffset(): number {
    return this.#commitLog.writtenOffset;
  }

  getMinPhyOffset(): number {
    return this.#commitLog.minOffset;
  }

  /** Whether client puts are accepted (setWritable). */
  get writable(): boolean {
    return this.#writable;
  }

  /**
   * May be called before start(). Promotion (true) cuts a partial replicated record: at once
   * when no append is still being written (the usual case once the HA client has stopped and
   * its last append settled), so getMaxPhyOffset() is final on return; otherwise puts wait
   * until the cut is done.
   */
  setWritable(writable: boolean): void {
    this.#writable = writable;
    if (writable && this.#state === 'running' && this.#replicaPending()) this.#cutReplicaTail('a partial replicated record (promotion)');
  }

  /**
   * `offset` must be where the log ends, including appends still being written (so a caller
   * may pipeline chunks), or, for an empty log, any segment boundary. `data` must not change
   * until the promise settles. Resolves once written (ASYNC_FLUSH) or fsynced (SYNC_FLUSH, group
   * commit; a sync-flush timeout only logs). Rejects with StoreError: RMQ_STORE_CORRUPT for an
   * offset mismatch or bytes that are not a valid continuation (nothing is written then),
   * RMQ_STORE_IO when the write or fsync fails, RMQ_STORE_CLOSED when not running.
   */
  appendCommitLogData(offset: number, data: Buffer): Promise<void> {
    if (this.#state !== 'running') return Promise.reject(new StoreError('RMQ_STORE_CLOSED', `message store is ${this.#state}`));
    // A cut in progress moves the end of the log: check the offset against the result.
    if (this.#gate) return this.#gate.then(() => this.appendCommitLogData(offset, data));
    return new Promise((resolve, reject) => this.#appendReplicated(offset, data, resolve, reject));
  }

  /**
   * Demotion: `offset` must be a unit boundary (a record, a BLANK, a segment start, the end, or
   * the start of a partial replicated record), else StoreError RMQ_STORE_CORRUPT. Puts and
   * appends wait while it runs. The consume queues lose the entries at or past `offset` (a queue
   * left empty is deleted) and continue from there; the checkpoint is rewritten before more
   * data can arrive.
   */
  truncateCommitLogTo(offset: number): Promise<number> {
    if (this.#state !== 'running') return Promise.reject(new StoreError('RMQ_STORE_CLOSED', `message store is ${this.#state}`));
    return this.#exclusive(() => this.#inCheckpointChain(() => this.#truncateTo(offset)));
  }

  #appendReplicated(offset: number, data: Buffer, resolve: () => void, reject: (err: Error) => void): void {
    const log = this.#commitLog;
    if (!Buffer.isBuffer(data)) throw new StoreError('RMQ_STORE_CORRUPT', 'replicated data is not a Buffer');
    const end = log.appendOffset;
    const rebase = offset !== end;
    if (rebase && (!log.idle || end !== log.minOffset)) {
      throw new StoreError('RMQ_STORE_CORRUPT', `replicated data at ${offset} does not continue the commit log, which ends at ${end}`);
    }
    if (rebase && (!Number.isSafeInteger(offset) || offset < 0 || offset % this.#segmentSize !== 0)) {
      throw new StoreError('RMQ_STORE_CORRUPT', `an empty commit log can only start at a multiple of mappedFileSizeCommitLog ${this.#segmentSize}, not ${offset}`);
    }
    if (data.length === 0) {
      resolve();
      return;
    }
    // Parse first: a chunk that is not a valid continuation changes nothing.
    const parser = rebase ? new CommitLogStreamParser(this.#segmentSize, offset) : this.#replicaAt(offset);
    const boundaryBefore = parser.boundary;
    const records = parser.feed(offset, data);
    if (rebase) {
      log.rebaseEmpty(offset);
      this.#replica = parser;
    }
    const boundaryAfter = parser.boundary;
    const chunkEnd = offset + data.length;
    // Reserve the records' queue offsets now, in commit-log order, as puts do: a put accepted
    // before these bytes are written continues after them.
    for (const rec of records) {
      if (!hasQueueEntry(rec.sysFlag)) continue;
      const st = this.#queueState(rec.topic, rec.queueId);
      if (st.nextOffset <= rec.queueOffset) st.nextOffset = rec.queueOffset + 1;
    }
    log.appendRaw(data, (err) => this.#replicaWritten(err, records, chunkEnd, boundaryBefore, boundaryAfter, resolve, reject));
  }

  /** The stream parser, at `offset` (the append offset). */
  #replicaAt(offset: number): CommitLogStreamParser {
    const parser = this.#replica;
    if (!parser) return (this.#replica = new CommitLogStreamParser(this.#segmentSize, offset));
    if (parser.offset !== offset) {
      // Puts, recovery or a cut moved the end; each leaves it at a record boundary.
      if (parser.pendingBytes > 0) {
        throw new StoreError('RMQ_STORE_CORRUPT', `replication stream at ${parser.offset} holds a partial record, but the commit log ends at ${offset}`);
      }
      parser.reset(offset);
    }
    return parser;
  }

  /** Runs in commit-log order once a replicated chunk is written (or failed to be). */
  #replicaWritten(
    err: Error | undefined,
    records: readonly StreamRecord[],
    chunkEnd: number,
    boundaryBefore: number,
    boundaryAfter: number,
    resolve: () => void,
    reject: (err: Error) => void,
  ): void {
    if (err) {
      // Everything queued after it failed too (CommitLog.#fail): queues go back to what is indexed.
      for (const st of [...this.#allStates()]) this.#rewindQueue(st);
      this.#resyncReplica(boundaryBefore);
      const suppressed = this.#writeErrors.allow();
      if (suppressed >= 0) this.#logger.error({ err, suppressed }, 'commit log write of replicated data failed');
      reject(new StoreError('RMQ_STORE_IO', `commit log write failed: ${describeIoError(err)}`, { cause: err }));
      return;
    }
    for (const rec of records) this.#dispatchReplicated(rec);
    this.#replicaWrittenEnd = chunkEnd;
    this.#replicaBoundary = boundaryAfter;
    if (!this.#syncFlush) {
      resolve();
      return;
    }
    // SYNC_FLUSH: like a waiting put, the chunk counts once an fsync covers it (group commit).
    this.#commitLog.waitForFlush(chunkEnd, (flushErr, timedOut) => {
      if (flushErr) {
        reject(new StoreError('RMQ_STORE_IO', `replicated data up to ${chunkEnd} not flushed: ${describeIoError(flushErr)}`, { cause: flushErr }));
        return;
      }
      if (timedOut) {
        // The bytes are written; failing the append would only make the HA client reconnect.
        const suppressed = this.#replicaWarnings.allow();
        if (suppressed >= 0) this.#logger.warn({ offset: chunkEnd, suppressed }, `replicated data not flushed to disk within ${this.#syncFlushTimeoutMs} ms`);
      }
      resolve();
    });
  }

  #dispatchReplicated(rec: StreamRecord): void {
    this.#clock.observe(rec.storeTimestamp);
    this.#buildIndex(rec.topic, rec.sysFlag, rec.properties, rec.physicalOffset, rec.storeTimestamp);
    if (!hasQueueEntry(rec.sysFlag)) return;
    const st = this.#queueState(rec.topic, rec.queueId);
    const cq = st.cq;
    const max = cq.maxOffset;
    if (rec.queueOffset !== max && (rec.queueOffset < max || max > 0)) {
      const suppressed = this.#replicaWarnings.allow();
      if (suppressed >= 0) {
        const where = { topic: rec.topic, queueId: rec.queueId, queueOffset: rec.queueOffset, expected: max, physicalOffset: rec.physicalOffset, suppressed };
        this.#logger.warn(where, rec.queueOffset < max ? 'replicated record repeats a queue offset; not indexed' : 'replicated record leaves a gap in its queue; filled');
      }
      // Java skips it too (ConsumeQueue.putMessagePositionInfo): that offset is indexed already.
      if (rec.queueOffset < max) return;
    }
    // An empty queue simply starts at the record's offset (a slave that started mid-stream).
    if (rec.queueOffset > max) cq.fillTo(rec.queueOffset);
    const tags = this.#tagsCodeOf(rec.topic, rec.properties, rec.storeTimestamp);
    cq.append(rec.physicalOffset, rec.size, tags);
    if (st.nextOffset <= rec.queueOffset) st.nextOffset = rec.queueOffset + 1;
    this.#dirty.add(cq);
    if (this.#listeners.length === 0) return;
    const msg: DispatchedMessage = {
      topic: rec.topic,
      queueId: rec.queueId,
      queueOffset: rec.queueOffset,
      tagsCode: tags,
      physicalOffset: rec.physicalOffset,
      storeTimestamp: rec.storeTimestamp,
    };
    for (const listener of this.#listeners) {
      try {
        listener(msg);
      } catch (err) {
        this.#logger.error({ err }, 'onDispatch listener threw');
      }
    }
  }

  /**
   * After a failed write the parser is ahead of the files: put it back at the written offset,
   * re-reading the partial record already on disk. A failed put ahead of the chunk ended at a
   * record boundary; if even the re-read fails, the log is cut back to the boundary.
   */
  #resyncReplica(boundary: number): void {
    const parser = this.#replica;
    const written = this.#commitLog.writtenOffset;
    if (!parser || parser.offset === written) return; // an earlier failed chunk did it
    if (boundary > written) {
      parser.reset(written);
      return;
    }
    parser.reset(boundary);
    if (written === boundary) return;
    const bytes = this.#commitLog.readRaw(boundary, written - boundary);
    try {
      if (bytes?.length !== written - boundary) throw new StoreError('RMQ_STORE_IO', `could not re-read [${boundary}, ${written})`);
      parser.feed(boundary, bytes);
    } catch (err) {
      this.#logger.error({ err, boundary, written }, 'cannot resume the replication stream after a failed write; cutting the partial record');
      this.#cutReplicaTail('a partial replicated record (failed write)');
    }
  }

  #replicaPending(): boolean {
    return this.#replica !== undefined && this.#replica.pendingBytes > 0;
  }

  /**
   * Where consume-queue dispatch ends in the commit log: the written offset, except right after
   * a replicated chunk that ended inside a record (or a BLANK's tail). The checkpoint's safe
   * offset, so recovery always starts scanning at a record boundary.
   */
  #dispatchedOffset(): number {
    const written = this.#commitLog.writtenOffset;
    return written === this.#replicaWrittenEnd ? this.#replicaBoundary : written;
  }

  /** Why a put cannot go ahead now, or the put retried once a running cut is done. */
  #putBlocked(msgs: readonly PutMessageInput[]): Promise<PutResult> {
    if (!this.#writable) {
      return Promise.resolve(rejected('SERVICE_NOT_AVAILABLE', 'message store is read-only (slave role): client puts go to the master'));
    }
    if (this.#gate) return this.#gate.then(() => this.putMessages(msgs));
    const pending = this.#replica?.pendingBytes ?? 0;
    return Promise.resolve(
      rejected('SERVICE_NOT_AVAILABLE', `commit log ends in ${pending} bytes of a replicated record still being received; promote the store with setWritable(true) first`),
    );
  }

  /**
   * Cuts the log back to the replication stream's last unit boundary (past every dispatched
   * record). At once when nothing is being written; else puts and appends wait for it.
   */
  #cutReplicaTail(what: string): void {
    const log = this.#commitLog;
    const boundary = (): number => this.#replica?.boundary ?? log.writtenOffset;
    if (log.canTruncateTailNow(boundary())) {
      this.#cutTailNow(boundary(), what);
      return;
    }
    this.#exclusive(async () => {
      await log.whenIdle();
      if (!log.canTruncateTailNow(boundary())) await log.whenFlushIdle();
      this.#cutTailNow(boundary(), what);
    }).catch((err: unknown) => this.#logger.error({ err }, `could not drop ${what}`));
  }

  #cutTailNow(at: number, what: string): void {
    const end = this.#commitLog.writtenOffset;
    if (at >= end) return;
    try {
      this.#commitLog.truncateTail(at);
    } catch (err) {
      // The bytes stay; puts keep being refused while the partial record is there.
      this.#logger.error({ err, at, end }, `could not drop ${what}`);
      return;
    }
    this.#replica?.reset(at);
    this.#replicaWrittenEnd = -1;
    this.#replicaBoundary = -1;
    this.#logger.info({ droppedBytes: end - at, commitLogEnd: at }, `commit log: dropped ${end - at} bytes of ${what}`);
  }

  /**
   * Shutdown: lets a running cut finish, and drops a partial replicated record so the next
   * start finds the files ending where the checkpoint says (a normal recovery).
   */
  async #settleReplication(): Promise<void> {
    if (this.#gate) await this.#gate;
    await this.#commitLog.whenIdle();
    if (!this.#replicaPending()) return;
    const at = this.#replica!.boundary;
    if (!this.#commitLog.canTruncateTailNow(at)) await this.#commitLog.whenFlushIdle();
    this.#cutTailNow(at, 'a partial replicated record (shutdown)');
  }

  /** Runs `task` while puts and replicated appends wait; such tasks run one at a time. */
  #exclusive<T>(task: () => Promise<T>): Promise<T> {
    const prev = this.#gate;
    const run = prev ? prev.then(task) : task();
    const gate: Promise<void> = run.then(noop, noop).then(() => {
      if (this.#gate === gate) this.#gate = undefined;
    });
    this.#gate = gate;
    return run;
  }

  /** Runs `task` in the checkpoint chain: no checkpoint, so no consume-queue flush, overlaps it. */
  #inCheckpointChain<T>(task: () => Promise<T>): Promise<T> {
    const guarded = async (): Promise<T> => {
      this.#checkpointBusy = true;
      try {
        return await task();
      } finally {
        this.#checkpointBusy = false;
      }
    };
    const prev = this.#checkpointChain;
    const run = prev ? prev.then(guarded) : guarded();
    const settled: Promise<void> = run.then(noop, noop).then(() => {
      if (this.#checkpointChain === settled) this.#checkpointChain = undefined;
    });
    this.#checkpointChain = settled;
    return run;
  }

  async #truncateTo(offset: number): Promise<number> {
    const log = this.#commitLog;
    await log.whenIdle();
    const end = log.writtenOffset;
    this.#checkCutPoint(offset, end);
    if (offset === end) return 0;
    // Everything below the cut is made durable first: the checkpoint written below says so.
    await this.#flushDirtyQueues();
    await log.flush();
    // Queues first: a crash before the commit log is cut re-indexes from the old checkpoint.
    let entries = 0;
    const cutQueues: ConsumeQueue[] = [];
    for (const st of [...this.#allStates()]) {
      const n = st.cq.truncateToCommitLog(offset);
      st.nextOffset = st.cq.maxOffset;
      if (n === 0) continue;
      entries += n;
      if (st.cq.maxOffset > 0) {
        cutQueues.push(st.cq);
        continue;
      }
      // Nothing left: the queue goes, as if it had never had a message.
      this.#dirty.delete(st.cq);
      st.cq.destroy();
      const byQueue = this.#queues.get(st.cq.topic)!;
      byQueue.delete(st.cq.queueId);
      if (byQueue.size === 0) this.#queues.delete(st.cq.topic);
    }
    for (const cq of cutQueues) await cq.syncTruncation();
    if (this.#index) {
      const keys = this.#index.truncate(offset);
      await this.#index.flush(offset);
      if (keys > 0) this.#logger.warn({ offset, keys }, 'message index: dropped keys of truncated records');
    }
    await log.whenFlushIdle();
    log.truncateTail(offset);
    this.#replica?.reset(offset);
    this.#replicaWrittenEnd = -1;
    this.#replicaBoundary = -1;
    for (const [topic, at] of this.#tombstones) if (at > offset) this.#tombstones.set(topic, offset);
    // Checkpoint values only grow otherwise; this one must not name offsets past the cut.
    const flushed = Math.min(log.flushedOffset, offset);
    this.#checkpointGeneration++;
    writeCheckpointSync(this.#root, this.#buildCheckpoint(flushed, offset));
    this.#lastCheckpoint = { flushed, safe: offset };
    this.#logger.warn({ from: end, to: offset, droppedBytes: end - offset, consumeQueueEntriesDropped: entries }, 'commit log truncated (demotion)');
    return end - offset;
  }

  /** A cut must fall on a unit boundary, see truncateCommitLogTo. */
  #checkCutPoint(offset: number, end: number): void {
    const log = this.#commitLog;
    const min = log.minOffset;
    if (!Number.isSafeInteger(offset) || offset < min || offset > end) {
      throw new StoreError('RMQ_STORE_CORRUPT', `cannot truncate the commit log to ${offset}: it holds [${min}, ${end})`);
    }
    if (offset === end || offset % this.#segmentSize === 0 || offset === this.#replica?.boundary) return;
    if (log.readRecord(offset, this.#segmentSize - END_FILE_MIN_BLANK_LENGTH) !== undefined) return;
    const head = log.read(offset, END_FILE_MIN_BLANK_LENGTH);
    const segEnd = offset - (offset % this.#segmentSize) + this.#segmentSize;
    if (head && head.readInt32BE(4) === MAGIC_BLANK && head.readInt32BE(0) === segEnd - offset) return;
    throw new StoreError('RMQ_STORE_CORRUPT', `cannot truncate the commit log to ${offset}: no record starts there`);
  }

  // -------------------------------------------------------------------------------------------
  // Retention (policy in clean-service.ts; runs every cleanResourceInterval ms)

  /** Runs one clean round now (tests, admin). Resolves with what it deleted. */
  runCleanRound(): Promise<CleanRoundResult> {
    return this.#clean.runRound();
  }

  /** Java executeDeleteFilesManually (admin deleteExpiredCommitLog): expired files go at any hour for the next rounds. */
  deleteExpiredFilesManually(): void {
    this.#clean.deleteExpiredFilesManually();
  }

  /**
   * Deletable commit-log data ends at the last checkpoint's safe offset: every record below it
   * has its consume-queue entry on disk, so recovery never needs a deleted segment (and a
   * restart scans from the checkpoint, not from the new head).
   */
  #cleanTarget(): CleanTarget {
    const limit = (): number => (this.#state === 'running' ? this.#lastCheckpoint.safe : -1);
    return {
      cleanableSegments: () => this.#commitLog.headSegments(limit()),
      deleteSegments: (count) => this.#commitLog.deleteHeadSegments(count, limit()),
      commitLogMinOffset: () => this.#commitLog.minOffset,
      cleanConsumeQueues: (commitLogMin) => this.#cleanConsumeQueues(commitLogMin),
      prepare: () => (this.#state === 'running' ? this.#checkpoint() : Promise.resolve()),
    };
  }

  #cleanConsumeQueues(commitLogMin: number): { files: DeletedFile[]; pending: boolean } {
    const files: DeletedFile[] = [];
    let pending = false;
    if (this.#state !== 'running') return { files, pending: true };
    for (const st of this.#allStates()) {
      const r = st.cq.deleteExpiredFiles(commitLogMin);
      files.push(...r.files);
      pending ||= r.pending;
    }
    if (this.#index) files.push(...this.#index.deleteExpired(commitLogMin));
    // A deleted topic's tombstone only guards records below it; once they are gone it is moot.
    for (const [topic, offset] of this.#tombstones) if (offset <= commitLogMin) this.#tombstones.delete(topic);
    return { files, pending };
  }

  // -------------------------------------------------------------------------------------------
  // Checkpoint

  readonly #periodicCheckpoint = (): void => {
    if (this.#checkpointBusy || this.#state !== 'running') return;
    this.#checkpoint().catch((err: unknown) => {
      const suppressed = this.#checkpointErrors.allow();
      if (suppressed >= 0) this.#logger.error({ err, suppressed }, 'checkpoint failed; will retry');
    });
  };

  /** Runs one checkpoint after any running one (never two at once). */
  #checkpoint(): Promise<void> {
    const prev = this.#checkpointChain;
    const run = prev ? prev.then(() => this.#checkpointOnce()) : this.#checkpointOnce();
    const settled: Promise<void> = run.then(noop, noop).then(() => {
      if (this.#checkpointChain === settled) this.#checkpointChain = undefined;
    });
    this.#checkpointChain = settled;
    return run;
  }

  async #checkpointOnce(): Promise<void> {
    this.#checkpointBusy = true;
    try {
      const safe = this.#dispatchedOffset();
      await this.#flushDirtyQueues();
      await this.#commitLog.flush();
      // Every record below `safe` was dispatched to the index too; its checkpoint names `safe`.
      await this.#index?.flush(safe);
      // A replica's fsync may end inside a record: record the boundary (flushed ≥ safe here).
      const flushed = this.#replica ? Math.min(this.#commitLog.flushedOffset, safe) : this.#commitLog.flushedOffset;
      if (flushed === this.#lastCheckpoint.flushed && safe === this.#lastCheckpoint.safe) return;
      const generation = this.#checkpointGeneration;
      await writeCheckpointTmp(this.#root, this.#buildCheckpoint(flushed, safe));
      if (generation !== this.#checkpointGeneration) return; // a newer one was written meanwhile
      commitCheckpoint(this.#root);
      this.#lastCheckpoint = { flushed, safe };
    } finally {
      this.#checkpointBusy = false;
    }
  }

  #buildCheckpoint(flushed: number, safe: number): Checkpoint {
    const queues: Checkpoint['queues'] = [];
    for (const st of this.#allStates()) {
      const durable = st.cq.syncedOffset;
      if (durable > 0) queues.push({ topic: st.cq.topic, queueId: st.cq.queueId, maxOffset: durable });
    }
    return {
      commitLogFlushedOffset: flushed,
      consumeQueueSafeOffset: safe,
      lastStoreTimestamp: this.#clock.last,
      writtenAt: Date.now(),
      queues,
      tombstones: this.#tombstones,
    };
  }

  /** Writes and fsyncs every queue with new entries; throws the first error (they stay dirty). */
  async #flushDirtyQueues(): Promise<void> {
    const dirty = [...this.#dirty];
    this.#dirty.clear();
    let firstError: unknown;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < dirty.length) {
        const cq = dirty[next++]!;
        try {
          await cq.flush();
        } catch (err) {
          if (!cq.destroyed) this.#dirty.add(cq);
          firstError ??= err;
        }
      }
    };
    const workers: Promise<void>[] = [];
    for (let i = 0; i < Math.min(CQ_FLUSH_CONCURRENCY, dirty.length); i++) workers.push(worker());
    await Promise.all(workers);
    if (firstError !== undefined) {
      throw new StoreError('RMQ_STORE_IO', `consume queue flush failed: ${describeIoError(firstError)}`, { cause: firstError });
    }
  }

  // -------------------------------------------------------------------------------------------
  // Recovery

  /** Opens every consume queue on disk; returns how many entries had to be dropped. */
  #loadQueues(): number {
    if (!existsSync(this.#cqRoot)) return 0;
    let dropped = 0;
    for (const topicDir of readdirSync(this.#cqRoot, { withFileTypes: true })) {
      if (!topicDir.isDirectory()) continue;
      const topic = topicDir.name;
      for (const queueDir of readdirSync(join(this.#cqRoot, topic), { withFileTypes: true })) {
        if (!queueDir.isDirectory() || !/^\d+$/.test(queueDir.name)) continue;
        const queueId = Number(queueDir.name);
        const st = this.#queueState(topic, queueId);
        dropped += st.cq.load();
        if (st.cq.maxOffset === 0) {
          st.cq.closeNow();
          this.#queues.get(topic)!.delete(queueId);
        }
      }
      if (this.#queues.get(topic)?.size === 0) this.#queues.delete(topic);
    }
    return dropped;
  }

  /**
   * Where recovery reads the commit log from. Re-dispatch starts at the consume-queue safe
   * offset, or earlier for queues found shorter than the checkpoint recorded; after a crash the
   * scan also covers (with CRC checks) everything the checkpoint did not see flushed.
   */
  #planScan(cp: Checkpoint | undefined, normal: boolean): { reputFrom: number; scanFrom: number; queuesBehind: number } {
    const log = this.#commitLog;
    const clMin = log.minOffset;
    let reputFrom = cp && log.canScanFrom(cp.consumeQueueSafeOffset) ? cp.consumeQueueSafeOffset : clMin;
    let queuesBehind = 0;
    for (const q of cp?.queues ?? []) {
      const cq = this.#cq(q.topic, q.queueId);
      if ((cq?.maxOffset ?? 0) >= q.maxOffset) continue;
      queuesBehind++;
      const last = cq?.lastEntry();
      const from = last && last.size !== FILLER_SIZE && log.canScanFrom(last.offset + last.size) ? last.offset + last.size : clMin;
      reputFrom = Math.min(reputFrom, from);
    }
    let scanFrom = reputFrom;
    if (!normal) {
      const flushed = cp?.commitLogFlushedOffset;
      scanFrom = Math.min(reputFrom, flushed !== undefined && log.canScanFrom(flushed) ? flushed : clMin);
    }
    return { reputFrom, scanFrom, queuesBehind };
  }

  async #recover(crashed: boolean): Promise<void> {
    const t0 = performance.now();
    const cpOrWhy = readCheckpoint(this.#root);
    const cp = typeof cpOrWhy === 'string' ? undefined : cpOrWhy;
    if (cp) {
      this.#clock.observe(cp.lastStoreTimestamp);
      this.#tombstones = new Map(cp.tombstones);
    }
    const log = this.#commitLog;
    const filesEnd = log.open();
    const clMin = log.minOffset;
    let cqDropped = this.#loadQueues();
    let indexFrom = Number.POSITIVE_INFINITY;
    if (this.#index) {
      const from = this.#index.load(crashed);
      indexFrom = from >= clMin && log.canScanFrom(from) ? from : clMin;
    }
    // Torn entries (zeros after a power loss) and entries past the files must go before the
    // scan: re-dispatch skips queue offsets a queue already has.
    for (const st of this.#allStates()) cqDropped += st.cq.truncateToCommitLog(filesEnd);

    let reason: string | undefined;
    if (crashed) reason = 'abort marker present: the last run did not shut down cleanly';
    else if (!cp) reason = `no usable checkpoint (${cpOrWhy as string})`;
    else if (!log.isCleanEnd(cp.commitLogFlushedOffset)) {
      reason = `commit log files end at ${filesEnd} but the checkpoint says ${cp.commitLogFlushedOffset}`;
    }
    const normal = reason === undefined;
    const plan = this.#planScan(cp, normal);
    const { reputFrom, queuesBehind } = plan;
    // The index may be behind the consume queues (its own checkpoint, or rebuilt from scratch).
    const scanFrom = Math.min(plan.scanFrom, indexFrom);

    let redispatched = 0;
    let gapEntries = 0;
    const onRecord = (rec: DecodedRecord, phys: number): void => {
      this.#clock.observe(rec.storeTimestamp);
      if (phys >= indexFrom) this.#buildIndex(rec.topic, rec.sysFlag, rec.properties, phys, rec.storeTimestamp);
      if (phys < reputFrom || !hasQueueEntry(rec.sysFlag)) return;
      const tomb = this.#tombstones.get(rec.topic);
      if (tomb !== undefined && phys < tomb) return;
      const cq = this.#queueState(rec.topic, rec.queueId).cq;
      const max = cq.maxOffset;
      if (rec.queueOffset < max) return; // already indexed
      if (rec.queueOffset > max) {
        gapEntries += rec.queueOffset - max;
        cq.fillTo(rec.queueOffset);
      }
      cq.append(phys, rec.size, this.#tagsCodeOf(rec.topic, rec.properties, rec.storeTimestamp));
      this.#dirty.add(cq);
      redispatched++;
    };
    const scan = await log.scan(scanFrom, !normal, onRecord, () => this.#flushDirtyQueues());
    const end = scan.end;
    const truncatedBytes = log.truncate(end);
    log.setEnd(end);
    this.#index?.truncate(end);

    for (const st of [...this.#allStates()]) {
      cqDropped += st.cq.truncateToCommitLog(end);
      st.cq.correctMinOffset(clMin);
      st.nextOffset = st.cq.maxOffset;
    }
    await this.#flushDirtyQueues();
    await this.#checkpoint();

    const report: RecoveryReport = {
      mode: normal ? 'normal' : 'crash',
      scannedFrom: scanFrom,
      scannedBytes: Math.max(0, end - scanFrom),
      commitLogEnd: end,
      truncatedBytes,
      consumeQueueEntriesDropped: cqDropped,
      redispatched,
      queuesBehind,
      gapEntries,
      durationMs: Math.round(performance.now() - t0),
    };
    if (reason !== undefined) report.reason = reason;
    if (truncatedBytes > 0 && scan.stopReason !== undefined) report.truncateReason = scan.stopReason;
    this.recoveryReport = report;
    if (truncatedBytes > 0) {
      const details = { droppedBytes: truncatedBytes, commitLogEnd: end, cause: scan.stopReason };
      if (cp && end < cp.commitLogFlushedOffset) {
        // Not a torn tail: bytes that had been fsynced were unreadable (disk corruption).
        this.#logger.error({ ...details, flushedOffset: cp.commitLogFlushedOffset }, `commit log: dropped ${truncatedBytes} bytes, including data that had been flushed`);
      } else {
        this.#logger.warn(details, `commit log: dropped ${truncatedBytes} bytes of torn or corrupt tail`);
      }
    }
    if (gapEntries > 0) this.#logger.warn({ gapEntries }, 'consume queues had gaps; filled with filler entries');
    if (cqDropped > 0) this.#logger.warn({ entries: cqDropped }, 'consume queues: dropped entries past the commit-log end');
    this.#logger.info({ ...report }, normal ? 'message store recovered (normal)' : 'message store recovered after a crash');
  }
}

function noop(): void {}
