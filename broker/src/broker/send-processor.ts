// SEND_MESSAGE, SEND_MESSAGE_V2 and SEND_BATCH_MESSAGE: validate, auto-create the topic when
// allowed, append to the store and answer with offsets and ids.
import { ProtocolError, RequestError } from '../common/errors.js';
import type { TopicConfig } from '../common/topic-config.js';
import { Perm, ResponseCode } from '../protocol/codes.js';
import {
  decodeBatchBody,
  decodeProperties,
  encodeHost,
  encodeProperties,
  getProperty,
  Prop,
  SysFlag,
  tagsCode,
} from '../protocol/message.js';
import { createResponse, type RemotingCommand } from '../protocol/remoting.js';
import type { PutMessageInput, PutResult as StorePutResult } from '../store/message-store.js';
import type { RemotingConnection } from '../transport/connection.js';
import type { BrokerContext } from './context.js';
import { RETRY_GROUP_TOPIC_PREFIX, DLQ_GROUP_TOPIC_PREFIX } from './metadata.js';
import { delayLevelsOf, placeDelayed, TIMER_PROPERTIES, type ScheduledPlacement } from './schedule-message-service.js';
import { optionalIntField, parseSendRequestHeader, sendHeaderFields, type SendRequestHeader } from './send-header.js';
import { checkSendTopic, chooseSendQueue } from './send-target.js';
import { placeTimer } from './timer-message-service.js';
import { isTransactionHalf, placeHalf, resetTransactionValue } from './transaction/transaction-util.js';
import { createUniqId } from './uniq-id.js';

/** MQVersion V3_4_9: from this client version on, maxReconsumeTimes in a request counts. */
export const VERSION_3_4_9 = 121;

/** A store result, possibly downgraded by the SYNC_MASTER replication wait. */
type PutResult = Omit<StorePutResult, 'status'> & { status: StorePutResult['status'] | 'FLUSH_SLAVE_TIMEOUT' | 'SLAVE_NOT_AVAILABLE' };

interface SendHeader extends Omit<SendRequestHeader, 'reconsumeTimes'> {
  /** 0 when absent, as Java's send path counts it. */
  reconsumeTimes: number;
  /** Set by clients re-sending a failed message to %RETRY% themselves (undefined if absent). */
  maxReconsumeTimes: number | undefined;
}

function parseSendHeader(req: RemotingCommand): SendHeader {
  const fields = sendHeaderFields(req);
  const h = parseSendRequestHeader(fields);
  return { ...h, reconsumeTimes: h.reconsumeTimes ?? 0, maxReconsumeTimes: optionalIntField(fields, 'maxReconsumeTimes') };
}

export class SendMessageProcessor {
  readonly #ctx: BrokerContext;

  constructor(ctx: BrokerContext) {
    this.#ctx = ctx;
  }

  async process(req: RemotingCommand, conn: RemotingConnection): Promise<RemotingCommand> {
    const started = performance.now();
    if (this.#ctx.role() === 'SLAVE') {
      // Producers only send to brokerId 0; a send here means a stale route. 14 makes them retry.
      throw new RequestError(ResponseCode.SERVICE_NOT_AVAILABLE, `the broker[${this.#ctx.config.brokerName}] is a slave and does not accept messages`);
    }
    if (!this.#ctx.acceptingSends()) {
      throw new RequestError(ResponseCode.SERVICE_NOT_AVAILABLE, `the broker[${this.#ctx.config.brokerName}] is shutting down`);
    }
    const h = parseSendHeader(req);
    const batch = req.code === 320;
    const topicConfig = checkSendTopic(this.#ctx, h, conn.remoteAddress, 'send');
    const queueId = chooseSendQueue(h, topicConfig);
    // As Java: retry/DLQ routing needs per-message reconsume times, which a batch does not carry.
    if (batch && h.topic.startsWith(RETRY_GROUP_TOPIC_PREFIX)) throw new RequestError(ResponseCode.MESSAGE_ILLEGAL, `batch request does not support retry group ${h.topic}`);
    const dlq = !batch && h.topic.startsWith(RETRY_GROUP_TOPIC_PREFIX) ? this.#deadLetterTarget(h, req) : undefined;
    const body = req.body ?? Buffer.alloc(0);
    const maxSize = this.#ctx.config.maxMessageSize;
    if (body.length > maxSize) {
      throw new RequestError(ResponseCode.MESSAGE_ILLEGAL, `the message body size ${body.length} exceeds the max value ${maxSize}`);
    }
    const bornHost = encodeHost(conn.remoteAddress);
    const sysFlag = topicConfig.topicFilterType === 'MULTI_TAG' ? h.sysFlag | SysFlag.MULTI_TAGS : h.sysFlag;
    let result: PutResult;
    let transactionId: string | undefined;
    if (batch) {
      let entries: ReturnType<typeof decodeBatchBody>;
      try {
        entries = decodeBatchBody(body);
      } catch (err) {
        if (err instanceof ProtocolError) throw new RequestError(ResponseCode.MESSAGE_ILLEGAL, `malformed batch body: ${err.message}`);
        throw err;
      }
      if (entries.length === 0) throw new RequestError(ResponseCode.MESSAGE_ILLEGAL, 'the batch is empty');
      const inputs = entries.map((e) => this.#toInput(h, topicConfig, queueId, sysFlag, bornHost, e.body, e.properties, e.flag, false));
      result = await this.#ctx.store.putMessages(inputs);
      result = await this.#replicate(result, inputs.some((i) => i.waitStoreMsgOK));
      // Apache echoes the batch's own UNIQ_KEY (5.x clients put one in the header properties).
      transactionId = getProperty(h.properties, Prop.UNIQ_KEY);
    } else {
      const input = dlq
        ? this.#toInput(h, dlq, 0, sysFlag, bornHost, body, h.properties, h.flag, true, true)
        : this.#toInput(h, topicConfig, queueId, sysFlag, bornHost, body, h.properties, h.flag, true);
      result = await this.#ctx.store.putMessage(input);
      result = await this.#replicate(result, input.waitStoreMsgOK);
      // Apache answers every send with the message's UNIQ_KEY as transactionId.
      transactionId = getProperty(input.properties, Prop.UNIQ_KEY);
    }
    const elapsedMs = performance.now() - started;
    if (result.appended.length > 0) this.#ctx.metrics?.sent(topicConfig.topicName, result.appended.length, body.length, elapsedMs);
    else this.#ctx.metrics?.putFailed(result.status, elapsedMs);
    return this.#respond(req, result, queueId, body.length, transactionId);
  }

  /** SYNC_MASTER: a stored message is acknowledged once a slave has it too. */
  async #replicate(result: PutResult, wait: boolean): Promise<PutResult> {
    if (this.#ctx.role() !== 'SYNC_MASTER' || !wait || result.status !== 'PUT_OK') return result;
    const last = result.appended[result.appended.length - 1];
    if (!last) return result;
    const outcome = await this.#ctx.waitForSlaves(last.physicalOffset + last.size);
    if (outcome === 'OK') return result;
    return { ...result, status: outcome, remark: outcome === 'SLAVE_NOT_AVAILABLE' ? 'no slave in sync with the master' : 'waiting for a slave timed out' };
  }

  /**
   * SendMessageProcessor.handleRetryAndDLQ: a consumer that could not send a message back sends
   * it to %RETRY%<group> itself; past the group's (or the request's) max reconsume times it goes
   * to the group's DLQ instead. Returns the DLQ topic, or undefined to store it as sent.
   */
  #deadLetterTarget(h: SendHeader, req: RemotingCommand): TopicConfig | undefined {
    const ctx = this.#ctx;
    const group = h.topic.slice(RETRY_GROUP_TOPIC_PREFIX.length);
    const sub = ctx.groups.findOrCreate(group);
    if (!sub) throw new RequestError(ResponseCode.SUBSCRIPTION_GROUP_NOT_EXIST, `subscription group not exist, ${group}`);
    const max = req.version >= VERSION_3_4_9 && h.maxReconsumeTimes !== undefined ? h.maxReconsumeTimes : sub.retryMaxTimes;
    // An orderly group still holding queue locks retries in place on the client, so a retry it
    // sends itself goes straight to the DLQ (SendMessageProcessor.handleRetryAndDLQ).
    const lockedOrderly = ctx.locks ? !ctx.locks.isLockAllExpired(group) : false;
    if (h.reconsumeTimes <= max && !lockedOrderly) return undefined;
    const { config, created } = ctx.topics.createSystemTopicIfAbsent(`${DLQ_GROUP_TOPIC_PREFIX}${group}`, 1, Perm.READ | Perm.WRITE);
    if (created) ctx.registerNow();
    ctx.log.info({ group, reconsumeTimes: h.reconsumeTimes, maxReconsumeTimes: max, lockedOrderly }, 'retry message sent to the DLQ');
    return config;
  }

  #toInput(
    h: SendHeader,
    tc: TopicConfig,
    queueId: number,
    sysFlag: number,
    bornHost: Buffer,
    body: Buffer,
    propertiesText: string,
    flag: number,
    addUniqKey: boolean,
    deadLetter = false,
  ): PutMessageInput {
    const props = decodeProperties(propertiesText);
    const half = this.#checkTransactionHalf(props, sysFlag, h.reconsumeTimes, addUniqKey);
    // Stored without transaction bits so the half topic's consume queue indexes it.
    const storedSysFlag = half ? resetTransactionValue(sysFlag, SysFlag.TRANSACTION_NOT_TYPE) : sysFlag;
    // As 5.x handleRetryAndDLQ: a dead letter is stored at once (DELAY -1), never delayed.
    if (deadLetter) props.set(Prop.DELAY, '-1');
    let placement: ScheduledPlacement | undefined;
    if (Number(props.get(Prop.DELAY) ?? '0') > 0) {
      if (!addUniqKey) throw new RequestError(ResponseCode.MESSAGE_ILLEGAL, 'a delay level is not supported in batch messages');
      placement = placeDelayed(props, tc.topicName, queueId, delayLevelsOf(this.#ctx.config.messageDelayLevel));
    } else if (!half && TIMER_PROPERTIES.some((p) => props.has(p))) {
      // 5.x timer message (HookUtils.transformTimerMessage); a transaction half is timed at commit.
      if (!addUniqKey) throw new RequestError(ResponseCode.MESSAGE_ILLEGAL, 'a timer message (TIMER_DELIVER_MS/TIMER_DELAY_MS/TIMER_DELAY_SEC) is not supported in batch messages');
      const timer = placeTimer(props, tc.topicName, queueId, this.#ctx.config);
      if (timer.kind === 'refused') throw new RequestError(timer.code === 'ILLEGAL' ? ResponseCode.MESSAGE_ILLEGAL : ResponseCode.SYSTEM_ERROR, timer.remark);
      if (timer.kind === 'timer') placement = timer;
    }
    // RocketMQ 5 gives single messages without one a UNIQ_KEY; batch entries stay as sent.
    if (addUniqKey && !props.get(Prop.UNIQ_KEY)) props.set(Prop.UNIQ_KEY, createUniqId());
    // A transaction half goes to RMQ_SYS_TRANS_HALF_TOPIC queue 0 (TransactionalMessageBridge).
    if (half) placement = { ...placeHalf(props, tc.topicName, queueId), tagsCode: tagsCode(props.get(Prop.TAGS)) };
    props.set(Prop.CLUSTER, this.#ctx.config.brokerClusterName);
    // As Java's send path: the region and trace switch go into single messages (5.x consumers'
    // trace hooks drop records of messages without a region).
    if (addUniqKey) {
      props.set('MSG_REGION', 'DefaultRegion');
      props.set('TRACE_ON', 'true');
    }
    // Its length is checked by the store (MESSAGE_ILLEGAL), with the broker's additions counted.
    const properties = encodeProperties(props);
    return {
      topic: placement?.topic ?? tc.topicName,
      queueId: placement?.queueId ?? queueId,
      flag,
      sysFlag: storedSysFlag,
      bornTimestamp: h.bornTimestamp,
      bornHost,
      storeHost: this.#ctx.storeHost,
      reconsumeTimes: h.reconsumeTimes,
      preparedTransactionOffset: 0,
      body,
      properties,
      tagsCode: placement?.tagsCode ?? tagsCode(props.get(Prop.TAGS)),
      waitStoreMsgOK: props.get(Prop.WAIT) !== 'false',
    };
  }

  /**
   * Whether a message is a transaction half (TRAN_MSG=true, as Java decides). A half may not be
   * part of a batch or carry a delay level; a transaction sysFlag without TRAN_MSG would be stored
   * where no consumer ever sees it, so it is refused.
   */
  #checkTransactionHalf(props: ReadonlyMap<string, string>, sysFlag: number, reconsumeTimes: number, single: boolean): boolean {
    const tran = sysFlag & SysFlag.TRANSACTION_MASK;
    if (!isTransactionHalf(props, reconsumeTimes)) {
      if (tran === SysFlag.TRANSACTION_PREPARED || tran === SysFlag.TRANSACTION_ROLLBACK) {
        throw new RequestError(ResponseCode.MESSAGE_ILLEGAL, `sysFlag ${sysFlag} marks a transaction ${tran === SysFlag.TRANSACTION_PREPARED ? 'half' : 'rollback'} message but the TRAN_MSG property is not "true"`);
      }
      return false;
    }
    if (this.#ctx.config.rejectTransactionMessage) {
      throw new RequestError(ResponseCode.NO_PERMISSION, `the broker[${this.#ctx.config.brokerIP1}] sending transaction message is forbidden`);
    }
    if (!single) throw new RequestError(ResponseCode.MESSAGE_ILLEGAL, 'a batch cannot hold transaction messages (TRAN_MSG=true)');
    if (Number(props.get(Prop.DELAY) ?? '0') > 0) throw new RequestError(ResponseCode.MESSAGE_ILLEGAL, 'a transaction half message cannot have a delay level (DELAY)');
    return true;
  }

  #respond(req: RemotingCommand, result: PutResult, queueId: number, bytes: number, transactionId: string | undefined): RemotingCommand {
    const ctx = this.#ctx;
    const storedOk = result.status === 'PUT_OK' || result.status === 'FLUSH_DISK_TIMEOUT' || result.status === 'FLUSH_SLAVE_TIMEOUT' || result.status === 'SLAVE_NOT_AVAILABLE';
    if (!storedOk) {
      const code = result.status === 'MESSAGE_ILLEGAL' ? ResponseCode.MESSAGE_ILLEGAL : result.status === 'SERVICE_NOT_AVAILABLE' ? ResponseCode.SERVICE_NOT_AVAILABLE : ResponseCode.SYSTEM_ERROR;
      return createResponse(req, code, result.remark ?? `store rejected the message: ${result.status}`);
    }
    ctx.stats.putMessageTimes += result.appended.length;
    ctx.stats.putMessageBytes += bytes;
    const first = result.appended[0]!;
    const ext: Record<string, string> = {
      msgId: result.appended.map((a) => a.offsetMsgId).join(','),
      queueId: String(queueId),
      queueOffset: String(first.queueOffset),
      MSG_REGION: 'DefaultRegion',
      TRACE_ON: 'true',
    };
    if (transactionId) ext.transactionId = transactionId;
    // The message is stored in every one of these cases; the client reports the weaker guarantee.
    const code =
      result.status === 'FLUSH_DISK_TIMEOUT' ? ResponseCode.FLUSH_DISK_TIMEOUT
      : result.status === 'FLUSH_SLAVE_TIMEOUT' ? ResponseCode.FLUSH_SLAVE_TIMEOUT
      : result.status === 'SLAVE_NOT_AVAILABLE' ? ResponseCode.SLAVE_NOT_AVAILABLE
      : ResponseCode.SUCCESS;
    return createResponse(req, code, result.remark, ext);
  }
}
