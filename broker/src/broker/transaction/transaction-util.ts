// Transactional messages: pure helpers (no I/O) shared by the send path, END_TRANSACTION and the
// check-back service. Facts from apache/rocketmq TransactionalMessageBridge,
// TransactionalMessageUtil, TransactionalMessageServiceImpl and EndTransactionProcessor.
//
// A half message is the producer's message stored under RMQ_SYS_TRANS_HALF_TOPIC queue 0 with its
// real topic and queue in REAL_TOPIC/REAL_QID and its transaction bits cleared, so it gets a
// consume-queue entry in the half topic only (no consumer subscribes to it). Commit stores the
// real message under its topic; commit and rollback both append an "op" record
// (RMQ_SYS_TRANS_OP_HALF_TOPIC, tag "d", body "<half queue offset>,") that marks the half done.
import { RequestError } from '../../common/errors.js';
import { ResponseCode } from '../../protocol/codes.js';
import { decodeProperties, encodeProperties, Prop, SysFlag, tagsCode, type DecodedRecord } from '../../protocol/message.js';
import type { PutMessageInput } from '../../store/message-store.js';
import { TRANS_CHECK_MAX_TIME_TOPIC, TRANS_HALF_TOPIC, TRANS_OP_HALF_TOPIC } from '../metadata.js';
import { storedCopy } from '../stored-copy.js';

/** MixAll.CID_SYS_RMQ_TRANS: the consumer group whose offsets are the check service's progress. */
export const TRANS_CHECK_GROUP = 'CID_RMQ_SYS_TRANS';
/** TransactionalMessageUtil.REMOVE_TAG: the tag of op records. */
export const OP_REMOVE_TAG = 'd';
/** TransactionalMessageUtil.OFFSET_SEPARATOR: op bodies are "<offset>,<offset>,…". */
export const OP_OFFSET_SEPARATOR = ',';

/** Message properties of transactional messages (MessageConst). */
export const TranProp = {
  TRANSACTION_ID: '__transactionId__',
  CHECK_TIMES: 'TRANSACTION_CHECK_TIMES',
  CHECK_IMMUNITY_TIME_IN_SECONDS: 'CHECK_IMMUNITY_TIME_IN_SECONDS',
  PREPARED_QUEUE_OFFSET: 'TRAN_PREPARED_QUEUE_OFFSET',
} as const;

/** The transaction bits of a sysFlag replaced by `type` (MessageSysFlag.resetTransactionValue). */
export function resetTransactionValue(sysFlag: number, type: number): number {
  return (sysFlag & ~SysFlag.TRANSACTION_MASK) | type;
}

/** Java's Boolean.parseBoolean. */
function javaBool(v: string | undefined): boolean {
  return v !== undefined && v.toLowerCase() === 'true';
}

/**
 * Whether a send is a transaction half (SendMessageProcessor): TRAN_MSG=true, except a consumer's
 * own retry of such a message (clients before 4.6.1 re-send it with reconsumeTimes and a delay).
 */
export function isTransactionHalf(props: ReadonlyMap<string, string>, reconsumeTimes: number): boolean {
  if (!javaBool(props.get(Prop.TRAN_MSG))) return false;
  return !(reconsumeTimes > 0 && Number(props.get(Prop.DELAY) ?? '0') > 0);
}

/**
 * TransactionalMessageBridge.parseHalfMessageInner: rewrites `props` of a half message (transaction
 * id, real topic and queue) and says where it is stored. The caller clears the sysFlag's
 * transaction bits (resetTransactionValue(sysFlag, TRANSACTION_NOT_TYPE)).
 */
export function placeHalf(props: Map<string, string>, topic: string, queueId: number): { topic: string; queueId: number } {
  const uniq = props.get(Prop.UNIQ_KEY);
  if (uniq) props.set(TranProp.TRANSACTION_ID, uniq);
  props.set(Prop.REAL_TOPIC, topic);
  props.set(Prop.REAL_QID, String(queueId));
  return { topic: TRANS_HALF_TOPIC, queueId: 0 };
}

/** Fields of an END_TRANSACTION request (EndTransactionRequestHeader). */
export interface EndTransactionHeader {
  producerGroup: string;
  tranStateTableOffset: number;
  commitLogOffset: number;
  /** SysFlag.TRANSACTION_NOT_TYPE (unknown), TRANSACTION_COMMIT or TRANSACTION_ROLLBACK. */
  commitOrRollback: number;
  fromTransactionCheck: boolean;
  msgId: string;
  transactionId: string | undefined;
}

/** Parses END_TRANSACTION's header as Java's decodeCommandCustomHeader + checkFields would. */
export function parseEndTransactionHeader(ext: Readonly<Record<string, string>>): EndTransactionHeader {
  const need = (name: string): string => {
    const v = ext[name];
    if (v === undefined || v === '' || v === 'null') throw new RequestError(ResponseCode.SYSTEM_ERROR, `the custom field <${name}> is null`);
    return v;
  };
  const long = (name: string): number => {
    const v = need(name);
    const n = Number(v);
    if (!/^-?\d+$/.test(v) || !Number.isSafeInteger(n)) throw new RequestError(ResponseCode.SYSTEM_ERROR, `the custom field <${name}> is not an integer: "${v}"`);
    return n;
  };
  const commitOrRollback = long('commitOrRollback');
  if (commitOrRollback !== SysFlag.TRANSACTION_NOT_TYPE && commitOrRollback !== SysFlag.TRANSACTION_COMMIT && commitOrRollback !== SysFlag.TRANSACTION_ROLLBACK) {
    throw new RequestError(ResponseCode.SYSTEM_ERROR, `commitOrRollback field wrong: ${commitOrRollback} (expected 0 unknown, 8 commit or 12 rollback)`);
  }
  return {
    producerGroup: need('producerGroup'),
    tranStateTableOffset: long('tranStateTableOffset'),
    commitLogOffset: long('commitLogOffset'),
    commitOrRollback,
    fromTransactionCheck: javaBool(ext.fromTransactionCheck),
    msgId: need('msgId'),
    transactionId: ext.transactionId === undefined || ext.transactionId === 'null' ? undefined : ext.transactionId,
  };
}

/**
 * TransactionalMessageUtil.getImmunityTime: CHECK_IMMUNITY_TIME_IN_SECONDS in ms, never below the
 * broker's transactionTimeOut (an unparsable value counts as 0).
 */
export function checkImmunityMs(text: string, transactionTimeOutMs: number): number {
  const secs = /^-?\d+$/.test(text.trim()) ? Number(text.trim()) : 0;
  return Math.max(secs * 1000, transactionTimeOutMs);
}

/**
 * needDiscard: the check count the next copy of a half carries (TRANSACTION_CHECK_TIMES: absent on
 * the first check, then 1, 2, …), or discard once it reached transactionCheckMax.
 */
export function nextCheckTimes(props: ReadonlyMap<string, string>, transactionCheckMax: number): { discard: boolean; times: number } {
  const text = props.get(TranProp.CHECK_TIMES);
  if (text === undefined) return { discard: false, times: 1 };
  const n = /^-?\d+$/.test(text) ? Number(text) : -1;
  if (n >= transactionCheckMax) return { discard: true, times: n };
  return { discard: false, times: n + 1 };
}

/** Half queue offsets an op record marks done ("12,13," or a 4.x body "12"); bad items skipped. */
export function parseOpBody(body: Buffer): number[] {
  const out: number[] = [];
  for (const item of body.toString('utf8').split(OP_OFFSET_SEPARATOR)) {
    const t = item.trim();
    if (/^\d+$/.test(t)) out.push(Number(t));
  }
  return out;
}

/**
 * calculateOpOffset: the op queue progress moves over op records that are fully done, in order,
 * and stops at the first one still referring to an unresolved half.
 */
export function nextOpOffset(doneOpOffsets: Iterable<number>, opOffset: number): number {
  const done = new Set(doneOpOffsets);
  let next = opOffset;
  while (done.has(next)) next++;
  return next;
}

/** renewHalfMessageInner: the half stored again at the tail of its queue, with `props`. */
export function halfCopy(rec: DecodedRecord, props: ReadonlyMap<string, string>): PutMessageInput {
  return storedCopy(rec, rec.topic, rec.queueId, props, rec.sysFlag);
}

/**
 * EndTransactionProcessor.endMessageTransaction: the message a commit stores under its real topic
 * and queue. Properties are the half's without REAL_TOPIC/REAL_QID (TRAN_MSG, PGROUP and
 * __transactionId__ stay, as on Apache RocketMQ); sysFlag is COMMIT; preparedTransactionOffset is
 * the half's commit-log offset. Undefined when the half lacks a valid REAL_TOPIC/REAL_QID.
 */
export function committedMessage(rec: DecodedRecord, halfCommitLogOffset: number): PutMessageInput | undefined {
  const props = decodeProperties(rec.properties);
  const topic = props.get(Prop.REAL_TOPIC);
  const qid = props.get(Prop.REAL_QID);
  if (!topic || qid === undefined || !/^\d+$/.test(qid)) return undefined;
  props.delete(Prop.REAL_TOPIC);
  props.delete(Prop.REAL_QID);
  const input = storedCopy(rec, topic, Number(qid), props, resetTransactionValue(rec.sysFlag, SysFlag.TRANSACTION_COMMIT));
  return { ...input, preparedTransactionOffset: halfCommitLogOffset };
}

/** DefaultTransactionalMessageCheckListener.toMessageExtBrokerInner: a half checked too often. */
export function discardedMessage(rec: DecodedRecord, props: ReadonlyMap<string, string>): PutMessageInput {
  return storedCopy(rec, TRANS_CHECK_MAX_TIME_TOPIC, 0, props, rec.sysFlag);
}

/** makeOpMessageInner: the op record marking half queue offsets done, written by the broker. */
export function opMessage(halfQueueId: number, halfQueueOffsets: readonly number[], brokerHost: Buffer, uniqKey: string, now = Date.now()): PutMessageInput {
  const props = new Map([[Prop.TAGS, OP_REMOVE_TAG], [Prop.WAIT, 'true'], [Prop.UNIQ_KEY, uniqKey]]);
  return {
    topic: TRANS_OP_HALF_TOPIC,
    queueId: halfQueueId,
    flag: 0,
    sysFlag: 0,
    bornTimestamp: now,
    bornHost: brokerHost,
    storeHost: brokerHost,
    reconsumeTimes: 0,
    preparedTransactionOffset: 0,
    body: Buffer.from(halfQueueOffsets.map((o) => `${o}${OP_OFFSET_SEPARATOR}`).join(''), 'utf8'),
    properties: encodeProperties(props),
    tagsCode: tagsCode(OP_REMOVE_TAG),
    waitStoreMsgOK: false,
  };
}

/**
 * AbstractTransactionalMessageCheckListener.sendCheckMessage: CHECK_TRANSACTION_STATE's header for
 * a half copy stored at (queueOffset, commitLogOffset) with offset message id `offsetMsgId`.
 */
export function checkStateHeader(
  props: ReadonlyMap<string, string>,
  queueOffset: number,
  commitLogOffset: number,
  offsetMsgId: string,
  brokerName: string,
): Record<string, string> {
  const uniq = props.get(Prop.UNIQ_KEY);
  const h: Record<string, string> = {
    topic: TRANS_HALF_TOPIC,
    tranStateTableOffset: String(queueOffset),
    commitLogOffset: String(commitLogOffset),
    offsetMsgId,
    bname: brokerName,
  };
  if (uniq !== undefined) {
    h.msgId = uniq;
    h.transactionId = uniq;
  }
  return h;
}
