// Turns index hits into a QUERY_MESSAGE result: each hit's record is read back and kept only
// when it really is a record of the topic carrying the key (a hash hit may be a collision;
// Java leaves that check to the client, which still gets only matching messages this way).
import { decodeMessageRecord } from '../../protocol/message.js';
import type { QueryMessageResult } from '../message-store.js';
import { recordHasKey } from './index-keys.js';
import type { IndexQueryResult } from './index-keys.js';

export function collectQueryResult(
  hits: IndexQueryResult,
  topic: string,
  key: string,
  readRecord: (physicalOffset: number) => Buffer | undefined,
): QueryMessageResult {
  const messages: Buffer[] = [];
  let bufferTotalSize = 0;
  const seen = new Set<number>();
  for (const phy of hits.physicalOffsets) {
    if (seen.has(phy)) continue; // one record indexed under a key twice (KEYS repeating UNIQ_KEY)
    seen.add(phy);
    const record = readRecord(phy);
    if (!record) continue; // deleted by retention
    let rec;
    try {
      rec = decodeMessageRecord(record, 0, false);
    } catch {
      continue;
    }
    if (!rec || !recordHasKey(rec.topic, rec.sysFlag, rec.properties, topic, key)) continue;
    messages.push(record);
    bufferTotalSize += record.length;
  }
  return {
    messages,
    bufferTotalSize,
    indexLastUpdateTimestamp: hits.indexLastUpdateTimestamp,
    indexLastUpdatePhyoffset: hits.indexLastUpdatePhyoffset,
  };
}
