// PULL_MESSAGE / LITE_PULL_MESSAGE: check group, topic and subscription, read from the consume
// queue, map the store's answer to RocketMQ's pull codes, and park empty pulls (long polling).
import { totalmem } from 'node:os';
import { FilterExpressionError, RequestError } from '../common/errors.js';
import { compileFilter, isTagType, type Sql92Filter } from '../filter/sql92.js';
import { isReadable, ResponseCode } from '../protocol/codes.js';
import { header, intHeader, optionalHeader, optionalIntHeader } from '../protocol/headers.js';
import { javaStringHash } from '../protocol/message.js';
import { createResponse, type RemotingCommand } from '../protocol/remoting.js';
import type { GetResult, PropertiesFilter } from '../store/message-store.js';
import type { RemotingConnection } from '../transport/connection.js';
import type { BrokerContext } from './context.js';

/** PullSysFlag bits. */
export const PullSysFlag = { COMMIT_OFFSET: 1, SUSPEND: 2, SUBSCRIPTION: 4, CLASS_FILTER: 8, LITE_PULL: 16 } as const;

/** Per-pull limits of the Java store for data in memory (maxTransfer…OnMessageInMemory). */
const MAX_TRANSFER_COUNT = 32;
const MAX_TRANSFER_BYTES = 256 * 1024;

/** Builds a consume-queue tag filter from a TAG subscription ("*", "a || b"). */
export function tagFilterOf(subString: string | undefined, codeSet?: readonly number[]): ((code: number) => boolean) | undefined {
  if (codeSet && codeSet.length > 0) {
    const codes = new Set(codeSet.map((c) => c | 0));
    return (code) => codes.has(code | 0);
  }
  const s = (subString ?? '').trim();
  if (s === '' || s === '*') return undefined;
  const codes = new Set(
    s
      .split('||')
      .map((t) => t.trim())
      .filter((t) => t !== '')
      .map((t) => javaStringHash(t)),
  );
  if (codes.size === 0) return undefined;
  return (code) => codes.has(code | 0);
}

/**
 * The properties filter of a non-TAG subscription, with PullMessageProcessor's answers: a bad
 * expression sent with the pull is SUBSCRIPTION_PARSE_FAILED, one from the heartbeat has no
 * filter data (FILTER_DATA_NOT_EXIST), and without enablePropertyFilter it is a SYSTEM_ERROR.
 */
function sqlFilterOf(type: string, expression: string, fromRequest: boolean, enabled: boolean): PropertiesFilter {
  let filter: Sql92Filter;
  try {
    filter = compileFilter(type, expression);
  } catch (err) {
    if (!(err instanceof FilterExpressionError)) throw err;
    if (fromRequest) throw new RequestError(ResponseCode.SUBSCRIPTION_PARSE_FAILED, `parse the consumer's subscription failed: ${err.message}`);
    throw new RequestError(ResponseCode.FILTER_DATA_NOT_EXIST, `The broker's consumer filter data is not exist!Your expression may be wrong! ${err.message}`);
  }
  if (!enabled) throw new RequestError(ResponseCode.SYSTEM_ERROR, `The broker does not support consumer to filter message by ${type} (enablePropertyFilter=false)`);
  return (properties) => filter.matches(properties);
}

interface PullRequest {
  consumerGroup: string;
  topic: string;
  queueId: number;
  queueOffset: number;
  maxMsgNums: number;
  sysFlag: number;
  commitOffset: number;
  suspendTimeoutMillis: number;
  subscription: string | undefined;
  subVersion: number;
  expressionType: string;
}

function parse(req: RemotingCommand): PullRequest {
  return {
    consumerGroup: header(req, 'consumerGroup'),
    topic: header(req, 'topic'),
    queueId: intHeader(req, 'queueId'),
    queueOffset: intHeader(req, 'queueOffset'),
    maxMsgNums: intHeader(req, 'maxMsgNums'),
    sysFlag: intHeader(req, 'sysFlag'),
    commitOffset: optionalIntHeader(req, 'commitOffset') ?? 0,
    suspendTimeoutMillis: optionalIntHeader(req, 'suspendTimeoutMillis') ?? 0,
    subscription: optionalHeader(req, 'subscription'),
    subVersion: optionalIntHeader(req, 'subVersion') ?? 0,
    expressionType: optionalHeader(req, 'expressionType') ?? 'TAG',
  };
}

export class PullMessageProcessor {
  readonly #ctx: BrokerContext;

  constructor(ctx: BrokerContext) {
    this.#ctx = ctx;
  }

  process(req: RemotingCommand, _conn: RemotingConnection): Promise<RemotingCommand> | RemotingCommand {
    return this.#pull(req, true);
  }

  /**
   * Which member the consumer should pull from next. Slaves always point back at the master
   * (they still serve the pull: with the master gone, consumers keep reading here). A master
   * with slaveReadEnable sends consumers that lag beyond memory to a slave.
   */
  #suggestBroker(result: GetResult, whenSlow: number, preferred: number): number {
    const ctx = this.#ctx;
    if (ctx.role() === 'SLAVE' || !ctx.config.slaveReadEnable) return 0;
    const last = result.messages[result.messages.length - 1];
    if (!last) return preferred;
    const behind = ctx.store.stats().commitLogMaxOffset - Number(last.readBigInt64BE(28));
    return behind > HOT_BYTES ? whenSlow : preferred;
  }

  #pull(req: RemotingCommand, allowSuspend: boolean): Promise<RemotingCommand> | RemotingCommand {
    const started = performance.now();
    const ctx = this.#ctx;
    const p = parse(req);
    if (!isReadable(ctx.permission())) {
      throw new RequestError(ResponseCode.NO_PERMISSION, `the broker[${ctx.config.brokerName}] pulling message is forbidden`);
    }
    const group = ctx.groups.findOrCreate(p.consumerGroup);
    if (!group) {
      throw new RequestError(ResponseCode.SUBSCRIPTION_GROUP_NOT_EXIST, `subscription group [${p.consumerGroup}] does not exist`);
    }
    if (!group.consumeEnable) {
      throw new RequestError(ResponseCode.NO_PERMISSION, `subscription group no permission, ${p.consumerGroup}`);
    }
    const tc = ctx.topics.get(p.topic);
    if (!tc) throw new RequestError(ResponseCode.TOPIC_NOT_EXIST, `topic[${p.topic}] not exist, apply first please!`);
    if (!isReadable(tc.perm)) throw new RequestError(ResponseCode.NO_PERMISSION, `the topic[${p.topic}] pulling message is forbidden`);
    if (p.queueId < 0 || p.queueId >= tc.readQueueNums) {
      throw new RequestError(ResponseCode.INVALID_PARAMETER, `queueId[${p.queueId}] is illegal, topic:[${p.topic}] topicConfig.readQueueNums:[${tc.readQueueNums}]`);
    }

    let tagsFilter: ((code: number) => boolean) | undefined;
    let propertiesFilter: PropertiesFilter;
    let expressionType = p.expressionType;
    let subString = p.subscription;
    const withSubscription = (p.sysFlag & PullSysFlag.SUBSCRIPTION) !== 0;
    if (withSubscription) {
      tagsFilter = tagFilterOf(p.subscription);
    } else {
      const info = ctx.clients.consumers.get(p.consumerGroup);
      if (!info) throw new RequestError(ResponseCode.SUBSCRIPTION_NOT_EXIST, `the consumer's group info not exist, group: ${p.consumerGroup}`);
      const sub = info.subscriptions.get(p.topic);
      if (!sub) throw new RequestError(ResponseCode.SUBSCRIPTION_NOT_EXIST, `the consumer's subscription not exist, group: ${p.consumerGroup} topic: ${p.topic}`);
      if (sub.subVersion < p.subVersion) {
        throw new RequestError(ResponseCode.SUBSCRIPTION_NOT_LATEST, `the consumer's subscription not latest, group: ${p.consumerGroup}`);
      }
      expressionType = sub.expressionType || 'TAG';
      subString = sub.subString;
      tagsFilter = tagFilterOf(sub.subString, sub.codeSet);
    }
    if (!isTagType(expressionType)) {
      // SQL92: tag codes cannot help, every entry goes on to the properties filter.
      tagsFilter = undefined;
      propertiesFilter = sqlFilterOf(expressionType, subString ?? '', withSubscription, ctx.config.enablePropertyFilter);
    }

    // A server-side reset (mqadmin resetOffsetByTime) moves the consumer on its next pull.
    const reset = ctx.offsets.takeResetOffset(p.consumerGroup, p.topic, p.queueId);
    if (reset !== undefined) {
      return createResponse(req, ResponseCode.PULL_OFFSET_MOVED, `the consumer offset was reset to ${reset}`, {
        nextBeginOffset: String(reset),
        minOffset: String(ctx.store.getMinOffsetInQueue(p.topic, p.queueId)),
        maxOffset: String(ctx.store.getMaxOffsetInQueue(p.topic, p.queueId)),
        suggestWhichBrokerId: '0',
      });
    }

    const result = ctx.store.getMessages(p.topic, p.queueId, p.queueOffset, {
      maxMsgNums: Math.max(1, Math.min(p.maxMsgNums, MAX_TRANSFER_COUNT)),
      maxTotalBytes: MAX_TRANSFER_BYTES,
      tagsFilter,
      propertiesFilter,
    });
    const { code, remark } = statusToCode(result, p.queueOffset);

    // The consumer's position rides along on the first pass (PullSysFlag COMMIT_OFFSET); a slave
    // keeps the master's offsets (synced), as Java's storeOffsetEnable does.
    if (allowSuspend && (p.sysFlag & PullSysFlag.COMMIT_OFFSET) !== 0 && ctx.role() !== 'SLAVE') {
      ctx.offsets.commit(p.consumerGroup, p.topic, p.queueId, p.commitOffset);
    }

    if (code === ResponseCode.PULL_NOT_FOUND && allowSuspend && (p.sysFlag & PullSysFlag.SUSPEND) !== 0) {
      const holdMs = ctx.config.longPollingEnable ? p.suspendTimeoutMillis : ctx.config.shortPollingTimeMills;
      return new Promise<RemotingCommand>((resolve, reject) => {
        ctx.pullHold.hold(
          {
            topic: p.topic,
            queueId: p.queueId,
            offset: p.queueOffset,
            tagsFilter,
            done: false,
            wake: () => {
              try {
                resolve(this.#pull(req, false));
              } catch (err) {
                reject(err instanceof Error ? err : new Error(String(err)));
              }
            },
          },
          holdMs,
        );
      });
    }

    const ext: Record<string, string> = {
      nextBeginOffset: String(result.nextBeginOffset),
      minOffset: String(result.minOffset),
      maxOffset: String(result.maxOffset),
      suggestWhichBrokerId: String(this.#suggestBroker(result, group.whichBrokerWhenConsumeSlowly, group.brokerId)),
    };
    const response = createResponse(req, code, remark, ext);
    if (code === ResponseCode.SUCCESS) {
      response.bodyParts = result.messages;
      ctx.stats.getMessageTimes += result.messages.length;
      ctx.stats.getMessageBytes += result.bufferTotalSize;
    }
    const found = code === ResponseCode.SUCCESS;
    ctx.metrics?.pulled(p.topic, p.consumerGroup, found ? result.messages.length : 0, found ? result.bufferTotalSize : 0, performance.now() - started);
    return response;
  }
}

/** Memory Java assumes holds hot data (accessMessageInMemoryMaxRatio 40 % of RAM). */
const HOT_BYTES = Math.floor(totalmem() * 0.4);

/** The store's answer → pull response code (PullMessageProcessor's switch). */
export function statusToCode(result: GetResult, requestOffset: number): { code: number; remark?: string } {
  switch (result.status) {
    case 'FOUND':
      return { code: ResponseCode.SUCCESS };
    case 'NO_MATCHED_MESSAGE':
      return { code: ResponseCode.PULL_RETRY_IMMEDIATELY, remark: 'NO_MATCHED_MESSAGE' };
    case 'NO_MESSAGE_IN_QUEUE':
      return requestOffset !== 0
        ? { code: ResponseCode.PULL_OFFSET_MOVED, remark: 'NO_MESSAGE_IN_QUEUE' }
        : { code: ResponseCode.PULL_NOT_FOUND, remark: 'NO_MESSAGE_IN_QUEUE' };
    case 'OFFSET_OVERFLOW_ONE':
      return { code: ResponseCode.PULL_NOT_FOUND, remark: 'OFFSET_OVERFLOW_ONE' };
    case 'OFFSET_OVERFLOW_BADLY':
      return { code: ResponseCode.PULL_OFFSET_MOVED, remark: 'OFFSET_OVERFLOW_BADLY' };
    case 'OFFSET_TOO_SMALL':
      return { code: ResponseCode.PULL_OFFSET_MOVED, remark: 'OFFSET_TOO_SMALL' };
    case 'OFFSET_FOUND_NULL':
      return { code: ResponseCode.PULL_RETRY_IMMEDIATELY, remark: 'OFFSET_FOUND_NULL' };
  }
}

