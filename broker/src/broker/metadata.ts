// The broker's persistent tables: topics, subscription groups and consumer offsets, each a JSON
// file under <storePathRootDir>/config in the layout Java RocketMQ uses.
import { join } from 'node:path';
import type { Logger } from 'pino';
import { newDataVersion, nextDataVersion, toDataVersion, type DataVersion } from '../common/data-version.js';
import { readJsonFile, writeJsonFile } from '../common/json-file.js';
import { newTopicConfig, toTopicConfig, type TopicConfig } from '../common/topic-config.js';
import { Perm } from '../protocol/codes.js';

export const TBW102 = 'TBW102';
export const SELF_TEST_TOPIC = 'SELF_TEST_TOPIC';
export const OFFSET_MOVED_EVENT = 'OFFSET_MOVED_EVENT';
export const SCHEDULE_TOPIC = 'SCHEDULE_TOPIC_XXXX';
export const TRANS_HALF_TOPIC = 'RMQ_SYS_TRANS_HALF_TOPIC';
export const TRANS_OP_HALF_TOPIC = 'RMQ_SYS_TRANS_OP_HALF_TOPIC';
export const TRANS_CHECK_MAX_TIME_TOPIC = 'TRANS_CHECK_MAX_TIME_TOPIC';
/** 5.x timer messages wait here (TimerMessageStore.TIMER_TOPIC). */
export const TIMER_QUEUE_TOPIC = 'rmq_sys_wheel_timer';
export const RETRY_GROUP_TOPIC_PREFIX = '%RETRY%';
export const DLQ_GROUP_TOPIC_PREFIX = '%DLQ%';

/** Topics clients may not send to (TopicValidator.NOT_ALLOWED_SEND_TOPIC_SET). */
export const NOT_ALLOWED_SEND_TOPICS = new Set([SCHEDULE_TOPIC, TIMER_QUEUE_TOPIC, TRANS_HALF_TOPIC, TRANS_OP_HALF_TOPIC, TRANS_CHECK_MAX_TIME_TOPIC, SELF_TEST_TOPIC, OFFSET_MOVED_EVENT]);

export interface TopicDefaults {
  clusterName: string;
  brokerName: string;
  autoCreateTopicEnable: boolean;
  defaultTopicQueueNums: number;
  traceTopicEnable: boolean;
  msgTraceTopicName: string;
}

export class TopicConfigManager {
  readonly #table = new Map<string, TopicConfig>();
  readonly #path: string;
  readonly #log: Logger;
  #dataVersion: DataVersion = newDataVersion();

  constructor(configDir: string, log: Logger) {
    this.#path = join(configDir, 'topics.json');
    this.#log = log;
  }

  get dataVersion(): DataVersion {
    return this.#dataVersion;
  }

  /** Loads topics.json and adds the system topics RocketMQ brokers always carry. */
  load(d: TopicDefaults): void {
    const saved = readJsonFile(this.#path) as { dataVersion?: unknown; topicConfigTable?: Record<string, unknown> } | undefined;
    if (saved) {
      for (const [name, tc] of Object.entries(saved.topicConfigTable ?? {})) this.#table.set(name, toTopicConfig(name, tc));
      this.#dataVersion = toDataVersion(saved.dataVersion) ?? newDataVersion();
    }
    const system: TopicConfig[] = [
      newTopicConfig(SELF_TEST_TOPIC, 1),
      newTopicConfig(d.clusterName, 16, Perm.INHERIT | Perm.READ | Perm.WRITE),
      newTopicConfig(d.brokerName, 1, Perm.INHERIT | Perm.READ | Perm.WRITE),
      newTopicConfig(OFFSET_MOVED_EVENT, 1),
      newTopicConfig(SCHEDULE_TOPIC, 18),
      newTopicConfig(TIMER_QUEUE_TOPIC, 1),
      newTopicConfig(TRANS_HALF_TOPIC, 1),
      newTopicConfig(TRANS_OP_HALF_TOPIC, 1),
      newTopicConfig(`${d.clusterName}_REPLY_TOPIC`, 1),
    ];
    if (d.autoCreateTopicEnable) system.push(newTopicConfig(TBW102, d.defaultTopicQueueNums, Perm.INHERIT | Perm.READ | Perm.WRITE));
    if (d.traceTopicEnable) system.push(newTopicConfig(d.msgTraceTopicName, 1));
    let added = false;
    for (const tc of system) {
      if (!this.#table.has(tc.topicName)) {
        this.#table.set(tc.topicName, tc);
        added = true;
      }
    }
    // TBW102 follows autoCreateTopicEnable on every start, as in Java.
    if (!d.autoCreateTopicEnable && this.#table.delete(TBW102)) added = true;
    if (added || !saved) this.#changed();
  }

  get(topic: string): TopicConfig | undefined {
    return this.#table.get(topic);
  }

  all(): Map<string, TopicConfig> {
    return this.#table;
  }

  update(tc: TopicConfig): void {
    this.#table.set(tc.topicName, tc);
    this.#changed();
    this.#log.info({ topic: tc.topicName, readQueueNums: tc.readQueueNums, writeQueueNums: tc.writeQueueNums, perm: tc.perm }, 'topic config updated');
  }

  delete(topic: string): boolean {
    if (!this.#table.delete(topic)) return false;
    this.#changed();
    this.#log.info({ topic }, 'topic deleted');
    return true;
  }

  /**
   * Auto-creates `topic` from `defaultTopic` on first send (TopicConfigManager
   * .createTopicInSendMessageMethod): the default topic must carry the INHERIT bit.
   */
  createFromDefault(topic: string, defaultTopic: string, requestedQueueNums: number, topicSysFlag: number): TopicConfig | undefined {
    const existing = this.#table.get(topic);
    if (existing) return existing;
    const def = this.#table.get(defaultTopic);
    if (!def || (def.perm & Perm.INHERIT) === 0) return undefined;
    const queueNums = Math.max(1, Math.min(requestedQueueNums, def.writeQueueNums));
    const tc: TopicConfig = { ...newTopicConfig(topic, queueNums, def.perm & ~Perm.INHERIT), topicSysFlag };
    this.update(tc);
    return tc;
  }

  /** Creates a retry/DLQ topic of a group (1 queue unless told otherwise). */
  createSystemTopicIfAbsent(topic: string, queueNums: number, perm: number): { config: TopicConfig; created: boolean } {
    const existing = this.#table.get(topic);
    if (existing) return { config: existing, created: false };
    const tc = newTopicConfig(topic, queueNums, perm);
    this.update(tc);
    return { config: tc, created: true };
  }

  /** Slave: takes the master's whole table and data version (SlaveSynchronize). */
  replaceAll(table: Record<string, unknown>, dataVersion: DataVersion): void {
    this.#table.clear();
    for (const [name, tc] of Object.entries(table)) this.#table.set(name, toTopicConfig(name, tc));
    this.#dataVersion = dataVersion;
    writeJsonFile(this.#path, JSON.stringify(this.wrapper(), null, 2));
  }

  /** Makes the NameServers take this broker's queue data again (e.g. permission changed). */
  bumpDataVersion(): void {
    this.#changed();
  }

  /** The TopicConfigSerializeWrapper JSON (topics.json, GET_ALL_TOPIC_CONFIG, registrations). */
  wrapper(): { dataVersion: DataVersion; topicConfigTable: Record<string, TopicConfig> } {
    return { dataVersion: this.#dataVersion, topicConfigTable: Object.fromEntries(this.#table) };
  }

  #changed(): void {
    this.#dataVersion = nextDataVersion(this.#dataVersion);
    writeJsonFile(this.#path, JSON.stringify(this.wrapper(), null, 2));
  }
}

export interface SubscriptionGroupConfig {
  groupName: string;
  consumeEnable: boolean;
  consumeFromMinEnable: boolean;
  consumeBroadcastEnable: boolean;
  consumeMessageOrderly: boolean;
  retryQueueNums: number;
  retryMaxTimes: number;
  brokerId: number;
  whichBrokerWhenConsumeSlowly: number;
  notifyConsumerIdsChangedEnable: boolean;
  groupSysFlag: number;
  consumeTimeoutMinute: number;
  attributes: Record<string, string>;
}

export function newSubscriptionGroupConfig(groupName: string): SubscriptionGroupConfig {
  return {
    groupName,
    consumeEnable: true,
    consumeFromMinEnable: true,
    consumeBroadcastEnable: true,
    consumeMessageOrderly: false,
    retryQueueNums: 1,
    retryMaxTimes: 16,
    brokerId: 0,
    whichBrokerWhenConsumeSlowly: 1,
    notifyConsumerIdsChangedEnable: true,
    groupSysFlag: 0,
    consumeTimeoutMinute: 15,
    attributes: {},
  };
}

function toSubscriptionGroupConfig(name: string, v: unknown): SubscriptionGroupConfig {
  const o = (v && typeof v === 'object' ? v : {}) as Partial<SubscriptionGroupConfig>;
  return { ...newSubscriptionGroupConfig(name), ...o, groupName: typeof o.groupName === 'string' ? o.groupName : name };
}

/** Groups that RocketMQ brokers know without being told (MixAll). */
const SYSTEM_GROUPS = ['TOOLS_CONSUMER', 'FILTERSRV_CONSUMER', 'SELF_TEST_C_GROUP', 'CID_ONS-HTTP-PROXY', 'CID_ONSAPI_PULL', 'CID_ONSAPI_PERMISSION', 'CID_ONSAPI_OWNER', 'CID_RMQ_SYS_TRANS'];

export class SubscriptionGroupManager {
  readonly #table = new Map<string, SubscriptionGroupConfig>();
  readonly #path: string;
  readonly #autoCreate: boolean;
  readonly #log: Logger;
  #dataVersion: DataVersion = newDataVersion();

  constructor(configDir: string, autoCreate: boolean, log: Logger) {
    this.#path = join(configDir, 'subscriptionGroup.json');
    this.#autoCreate = autoCreate;
    this.#log = log;
  }

  load(): void {
    const saved = readJsonFile(this.#path) as { dataVersion?: unknown; subscriptionGroupTable?: Record<string, unknown> } | undefined;
    for (const [name, g] of Object.entries(saved?.subscriptionGroupTable ?? {})) this.#table.set(name, toSubscriptionGroupConfig(name, g));
    this.#dataVersion = toDataVersion(saved?.dataVersion) ?? newDataVersion();
    let added = false;
    for (const g of SYSTEM_GROUPS) {
      if (!this.#table.has(g)) {
        this.#table.set(g, newSubscriptionGroupConfig(g));
        added = true;
      }
    }
    if (added) this.#changed();
  }

  get(group: string): SubscriptionGroupConfig | undefined {
    return this.#table.get(group);
  }

  /** The group's config, created with defaults when auto-creation is on. */
  findOrCreate(group: string): SubscriptionGroupConfig | undefined {
    const existing = this.#table.get(group);
    if (existing || !this.#autoCreate) return existing;
    const created = newSubscriptionGroupConfig(group);
    this.#table.set(group, created);
    this.#changed();
    this.#log.info({ group }, 'subscription group auto-created');
    return created;
  }

  update(cfg: SubscriptionGroupConfig): void {
    this.#table.set(cfg.groupName, cfg);
    this.#changed();
    this.#log.info({ group: cfg.groupName }, 'subscription group updated');
  }

  delete(group: string): boolean {
    if (!this.#table.delete(group)) return false;
    this.#changed();
    return true;
  }

  get dataVersion(): DataVersion {
    return this.#dataVersion;
  }

  /** Slave: takes the master's whole table and data version (SlaveSynchronize). */
  replaceAll(table: Record<string, unknown>, dataVersion: DataVersion): void {
    this.#table.clear();
    for (const [name, g] of Object.entries(table)) this.#table.set(name, toSubscriptionGroupConfig(name, g));
    this.#dataVersion = dataVersion;
    writeJsonFile(this.#path, JSON.stringify(this.wrapper(), null, 2));
  }

  wrapper(): { subscriptionGroupTable: Record<string, SubscriptionGroupConfig>; forbiddenTable: Record<string, never>; dataVersion: DataVersion } {
    return { subscriptionGroupTable: Object.fromEntries(this.#table), forbiddenTable: {}, dataVersion: this.#dataVersion };
  }

  #changed(): void {
    this.#dataVersion = nextDataVersion(this.#dataVersion);
    writeJsonFile(this.#path, JSON.stringify(this.wrapper(), null, 2));
  }
}

/** Committed consumer offsets, "topic@group" → queueId → offset; flushed periodically. */
export class ConsumerOffsetManager {
  readonly #table = new Map<string, Map<number, number>>();
  readonly #path: string;
  #dataVersion: DataVersion = newDataVersion();
  #dirty = false;

  constructor(configDir: string) {
    this.#path = join(configDir, 'consumerOffset.json');
  }

  load(): void {
    const saved = readJsonFile(this.#path) as { offsetTable?: Record<string, Record<string, unknown>>; dataVersion?: unknown } | undefined;
    for (const [key, queues] of Object.entries(saved?.offsetTable ?? {})) {
      const m = new Map<number, number>();
      for (const [q, off] of Object.entries(queues)) m.set(Number(q), Number(off));
      this.#table.set(key, m);
    }
    this.#dataVersion = toDataVersion(saved?.dataVersion) ?? newDataVersion();
  }

  /** Server-side resets not yet seen by a pull: "topic@group" → queueId → offset. */
  readonly #resets = new Map<string, Map<number, number>>();

  /** A consumer's commit; ignored for a queue whose reset its consumer has not yet seen (as Java). */
  commit(group: string, topic: string, queueId: number, offset: number): void {
    // ali-ons commits -1 for queues whose position it does not know: that is not a position.
    if (offset < 0) return;
    const key = `${topic}@${group}`;
    if (this.#resets.get(key)?.has(queueId)) return;
    this.#set(key, queueId, offset);
  }

  /**
   * Server-side reset (assignResetOffset): the offset is committed now, and the group's next pull
   * of the queue is answered PULL_OFFSET_MOVED to it; until then client commits are ignored, so a
   * consumer cannot write its old position back.
   */
  assignResetOffset(group: string, topic: string, queueId: number, offset: number): void {
    const key = `${topic}@${group}`;
    this.#set(key, queueId, offset);
    let m = this.#resets.get(key);
    if (!m) this.#resets.set(key, (m = new Map<number, number>()));
    m.set(queueId, offset);
  }

  /** The pending reset of a queue, cleared by this call (the pull that sees it). */
  takeResetOffset(group: string, topic: string, queueId: number): number | undefined {
    const key = `${topic}@${group}`;
    const m = this.#resets.get(key);
    const offset = m?.get(queueId);
    if (offset === undefined) return undefined;
    m!.delete(queueId);
    if (m!.size === 0) this.#resets.delete(key);
    return offset;
  }

  #set(key: string, queueId: number, offset: number): void {
    let m = this.#table.get(key);
    if (!m) this.#table.set(key, (m = new Map<number, number>()));
    if (m.get(queueId) !== offset) {
      m.set(queueId, offset);
      this.#dirty = true;
    }
  }

  /** The committed offset, or -1 when the group never committed one for the queue. */
  query(group: string, topic: string, queueId: number): number {
    return this.#table.get(`${topic}@${group}`)?.get(queueId) ?? -1;
  }

  /** Topics a group has offsets for. */
  topicsOf(group: string): string[] {
    const out: string[] = [];
    for (const key of this.#table.keys()) {
      const at = key.lastIndexOf('@');
      if (key.slice(at + 1) === group) out.push(key.slice(0, at));
    }
    return out;
  }

  /** Groups that have offsets for a topic. */
  groupsOf(topic: string): string[] {
    const out: string[] = [];
    for (const key of this.#table.keys()) {
      const at = key.lastIndexOf('@');
      if (key.slice(0, at) === topic) out.push(key.slice(at + 1));
    }
    return out;
  }

  removeTopic(topic: string): void {
    for (const key of [...this.#table.keys()]) {
      if (key.slice(0, key.lastIndexOf('@')) === topic) {
        this.#table.delete(key);
        this.#dirty = true;
      }
    }
  }

  removeGroup(group: string): void {
    for (const key of [...this.#table.keys()]) {
      if (key.slice(key.lastIndexOf('@') + 1) === group) {
        this.#table.delete(key);
        this.#dirty = true;
      }
    }
  }

  /** Slave: overwrites offsets with the master's (offsetTable as parsed from its JSON). */
  replaceAll(offsetTable: Record<string, Record<string, unknown>>): void {
    for (const [key, queues] of Object.entries(offsetTable)) {
      const m = new Map<number, number>();
      for (const [q, off] of Object.entries(queues)) m.set(Number(q), Number(off));
      this.#table.set(key, m);
    }
    this.#dirty = true;
  }

  /** consumerOffset.json text with fastjson's bare integer keys, as Java writes it. */
  encode(): string {
    const groups: string[] = [];
    for (const [key, m] of this.#table) {
      const queues = [...m].map(([q, off]) => `${q}:${off}`).join(',');
      groups.push(`${JSON.stringify(key)}:{${queues}}`);
    }
    return `{"dataVersion":${JSON.stringify(this.#dataVersion)},"offsetTable":{${groups.join(',')}}}`;
  }

  /** Writes the table if anything changed since the last write. */
  persist(force = false): void {
    if (!this.#dirty && !force) return;
    this.#dirty = false;
    this.#dataVersion = nextDataVersion(this.#dataVersion);
    writeJsonFile(this.#path, this.encode());
  }
}
