// Typed views of the admin response bodies (Java: ClusterInfo, TopicRouteData, ConsumeStats,
// ConsumerConnection, ...) and their decoders. Pure: bytes in, objects out.
import { inflateSync } from 'node:zlib';
import { ProtocolError } from '../common/errors.js';
import { toTopicConfig, type TopicConfig } from '../common/topic-config.js';
import { createOffsetMsgId, decodeMessageRecords, decodeProperties, hostToString, Prop, SysFlag } from '../protocol/message.js';
import type { BrokerData, QueueData, TopicRouteData } from '../namesrv/route-info-manager.js';
import { parseFastJsonBody } from './fastjson.js';

export type { BrokerData, QueueData, TopicRouteData, TopicConfig };

/** The master's brokerId (MixAll.MASTER_ID). */
export const MASTER_ID = 0;

export interface ClusterInfo {
  /** brokerName → its addresses by brokerId */
  brokers: Map<string, BrokerData>;
  /** clusterName → brokerNames */
  clusters: Map<string, string[]>;
}

export interface MessageQueue {
  topic: string;
  brokerName: string;
  queueId: number;
}

export interface TopicQueueStats {
  mq: MessageQueue;
  minOffset: number;
  maxOffset: number;
  /** Store time of the last message, 0 when the queue is empty. */
  lastUpdateTimestamp: number;
}

export interface QueueConsumeOffset {
  mq: MessageQueue;
  brokerOffset: number;
  consumerOffset: number;
  /** 5.x: the pull offset; equals consumerOffset on brokers that do not report it. */
  pullOffset: number;
  /** Store time of the message at consumerOffset - 1 (0 when unknown). */
  lastTimestamp: number;
}

export interface ConsumeStats {
  offsets: QueueConsumeOffset[];
  consumeTps: number;
}

export interface ClientConnection {
  clientId: string;
  clientAddr: string;
  language: string;
  version: number;
}

export interface SubscriptionData {
  topic: string;
  subString: string;
  expressionType: string;
  tagsSet: string[];
  codeSet: number[];
  subVersion: number;
  classFilterMode: boolean;
}

export interface ConsumerConnection {
  connections: ClientConnection[];
  subscriptions: SubscriptionData[];
  consumeType: string;
  messageModel: string;
  consumeFromWhere: string;
}

export interface ProducerConnection {
  connections: ClientConnection[];
}

export interface QueueOffset {
  mq: MessageQueue;
  offset: number;
}

/** A stored message as QUERY_MESSAGE / VIEW_MESSAGE_BY_ID return it (MessageExt). */
export interface MessageView {
  /** UNIQ_KEY when the producer set one, else the offset message id. */
  msgId: string;
  offsetMsgId: string;
  topic: string;
  queueId: number;
  queueOffset: number;
  commitLogOffset: number;
  flag: number;
  sysFlag: number;
  bornTimestamp: number;
  bornHost: string;
  storeTimestamp: number;
  storeHost: string;
  reconsumeTimes: number;
  preparedTransactionOffset: number;
  bodyCrc: number;
  /** Decompressed when the producer compressed it. */
  body: Buffer;
  tags: string | undefined;
  keys: string | undefined;
  properties: Record<string, string>;
}

// ---------------------------------------------------------------------------------------------
// helpers

type Obj = Record<string, unknown>;

function asObj(v: unknown, what: string): Obj {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ProtocolError('RMQ_PROTOCOL_BAD_MESSAGE', `${what} is not a JSON object`);
  return v as Obj;
}

function optObj(v: unknown): Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {};
}

function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function num(v: unknown, fallback = 0): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) return Number(v);
  return fallback;
}

function str(v: unknown, fallback = ''): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return v == null ? fallback : JSON.stringify(v);
}

/** A MessageQueue map key: JSON text of {brokerName, queueId, topic}. */
function messageQueueKey(key: string): MessageQueue {
  let parsed: unknown;
  try {
    parsed = JSON.parse(key);
  } catch (err) {
    throw new ProtocolError('RMQ_PROTOCOL_BAD_MESSAGE', `offset table key is not a MessageQueue: ${key.slice(0, 80)}`, { cause: err });
  }
  const o = asObj(parsed, 'offset table key');
  return { topic: str(o.topic), brokerName: str(o.brokerName), queueId: num(o.queueId) };
}

export function compareMessageQueues(a: MessageQueue, b: MessageQueue): number {
  return a.topic.localeCompare(b.topic) || a.brokerName.localeCompare(b.brokerName) || a.queueId - b.queueId;
}

function decodeBrokerData(v: unknown): BrokerData {
  const o = asObj(v, 'BrokerData');
  const brokerAddrs = new Map<number, string>();
  for (const [id, addr] of Object.entries(optObj(o.brokerAddrs))) brokerAddrs.set(Number(id), str(addr));
  const bd: BrokerData = { cluster: str(o.cluster), brokerName: str(o.brokerName), brokerAddrs, enableActingMaster: o.enableActingMaster === true };
  if (typeof o.zoneName === 'string') bd.zoneName = o.zoneName;
  return bd;
}

// ---------------------------------------------------------------------------------------------
// decoders

export function decodeClusterInfo(body: Buffer | undefined): ClusterInfo {
  const o = asObj(parseFastJsonBody(body), 'ClusterInfo');
  const brokers = new Map<string, BrokerData>();
  for (const [name, bd] of Object.entries(optObj(o.brokerAddrTable))) brokers.set(name, decodeBrokerData(bd));
  const clusters = new Map<string, string[]>();
  for (const [name, names] of Object.entries(optObj(o.clusterAddrTable))) clusters.set(name, arr(names).map((n) => str(n)).sort());
  return { brokers, clusters };
}

export function decodeTopicRoute(body: Buffer | undefined): TopicRouteData {
  const o = asObj(parseFastJsonBody(body), 'TopicRouteData');
  const queueDatas: QueueData[] = arr(o.queueDatas).map((q) => {
    const qo = asObj(q, 'QueueData');
    return { brokerName: str(qo.brokerName), readQueueNums: num(qo.readQueueNums), writeQueueNums: num(qo.writeQueueNums), perm: num(qo.perm), topicSysFlag: num(qo.topicSysFlag) };
  });
  const route: TopicRouteData = { brokerDatas: arr(o.brokerDatas).map(decodeBrokerData), queueDatas };
  if (typeof o.orderTopicConf === 'string') route.orderTopicConf = o.orderTopicConf;
  return route;
}

export function decodeTopicList(body: Buffer | undefined): string[] {
  const o = asObj(parseFastJsonBody(body), 'TopicList');
  return arr(o.topicList).map((t) => str(t));
}

export function decodeGroupList(body: Buffer | undefined): string[] {
  const o = asObj(parseFastJsonBody(body), 'GroupList');
  return arr(o.groupList).map((g) => str(g));
}

/** TopicConfigAndQueueMapping (GET_TOPIC_CONFIG): a TopicConfig plus an optional mappingDetail. */
export function decodeTopicConfig(name: string, body: Buffer | undefined): TopicConfig {
  return toTopicConfig(name, asObj(parseFastJsonBody(body), 'TopicConfig'));
}

export function decodeTopicConfigTable(body: Buffer | undefined): Map<string, TopicConfig> {
  const o = asObj(parseFastJsonBody(body), 'TopicConfigSerializeWrapper');
  const out = new Map<string, TopicConfig>();
  for (const [name, tc] of Object.entries(optObj(o.topicConfigTable))) out.set(name, toTopicConfig(name, tc));
  return out;
}

export function decodeKvTable(body: Buffer | undefined): Record<string, string> {
  const o = asObj(parseFastJsonBody(body), 'KVTable');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(optObj(o.table))) out[k] = str(v);
  return out;
}

export interface TopicStatsTable {
  queues: TopicQueueStats[];
  /** 5.x brokers: the topic's put rate (0 when not reported). */
  topicPutTps: number;
}

export function decodeTopicStatsTable(body: Buffer | undefined): TopicStatsTable {
  const o = asObj(parseFastJsonBody(body), 'TopicStatsTable');
  return { queues: decodeTopicStatsQueues(o), topicPutTps: num(o.topicPutTps) };
}

export function decodeTopicStats(body: Buffer | undefined): TopicQueueStats[] {
  return decodeTopicStatsQueues(asObj(parseFastJsonBody(body), 'TopicStatsTable'));
}

function decodeTopicStatsQueues(o: Obj): TopicQueueStats[] {
  const out: TopicQueueStats[] = [];
  for (const [k, v] of Object.entries(optObj(o.offsetTable))) {
    const so = asObj(v, 'TopicOffset');
    out.push({ mq: messageQueueKey(k), minOffset: num(so.minOffset), maxOffset: num(so.maxOffset), lastUpdateTimestamp: num(so.lastUpdateTimestamp) });
  }
  return out.sort((a, b) => compareMessageQueues(a.mq, b.mq));
}

export function decodeConsumeStats(body: Buffer | undefined): ConsumeStats {
  const o = asObj(parseFastJsonBody(body), 'ConsumeStats');
  const offsets: QueueConsumeOffset[] = [];
  for (const [k, v] of Object.entries(optObj(o.offsetTable))) {
    const w = asObj(v, 'OffsetWrapper');
    const consumerOffset = num(w.consumerOffset);
    offsets.push({ mq: messageQueueKey(k), brokerOffset: num(w.brokerOffset), consumerOffset, pullOffset: num(w.pullOffset, consumerOffset), lastTimestamp: num(w.lastTimestamp) });
  }
  return { offsets: offsets.sort((a, b) => compareMessageQueues(a.mq, b.mq)), consumeTps: num(o.consumeTps) };
}

function decodeConnections(v: unknown): ClientConnection[] {
  return arr(v).map((c) => {
    const o = asObj(c, 'Connection');
    return { clientId: str(o.clientId), clientAddr: str(o.clientAddr), language: str(o.language), version: num(o.version) };
  }).sort((a, b) => a.clientId.localeCompare(b.clientId));
}

export function decodeConsumerConnection(body: Buffer | undefined): ConsumerConnection {
  const o = asObj(parseFastJsonBody(body), 'ConsumerConnection');
  const subscriptions: SubscriptionData[] = Object.entries(optObj(o.subscriptionTable)).map(([topic, s]) => {
    const so = optObj(s);
    return {
      topic: str(so.topic, topic),
      subString: str(so.subString, '*'),
      expressionType: str(so.expressionType, 'TAG'),
      tagsSet: arr(so.tagsSet).map((t) => str(t)),
      codeSet: arr(so.codeSet).map((c) => num(c)),
      subVersion: num(so.subVersion),
      classFilterMode: so.classFilterMode === true,
    };
  });
  return {
    connections: decodeConnections(o.connectionSet),
    subscriptions: subscriptions.sort((a, b) => a.topic.localeCompare(b.topic)),
    consumeType: str(o.consumeType),
    messageModel: str(o.messageModel),
    consumeFromWhere: str(o.consumeFromWhere),
  };
}

export function decodeProducerConnection(body: Buffer | undefined): ProducerConnection {
  const o = asObj(parseFastJsonBody(body), 'ProducerConnection');
  return { connections: decodeConnections(o.connectionSet) };
}

/** ResetOffsetBody: {"offsetTable":{MessageQueue: offset}}. */
export function decodeResetOffsetBody(body: Buffer | undefined): QueueOffset[] {
  const o = asObj(parseFastJsonBody(body), 'ResetOffsetBody');
  return Object.entries(optObj(o.offsetTable))
    .map(([k, v]) => ({ mq: messageQueueKey(k), offset: num(v) }))
    .sort((a, b) => compareMessageQueues(a.mq, b.mq));
}

/** Concatenated stored records (QUERY_MESSAGE / VIEW_MESSAGE_BY_ID bodies) as messages. */
export function decodeMessages(body: Buffer | undefined): MessageView[] {
  if (!body || body.length === 0) return [];
  return decodeMessageRecords(body).map((r) => {
    const properties = Object.fromEntries(decodeProperties(r.properties));
    const offsetMsgId = createOffsetMsgId(r.storeHost, r.physicalOffset);
    return {
      msgId: properties[Prop.UNIQ_KEY] ?? offsetMsgId,
      offsetMsgId,
      topic: r.topic,
      queueId: r.queueId,
      queueOffset: r.queueOffset,
      commitLogOffset: r.physicalOffset,
      flag: r.flag,
      sysFlag: r.sysFlag,
      bornTimestamp: r.bornTimestamp,
      bornHost: hostToString(r.bornHost),
      storeTimestamp: r.storeTimestamp,
      storeHost: hostToString(r.storeHost),
      reconsumeTimes: r.reconsumeTimes,
      preparedTransactionOffset: r.preparedTransactionOffset,
      bodyCrc: r.bodyCrc,
      body: (r.sysFlag & SysFlag.COMPRESSED) !== 0 ? inflateSafe(r.body) : Buffer.from(r.body),
      tags: properties[Prop.TAGS],
      keys: properties[Prop.KEYS],
      properties,
    };
  });
}

function inflateSafe(b: Buffer): Buffer {
  try {
    return inflateSync(b);
  } catch {
    return Buffer.from(b); // not zlib after all: show the bytes as stored
  }
}
