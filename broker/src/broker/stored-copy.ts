// The broker storing a copy of a stored message somewhere else: a due delayed or timer message
// under its real topic, a committed transaction half, a half renewed or discarded. One place
// decides which fields a copy keeps.
import { encodeProperties, Prop, SysFlag, tagsCode, type DecodedRecord } from '../protocol/message.js';
import type { PutMessageInput } from '../store/message-store.js';

/**
 * A copy of `rec` for `topic`/`queueId` with `props` and `sysFlag` (the IPv6 host bits are
 * recomputed by the store); body, flag, born/store hosts, born time, reconsume times and
 * prepared-transaction offset stay. Stored without waiting for a flush.
 */
export function storedCopy(rec: DecodedRecord, topic: string, queueId: number, props: ReadonlyMap<string, string>, sysFlag: number): PutMessageInput {
  return {
    topic,
    queueId,
    flag: rec.flag,
    sysFlag: sysFlag & ~(SysFlag.BORNHOST_V6 | SysFlag.STOREHOST_V6),
    bornTimestamp: rec.bornTimestamp,
    bornHost: rec.bornHost,
    storeHost: rec.storeHost,
    reconsumeTimes: rec.reconsumeTimes,
    preparedTransactionOffset: rec.preparedTransactionOffset,
    body: rec.body,
    properties: encodeProperties(props),
    tagsCode: tagsCode(props.get(Prop.TAGS)),
    waitStoreMsgOK: false,
  };
}
