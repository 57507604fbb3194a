// Client management and consumer bookkeeping: HEART_BEAT, UNREGISTER_CLIENT,
// CHECK_CLIENT_CONFIG, GET_CONSUMER_LIST_BY_GROUP and the consumer offset requests.
import { totalmem } from 'node:os';
import { RequestError } from '../common/errors.js';
import { jsonBody, parseJsonBody } from '../common/json.js';
import { Perm, ResponseCode } from '../protocol/codes.js';
import { header, intHeader, optionalHeader } from '../protocol/headers.js';
import { createResponse, type RemotingCommand } from '../protocol/remoting.js';
import type { RemotingConnection } from '../transport/connection.js';
import type { SubscriptionData } from './client-manager.js';
import type { BrokerContext } from './context.js';
import { RETRY_GROUP_TOPIC_PREFIX } from './metadata.js';

interface HeartbeatBody {
  clientID?: string;
  producerDataSet?: Array<{ groupName?: string }>;
  consumerDataSet?: Array<{
    groupName?: string;
    consumeType?: string;
    messageModel?: string;
    consumeFromWhere?: string;
    subscriptionDataSet?: Array<Partial<SubscriptionData>>;
  }>;
}

function toSubscription(s: Partial<SubscriptionData>): SubscriptionData {
  return {
    topic: String(s.topic ?? ''),
    subString: String(s.subString ?? '*'),
    tagsSet: Array.isArray(s.tagsSet) ? s.tagsSet.map(String) : [],
    codeSet: Array.isArray(s.codeSet) ? s.codeSet.map(Number) : [],
    expressionType: String(s.expressionType ?? 'TAG'),
    subVersion: Number(s.subVersion ?? 0),
    classFilterMode: s.classFilterMode === true,
  };
}

/** Memory the Java broker assumes can hold hot messages (accessMessageInMemoryMaxRatio of RAM). */
const IN_MEMORY_BYTES = Math.floor(totalmem() * 0.4);

export class ClientProcessor {
  readonly #ctx: BrokerContext;

  constructor(ctx: BrokerContext) {
    this.#ctx = ctx;
  }

  heartbeat(req: RemotingCommand, conn: RemotingConnection): RemotingCommand {
    const ctx = this.#ctx;
    const body = parseJsonBody(req.body) as HeartbeatBody;
    const clientId = String(body.clientID ?? conn.remoteAddress);
    const channel = { conn, clientId, language: req.language, version: req.version, lastUpdateTimestamp: Date.now() };
    for (const c of body.consumerDataSet ?? []) {
      const group = String(c.groupName ?? '');
      if (!group) continue;
      const cfg = ctx.groups.findOrCreate(group);
      if (cfg && cfg.retryQueueNums > 0) {
        const { created } = ctx.topics.createSystemTopicIfAbsent(`${RETRY_GROUP_TOPIC_PREFIX}${group}`, cfg.retryQueueNums, Perm.READ | Perm.WRITE);
        if (created) ctx.registerNow();
      }
      const subs = (c.subscriptionDataSet ?? []).map(toSubscription);
      const changed = ctx.clients.registerConsumer(
        group,
        channel,
        {
          consumeType: String(c.consumeType ?? 'CONSUME_PASSIVELY'),
          messageModel: String(c.messageModel ?? 'CLUSTERING'),
          consumeFromWhere: String(c.consumeFromWhere ?? 'CONSUME_FROM_LAST_OFFSET'),
        },
        subs,
      );
      if (changed && (cfg?.notifyConsumerIdsChangedEnable ?? true)) ctx.clients.notifyConsumerIdsChanged(group);
    }
    for (const p of body.producerDataSet ?? []) {
      if (p.groupName) ctx.clients.registerProducer(String(p.groupName), channel);
    }
    return createResponse(req, ResponseCode.SUCCESS);
  }

  unregisterClient(req: RemotingCommand, conn: RemotingConnection): RemotingCommand {
    const ctx = this.#ctx;
    const producerGroup = optionalHeader(req, 'producerGroup');
    const consumerGroup = optionalHeader(req, 'consumerGroup');
    if (producerGroup) ctx.clients.unregisterProducer(producerGroup, conn);
    if (consumerGroup && ctx.clients.unregisterConsumer(consumerGroup, conn)) {
      const cfg = ctx.groups.get(consumerGroup);
      if (cfg?.notifyConsumerIdsChangedEnable ?? true) ctx.clients.notifyConsumerIdsChanged(consumerGroup);
    }
    return createResponse(req, ResponseCode.SUCCESS);
  }

  checkClientConfig(req: RemotingCommand): RemotingCommand {
    const body = parseJsonBody(req.body) as { group?: string; subscriptionData?: Partial<SubscriptionData> };
    const type = String(body.subscriptionData?.expressionType ?? 'TAG');
    if (type !== 'TAG') {
      throw new RequestError(ResponseCode.SYSTEM_ERROR, `the expression type ${type} is not supported by this broker yet (only TAG)`);
    }
    return createResponse(req, ResponseCode.SUCCESS);
  }

  consumerList(req: RemotingCommand): RemotingCommand {
    const group = header(req, 'consumerGroup');
    const ids = this.#ctx.clients.consumerIds(group);
    if (ids.length === 0) return createResponse(req, ResponseCode.SYSTEM_ERROR, `no consumer for this group, ${group}`);
    return createResponse(req, ResponseCode.SUCCESS, undefined, {}, jsonBody({ consumerIdList: ids }));
  }

  updateOffset(req: RemotingCommand): RemotingCommand {
    this.#ctx.offsets.commit(header(req, 'consumerGroup'), header(req, 'topic'), intHeader(req, 'queueId'), intHeader(req, 'commitOffset'));
    return createResponse(req, ResponseCode.SUCCESS);
  }

  /** QUERY_CONSUMER_OFFSET with Java's rule for groups that never committed (see §5.4). */
  queryOffset(req: RemotingCommand): RemotingCommand {
    const ctx = this.#ctx;
    const group = header(req, 'consumerGroup');
    const topic = header(req, 'topic');
    const queueId = intHeader(req, 'queueId');
    const offset = ctx.offsets.query(group, topic, queueId);
    if (offset >= 0) return createResponse(req, ResponseCode.SUCCESS, undefined, { offset: String(offset) });
    const setZero = optionalHeader(req, 'setZeroIfNotFound');
    if (setZero !== 'false' && ctx.store.getMinOffsetInQueue(topic, queueId) <= 0 && this.#firstMessageInMemory(topic, queueId)) {
      return createResponse(req, ResponseCode.SUCCESS, undefined, { offset: '0' });
    }
    return createResponse(req, ResponseCode.QUERY_NOT_FOUND, 'Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first');
  }

  #firstMessageInMemory(topic: string, queueId: number): boolean {
    const first = this.#ctx.store.getMessages(topic, queueId, 0, { maxMsgNums: 1 });
    const record = first.messages[0];
    if (!record) return true; // empty queue: the first message will be fresh
    const physicalOffset = Number(record.readBigInt64BE(28));
    return this.#ctx.store.stats().commitLogMaxOffset - physicalOffset < IN_MEMORY_BYTES;
  }

}
