// The message store contract. Processors talk only to this interface; the file-backed store
// (CommitLog + ConsumeQueue) and the in-memory store both implement it, and one conformance
// suite (message-store.conformance.ts) runs against each.

/** A message ready to be appended; the store assigns offsets and the store timestamp. */
export interface PutMessageInput {
  topic: string;
  queueId: number;
  flag: number;
  sysFlag: number;
  bornTimestamp: number;
  /** Encoded born host (protocol/message.ts encodeHost). */
  bornHost: Buffer;
  /** Encoded store host: the broker's reachable ip:port; part of the offset message id. */
  storeHost: Buffer;
  reconsumeTimes: number;
  preparedTransactionOffset: number;
  body: Buffer;
  /** Encoded properties string (protocol/message.ts encodeProperties). */
  properties: string;
  /** Consume-queue tag field: tagsCode(TAGS), or a delivery time for scheduled messages. */
  tagsCode: number;
  /**
   * Whether the producer waits for durability (the WAIT property, default true). Under
   * SYNC_FLUSH only such messages wait for the fsync before the put resolves.
   */
  waitStoreMsgOK: boolean;
}

export type PutStatus =
  | 'PUT_OK'
  /** Stored, but the fsync did not complete within syncFlushTimeoutMs (SYNC_FLUSH). */
  | 'FLUSH_DISK_TIMEOUT'
  /** Rejected: larger than maxMessageSize or otherwise unencodable. Nothing stored. */
  | 'MESSAGE_ILLEGAL'
  /** Rejected: store not started, shut down, or read-only. Nothing stored. */
  | 'SERVICE_NOT_AVAILABLE'
  /** Rejected: an I/O error (e.g. ENOSPC) prevented the write. Nothing stored. */
  | 'IO_ERROR';

export interface AppendedMessage {
  physicalOffset: number;
  queueOffset: number;
  size: number;
  storeTimestamp: number;
  /** Offset message id: hex(storeHost + physicalOffset). */
  offsetMsgId: string;
}

export interface PutResult {
  status: PutStatus;
  /** One entry per stored message (empty when rejected). */
  appended: AppendedMessage[];
  /** Human-readable reason when status is not PUT_OK. */
  remark?: string;
}

export type GetStatus =
  | 'FOUND'
  /** Entries were scanned but the filter rejected all of them. */
  | 'NO_MATCHED_MESSAGE'
  /** The queue has never had a message (or does not exist). */
  | 'NO_MESSAGE_IN_QUEUE'
  /** offset === maxOffset: nothing new yet. */
  | 'OFFSET_OVERFLOW_ONE'
  /** offset > maxOffset. */
  | 'OFFSET_OVERFLOW_BADLY'
  /** offset < minOffset (data deleted). */
  | 'OFFSET_TOO_SMALL'
  /** Consume-queue entries exist but their commit-log data is gone. */
  | 'OFFSET_FOUND_NULL';

export interface GetResult {
  status: GetStatus;
  /** Where the consumer should read next (RocketMQ semantics, see the conformance suite). */
  nextBeginOffset: number;
  minOffset: number;
  maxOffset: number;
  /** Raw stored records (the pull response body is their concatenation). */
  messages: Buffer[];
  /** Queue offsets of `messages`, same order. */
  queueOffsets: number[];
  /** Sum of messages[i].length. */
  bufferTotalSize: number;
}

/** Consume-queue level filter on the tag code; `undefined` accepts everything. */
export type TagsCodeFilter = ((tagsCode: number) => boolean) | undefined;
/** Optional second-stage filter on the decoded properties string (SQL92, filter/sql92.ts). */
export type PropertiesFilter = ((properties: string) => boolean) | undefined;

export interface GetMessageOptions {
  maxMsgNums: number;
  /** Stop adding messages once this many bytes are collected (at least one is returned). */
  maxTotalBytes?: number;
  tagsFilter?: TagsCodeFilter;
  propertiesFilter?: PropertiesFilter;
}

export interface DispatchedMessage {
  topic: string;
  queueId: number;
  queueOffset: number;
  tagsCode: number;
  physicalOffset: number;
  storeTimestamp: number;
}

/**
 * getOffsetInQueueByTime's answer when no message has exactly the timestamp (Java BoundaryType):
 * LOWER, the first message stored at or after it; UPPER, the last stored at or before it.
 */
export type BoundaryType = 'LOWER' | 'UPPER';

/** QUERY_MESSAGE: messages found through the key index. */
export interface QueryMessageResult {
  /** Raw stored records, newest first (the response body is their concatenation). */
  messages: Buffer[];
  bufferTotalSize: number;
  /** Store time of the last indexed message (0 when nothing is indexed). */
  indexLastUpdateTimestamp: number;
  /** Commit-log offset of the last indexed message (0 when nothing is indexed). */
  indexLastUpdatePhyoffset: number;
}

export interface QueueBounds {
  minOffset: number;
  maxOffset: number;
}

export interface StoreStats {
  commitLogMinOffset: number;
  commitLogMaxOffset: number;
  /** Offset up to which the commit log has been fsynced. */
  flushedOffset: number;
  putMessageCount: number;
  getMessageCount: number;
  // Retention (file-backed store; absent where not applicable)
  /** Used fraction (0..1) of the fullest disk holding the store, at the last probe. */
  diskUsageRatio?: number;
  /** Puts are refused because the disk is above diskSpaceWarningLevelRatio. */
  diskFull?: boolean;
  /** Clock time (ms) of the last clean round; 0 before the first. */
  lastCleanAt?: number;
  /** Files deleted by retention since start: commit-log segments plus consume-queue files. */
  filesDeleted?: number;
  commitLogFilesDeleted?: number;
  consumeQueueFilesDeleted?: number;
  /** Bytes of the deleted files. */
  bytesDeleted?: number;
}

export interface MessageStore {
  /** Opens or creates the store and recovers it (truncating torn tails, rebuilding queues). */
  start(): Promise<void>;
  /** Flushes everything and closes files. Idempotent. */
  shutdown(): Promise<void>;

  putMessage(msg: PutMessageInput): Promise<PutResult>;
  /** Appends messages of one topic and queue as consecutive records (a batch send). */
  putMessages(msgs: readonly PutMessageInput[]): Promise<PutResult>;

  getMessages(topic: string, queueId: number, offset: number, options: GetMessageOptions): GetResult;

  /** Smallest logical offset still readable in the queue (0 for an empty queue). */
  getMinOffsetInQueue(topic: string, queueId: number): number;
  /** Next logical offset to be written (0 for an empty queue). */
  getMaxOffsetInQueue(topic: string, queueId: number): number;
  /**
   * LOWER (default): logical offset of the first message stored at or after `timestamp` (ms),
   * clamped to [min, max]; `max` when every message is older. UPPER: the last message stored at
   * or before it; `max - 1` when every message is older, `min` when every message is newer.
   */
  getOffsetInQueueByTime(topic: string, queueId: number, timestamp: number, boundary?: BoundaryType): number;
  /** Store timestamp of the oldest readable message of the queue, or -1. */
  getEarliestMessageTime(topic: string, queueId: number): number;
  /** Store timestamp of the message at a logical offset, or -1. */
  getMessageStoreTimestamp(topic: string, queueId: number, queueOffset: number): number;

  /**
   * Messages of `topic` indexed under `key` (a KEYS word or the UNIQ_KEY) stored within
   * [begin, end] ms, newest first, at most min(maxNum, 64) (Java queryMessage). Empty when the
   * index is disabled (messageIndexEnable=false).
   */
  queryMessage(topic: string, key: string, maxNum: number, begin: number, end: number): QueryMessageResult;

  /** The raw record at a commit-log offset, or undefined when there is none. */
  lookMessageByOffset(physicalOffset: number): Buffer | undefined;

  /** Drops the consume queues of these topics (topic deletion). */
  deleteTopics(topics: Iterable<string>): void;
  /** Topic/queue pairs known to the store, with their bounds. */
  queues(): Map<string, Map<number, QueueBounds>>;

  /** Called synchronously after each message becomes readable (used to wake long polls); returns the unsubscribe. */
  onDispatch(listener: (msg: DispatchedMessage) => void): () => void;

  stats(): StoreStats;
}

/**
 * What master/slave replication needs from a store (classic RocketMQ HA: the slave's commit log
 * is a byte-identical copy of the master's, so offsets and message ids match on both).
 */
export interface ReplicableStore extends MessageStore {
  /**
   * Master side: raw commit-log bytes from `offset`, at most `maxBytes`, never crossing a segment
   * boundary. After a segment's BLANK filler the rest of that segment reads as zero bytes, so the
   * stream is exactly what a Java master (mmap'ed, preallocated files) sends. Undefined when
   * `offset` is at or past the max offset, or below the min offset.
   */
  getCommitLogData(offset: number, maxBytes: number): Buffer | undefined;
  /**
   * Slave side: appends raw bytes received from a master at exactly `offset`, which must equal
   * getMaxPhyOffset() (or, on an empty store, be any segment boundary to start at). Chunks may
   * end in the middle of a record; complete records are dispatched to consume queues (and
   * onDispatch listeners) as they complete. Throws StoreError on an offset mismatch.
   */
  appendCommitLogData(offset: number, data: Buffer): Promise<void>;
  /** Next commit-log byte to be written, counting replicated bytes not yet forming a record. */
  getMaxPhyOffset(): number;
  /** Lowest readable commit-log offset. */
  getMinPhyOffset(): number;
  /**
   * Demotion of a master whose log is ahead of the new master: drops every byte at and after
   * `offset` (a record boundary) and the consume-queue entries pointing there. Returns the
   * number of bytes dropped.
   */
  truncateCommitLogTo(offset: number): Promise<number>;
  /** Refuse (SERVICE_NOT_AVAILABLE) or accept client puts: slaves refuse them. */
  setWritable(writable: boolean): void;
}
