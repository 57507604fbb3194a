// Broker → client offset control (Java Broker2Client, reached through AdminBrokerProcessor):
// INVOKE_BROKER_TO_RESET_OFFSET (mqadmin resetOffsetByTime) resets the group's offsets on the
// broker (5.x, useServerSideResetOffset, the default: consumers are moved on their next pull), or
// computes each queue's offset at a time and tells every live consumer of the group
// RESET_CONSUMER_CLIENT_OFFSET (4.x);
// INVOKE_BROKER_TO_GET_CONSUMER_STATUS (mqadmin getConsumerStatus) asks each consumer for its
// offsets with GET_CONSUMER_STATUS_FROM_CLIENT.
import { RequestError } from '../../common/errors.js';
import { RequestCode, ResponseCode } from '../../protocol/codes.js';
import { boolHeader, header, intHeader, optionalHeader, optionalIntHeader } from '../../protocol/headers.js';
import { createRequest, createResponse, type RemotingCommand } from '../../protocol/remoting.js';
import type { BrokerContext } from '../context.js';

/** MQVersion.Version.V3_0_7_SNAPSHOT.ordinal(): older clients cannot reset offsets. */
const V3_0_7_SNAPSHOT = 28;
/** Broker2Client waits this long for each consumer's status. */
const CLIENT_TIMEOUT_MS = 5000;

export class ResetOffsetProcessor {
  readonly #ctx: BrokerContext;

  constructor(ctx: BrokerContext) {
    this.#ctx = ctx;
  }

  /**
   * Header topic, group, timestamp (-1: the max offsets), isForce. Per write queue the new offset
   * is the one at `timestamp`, or the committed one when that is smaller and isForce is false.
   * 5.x adds queueId and offset (mqadmin resetOffsetByQueueId): that one queue is set to that
   * offset here on the broker (as Java 5's server-side reset does) and live consumers are told.
   */
  resetOffset(req: RemotingCommand): RemotingCommand {
    const ctx = this.#ctx;
    if (ctx.config.useServerSideResetOffset) return this.#resetOnBroker(req);
    const topic = header(req, 'topic');
    const group = header(req, 'group');
    const timestamp = intHeader(req, 'timestamp');
    const isForce = boolHeader(req, 'isForce');
    const tc = ctx.topics.get(topic);
    if (!tc) throw new RequestError(ResponseCode.TOPIC_NOT_EXIST, `[reset-offset] reset offset failed, no topic in this broker. topic=${topic}`);
    const queueId = optionalIntHeader(req, 'queueId') ?? -1;
    const offset = optionalIntHeader(req, 'offset') ?? -1;
    if (queueId >= 0 && offset !== -1) return this.#resetQueue(req, topic, group, queueId, offset);
    const table: [number, number][] = [];
    for (let q = 0; q < tc.writeQueueNums; q++) {
      const committed = ctx.offsets.query(group, topic, q);
      if (committed === -1) throw new RequestError(ResponseCode.SYSTEM_ERROR, `THe consumer group <${group}> not exist`);
      let target = timestamp === -1 ? ctx.store.getMaxOffsetInQueue(topic, q) : ctx.store.getOffsetInQueueByTime(topic, q, timestamp);
      if (target < 0) target = 0;
      table.push([q, isForce || target < committed ? target : committed]);
    }
    const body = this.#offsetTableBody(topic, table);
    const info = ctx.clients.consumers.get(group);
    if (!info || info.channels.size === 0) {
      return createResponse(req, ResponseCode.CONSUMER_NOT_ONLINE, `Consumer not online, so can not reset offset, Group: ${group} Topic: ${topic} Timestamp: ${timestamp}`);
    }
    const old = [...info.channels.values()].find((c) => c.version < V3_0_7_SNAPSHOT);
    if (old) return createResponse(req, ResponseCode.SYSTEM_ERROR, `the client does not support this feature. version=${old.version}`);
    this.#tellConsumers(topic, group, timestamp, body);
    return createResponse(req, ResponseCode.SUCCESS, undefined, {}, body);
  }

  /**
   * 5.x server-side reset (AdminBrokerProcessor.resetOffsetInner): one queue to `offset` or to the
   * offset at `timestamp` (-1: the end), or every read queue by time; the group need not be
   * online. Offsets are committed at once and each queue's next pull is moved there.
   */
  #resetOnBroker(req: RemotingCommand): RemotingCommand {
    const ctx = this.#ctx;
    const topic = header(req, 'topic');
    const group = header(req, 'group');
    const timestamp = intHeader(req, 'timestamp');
    const queueId = optionalIntHeader(req, 'queueId') ?? -1;
    const offset = optionalIntHeader(req, 'offset') ?? -1;
    if (ctx.role() === 'SLAVE') return createResponse(req, ResponseCode.SYSTEM_ERROR, 'Can not reset offset in slave broker');
    const tc = ctx.topics.get(topic);
    if (!tc) return createResponse(req, ResponseCode.TOPIC_NOT_EXIST, `Topic ${topic} does not exist`);
    if (!ctx.groups.get(group)) return createResponse(req, ResponseCode.SUBSCRIPTION_GROUP_NOT_EXIST, `Group ${group} does not exist`);
    const byTime = (q: number): number => Math.max(0, timestamp < 0 ? ctx.store.getMaxOffsetInQueue(topic, q) : ctx.store.getOffsetInQueueByTime(topic, q, timestamp));
    const table: [number, number][] = [];
    if (queueId >= 0) {
      if (offset !== -1) {
        const outOfRange = this.#offsetOutOfRange(topic, queueId, offset);
        if (outOfRange) return createResponse(req, ResponseCode.SYSTEM_ERROR, outOfRange);
        table.push([queueId, offset]);
      } else {
        table.push([queueId, byTime(queueId)]);
      }
    } else {
      for (let q = 0; q < tc.readQueueNums; q++) table.push([q, byTime(q)]);
    }
    if (table.length === 0) return createResponse(req, ResponseCode.SYSTEM_ERROR, 'No queues to reset.');
    for (const [q, o] of table) ctx.offsets.assignResetOffset(group, topic, q, o);
    ctx.log.info({ topic, group, timestamp, queues: Object.fromEntries(table) }, '[reset-offset] offsets reset on the broker');
    return createResponse(req, ResponseCode.SUCCESS, undefined, {}, this.#offsetTableBody(topic, table));
  }

  #resetQueue(req: RemotingCommand, topic: string, group: string, queueId: number, offset: number): RemotingCommand {
    const ctx = this.#ctx;
    if (ctx.role() === 'SLAVE') return createResponse(req, ResponseCode.SYSTEM_ERROR, 'Can not reset offset in slave broker');
    const outOfRange = this.#offsetOutOfRange(topic, queueId, offset);
    if (outOfRange) return createResponse(req, ResponseCode.SYSTEM_ERROR, outOfRange);
    ctx.offsets.commit(group, topic, queueId, offset);
    const body = this.#offsetTableBody(topic, [[queueId, offset]]);
    this.#tellConsumers(topic, group, intHeader(req, 'timestamp'), body);
    ctx.log.info({ topic, group, queueId, offset }, '[reset-offset] queue offset reset');
    return createResponse(req, ResponseCode.SUCCESS, undefined, {}, body);
  }

  /** Why `offset` is no reset target for the queue, or undefined (AdminBrokerProcessor.resetOffsetInner's range check). */
  #offsetOutOfRange(topic: string, queueId: number, offset: number): string | undefined {
    const min = this.#ctx.store.getMinOffsetInQueue(topic, queueId);
    const max = this.#ctx.store.getMaxOffsetInQueue(topic, queueId);
    if ((min >= 0 && offset < min) || offset > max + 1) return `Target offset ${offset} not in consume queue range [${min}-${max}]`;
    return undefined;
  }

  #tellConsumers(topic: string, group: string, timestamp: number, body: Buffer): void {
    const info = this.#ctx.clients.consumers.get(group);
    if (!info) return;
    const notify = createRequest(RequestCode.RESET_CONSUMER_CLIENT_OFFSET, { topic, group, timestamp: String(timestamp) }, body);
    for (const c of info.channels.values()) {
      if (c.version < V3_0_7_SNAPSHOT) continue;
      c.conn.invokeOneway(notify);
      this.#ctx.log.info({ topic, group, clientId: c.clientId, timestamp }, '[reset-offset] consumer told to reset its offsets');
    }
  }

  /** ResetOffsetBody in fastjson's form: MessageQueue objects as map keys. */
  #offsetTableBody(topic: string, table: readonly [number, number][]): Buffer {
    return Buffer.from(`{"offsetTable":{${table.map(([q, o]) => `${this.#mq(topic, q)}:${o}`).join(',')}}}`, 'utf8');
  }

  /**
   * Header topic, group, clientAddr (a client id; empty: all). The response body is
   * GetConsumerStatusBody {consumerTable: {clientId: {MessageQueue: offset}}}.
   */
  async consumerStatus(req: RemotingCommand): Promise<RemotingCommand> {
    const ctx = this.#ctx;
    const topic = header(req, 'topic');
    const group = header(req, 'group');
    const origin = optionalHeader(req, 'clientAddr') ?? '';
    const channels = [...(ctx.clients.consumers.get(group)?.channels.values() ?? [])];
    if (channels.length === 0) return createResponse(req, ResponseCode.SYSTEM_ERROR, `No Any Consumer online in the consumer group: [${group}]`);
    const old = channels.find((c) => c.version < V3_0_7_SNAPSHOT);
    if (old) return createResponse(req, ResponseCode.SYSTEM_ERROR, `the client does not support this feature. version=${old.version}`);
    const asked = origin === '' ? channels : channels.filter((c) => c.clientId === origin);
    const tables = await Promise.all(
      asked.map(async (c) => {
        try {
          const r = await c.conn.invoke(createRequest(RequestCode.GET_CONSUMER_STATUS_FROM_CLIENT, { topic, group, clientAddr: origin }), CLIENT_TIMEOUT_MS);
          if (r.code !== ResponseCode.SUCCESS || !r.body) return undefined;
          const raw = jsonFieldText(r.body.toString('utf8'), 'messageQueueTable');
          return raw === undefined ? undefined : `${JSON.stringify(c.clientId)}:${raw}`;
        } catch (err) {
          ctx.log.warn({ topic, group, clientId: c.clientId, err: err instanceof Error ? err.message : String(err) }, '[get-consumer-status] client did not answer');
          return undefined;
        }
      }),
    );
    const consumerTable = tables.filter((t): t is string => t !== undefined).join(',');
    return createResponse(req, ResponseCode.SUCCESS, undefined, {}, Buffer.from(`{"consumerTable":{${consumerTable}},"messageQueueTable":{}}`, 'utf8'));
  }

  #mq(topic: string, queueId: number): string {
    return JSON.stringify({ brokerName: this.#ctx.config.brokerName, queueId, topic });
  }
}

/**
 * The raw text of a top-level field's value in fastjson output, whose map keys may themselves be
 * objects (so JSON.parse cannot read it). Undefined when the field is absent.
 */
export function jsonFieldText(text: string, field: string): string | undefined {
  let depth = 0;
  let valueStart = -1;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') {
      const end = stringEnd(text, i);
      if (depth === 1 && valueStart < 0 && text.slice(i + 1, end) === field) {
        let j = end + 1;
        while (text[j] === ' ') j++;
        if (text[j] === ':') valueStart = j + 1;
      }
      i = end;
    } else if (ch === '{' || ch === '[') {
      depth++;
    } else if (ch === '}' || ch === ']') {
      depth--;
      if (valueStart >= 0 && depth === 1) return text.slice(valueStart, i + 1).trim();
      if (valueStart >= 0 && depth === 0) return text.slice(valueStart, i).trim(); // a scalar, last field
    } else if (ch === ',' && depth === 1 && valueStart >= 0) {
      return text.slice(valueStart, i).trim();
    }
  }
  return undefined;
}

function stringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i;
  }
  return text.length;
}
