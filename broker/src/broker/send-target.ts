// The checks every message-producing request makes before anything is stored or pushed (Java's
// AbstractSendMessageProcessor.msgCheck, shared by sends and replies): the broker and the topic
// accept writes, the topic name is valid and not reserved, the topic exists (or is created as
// allowed), and the requested queue exists.
import { RequestError } from '../common/errors.js';
import { topicNameProblem, type TopicConfig } from '../common/topic-config.js';
import { isWriteable, Perm, ResponseCode } from '../protocol/codes.js';
import type { BrokerContext } from './context.js';
import { DLQ_GROUP_TOPIC_PREFIX, NOT_ALLOWED_SEND_TOPICS, RETRY_GROUP_TOPIC_PREFIX, TBW102 } from './metadata.js';
import type { SendRequestHeader } from './send-header.js';

/** The topic a send or reply may write to; throws the RocketMQ error for why it may not. */
export function checkSendTopic(ctx: BrokerContext, h: SendRequestHeader, remote: string, request: 'send' | 'reply'): TopicConfig {
  if (!isWriteable(ctx.permission())) {
    throw new RequestError(ResponseCode.NO_PERMISSION, `the broker[${ctx.config.brokerName}] sending message is forbidden`);
  }
  const problem = topicNameProblem(h.topic);
  if (problem) throw new RequestError(ResponseCode.INVALID_PARAMETER, `the specified topic is invalid: ${problem}`);
  if (NOT_ALLOWED_SEND_TOPICS.has(h.topic)) {
    throw new RequestError(ResponseCode.NO_PERMISSION, `Sending message to topic[${h.topic}] is forbidden.`);
  }
  if (h.topic === h.defaultTopic || h.topic === TBW102) {
    throw new RequestError(ResponseCode.NO_PERMISSION, `the topic[${h.topic}] is a default topic and cannot be sent to`);
  }
  let tc = ctx.topics.get(h.topic);
  if (!tc) {
    if (h.topic.startsWith(RETRY_GROUP_TOPIC_PREFIX) || h.topic.startsWith(DLQ_GROUP_TOPIC_PREFIX)) {
      tc = ctx.topics.createSystemTopicIfAbsent(h.topic, 1, Perm.READ | Perm.WRITE).config;
    } else if (ctx.config.autoCreateTopicEnable) {
      tc = ctx.topics.createFromDefault(h.topic, h.defaultTopic, h.defaultTopicQueueNums, 0);
    }
    if (!tc) throw new RequestError(ResponseCode.TOPIC_NOT_EXIST, `topic[${h.topic}] not exist, apply first please!`);
    ctx.log.info({ topic: h.topic, queues: tc.writeQueueNums, producerGroup: h.producerGroup, remote }, `topic auto-created on ${request}`);
    ctx.registerNow();
  }
  if (!isWriteable(tc.perm)) {
    throw new RequestError(ResponseCode.NO_PERMISSION, `the topic[${h.topic}] sending message is forbidden`);
  }
  return tc;
}

/** The queue the request asked for, or a random writable one for queueId < 0. */
export function chooseSendQueue(h: SendRequestHeader, tc: TopicConfig): number {
  if (h.queueId >= Math.max(tc.readQueueNums, tc.writeQueueNums)) {
    throw new RequestError(ResponseCode.INVALID_PARAMETER, `request queueId[${h.queueId}] is illegal, topic:${h.topic} topicConfig.writeQueueNums:${tc.writeQueueNums}`);
  }
  return h.queueId < 0 ? Math.floor(Math.random() * tc.writeQueueNums) : h.queueId;
}
