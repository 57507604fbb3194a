// CONSUMER_SEND_MSG_BACK (36): a consumer could not consume a message (RECONSUME_LATER, an
// exception, a timeout). The broker stores a copy in the group's retry topic with a growing
// delay level, or in its dead-letter topic once the group's max reconsume times are used up
// (Java AbstractSendMessageProcessor.consumerSendMsgBack).
import { RequestError } from '../common/errors.js';
import type { TopicConfig } from '../common/topic-config.js';
import { isWriteable, Perm, ResponseCode } from '../protocol/codes.js';
import { header, intHeader, optionalHeader, optionalIntHeader } from '../protocol/headers.js';
import { createOffsetMsgId, decodeMessageRecord, decodeProperties, encodeProperties, Prop, SysFlag, tagsCode } from '../protocol/message.js';
import { createResponse, type RemotingCommand } from '../protocol/remoting.js';
import type { PutMessageInput } from '../store/message-store.js';
import type { BrokerContext } from './context.js';
import { DLQ_GROUP_TOPIC_PREFIX, RETRY_GROUP_TOPIC_PREFIX } from './metadata.js';
import { delayLevelsOf, placeDelayed } from './schedule-message-service.js';
import { VERSION_3_4_9 } from './send-processor.js';

const ORIGIN_MESSAGE_ID = 'ORIGIN_MESSAGE_ID';
/** MixAll.DLQ_NUMS_PER_GROUP */
const DLQ_QUEUE_NUMS = 1;

export class SendBackProcessor {
  readonly #ctx: BrokerContext;

  constructor(ctx: BrokerContext) {
    this.#ctx = ctx;
  }

  async process(req: RemotingCommand): Promise<RemotingCommand> {
    const ctx = this.#ctx;
    // 5.x answers this on a broker without a master; the client then re-sends the message to
    // %RETRY%<group> itself through a master of another broker group.
    if (ctx.role() === 'SLAVE') return createResponse(req, ResponseCode.SYSTEM_ERROR, `no master available along with ${ctx.config.brokerIP1}`);
    if (!ctx.acceptingSends()) return createResponse(req, ResponseCode.SYSTEM_ERROR, `the broker[${ctx.config.brokerName}] is shutting down`);
    const group = header(req, 'group');
    const offset = intHeader(req, 'offset');
    let delayLevel = optionalIntHeader(req, 'delayLevel') ?? 0;
    const requestMax = optionalIntHeader(req, 'maxReconsumeTimes');
    const sub = ctx.groups.findOrCreate(group);
    if (!sub) throw new RequestError(ResponseCode.SUBSCRIPTION_GROUP_NOT_EXIST, `subscription group not exist, ${group}`);
    if (!isWriteable(ctx.permission())) {
      throw new RequestError(ResponseCode.NO_PERMISSION, `the broker[${ctx.config.brokerIP1}] sending message is forbidden`);
    }
    if (sub.retryQueueNums <= 0) return createResponse(req, ResponseCode.SUCCESS);

    let topic = `${RETRY_GROUP_TOPIC_PREFIX}${group}`;
    let queueId = Math.floor(Math.random() * sub.retryQueueNums);
    const unitMode = optionalHeader(req, 'unitMode') === 'true';
    let tc = this.#createTopic(topic, sub.retryQueueNums, unitMode ? 2 : 0);
    if (!isWriteable(tc.perm)) throw new RequestError(ResponseCode.NO_PERMISSION, `the topic[${topic}] sending message is forbidden`);

    const raw = ctx.store.lookMessageByOffset(offset);
    const rec = raw ? decodeMessageRecord(raw) : undefined;
    if (!rec) return createResponse(req, ResponseCode.SYSTEM_ERROR, `look message by offset failed, ${offset}`);
    const props = decodeProperties(rec.properties);
    if (!props.has(Prop.RETRY_TOPIC)) props.set(Prop.RETRY_TOPIC, rec.topic);
    props.set(Prop.WAIT, 'false');
    const maxReconsumeTimes = req.version >= VERSION_3_4_9 && requestMax !== undefined ? requestMax : sub.retryMaxTimes;
    const dead = rec.reconsumeTimes >= maxReconsumeTimes || delayLevel < 0;
    if (dead) {
      topic = `${DLQ_GROUP_TOPIC_PREFIX}${group}`;
      queueId = Math.floor(Math.random() * DLQ_QUEUE_NUMS);
      tc = this.#createTopic(topic, DLQ_QUEUE_NUMS, 0);
      props.set(Prop.DELAY, '0');
    } else {
      if (delayLevel === 0) delayLevel = 3 + rec.reconsumeTimes;
      props.set(Prop.DELAY, String(delayLevel));
    }
    if (!props.get(ORIGIN_MESSAGE_ID)) props.set(ORIGIN_MESSAGE_ID, createOffsetMsgId(rec.storeHost, rec.physicalOffset));
    const placement = placeDelayed(props, topic, queueId, delayLevelsOf(ctx.config.messageDelayLevel));
    const input: PutMessageInput = {
      topic: placement?.topic ?? topic,
      queueId: placement?.queueId ?? queueId,
      flag: rec.flag,
      sysFlag: rec.sysFlag & ~(SysFlag.BORNHOST_V6 | SysFlag.STOREHOST_V6),
      bornTimestamp: rec.bornTimestamp,
      bornHost: rec.bornHost,
      storeHost: ctx.storeHost,
      reconsumeTimes: rec.reconsumeTimes + 1,
      preparedTransactionOffset: rec.preparedTransactionOffset,
      body: rec.body,
      properties: encodeProperties(props),
      tagsCode: placement?.tagsCode ?? tagsCode(props.get(Prop.TAGS)),
      waitStoreMsgOK: false,
    };
    const result = await ctx.store.putMessage(input);
    if (result.status !== 'PUT_OK' && result.status !== 'FLUSH_DISK_TIMEOUT') return createResponse(req, ResponseCode.SYSTEM_ERROR, result.status);
    if (dead) ctx.log.info({ group, topic: tc.topicName, originTopic: props.get(Prop.RETRY_TOPIC), uniqKey: props.get(Prop.UNIQ_KEY), reconsumeTimes: rec.reconsumeTimes }, 'message sent to the DLQ');
    ctx.stats.putMessageTimes++;
    ctx.stats.putMessageBytes += rec.body.length;
    return createResponse(req, ResponseCode.SUCCESS);
  }

  /** TopicConfigManager.createTopicInSendMessageBackMethod: read/write, registered at once. */
  #createTopic(topic: string, queueNums: number, topicSysFlag: number): TopicConfig {
    const { config, created } = this.#ctx.topics.createSystemTopicIfAbsent(topic, queueNums, Perm.READ | Perm.WRITE);
    if (created) {
      if (topicSysFlag !== 0) this.#ctx.topics.update({ ...config, topicSysFlag });
      this.#ctx.registerNow();
    }
    return this.#ctx.topics.get(topic) ?? config;
  }
}
