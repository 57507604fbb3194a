// Admin and query requests: topics, subscription groups, offsets by queue/time, message lookup,
// runtime information and configuration.
import { RequestError } from '../common/errors.js';
import { jsonBody, parseJsonBody } from '../common/json.js';
import { toTopicConfig, topicNameProblem } from '../common/topic-config.js';
import { brokerConfigEntries } from '../config/broker-config.js';
import { formatProperties, parseProperties } from '../config/properties.js';
import { runtimeInfoEntries } from '../observability/broker-status.js';
import { ResponseCode, SERVER_VERSION } from '../protocol/codes.js';
import { decodeMessageRecord } from '../protocol/message.js';
import { header, intHeader, optionalHeader, optionalIntHeader } from '../protocol/headers.js';
import { createResponse, type RemotingCommand } from '../protocol/remoting.js';
import type { BrokerContext } from './context.js';
import { newSubscriptionGroupConfig, TBW102, type SubscriptionGroupConfig } from './metadata.js';

export class AdminProcessor {
  readonly #ctx: BrokerContext;

  constructor(ctx: BrokerContext) {
    this.#ctx = ctx;
  }

  createTopic(req: RemotingCommand): RemotingCommand {
    const ctx = this.#ctx;
    const topic = header(req, 'topic');
    const problem = topicNameProblem(topic);
    if (problem) throw new RequestError(ResponseCode.INVALID_PARAMETER, `the specified topic is invalid: ${problem}`);
    if (topic === TBW102 && ctx.topics.get(TBW102) === undefined) {
      throw new RequestError(ResponseCode.INVALID_PARAMETER, `the topic[${topic}] is conflict with system topic.`);
    }
    const readQueueNums = intHeader(req, 'readQueueNums');
    const writeQueueNums = intHeader(req, 'writeQueueNums');
    if (readQueueNums < 0 || writeQueueNums < 0 || readQueueNums > 1024 || writeQueueNums > 1024) {
      throw new RequestError(ResponseCode.INVALID_PARAMETER, 'queue numbers must be between 0 and 1024');
    }
    const attributes: Record<string, string> = {};
    for (const item of (optionalHeader(req, 'attributes') ?? '').split(',')) {
      const m = /^\+?([^=]+)=(.*)$/.exec(item.trim());
      if (m) attributes[m[1]!] = m[2]!;
    }
    const tc = toTopicConfig(topic, {
      topicName: topic,
      readQueueNums,
      writeQueueNums,
      perm: intHeader(req, 'perm'),
      topicFilterType: optionalHeader(req, 'topicFilterType') ?? 'SINGLE_TAG',
      topicSysFlag: optionalIntHeader(req, 'topicSysFlag') ?? 0,
      order: optionalHeader(req, 'order') === 'true',
      attributes,
    });
    ctx.topics.update(tc);
    ctx.registerNow();
    return createResponse(req, ResponseCode.SUCCESS);
  }

  deleteTopic(req: RemotingCommand): RemotingCommand {
    const ctx = this.#ctx;
    const topic = header(req, 'topic');
    ctx.topics.delete(topic);
    ctx.offsets.removeTopic(topic);
    ctx.store.deleteTopics([topic]);
    ctx.registerNow();
    return createResponse(req, ResponseCode.SUCCESS);
  }

  /** GET_TOPIC_CONFIG (5.x mqadmin topicStatus, statsAll): one TopicConfig (TopicConfigAndQueueMapping without a mapping). */
  topicConfig(req: RemotingCommand): RemotingCommand {
    const topic = header(req, 'topic');
    const tc = this.#ctx.topics.get(topic);
    if (!tc) throw new RequestError(ResponseCode.TOPIC_NOT_EXIST, `No topic in this broker. topic: ${topic}`);
    return createResponse(req, ResponseCode.SUCCESS, undefined, {}, jsonBody(tc));
  }

  allTopicConfig(req: RemotingCommand): RemotingCommand {
    return createResponse(req, ResponseCode.SUCCESS, undefined, {}, jsonBody(this.#ctx.topics.wrapper()));
  }

  runtimeInfo(req: RemotingCommand): RemotingCommand {
    const ctx = this.#ctx;
    const s = ctx.store.stats();
    const uptimeS = Math.max(1, (Date.now() - ctx.stats.startTime) / 1000);
    const putTps = (ctx.stats.putMessageTimes / uptimeS).toFixed(2);
    const getTps = (ctx.stats.getMessageTimes / uptimeS).toFixed(2);
    const table: Record<string, string> = {
      brokerVersionDesc: 'V5_3_3',
      brokerVersion: String(SERVER_VERSION),
      brokerName: ctx.config.brokerName,
      brokerId: String(ctx.brokerId()),
      brokerRole: ctx.role(),
      brokerAddr: ctx.brokerAddr,
      bootTimestamp: String(ctx.stats.startTime),
      runtime: `[ ${Math.floor(uptimeS / 86400)} days, ${Math.floor((uptimeS % 86400) / 3600)} hours, ${Math.floor((uptimeS % 3600) / 60)} minutes, ${Math.floor(uptimeS % 60)} seconds ]`,
      msgPutTotalTodayNow: String(ctx.stats.putMessageTimes),
      msgGetTotalTodayNow: String(ctx.stats.getMessageTimes),
      msgPutTotalYesterdayMorning: '0',
      msgPutTotalTodayMorning: '0',
      msgGetTotalYesterdayMorning: '0',
      msgGetTotalTodayMorning: '0',
      putTps: `${putTps} ${putTps} ${putTps}`,
      getTransferredTps: `${getTps} ${getTps} ${getTps}`,
      getFoundTps: `${getTps} ${getTps} ${getTps}`,
      getMissTps: '0.00 0.00 0.00',
      getTotalTps: `${getTps} ${getTps} ${getTps}`,
      sendThreadPoolQueueSize: '0',
      sendThreadPoolQueueCapacity: '10000',
      pullThreadPoolQueueSize: '0',
      pullThreadPoolQueueCapacity: '100000',
      sendThreadPoolQueueHeadWaitTimeMills: '0',
      pullThreadPoolQueueHeadWaitTimeMills: '0',
      ackThreadPoolQueueSize: '0',
      ackThreadPoolQueueHeadWaitTimeMills: '0',
      pageCacheLockTimeMills: '0',
      commitLogMinOffset: String(s.commitLogMinOffset),
      commitLogMaxOffset: String(s.commitLogMaxOffset),
      commitLogDiskRatio: '0.0',
      earliestMessageTimeStamp: String(this.#earliestMessageTime()),
      brokerActive: 'true',
      putMessageTimesTotal: String(ctx.stats.putMessageTimes),
      putMessageSizeTotal: String(ctx.stats.putMessageBytes),
      dispatchBehindBytes: '0',
      remainHowManyDataToFlush: `${Math.max(0, s.commitLogMaxOffset - s.flushedOffset)} B`,
      pullHeldRequests: String(ctx.pullHold.size),
      ...ctx.replicationFacts(),
    };
    // Health facts (/status): readiness, disk ratio, registration, per-slave lag.
    const status = ctx.status?.();
    if (status) Object.assign(table, runtimeInfoEntries(status));
    return createResponse(req, ResponseCode.SUCCESS, undefined, {}, jsonBody({ table }));
  }

  /** Store time of the oldest message in the commit log, -1 when there is none (as Java). */
  #earliestMessageTime(): number {
    const store = this.#ctx.store;
    const record = store.lookMessageByOffset(store.stats().commitLogMinOffset);
    if (!record) return -1;
    try {
      return decodeMessageRecord(record)?.storeTimestamp ?? -1;
    } catch {
      return -1;
    }
  }

  brokerConfig(req: RemotingCommand): RemotingCommand {
    const text = formatProperties(brokerConfigEntries(this.#ctx.config));
    return createResponse(req, ResponseCode.SUCCESS, undefined, { version: JSON.stringify(this.#ctx.topics.dataVersion) }, Buffer.from(text, 'utf8'));
  }

  /** UPDATE_BROKER_CONFIG: body is java.util.Properties text, as mqadmin updateBrokerConfig sends. */
  async updateBrokerConfig(req: RemotingCommand): Promise<RemotingCommand> {
    const update = parseProperties((req.body ?? Buffer.alloc(0)).toString('utf8'));
    if (update.size === 0) throw new RequestError(ResponseCode.INVALID_PARAMETER, 'no config keys in the request body');
    const remark = await this.#ctx.updateConfig(update);
    return createResponse(req, ResponseCode.SUCCESS, remark);
  }

  /** Schedule progress per delay level, delayOffset.json as is (GET_ALL_DELAY_OFFSET, slaves sync it). */
  allDelayOffsets(req: RemotingCommand): RemotingCommand {
    const table = this.#ctx.delayOffsetTable?.() ?? `{"offsetTable":{},"dataVersion":${JSON.stringify(this.#ctx.topics.dataVersion)}}`;
    return createResponse(req, ResponseCode.SUCCESS, undefined, {}, Buffer.from(table, 'utf8'));
  }

  /** Timer-message progress in Java's TimerCheckpoint layout (GET_TIMER_CHECK_POINT, slaves sync it). */
  timerCheckpoint(req: RemotingCommand): RemotingCommand {
    const body = this.#ctx.timerCheckpoint?.();
    if (!body) throw new RequestError(ResponseCode.SYSTEM_ERROR, 'this broker has no timer message service');
    return createResponse(req, ResponseCode.SUCCESS, undefined, {}, body);
  }

  /** Pop/pull request modes per group (5.x slaves sync them); all groups use pull mode. */
  allMessageRequestModes(req: RemotingCommand): RemotingCommand {
    return createResponse(req, ResponseCode.SUCCESS, undefined, {}, jsonBody({ messageRequestModeMap: {} }));
  }

  maxOffset(req: RemotingCommand): RemotingCommand {
    const offset = this.#ctx.store.getMaxOffsetInQueue(header(req, 'topic'), intHeader(req, 'queueId'));
    return createResponse(req, ResponseCode.SUCCESS, undefined, { offset: String(offset) });
  }

  minOffset(req: RemotingCommand): RemotingCommand {
    const offset = this.#ctx.store.getMinOffsetInQueue(header(req, 'topic'), intHeader(req, 'queueId'));
    return createResponse(req, ResponseCode.SUCCESS, undefined, { offset: String(offset) });
  }

  /** SEARCH_OFFSET_BY_TIMESTAMP; 5.x clients may add boundaryType (lower/upper, BoundaryType.getType). */
  searchOffset(req: RemotingCommand): RemotingCommand {
    const boundary = optionalHeader(req, 'boundaryType')?.toLowerCase() === 'upper' ? 'UPPER' : 'LOWER';
    const offset = this.#ctx.store.getOffsetInQueueByTime(header(req, 'topic'), intHeader(req, 'queueId'), intHeader(req, 'timestamp'), boundary);
    return createResponse(req, ResponseCode.SUCCESS, undefined, { offset: String(offset) });
  }

  earliestMsgStoreTime(req: RemotingCommand): RemotingCommand {
    const ts = this.#ctx.store.getEarliestMessageTime(header(req, 'topic'), intHeader(req, 'queueId'));
    return createResponse(req, ResponseCode.SUCCESS, undefined, { timestamp: String(ts) });
  }

  viewMessageById(req: RemotingCommand): RemotingCommand {
    const offset = intHeader(req, 'offset');
    const record = this.#ctx.store.lookMessageByOffset(offset);
    if (!record) return createResponse(req, ResponseCode.SYSTEM_ERROR, `can not find message by the offset, ${offset}`);
    const response = createResponse(req, ResponseCode.SUCCESS);
    response.body = record;
    return response;
  }

  createSubscriptionGroup(req: RemotingCommand): RemotingCommand {
    const body = parseJsonBody(req.body) as Partial<SubscriptionGroupConfig>;
    const name = typeof body.groupName === 'string' ? body.groupName : '';
    if (!name) throw new RequestError(ResponseCode.INVALID_PARAMETER, 'groupName is missing');
    if (name.length > 120) throw new RequestError(ResponseCode.INVALID_PARAMETER, 'the group name is longer than 120 characters');
    this.#ctx.groups.update({ ...newSubscriptionGroupConfig(name), ...body, groupName: name });
    return createResponse(req, ResponseCode.SUCCESS);
  }

  allSubscriptionGroups(req: RemotingCommand): RemotingCommand {
    return createResponse(req, ResponseCode.SUCCESS, undefined, {}, jsonBody(this.#ctx.groups.wrapper()));
  }

  deleteSubscriptionGroup(req: RemotingCommand): RemotingCommand {
    const group = header(req, 'groupName');
    this.#ctx.groups.delete(group);
    if (optionalHeader(req, 'cleanOffset') === 'true') this.#ctx.offsets.removeGroup(group);
    return createResponse(req, ResponseCode.SUCCESS);
  }

  allConsumerOffsets(req: RemotingCommand): RemotingCommand {
    return createResponse(req, ResponseCode.SUCCESS, undefined, {}, Buffer.from(this.#ctx.offsets.encode(), 'utf8'));
  }

  /** TopicStatsTable, keyed by MessageQueue objects in fastjson's form (see protocol notes §2.5). */
  topicStats(req: RemotingCommand): RemotingCommand {
    const ctx = this.#ctx;
    const topic = header(req, 'topic');
    const tc = ctx.topics.get(topic);
    if (!tc) throw new RequestError(ResponseCode.TOPIC_NOT_EXIST, `topic[${topic}] not exist`);
    const entries: string[] = [];
    for (let q = 0; q < tc.writeQueueNums; q++) {
      const max = ctx.store.getMaxOffsetInQueue(topic, q);
      const last = max > 0 ? ctx.store.getMessageStoreTimestamp(topic, q, max - 1) : 0;
      const mq = JSON.stringify({ brokerName: ctx.config.brokerName, queueId: q, topic });
      entries.push(`${mq}:${JSON.stringify({ lastUpdateTimestamp: Math.max(0, last), maxOffset: max, minOffset: ctx.store.getMinOffsetInQueue(topic, q) })}`);
    }
    return createResponse(req, ResponseCode.SUCCESS, undefined, {}, Buffer.from(`{"offsetTable":{${entries.join(',')}}}`, 'utf8'));
  }

  consumerConnections(req: RemotingCommand): RemotingCommand {
    const group = header(req, 'consumerGroup');
    const info = this.#ctx.clients.consumers.get(group);
    if (!info) return createResponse(req, ResponseCode.CONSUMER_NOT_ONLINE, `the consumer group[${group}] not online`);
    return createResponse(req, ResponseCode.SUCCESS, undefined, {}, jsonBody({
      connectionSet: [...info.channels.values()].map((c) => ({ clientId: c.clientId, clientAddr: c.conn.remoteAddress, language: c.language, version: c.version })),
      subscriptionTable: Object.fromEntries(info.subscriptions),
      consumeType: info.consumeType,
      messageModel: info.messageModel,
      consumeFromWhere: info.consumeFromWhere,
    }));
  }

  /**
   * GET_CONSUME_STATS (mqadmin consumerProgress): broker and consumer offset per queue of the
   * group's topics, keyed by MessageQueue in fastjson's object-key form (like topicStats).
   * Topics: `topicList` (";"-separated) if given, else `topic`, else those the group has offsets
   * for; without topicList, topics the online group does not subscribe to are left out (as Java).
   */
  consumeStats(req: RemotingCommand): RemotingCommand {
    const ctx = this.#ctx;
    const group = header(req, 'consumerGroup');
    const listed = (optionalHeader(req, 'topicList') ?? '').split(';').filter((t) => t !== '');
    let topics: string[];
    if (listed.length > 0) topics = listed;
    else {
      const one = optionalHeader(req, 'topic');
      topics = one ? [one] : ctx.offsets.topicsOf(group);
      const subs = ctx.clients.consumers.get(group)?.subscriptions;
      if (subs && subs.size > 0) topics = topics.filter((t) => subs.has(t));
    }
    const entries: string[] = [];
    for (const topic of [...new Set(topics)].sort()) {
      const tc = ctx.topics.get(topic);
      if (!tc) continue;
      for (let q = 0; q < tc.readQueueNums; q++) {
        const brokerOffset = Math.max(0, ctx.store.getMaxOffsetInQueue(topic, q));
        const consumerOffset = Math.max(0, ctx.offsets.query(group, topic, q));
        const lastTimestamp = consumerOffset > 0 ? Math.max(0, ctx.store.getMessageStoreTimestamp(topic, q, consumerOffset - 1)) : 0;
        const mq = JSON.stringify({ brokerName: ctx.config.brokerName, queueId: q, topic });
        entries.push(`${mq}:${JSON.stringify({ brokerOffset, consumerOffset, lastTimestamp, pullOffset: consumerOffset })}`);
      }
    }
    return createResponse(req, ResponseCode.SUCCESS, undefined, {}, Buffer.from(`{"consumeTps":0.0,"offsetTable":{${entries.join(',')}}}`, 'utf8'));
  }

  /** QUERY_TOPIC_CONSUME_BY_WHO: groups with offsets for the topic or online and subscribed to it. */
  topicConsumeByWho(req: RemotingCommand): RemotingCommand {
    const ctx = this.#ctx;
    const topic = header(req, 'topic');
    const groups = new Set(ctx.offsets.groupsOf(topic));
    for (const [group, info] of ctx.clients.consumers) if (info.subscriptions.has(topic)) groups.add(group);
    return createResponse(req, ResponseCode.SUCCESS, undefined, {}, jsonBody({ groupList: [...groups].sort() }));
  }

  producerConnections(req: RemotingCommand): RemotingCommand {
    const group = header(req, 'producerGroup');
    const channels = this.#ctx.clients.producers.get(group);
    if (!channels) return createResponse(req, ResponseCode.SYSTEM_ERROR, `the producer group[${group}] not exist`);
    return createResponse(req, ResponseCode.SUCCESS, undefined, {}, jsonBody({
      connectionSet: [...channels.values()].map((c) => ({ clientId: c.clientId, clientAddr: c.conn.remoteAddress, language: c.language, version: c.version })),
    }));
  }
}
