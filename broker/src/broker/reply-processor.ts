// Request/reply: SEND_REPLY_MESSAGE (324) and SEND_REPLY_MESSAGE_V2 (325).
//
// A requester (a producer calling request()) sends a message carrying REPLY_TO_CLIENT (its
// clientId), CORRELATION_ID and TTL. The consumer that handles it builds the reply with
// MessageUtil.createReplyMessage (topic <cluster>_REPLY_TOPIC, MSG_TYPE=reply) and sends it; the
// client library uses code 325 (or 324) for it. The broker pushes the reply to the requester's
// connection as PUSH_REPLY_MESSAGE_TO_CLIENT (326), whose header the Java client's
// ClientRemotingProcessor.receiveReplyMessage decodes (ReplyMessageRequestHeader), and stores it in
// the reply topic as a normal message when storeReplyMessageEnable (default true, as Java).
// Semantics follow apache/rocketmq broker/.../processor/ReplyMessageProcessor.java: push first,
// then store; the answer's code is the push outcome (SYSTEM_ERROR when the requester cannot be
// reached, even though the reply is stored); offsets in the answer are the store's when stored.
import { RequestError } from '../common/errors.js';
import { RequestCode, ResponseCode } from '../protocol/codes.js';
import { decodeProperties, encodeHost, encodeProperties, MAX_PROPERTIES_BYTES, Prop, tagsCode } from '../protocol/message.js';
import { createRequest, createResponse, type RemotingCommand } from '../protocol/remoting.js';
import type { RemotingConnection } from '../transport/connection.js';
import type { BrokerContext } from './context.js';
import { parseSendRequestHeader, sendHeaderFields, type SendRequestHeader } from './send-header.js';
import { checkSendTopic, chooseSendQueue } from './send-target.js';

/** Message properties of the request/reply feature (MessageConst). */
export const ReplyProp = {
  REPLY_TO_CLIENT: 'REPLY_TO_CLIENT',
  CORRELATION_ID: 'CORRELATION_ID',
  TTL: 'TTL',
  MSG_TYPE: 'MSG_TYPE',
  PUSH_REPLY_TIME: 'PUSH_REPLY_TIME',
} as const;

/** Broker2Client.callClient waits this long for the requester to take the reply. */
export const PUSH_REPLY_TIMEOUT_MS = 10_000;

interface PushOutcome {
  ok: boolean;
  remark?: string;
}

export class ReplyMessageProcessor {
  readonly #ctx: BrokerContext;

  constructor(ctx: BrokerContext) {
    this.#ctx = ctx;
  }

  async process(req: RemotingCommand, conn: RemotingConnection): Promise<RemotingCommand> {
    const ctx = this.#ctx;
    const started = performance.now();
    if (ctx.role() === 'SLAVE') {
      throw new RequestError(ResponseCode.SERVICE_NOT_AVAILABLE, `the broker[${ctx.config.brokerName}] is a slave and does not accept messages`);
    }
    if (!ctx.acceptingSends()) throw new RequestError(ResponseCode.SERVICE_NOT_AVAILABLE, `the broker[${ctx.config.brokerName}] is shutting down`);
    const h = parseSendRequestHeader(sendHeaderFields(req));
    const tc = checkSendTopic(ctx, h, conn.remoteAddress, 'reply');
    const queueId = chooseSendQueue(h, tc);
    const body = req.body ?? Buffer.alloc(0);
    if (body.length > ctx.config.maxMessageSize) {
      throw new RequestError(ResponseCode.MESSAGE_ILLEGAL, `the message body size ${body.length} exceeds the max value ${ctx.config.maxMessageSize}`);
    }
    if (Buffer.byteLength(h.properties, 'utf8') > MAX_PROPERTIES_BYTES) {
      throw new RequestError(ResponseCode.MESSAGE_ILLEGAL, `the message properties are longer than ${MAX_PROPERTIES_BYTES} bytes`);
    }

    const pushed = await this.#push(h, body, conn);
    const ext: Record<string, string> = { MSG_REGION: 'DefaultRegion', TRACE_ON: 'true' };
    // Java sets zeros "to avoid client decoding exception" when the push worked, then overwrites
    // them with the store's values when the reply was stored.
    if (pushed.ok) Object.assign(ext, { msgId: '0', queueId: String(queueId), queueOffset: '0' });
    if (ctx.config.storeReplyMessageEnable) {
      const props = decodeProperties(h.properties);
      const result = await ctx.store.putMessage({
        topic: tc.topicName,
        queueId,
        flag: h.flag,
        sysFlag: h.sysFlag,
        bornTimestamp: h.bornTimestamp,
        bornHost: encodeHost(conn.remoteAddress),
        storeHost: ctx.storeHost,
        reconsumeTimes: h.reconsumeTimes ?? 0,
        preparedTransactionOffset: 0,
        body,
        properties: h.properties,
        tagsCode: tagsCode(props.get(Prop.TAGS)),
        waitStoreMsgOK: props.get(Prop.WAIT) !== 'false',
      });
      const elapsedMs = performance.now() - started;
      const first = result.appended[0];
      if (first && (result.status === 'PUT_OK' || result.status === 'FLUSH_DISK_TIMEOUT')) {
        ctx.stats.putMessageTimes += result.appended.length;
        ctx.stats.putMessageBytes += body.length;
        ctx.metrics?.sent(tc.topicName, result.appended.length, body.length, elapsedMs);
        Object.assign(ext, { msgId: first.offsetMsgId, queueId: String(queueId), queueOffset: String(first.queueOffset) });
      } else {
        // As Java: a store failure is logged; the answer reflects the push.
        ctx.metrics?.putFailed(result.status, elapsedMs);
        ctx.log.warn({ topic: tc.topicName, status: result.status, remark: result.remark }, 'reply message not stored');
      }
    }
    if (!pushed.ok) return createResponse(req, ResponseCode.SYSTEM_ERROR, pushed.remark, ext);
    return createResponse(req, ResponseCode.SUCCESS, undefined, ext);
  }

  /** ReplyMessageProcessor.pushReplyMessage: hands the reply to the requester's connection. */
  async #push(h: SendRequestHeader, body: Buffer, replier: RemotingConnection): Promise<PushOutcome> {
    const ctx = this.#ctx;
    const props = decodeProperties(h.properties);
    const requester = props.get(ReplyProp.REPLY_TO_CLIENT);
    if (requester === undefined) {
      ctx.log.warn({ topic: h.topic, replier: replier.remoteAddress }, 'reply message without REPLY_TO_CLIENT cannot be pushed');
      return { ok: false, remark: `reply message properties[${ReplyProp.REPLY_TO_CLIENT}] is null` };
    }
    const channel = ctx.clients.findProducerChannel(requester);
    if (!channel) {
      const remark = `push reply message fail, channel of <${requester}> not found: the requester is not connected to broker ${ctx.config.brokerName} (it has gone, or its request timed out and it stopped)`;
      ctx.log.warn({ requester, correlationId: props.get(ReplyProp.CORRELATION_ID), replier: replier.remoteAddress }, 'reply message: requester not connected');
      return { ok: false, remark };
    }
    props.set(ReplyProp.PUSH_REPLY_TIME, String(Date.now()));
    // ReplyMessageRequestHeader: every @CFNotNull field present, reconsumeTimes only when given.
    const fields: Record<string, string> = {
      producerGroup: h.producerGroup,
      topic: h.topic,
      defaultTopic: h.defaultTopic,
      defaultTopicQueueNums: String(h.defaultTopicQueueNums),
      queueId: String(h.queueId),
      sysFlag: String(h.sysFlag),
      bornTimestamp: String(h.bornTimestamp),
      flag: String(h.flag),
      properties: encodeProperties(props),
      unitMode: String(h.unitMode),
      bornHost: replier.remoteAddress,
      storeHost: ctx.brokerAddr,
      storeTimestamp: String(Date.now()),
    };
    if (h.reconsumeTimes !== undefined) fields.reconsumeTimes = String(h.reconsumeTimes);
    try {
      const response = await channel.conn.invoke(createRequest(RequestCode.PUSH_REPLY_MESSAGE_TO_CLIENT, fields, body), PUSH_REPLY_TIMEOUT_MS);
      if (response.code === ResponseCode.SUCCESS) return { ok: true };
      ctx.log.warn({ requester, code: response.code, remark: response.remark }, 'requester refused the reply message');
      return { ok: false, remark: `push reply message to ${requester} fail: code ${response.code} ${response.remark ?? ''}`.trim() };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      ctx.log.warn({ requester, err: message }, 'push of the reply message failed');
      return { ok: false, remark: `push reply message to ${requester} fail: ${message}` };
    }
  }

  /** AbstractSendMessageProcessor.msgCheck, as far as a reply needs it. */

}
