import { Perm } from '../protocol/codes.js';

/** TopicConfig as RocketMQ serialises it (topics.json, registrations, GET_ALL_TOPIC_CONFIG). */
export interface TopicConfig {
  topicName: string;
  readQueueNums: number;
  writeQueueNums: number;
  perm: number;
  topicFilterType: 'SINGLE_TAG' | 'MULTI_TAG';
  topicSysFlag: number;
  order: boolean;
  attributes: Record<string, string>;
}

export function newTopicConfig(topicName: string, queueNums: number, perm: number = Perm.READ | Perm.WRITE): TopicConfig {
  return {
    topicName,
    readQueueNums: queueNums,
    writeQueueNums: queueNums,
    perm,
    topicFilterType: 'SINGLE_TAG',
    topicSysFlag: 0,
    order: false,
    attributes: {},
  };
}

/** Normalises a TopicConfig read from JSON written by us or by Java. */
export function toTopicConfig(name: string, v: unknown): TopicConfig {
  const o = (v && typeof v === 'object' ? v : {}) as Record<string, unknown>;
  return {
    topicName: typeof o.topicName === 'string' ? o.topicName : name,
    readQueueNums: Number(o.readQueueNums ?? 16),
    writeQueueNums: Number(o.writeQueueNums ?? 16),
    perm: Number(o.perm ?? Perm.READ | Perm.WRITE),
    topicFilterType: o.topicFilterType === 'MULTI_TAG' ? 'MULTI_TAG' : 'SINGLE_TAG',
    topicSysFlag: Number(o.topicSysFlag ?? 0),
    order: o.order === true || o.order === 'true',
    attributes: (o.attributes && typeof o.attributes === 'object' ? o.attributes : {}) as Record<string, string>,
  };
}

const TOPIC_NAME = /^[%|a-zA-Z0-9_-]+$/;

/** Why a topic name is invalid (TopicValidator rules), or undefined when it is fine. */
export function topicNameProblem(topic: string): string | undefined {
  if (!topic) return 'the topic name is empty';
  if (!TOPIC_NAME.test(topic)) return `the topic name "${topic}" contains characters other than [%|a-zA-Z0-9_-]`;
  const max = topic.startsWith('%RETRY%') || topic.startsWith('%DLQ%') ? 255 : 127;
  if (topic.length > max) return `the topic name is longer than ${max} characters`;
  return undefined;
}
