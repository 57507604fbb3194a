// Client management and consumer bookkeeping: HEART_BEAT, UNREGISTER_CLIENT,
// CHECK_CLIENT_CONFIG, GET_CONSUMER_LIST_BY_GROUP and the consumer offset requests.
import { totalmem } from 'node:os';
import { FilterExpressionError } from '../common/errors.js';
import { jsonBody, parseJsonBody } from '../common/json.js';
import { compileFilter, isTagType, type Sql92Filter } from '../filter/sql92.js';
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
  /** Filter warnings already logged (bounded), so heartbeats do not repeat them. */
  readonly #warned = new Set<string>();

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
      this.#compileFilters(group, subs);
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

  /** ClientManageProcessor.checkClientConfig: consumers with SQL92 subscriptions ask at start. */
  checkClientConfig(req: RemotingCommand): RemotingCommand {
    const body = parseJsonBody(req.body) as { clientId?: string; group?: string; subscriptionData?: Partial<SubscriptionData> };
    const sub = body.subscriptionData;
    if (!sub || isTagType(sub.expressionType)) return createResponse(req, ResponseCode.SUCCESS);
    const type = String(sub.expressionType);
    if (!this.#ctx.config.enablePropertyFilter) {
      return createResponse(req, ResponseCode.SYSTEM_ERROR, `The broker does not support consumer to filter message by ${type}`);
    }
    try {
      const filter = compileFilter(type, String(sub.subString ?? ''));
      if (filter.ignoredTail) this.#warnIgnoredTail(String(body.group), String(sub.topic), filter);
    } catch (err) {
      if (!(err instanceof FilterExpressionError)) throw err;
      this.#ctx.log.warn({ clientId: body.clientId, group: body.group, topic: sub.topic, expression: sub.subString, err: err.message }, 'consumer filter expression does not compile');
      return createResponse(req, ResponseCode.SUBSCRIPTION_PARSE_FAILED, err.message);
    }
    return createResponse(req, ResponseCode.SUCCESS);
  }

  /**
   * Heartbeat subscriptions with a filter expression are compiled now (ConsumerFilterManager
   * .register): a bad one is logged and stays registered, and its pulls answer
   * FILTER_DATA_NOT_EXIST, as in Java; the group itself is unaffected.
   */
  #compileFilters(group: string, subs: readonly SubscriptionData[]): void {
    for (const s of subs) {
      if (isTagType(s.expressionType)) continue;
      try {
        const filter = compileFilter(s.expressionType, s.subString);
        if (filter.ignoredTail) this.#warnIgnoredTail(group, s.topic, filter);
      } catch (err) {
        if (!(err instanceof FilterExpressionError)) throw err;
        // Heartbeats repeat every 30 s: say it once per group, topic and expression.
        if (this.#firstWarning(`bad\u0001${group}\u0001${s.topic}\u0001${s.subString}`)) {
          this.#ctx.log.warn({ group, topic: s.topic, expressionType: s.expressionType, expression: s.subString, err: err.message }, 'consumer filter expression does not compile; its pulls answer FILTER_DATA_NOT_EXIST');
        }
      }
    }
  }

  #firstWarning(key: string): boolean {
    if (this.#warned.has(key) || this.#warned.size >= 1000) return false;
    this.#warned.add(key);
    return true;
  }

  #warnIgnoredTail(group: string, topic: string, filter: Sql92Filter): void {
    if (!this.#firstWarning(`tail\u0001${group}\u0001${topic}\u0001${filter.expression}`)) return;
    this.#ctx.log.warn({ group, topic, expression: filter.expression, ignored: filter.ignoredTail?.text }, 'consumer filter expression has trailing text that is ignored (as Apache RocketMQ does)');
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
