// What the message index stores and how a hit is checked (Java IndexService.buildIndex /
// IndexFile.indexKeyHashMethod). Shared by the file index and the memory store's index.
import { Prop, SysFlag, getProperty, javaStringHash } from '../../protocol/message.js';

/** MessageConst.KEY_SEPARATOR: the KEYS property holds several keys split by spaces. */
export const KEY_SEPARATOR = ' ';
/** MessageStoreConfig.maxMsgsNumBatch: a query returns at most this many messages. */
export const MAX_MSGS_NUM_BATCH = 64;
/** MessageStoreConfig.defaultQueryMaxNum: the maxNum of a unique-key query. */
export const DEFAULT_QUERY_MAX_NUM = 32;

/** The index key of a message key: `topic#key` (IndexService.buildKey). */
export function indexKey(topic: string, key: string): string {
  return `${topic}#${key}`;
}

/** Java IndexFile.indexKeyHashMethod: |String.hashCode()|, with Integer.MIN_VALUE mapped to 0. */
export function indexKeyHash(key: string): number {
  const h = javaStringHash(key);
  return h === -2147483648 ? 0 : Math.abs(h);
}

/**
 * The keys a record is indexed under, in Java's order: UNIQ_KEY first, then every non-empty
 * word of KEYS. Rolled-back transaction records are not indexed (empty list).
 */
export function keysToIndex(sysFlag: number, properties: string): string[] {
  if ((sysFlag & SysFlag.TRANSACTION_MASK) === SysFlag.TRANSACTION_ROLLBACK) return [];
  const out: string[] = [];
  const uniq = getProperty(properties, Prop.UNIQ_KEY);
  if (uniq !== undefined) out.push(uniq);
  const keys = getProperty(properties, Prop.KEYS);
  if (keys) for (const k of keys.split(KEY_SEPARATOR)) if (k.length > 0) out.push(k);
  return out;
}

/** Whether a stored record of `topic` carries `key` (a hash hit may be a collision). */
export function recordHasKey(recordTopic: string, sysFlag: number, properties: string, topic: string, key: string): boolean {
  return recordTopic === topic && keysToIndex(sysFlag, properties).includes(key);
}

/** What a key query found: commit-log offsets (newest first) and the index's progress. */
export interface IndexQueryResult {
  physicalOffsets: number[];
  /** Store time of the last indexed message (IndexFile endTimestamp), 0 when none. */
  indexLastUpdateTimestamp: number;
  /** Commit-log offset of the last indexed message (IndexFile endPhyOffset), 0 when none. */
  indexLastUpdatePhyoffset: number;
}
