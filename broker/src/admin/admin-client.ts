// An admin client for our (or Apache's) NameServer and Broker: the requests mqadmin sends, as typed
// methods. All I/O goes through one RemotingClient; bodies are decoded in admin-types.ts.
//
// Errors: a non-SUCCESS answer throws AdminError (responseCode = the RocketMQ ResponseCode, remark
// as sent). No answer in time throws RmqError code RMQ_TIMEOUT; an unreachable peer RmqError code
// RMQ_CONNECTION_CLOSED. Reads from the NameServer try each configured address in turn; writes
// to the NameServer go to every address.
import type { Logger } from 'pino';
import { RemoteError, RmqError } from '../common/errors.js';
import { silentLogger } from '../common/logger.js';
import { formatProperties, parseProperties } from '../config/properties.js';
import { newSubscriptionGroupConfig, type SubscriptionGroupConfig } from '../broker/metadata.js';
import { Perm, RequestCode, ResponseCode } from '../protocol/codes.js';
import { decodeOffsetMsgId } from '../protocol/message.js';
import { createRequest, type RemotingCommand } from '../protocol/remoting.js';
import { RemotingClient } from '../transport/client.js';
import {
  decodeClusterInfo, decodeConsumerConnection, decodeGroupList, decodeTopicConfig, decodeConsumeStats, decodeKvTable, decodeMessages, decodeProducerConnection,
  decodeResetOffsetBody, decodeTopicConfigTable, decodeTopicList, decodeTopicRoute, decodeTopicStats, decodeTopicStatsTable, MASTER_ID,
  type BrokerData, type ClusterInfo, type ConsumerConnection, type ConsumeStats, type MessageView, type ProducerConnection,
  type QueueOffset, type TopicConfig, type TopicQueueStats, type TopicRouteData, type TopicStatsTable,
} from './admin-types.js';

export * from './admin-types.js';

/** Request code INVOKE_BROKER_TO_RESET_OFFSET (RequestCode.java); the broker relays it to consumers. */
const INVOKE_BROKER_TO_RESET_OFFSET = 222;
/** Ext field that makes QUERY_MESSAGE look up UNIQ_KEY instead of KEYS (MixAll.UNIQUE_MSG_QUERY_FLAG). */
const UNIQUE_MSG_QUERY_FLAG = '_UNIQUE_KEY_QUERY';
/** The topic a create request names as its template (TopicValidator.AUTO_CREATE_TOPIC_KEY_TOPIC). */
const DEFAULT_TOPIC = 'TBW102';

/** A broker or NameServer answered with a code other than SUCCESS. */
export class AdminError extends RemoteError {
  /** The request code that failed. */
  readonly requestCode: number;
  /** Where it was sent. */
  readonly addr: string;
  /** The peer's remark, verbatim (may be empty). */
  readonly remark: string;

  constructor(requestCode: number, addr: string, responseCode: number, remark: string | undefined) {
    super(responseCode, `request ${requestCode} to ${addr} failed: code ${responseCode}${remark ? `, ${remark}` : ''}`);
    this.requestCode = requestCode;
    this.addr = addr;
    this.remark = remark ?? '';
  }
}

export function isAdminError(err: unknown, responseCode?: number): err is AdminError {
  return err instanceof AdminError && (responseCode === undefined || err.responseCode === responseCode);
}

export interface AdminClientOptions {
  /** NameServer address(es): "host:port", "a:1;b:2" or an array. May be empty for broker-only use. */
  namesrvAddr?: string | readonly string[];
  /** Per-request timeout (default 5000 ms). */
  timeoutMs?: number;
  /** Connect timeout (default 3000 ms). */
  connectTimeoutMs?: number;
  log?: Logger;
}

export interface TopicConfigInput {
  topicName: string;
  readQueueNums?: number;
  writeQueueNums?: number;
  /** PermName bits, default READ|WRITE (6). */
  perm?: number;
  topicFilterType?: 'SINGLE_TAG' | 'MULTI_TAG';
  topicSysFlag?: number;
  order?: boolean;
  /** Topic attributes, e.g. {"message.type": "FIFO"} (a leading "+"/"-" is kept as given). */
  attributes?: Record<string, string>;
}

export type SubscriptionGroupInput = Partial<SubscriptionGroupConfig> & { groupName: string };

export interface QueryMessageOptions {
  /** At most this many messages per broker (default 32, as mqadmin). */
  maxNum?: number;
  beginTimestamp?: number;
  endTimestamp?: number;
  /** Look the key up as UNIQ_KEY (message id) rather than as a KEYS entry. */
  uniqueKey?: boolean;
}

/** The outcome of one NameServer write (every configured NameServer gets it). */
export type PerNameServer<T> = { namesrvAddr: string; ok: true; value: T } | { namesrvAddr: string; ok: false; error: Error };

export class AdminClient {
  readonly #client: RemotingClient;
  readonly #namesrvs: string[];
  readonly #timeoutMs: number;
  #nextNamesrv = 0;

  constructor(options: AdminClientOptions = {}) {
    const ns = options.namesrvAddr ?? [];
    this.#namesrvs = (typeof ns === 'string' ? ns.split(';') : [...ns]).map((a) => a.trim()).filter((a) => a !== '');
    this.#timeoutMs = options.timeoutMs ?? 5000;
    this.#client = new RemotingClient(options.log ?? silentLogger(), { connectTimeoutMs: options.connectTimeoutMs ?? 3000 });
  }

  get namesrvAddrs(): readonly string[] {
    return this.#namesrvs;
  }

  async close(): Promise<void> {
    await this.#client.close();
  }

  // -------------------------------------------------------------------------------------------
  // transport

  /** Sends one request and returns the SUCCESS response; any other code throws AdminError. */
  async invoke(addr: string, request: RemotingCommand, okCodes: readonly number[] = [ResponseCode.SUCCESS]): Promise<RemotingCommand> {
    const response = await this.#client.invoke(addr, request, this.#timeoutMs);
    if (!okCodes.includes(response.code)) throw new AdminError(request.code, addr, response.code, response.remark);
    return response;
  }

  /** A NameServer read: the first NameServer that answers at all decides. */
  async #namesrvRead(request: () => RemotingCommand, okCodes?: readonly number[]): Promise<RemotingCommand> {
    if (this.#namesrvs.length === 0) throw new RmqError('RMQ_BAD_REQUEST', 'no NameServer address configured');
    let lastError: unknown;
    const start = this.#nextNamesrv;
    for (let i = 0; i < this.#namesrvs.length; i++) {
      const at = (start + i) % this.#namesrvs.length;
      try {
        return await this.invoke(this.#namesrvs[at]!, request(), okCodes);
      } catch (err) {
        if (err instanceof AdminError) throw err;
        lastError = err;
        // stick to the next one from now on
        this.#nextNamesrv = (at + 1) % this.#namesrvs.length;
      }
    }
    throw lastError instanceof Error ? lastError : new RmqError('RMQ_CONNECTION_CLOSED', 'no NameServer answered');
  }

  /** A NameServer write: sent to every NameServer, each outcome reported. */
  async #namesrvWriteAll<T>(request: () => RemotingCommand, value: (r: RemotingCommand) => T): Promise<Array<PerNameServer<T>>> {
    if (this.#namesrvs.length === 0) throw new RmqError('RMQ_BAD_REQUEST', 'no NameServer address configured');
    return Promise.all(this.#namesrvs.map(async (namesrvAddr): Promise<PerNameServer<T>> => {
      try {
        return { namesrvAddr, ok: true, value: value(await this.invoke(namesrvAddr, request())) };
      } catch (err) {
        return { namesrvAddr, ok: false, error: err instanceof Error ? err : new Error(String(err)) };
      }
    }));
  }

  // -------------------------------------------------------------------------------------------
  // NameServer

  async getBrokerClusterInfo(): Promise<ClusterInfo> {
    return decodeClusterInfo((await this.#namesrvRead(() => createRequest(RequestCode.GET_BROKER_CLUSTER_INFO))).body);
  }

  /** Throws AdminError with responseCode TOPIC_NOT_EXIST (17) for an unknown topic. */
  async getTopicRoute(topic: string): Promise<TopicRouteData> {
    return decodeTopicRoute((await this.#namesrvRead(() => createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic }))).body);
  }

  async getAllTopicList(): Promise<string[]> {
    return decodeTopicList((await this.#namesrvRead(() => createRequest(RequestCode.GET_ALL_TOPIC_LIST_FROM_NAMESERVER))).body);
  }

  async getTopicsByCluster(cluster: string): Promise<string[]> {
    return decodeTopicList((await this.#namesrvRead(() => createRequest(RequestCode.GET_TOPICS_BY_CLUSTER, { cluster }))).body);
  }

  /** Removes the topic's route from every NameServer (optionally only the brokers of one cluster). */
  async deleteTopicInNameServer(topic: string, clusterName?: string): Promise<Array<PerNameServer<void>>> {
    const fields: Record<string, string> = { topic };
    if (clusterName !== undefined) fields.clusterName = clusterName;
    return this.#namesrvWriteAll(() => createRequest(RequestCode.DELETE_TOPIC_IN_NAMESRV, fields), () => undefined);
  }

  /** Clears the WRITE bit of all the broker's topics in every NameServer (205); value = topics changed. */
  async wipeWritePermOfBroker(brokerName: string): Promise<Array<PerNameServer<number>>> {
    return this.#namesrvWriteAll(() => createRequest(RequestCode.WIPE_WRITE_PERM_OF_BROKER, { brokerName }), (r) => Number(r.extFields.wipeTopicCount ?? 0));
  }

  /** Restores the WRITE bit in every NameServer (327); value = topics changed. */
  async addWritePermOfBroker(brokerName: string): Promise<Array<PerNameServer<number>>> {
    return this.#namesrvWriteAll(() => createRequest(RequestCode.ADD_WRITE_PERM_OF_BROKER, { brokerName }), (r) => Number(r.extFields.addTopicCount ?? 0));
  }

  async putKvConfig(namespace: string, key: string, value: string): Promise<Array<PerNameServer<void>>> {
    return this.#namesrvWriteAll(() => createRequest(RequestCode.PUT_KV_CONFIG, { namespace, key, value }), () => undefined);
  }

  /** undefined when the NameServer has no such item (QUERY_NOT_FOUND). */
  async getKvConfig(namespace: string, key: string): Promise<string | undefined> {
    const r = await this.#namesrvRead(() => createRequest(RequestCode.GET_KV_CONFIG, { namespace, key }), [ResponseCode.SUCCESS, ResponseCode.QUERY_NOT_FOUND]);
    return r.code === ResponseCode.SUCCESS ? r.extFields.value : undefined;
  }

  async deleteKvConfig(namespace: string, key: string): Promise<Array<PerNameServer<void>>> {
    return this.#namesrvWriteAll(() => createRequest(RequestCode.DELETE_KV_CONFIG, { namespace, key }), () => undefined);
  }

  // -------------------------------------------------------------------------------------------
  // Cluster helpers (NameServer data, no extra requests)

  /** Master addresses of a cluster's broker groups (groups without a live master are left out). */
  async masterAddrsOfCluster(cluster: string): Promise<Array<{ brokerName: string; addr: string }>> {
    const info = await this.getBrokerClusterInfo();
    const names = info.clusters.get(cluster);
    if (!names) throw new AdminError(RequestCode.GET_BROKER_CLUSTER_INFO, this.#namesrvs.join(';'), ResponseCode.SYSTEM_ERROR, `cluster ${cluster} not found`);
    const out: Array<{ brokerName: string; addr: string }> = [];
    for (const name of names) {
      const addr = info.brokers.get(name)?.brokerAddrs.get(MASTER_ID);
      if (addr) out.push({ brokerName: name, addr });
    }
    return out;
  }

  /** mqadmin updateTopic -c: creates/updates the topic on every master of the cluster; returns their addresses. */
  async createOrUpdateTopicInCluster(clusterName: string, tc: TopicConfigInput): Promise<string[]> {
    const masters = await this.masterAddrsOfCluster(clusterName);
    for (const m of masters) await this.createOrUpdateTopic(m.addr, tc);
    return masters.map((m) => m.addr);
  }

  /**
   * mqadmin deleteTopic -c: deletes the topic on every master of the cluster, then its route on
   * every NameServer. Throws on the first broker that refuses, or if a NameServer did.
   */
  async deleteTopicInCluster(clusterName: string, topic: string): Promise<void> {
    for (const m of await this.masterAddrsOfCluster(clusterName)) await this.deleteTopicInBroker(m.addr, topic);
    for (const r of await this.deleteTopicInNameServer(topic, clusterName)) if (!r.ok) throw r.error;
  }

  // -------------------------------------------------------------------------------------------
  // Broker: topics

  async createOrUpdateTopic(brokerAddr: string, tc: TopicConfigInput): Promise<void> {
    const fields: Record<string, string> = {
      topic: tc.topicName,
      defaultTopic: DEFAULT_TOPIC,
      readQueueNums: String(tc.readQueueNums ?? 8),
      writeQueueNums: String(tc.writeQueueNums ?? 8),
      perm: String(tc.perm ?? (Perm.READ | Perm.WRITE)),
      topicFilterType: tc.topicFilterType ?? 'SINGLE_TAG',
      topicSysFlag: String(tc.topicSysFlag ?? 0),
      order: String(tc.order ?? false),
    };
    const attrs = Object.entries(tc.attributes ?? {});
    // AttributeParser.parseToString: "+k=v,+k2=v2"; "-k" deletes an attribute.
    if (attrs.length > 0) fields.attributes = attrs.map(([k, v]) => (/^[+-]/.test(k) ? (k.startsWith('-') ? k : `${k}=${v}`) : `+${k}=${v}`)).join(',');
    await this.invoke(brokerAddr, createRequest(RequestCode.UPDATE_AND_CREATE_TOPIC, fields));
  }

  async deleteTopicInBroker(brokerAddr: string, topic: string): Promise<void> {
    await this.invoke(brokerAddr, createRequest(RequestCode.DELETE_TOPIC_IN_BROKER, { topic }));
  }

  async getAllTopicConfig(brokerAddr: string): Promise<Map<string, TopicConfig>> {
    return decodeTopicConfigTable((await this.invoke(brokerAddr, createRequest(RequestCode.GET_ALL_TOPIC_CONFIG))).body);
  }

  /** One topic's config on one broker (GET_TOPIC_CONFIG, 5.x); throws AdminError TOPIC_NOT_EXIST (17). */
  async getTopicConfig(brokerAddr: string, topic: string): Promise<TopicConfig> {
    const r = await this.invoke(brokerAddr, createRequest(RequestCode.GET_TOPIC_CONFIG, { topic }));
    return decodeTopicConfig(topic, r.body);
  }

  /** Min/max offset and last store time per queue; throws AdminError TOPIC_NOT_EXIST (17). */
  async getTopicStats(brokerAddr: string, topic: string): Promise<TopicQueueStats[]> {
    return decodeTopicStats((await this.invoke(brokerAddr, createRequest(RequestCode.GET_TOPIC_STATS_INFO, { topic }))).body);
  }

  /** getTopicStats plus the topic's put TPS as the broker reports it. */
  async getTopicStatsTable(brokerAddr: string, topic: string): Promise<TopicStatsTable> {
    return decodeTopicStatsTable((await this.invoke(brokerAddr, createRequest(RequestCode.GET_TOPIC_STATS_INFO, { topic }))).body);
  }

  async getMaxOffset(brokerAddr: string, topic: string, queueId: number): Promise<number> {
    return Number((await this.invoke(brokerAddr, createRequest(RequestCode.GET_MAX_OFFSET, { topic, queueId: String(queueId) }))).extFields.offset ?? 0);
  }

  async getMinOffset(brokerAddr: string, topic: string, queueId: number): Promise<number> {
    return Number((await this.invoke(brokerAddr, createRequest(RequestCode.GET_MIN_OFFSET, { topic, queueId: String(queueId) }))).extFields.offset ?? 0);
  }

  /** The consume-queue offset of the first message stored at or after `timestamp` (ms). */
  async searchOffset(brokerAddr: string, topic: string, queueId: number, timestamp: number): Promise<number> {
    const r = await this.invoke(brokerAddr, createRequest(RequestCode.SEARCH_OFFSET_BY_TIMESTAMP, { topic, queueId: String(queueId), timestamp: String(timestamp) }));
    return Number(r.extFields.offset ?? 0);
  }

  // -------------------------------------------------------------------------------------------
  // Broker: runtime and config

  /** The GET_BROKER_RUNTIME_INFO key/value table (brokerRole, brokerId, commitLogMaxOffset, ...). */
  async getBrokerRuntimeInfo(brokerAddr: string): Promise<Record<string, string>> {
    return decodeKvTable((await this.invoke(brokerAddr, createRequest(RequestCode.GET_BROKER_RUNTIME_INFO))).body);
  }

  async getBrokerConfig(brokerAddr: string): Promise<Record<string, string>> {
    const r = await this.invoke(brokerAddr, createRequest(RequestCode.GET_BROKER_CONFIG));
    return Object.fromEntries(parseProperties((r.body ?? Buffer.alloc(0)).toString('utf8')));
  }

  /** Returns the broker's remark (ours says what changed). Refused keys throw AdminError. */
  async updateBrokerConfig(brokerAddr: string, entries: Readonly<Record<string, string>>): Promise<string> {
    const body = Buffer.from(formatProperties(Object.entries(entries)), 'utf8');
    return (await this.invoke(brokerAddr, createRequest(RequestCode.UPDATE_BROKER_CONFIG, {}, body))).remark ?? '';
  }

  // -------------------------------------------------------------------------------------------
  // Broker: subscription groups, consumers, producers

  async createOrUpdateSubscriptionGroup(brokerAddr: string, config: SubscriptionGroupInput): Promise<void> {
    const body = Buffer.from(JSON.stringify({ ...newSubscriptionGroupConfig(config.groupName), ...config }), 'utf8');
    await this.invoke(brokerAddr, createRequest(RequestCode.UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, {}, body));
  }

  async deleteSubscriptionGroup(brokerAddr: string, groupName: string, cleanOffset = false): Promise<void> {
    await this.invoke(brokerAddr, createRequest(RequestCode.DELETE_SUBSCRIPTIONGROUP, { groupName, cleanOffset: String(cleanOffset) }));
  }

  async getAllSubscriptionGroups(brokerAddr: string): Promise<Map<string, SubscriptionGroupConfig>> {
    const r = await this.invoke(brokerAddr, createRequest(RequestCode.GET_ALL_SUBSCRIPTIONGROUP_CONFIG));
    const parsed = JSON.parse((r.body ?? Buffer.from('{}')).toString('utf8')) as { subscriptionGroupTable?: Record<string, SubscriptionGroupConfig> };
    return new Map(Object.entries(parsed.subscriptionGroupTable ?? {}));
  }

  /** Broker and consumer offsets per queue of the group (all its topics, or one). */
  async getConsumeStats(brokerAddr: string, consumerGroup: string, topic?: string): Promise<ConsumeStats> {
    const fields: Record<string, string> = { consumerGroup };
    if (topic !== undefined) fields.topic = topic;
    return decodeConsumeStats((await this.invoke(brokerAddr, createRequest(RequestCode.GET_CONSUME_STATS, fields))).body);
  }

  /** Consumer groups of a topic on one broker (QUERY_TOPIC_CONSUME_BY_WHO). */
  async queryTopicConsumeByWho(brokerAddr: string, topic: string): Promise<string[]> {
    const r = await this.invoke(brokerAddr, createRequest(RequestCode.QUERY_TOPIC_CONSUME_BY_WHO, { topic }));
    return decodeGroupList(r.body);
  }

  /** Throws AdminError CONSUMER_NOT_ONLINE (206) when no consumer of the group is connected. */
  async getConsumerConnectionList(brokerAddr: string, consumerGroup: string): Promise<ConsumerConnection> {
    return decodeConsumerConnection((await this.invoke(brokerAddr, createRequest(RequestCode.GET_CONSUMER_CONNECTION_LIST, { consumerGroup }))).body);
  }

  async getProducerConnectionList(brokerAddr: string, producerGroup: string): Promise<ProducerConnection> {
    return decodeProducerConnection((await this.invoke(brokerAddr, createRequest(RequestCode.GET_PRODUCER_CONNECTION_LIST, { producerGroup }))).body);
  }

  /** The group's committed offset of one queue (QUERY_NOT_FOUND → undefined). */
  async queryConsumerOffset(brokerAddr: string, consumerGroup: string, topic: string, queueId: number): Promise<number | undefined> {
    const r = await this.invoke(
      brokerAddr,
      createRequest(RequestCode.QUERY_CONSUMER_OFFSET, { consumerGroup, topic, queueId: String(queueId) }),
      [ResponseCode.SUCCESS, ResponseCode.QUERY_NOT_FOUND],
    );
    return r.code === ResponseCode.SUCCESS ? Number(r.extFields.offset ?? 0) : undefined;
  }

  async updateConsumerOffset(brokerAddr: string, consumerGroup: string, topic: string, queueId: number, commitOffset: number): Promise<void> {
    await this.invoke(brokerAddr, createRequest(RequestCode.UPDATE_CONSUMER_OFFSET, { consumerGroup, topic, queueId: String(queueId), commitOffset: String(commitOffset) }));
  }

  /**
   * INVOKE_BROKER_TO_RESET_OFFSET: the broker moves the group's offsets of `topic` to the first
   * message at/after `timestamp` and tells the online consumers. Returns the new offsets. Throws
   * AdminError CONSUMER_NOT_ONLINE (206) when no consumer is connected (see resetOffsetOffline).
   */
  async resetOffsetByTimestamp(brokerAddr: string, topic: string, group: string, timestamp: number, force = true): Promise<QueueOffset[]> {
    const r = await this.invoke(brokerAddr, createRequest(INVOKE_BROKER_TO_RESET_OFFSET, { topic, group, timestamp: String(timestamp), isForce: String(force), queueId: '-1', offset: '-1' }));
    return decodeResetOffsetBody(r.body);
  }

  /**
   * INVOKE_BROKER_TO_RESET_OFFSET for one queue to an exact offset (5.x brokers reset it server
   * side and tell the consumers); returns the offsets the broker reports.
   */
  async resetOffsetOfQueue(brokerAddr: string, topic: string, group: string, queueId: number, offset: number): Promise<QueueOffset[]> {
    const r = await this.invoke(brokerAddr, createRequest(INVOKE_BROKER_TO_RESET_OFFSET, { topic, group, timestamp: '0', isForce: 'true', queueId: String(queueId), offset: String(offset) }));
    return r.body && r.body.length > 0 ? decodeResetOffsetBody(r.body) : [];
  }

  /**
   * What mqadmin does when no consumer is online: per queue of the group's consume stats, search
   * the offset by time and commit it (only backwards unless `force`). Returns the offsets written.
   */
  async resetOffsetOffline(brokerAddr: string, topic: string, group: string, timestamp: number, force = true): Promise<QueueOffset[]> {
    const stats = await this.getConsumeStats(brokerAddr, group, topic);
    const out: QueueOffset[] = [];
    for (const q of stats.offsets) {
      if (q.mq.topic !== topic) continue;
      const target = timestamp === -1 ? q.brokerOffset : await this.searchOffset(brokerAddr, topic, q.mq.queueId, timestamp);
      const offset = force || target < q.consumerOffset ? target : q.consumerOffset;
      await this.updateConsumerOffset(brokerAddr, group, topic, q.mq.queueId, offset);
      out.push({ mq: q.mq, offset });
    }
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // Messages

  /** QUERY_MESSAGE on one broker (by KEYS, or by UNIQ_KEY with uniqueKey); none found → []. */
  async queryMessage(brokerAddr: string, topic: string, key: string, options: QueryMessageOptions = {}): Promise<MessageView[]> {
    const fields: Record<string, string> = {
      topic,
      key,
      maxNum: String(options.maxNum ?? 32),
      beginTimestamp: String(options.beginTimestamp ?? 0),
      endTimestamp: String(options.endTimestamp ?? Number.MAX_SAFE_INTEGER),
      [UNIQUE_MSG_QUERY_FLAG]: String(options.uniqueKey ?? false),
    };
    const r = await this.invoke(brokerAddr, createRequest(RequestCode.QUERY_MESSAGE, fields), [ResponseCode.SUCCESS, ResponseCode.QUERY_NOT_FOUND]);
    if (r.code === ResponseCode.QUERY_NOT_FOUND) return [];
    const found = decodeMessages(r.body);
    // The index is keyed by hash: keep only real matches, as the Java client does.
    return found.filter((m) => m.topic === topic && (options.uniqueKey ? m.msgId === key : (m.keys ?? '').split(' ').includes(key)));
  }

  /** queryMessage on the route's brokers (master, else any replica); results of all merged. */
  async queryMessageInCluster(topic: string, key: string, options: QueryMessageOptions = {}): Promise<MessageView[]> {
    const route = await this.getTopicRoute(topic);
    const addrs = route.brokerDatas.map(pickBrokerAddr).filter((a): a is string => a !== undefined);
    const results = await Promise.all(addrs.map((a) => this.queryMessage(a, topic, key, options)));
    return results.flat().sort((a, b) => a.storeTimestamp - b.storeTimestamp || a.commitLogOffset - b.commitLogOffset);
  }

  /** VIEW_MESSAGE_BY_ID: the message at a commit-log offset of one broker. */
  async viewMessage(brokerAddr: string, commitLogOffset: number, topic?: string): Promise<MessageView> {
    const fields: Record<string, string> = { offset: String(commitLogOffset) };
    if (topic !== undefined) fields.topic = topic;
    const r = await this.invoke(brokerAddr, createRequest(RequestCode.VIEW_MESSAGE_BY_ID, fields));
    const [m] = decodeMessages(r.body);
    if (!m) throw new AdminError(RequestCode.VIEW_MESSAGE_BY_ID, brokerAddr, ResponseCode.SYSTEM_ERROR, 'response carries no message');
    return m;
  }

  /** The message of an offset message id (store host + commit-log offset, 32 hex digits). */
  async viewMessageByOffsetMsgId(offsetMsgId: string, topic?: string): Promise<MessageView> {
    const { storeHost, physicalOffset } = decodeOffsetMsgId(offsetMsgId);
    return this.viewMessage(storeHost, physicalOffset, topic);
  }
}

/** The master's address of a broker group, else its lowest-id replica's. */
export function pickBrokerAddr(bd: BrokerData): string | undefined {
  const master = bd.brokerAddrs.get(MASTER_ID);
  if (master) return master;
  const ids = [...bd.brokerAddrs.keys()].sort((a, b) => a - b);
  return ids.length > 0 ? bd.brokerAddrs.get(ids[0]!) : undefined;
}
