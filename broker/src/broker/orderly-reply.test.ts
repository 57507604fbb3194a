// LOCK_BATCH_MQ / UNLOCK_BATCH_MQ and SEND_REPLY_MESSAGE(_V2) against an in-process broker,
// through real sockets: RemotingClients play consumers, requesters and repliers.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../common/logger.js';
import { RequestCode, ResponseCode } from '../protocol/codes.js';
import { decodeMessageRecords, decodeProperties, encodeProperties, getProperty } from '../protocol/message.js';
import { createRequest, createResponse, FLAG_ONEWAY, type RemotingCommand } from '../protocol/remoting.js';
import { RemotingClient } from '../transport/client.js';
import type { BrokerController } from './broker-controller.js';
import { startTestBroker } from './broker.testbed.js';

let dir: string;
let broker: BrokerController;
let addr: string;
const clients: RemotingClient[] = [];

function newClient(): RemotingClient {
  const c = new RemotingClient(silentLogger());
  clients.push(c);
  return c;
}

async function startBroker(extra: Record<string, string> = {}): Promise<void> {
  broker = await startTestBroker('t', join(dir, 'store'), { brokerName: 'broker-o', ...extra });
  addr = broker.brokerAddr;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'orderly-reply-test-'));
});

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  await broker?.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

interface Mq {
  topic: string;
  brokerName: string;
  queueId: number;
}
const mqs = (...ids: number[]): Mq[] => ids.map((queueId) => ({ topic: 'OT', brokerName: 'broker-o', queueId }));

async function lock(c: RemotingClient, clientId: string, queues: Mq[], group = 'OG'): Promise<number[]> {
  const body = { consumerGroup: group, clientId, onlyThisBroker: true, mqSet: queues };
  const r = await c.invokeOk(addr, createRequest(RequestCode.LOCK_BATCH_MQ, {}, Buffer.from(JSON.stringify(body))));
  const parsed = JSON.parse(r.body!.toString()) as { lockOKMQSet: Mq[] };
  for (const q of parsed.lockOKMQSet) expect(Object.keys(q)).toEqual(['brokerName', 'queueId', 'topic']);
  return parsed.lockOKMQSet.map((q) => q.queueId).sort((a, b) => a - b);
}

describe('orderly consumption locks over the wire', () => {
  it('grants, refuses, renews, expires and unlocks (oneway too)', async () => {
    await startBroker({ rebalanceLockMaxLiveTimeMs: '1000' });
    const a = newClient();
    const b = newClient();
    expect(await lock(a, 'A@1', mqs(0, 1, 2))).toEqual([0, 1, 2]);
    expect(await lock(b, 'B@1', mqs(0, 1, 2, 3))).toEqual([3]);
    // A renews 0 and 1 a few times; 2 goes unrenewed and expires to B.
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 400));
      expect(await lock(a, 'A@1', mqs(0, 1))).toEqual([0, 1]);
    }
    expect(await lock(b, 'B@1', mqs(0, 1, 2, 3))).toEqual([2, 3]);
    // Unlock, the way clients do at shutdown (oneway): B can take A's queues at once.
    const body = Buffer.from(JSON.stringify({ consumerGroup: 'OG', clientId: 'A@1', mqSet: mqs(0, 1) }));
    await a.invokeOneway(addr, { ...createRequest(RequestCode.UNLOCK_BATCH_MQ, {}, body), flag: FLAG_ONEWAY });
    await waitFor(() => broker.locks.holder('OG', mqs(0)[0]!) === undefined);
    expect(await lock(b, 'B@1', mqs(0, 1, 2, 3))).toEqual([0, 1, 2, 3]);
    // A request/response unlock answers SUCCESS; unlocking others' queues changes nothing.
    const r = await a.invoke(addr, createRequest(RequestCode.UNLOCK_BATCH_MQ, {}, Buffer.from(JSON.stringify({ consumerGroup: 'OG', clientId: 'A@1', mqSet: mqs(0) }))));
    expect(r.code).toBe(ResponseCode.SUCCESS);
    expect(broker.locks.holder('OG', mqs(0)[0]!)).toBe('B@1');
  });

  it('keeps locks when the holder disconnects (as Java: they expire)', async () => {
    await startBroker({ rebalanceLockMaxLiveTimeMs: '300' });
    const a = newClient();
    expect(await lock(a, 'A@1', mqs(0))).toEqual([0]);
    await a.close();
    const b = newClient();
    expect(await lock(b, 'B@1', mqs(0))).toEqual([]);
    await new Promise((r) => setTimeout(r, 350));
    expect(await lock(b, 'B@1', mqs(0))).toEqual([0]);
  });

  it('answers a malformed lock body with an error, not a crash', async () => {
    await startBroker();
    const c = newClient();
    const r = await c.invoke(addr, createRequest(RequestCode.LOCK_BATCH_MQ, {}, Buffer.from('{"consumerGroup":"G"}')));
    expect(r.code).toBe(ResponseCode.INVALID_PARAMETER);
    expect(r.remark).toContain('clientId');
  });
});

const REPLY_TOPIC = 'DefaultCluster_REPLY_TOPIC';

function heartbeatAsProducer(clientId: string, group: string): RemotingCommand {
  return createRequest(RequestCode.HEART_BEAT, {}, Buffer.from(JSON.stringify({ clientID: clientId, producerDataSet: [{ groupName: group }], consumerDataSet: [] })));
}

function replyRequest(props: Record<string, string>, body: string, v2: boolean): RemotingCommand {
  const fields = {
    producerGroup: 'PG_REPLIER',
    topic: REPLY_TOPIC,
    defaultTopic: 'TBW102',
    defaultTopicQueueNums: '4',
    queueId: '0',
    sysFlag: '0',
    bornTimestamp: '1700000000000',
    flag: '0',
    properties: encodeProperties(props),
    reconsumeTimes: '0',
  };
  if (!v2) return createRequest(RequestCode.SEND_REPLY_MESSAGE, fields, Buffer.from(body));
  const letters = { a: fields.producerGroup, b: fields.topic, c: fields.defaultTopic, d: '4', e: '0', f: '0', g: fields.bornTimestamp, h: '0', i: fields.properties, j: '0' };
  return createRequest(RequestCode.SEND_REPLY_MESSAGE_V2, letters, Buffer.from(body));
}

describe('request/reply', () => {
  it('pushes the reply (324 and 325) to the requester\'s connection only, and stores it', async () => {
    await startBroker();
    const requester = newClient();
    const bystander = newClient();
    const replier = newClient();
    const got: RemotingCommand[] = [];
    const wrong: RemotingCommand[] = [];
    requester.register(RequestCode.PUSH_REPLY_MESSAGE_TO_CLIENT, (req) => {
      got.push(req);
      return createResponse(req, ResponseCode.SUCCESS);
    });
    bystander.register(RequestCode.PUSH_REPLY_MESSAGE_TO_CLIENT, (req) => {
      wrong.push(req);
      return createResponse(req, ResponseCode.SUCCESS);
    });
    await requester.invokeOk(addr, heartbeatAsProducer('127.0.0.1@req', 'PG_REQ'));
    await bystander.invokeOk(addr, heartbeatAsProducer('127.0.0.1@other', 'PG_REQ'));

    for (const v2 of [false, true]) {
      const props = { REPLY_TO_CLIENT: '127.0.0.1@req', CORRELATION_ID: `corr-${v2}`, MSG_TYPE: 'reply', TTL: '3000', UNIQ_KEY: `U${v2}` };
      const r = await replier.invoke(addr, replyRequest(props, `answer-${v2}`, v2));
      expect(r.code, r.remark).toBe(ResponseCode.SUCCESS);
      expect(r.extFields.queueId).toBe('0');
      expect(r.extFields.msgId).toMatch(/^[0-9A-F]{32}$/); // stored: the offset message id
    }
    expect(wrong).toEqual([]);
    expect(got).toHaveLength(2);
    const push = got[1]!;
    expect(push.body!.toString()).toBe('answer-true');
    // Every @CFNotNull field of ReplyMessageRequestHeader, long names even after a V2 send.
    expect(push.extFields).toMatchObject({
      producerGroup: 'PG_REPLIER', topic: REPLY_TOPIC, defaultTopic: 'TBW102', defaultTopicQueueNums: '4', queueId: '0', sysFlag: '0',
      bornTimestamp: '1700000000000', flag: '0', reconsumeTimes: '0', unitMode: 'false', storeHost: addr,
    });
    expect(push.extFields.bornHost).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(Number(push.extFields.storeTimestamp)).toBeGreaterThan(0);
    const pushedProps = decodeProperties(push.extFields.properties!);
    expect(pushedProps.get('CORRELATION_ID')).toBe('corr-true');
    expect(Number(pushedProps.get('PUSH_REPLY_TIME'))).toBeGreaterThan(0);

    const pulled = broker.store.getMessages(REPLY_TOPIC, 0, 0, { maxMsgNums: 10 });
    const stored = pulled.messages.map((m) => decodeMessageRecords(m)[0]!);
    expect(stored.map((m) => m.body.toString())).toEqual(['answer-false', 'answer-true']);
    expect(getProperty(stored[1]!.properties, 'CORRELATION_ID')).toBe('corr-true');
  });

  it('answers SYSTEM_ERROR with a clear remark when the requester is gone (the reply is still stored)', async () => {
    await startBroker();
    const requester = newClient();
    await requester.invokeOk(addr, heartbeatAsProducer('127.0.0.1@gone', 'PG_REQ'));
    await requester.close();
    await waitFor(() => broker.clients.findProducerChannel('127.0.0.1@gone') === undefined);
    const replier = newClient();
    const r = await replier.invoke(addr, replyRequest({ REPLY_TO_CLIENT: '127.0.0.1@gone', CORRELATION_ID: 'c1', MSG_TYPE: 'reply' }, 'late', true));
    expect(r.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(r.remark).toContain('channel of <127.0.0.1@gone> not found');
    expect(broker.store.getMessages(REPLY_TOPIC, 0, 0, { maxMsgNums: 10 }).messages).toHaveLength(1);

    const noTarget = await replier.invoke(addr, replyRequest({ CORRELATION_ID: 'c2', MSG_TYPE: 'reply' }, 'x', false));
    expect(noTarget.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(noTarget.remark).toContain('REPLY_TO_CLIENT');
  });

  it('does not store replies with storeReplyMessageEnable=false, and reports a requester that refuses', async () => {
    await startBroker({ storeReplyMessageEnable: 'false' });
    const requester = newClient();
    let refuse = false;
    requester.register(RequestCode.PUSH_REPLY_MESSAGE_TO_CLIENT, (req) => createResponse(req, refuse ? ResponseCode.SYSTEM_ERROR : ResponseCode.SUCCESS, refuse ? 'process reply message fail' : undefined));
    await requester.invokeOk(addr, heartbeatAsProducer('127.0.0.1@r', 'PG_REQ'));
    const replier = newClient();
    const ok = await replier.invoke(addr, replyRequest({ REPLY_TO_CLIENT: '127.0.0.1@r', CORRELATION_ID: 'c', MSG_TYPE: 'reply' }, 'x', true));
    expect(ok.code).toBe(ResponseCode.SUCCESS);
    expect(ok.extFields).toMatchObject({ msgId: '0', queueId: '0', queueOffset: '0' });
    refuse = true;
    const refused = await replier.invoke(addr, replyRequest({ REPLY_TO_CLIENT: '127.0.0.1@r', CORRELATION_ID: 'c', MSG_TYPE: 'reply' }, 'x', true));
    expect(refused.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(refused.remark).toContain('process reply message fail');
    expect(broker.store.getMessages(REPLY_TOPIC, 0, 0, { maxMsgNums: 10 }).messages).toHaveLength(0);
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
