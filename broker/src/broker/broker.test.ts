// The broker in-process, through real sockets: our RemotingClient plays the client.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../common/logger.js';
import { NameServer } from '../namesrv/namesrv.js';
import { RequestCode, ResponseCode } from '../protocol/codes.js';
import { decodeMessageRecords, decodeOffsetMsgId, encodeBatchBody, encodeProperties, getProperty, javaStringHash } from '../protocol/message.js';
import { createRequest, SerializeType, type RemotingCommand } from '../protocol/remoting.js';
import { RemotingClient } from '../transport/client.js';
import type { BrokerController } from './broker-controller.js';
import { startTestBroker } from './broker.testbed.js';
import { PullSysFlag } from './pull-processor.js';

let dir: string;
let namesrvs: NameServer[];
let broker: BrokerController;
let client: RemotingClient;
let addr: string;

async function startBroker(extra: Record<string, string> = {}): Promise<void> {
  broker = await startTestBroker('t', join(dir, 'store'), { namesrvAddr: namesrvs.map((n) => `127.0.0.1:${n.port}`).join(';'), ...extra });
  addr = broker.brokerAddr;
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'broker-test-'));
  namesrvs = [new NameServer({ listenPort: 0, bindAddress: '127.0.0.1' }, silentLogger()), new NameServer({ listenPort: 0, bindAddress: '127.0.0.1' }, silentLogger())];
  for (const n of namesrvs) await n.start();
  client = new RemotingClient(silentLogger());
});

afterEach(async () => {
  await client.close();
  await broker?.shutdown();
  for (const n of namesrvs) await n.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

function sendRequest(topic: string, body: Buffer, props: Record<string, string>, opts: { queueId?: number; v2?: boolean; type?: SerializeType } = {}): RemotingCommand {
  const fields = {
    producerGroup: 'PG',
    topic,
    defaultTopic: 'TBW102',
    defaultTopicQueueNums: '4',
    queueId: String(opts.queueId ?? 0),
    sysFlag: '0',
    bornTimestamp: String(Date.now()),
    flag: '3',
    properties: encodeProperties(props),
    reconsumeTimes: '0',
  };
  if (!opts.v2) return createRequest(RequestCode.SEND_MESSAGE, fields, body, opts.type);
  const letters: Record<string, string> = {
    a: fields.producerGroup, b: topic, c: fields.defaultTopic, d: fields.defaultTopicQueueNums, e: fields.queueId, f: '0', g: fields.bornTimestamp, h: '3', i: fields.properties, j: '0',
  };
  return createRequest(RequestCode.SEND_MESSAGE_V2, letters, body, opts.type);
}

function pullRequest(group: string, topic: string, queueId: number, offset: number, sysFlag: number = PullSysFlag.SUBSCRIPTION, subscription = '*', suspendMs = 1000): RemotingCommand {
  return createRequest(RequestCode.PULL_MESSAGE, {
    consumerGroup: group,
    topic,
    queueId: String(queueId),
    queueOffset: String(offset),
    maxMsgNums: '32',
    sysFlag: String(sysFlag),
    commitOffset: '0',
    suspendTimeoutMillis: String(suspendMs),
    subscription,
    subVersion: '0',
    expressionType: 'TAG',
  });
}

describe('broker', () => {
  it('registers with every name server and stores sends with Java-compatible offsets and ids', async () => {
    await startBroker();
    await client.invokeOk(addr, createRequest(RequestCode.UPDATE_AND_CREATE_TOPIC, { topic: 'T1', defaultTopic: 'TBW102', readQueueNums: '2', writeQueueNums: '2', perm: '6', topicFilterType: 'SINGLE_TAG', order: 'false' }));
    for (const n of namesrvs) await waitFor(() => n.routes.getRoute('T1') !== undefined);
    const r1 = await client.invokeOk(addr, sendRequest('T1', Buffer.from('hello'), { TAGS: 'TagA', KEYS: 'k1 k2', WAIT: 'true', u: 'é' }));
    const r2 = await client.invokeOk(addr, sendRequest('T1', Buffer.from('world'), { TAGS: 'TagB' }, { v2: true, type: SerializeType.ROCKETMQ }));
    expect(r1.extFields).toMatchObject({ queueId: '0', queueOffset: '0', MSG_REGION: 'DefaultRegion', TRACE_ON: 'true' });
    expect(r2.extFields.queueOffset).toBe('1');
    expect(r2.serializeType).toBe(SerializeType.ROCKETMQ);
    const id1 = decodeOffsetMsgId(r1.extFields.msgId!);
    expect(id1).toEqual({ storeHost: addr, physicalOffset: 0 });

    const pulled = await client.invokeOk(addr, pullRequest('G1', 'T1', 0, 0));
    const msgs = decodeMessageRecords(pulled.body!);
    expect(msgs.map((m) => m.body.toString())).toEqual(['hello', 'world']);
    expect(msgs[0]!.flag).toBe(3);
    expect(getProperty(msgs[0]!.properties, 'KEYS')).toBe('k1 k2');
    expect(getProperty(msgs[0]!.properties, 'u')).toBe('é');
    expect(getProperty(msgs[0]!.properties, 'UNIQ_KEY')).toMatch(/^[0-9A-F]{32}$/);
    expect(getProperty(msgs[0]!.properties, 'CLUSTER')).toBe('DefaultCluster');
    expect(pulled.extFields).toMatchObject({ nextBeginOffset: '2', minOffset: '0', maxOffset: '2' });

    const view = await client.invokeOk(addr, createRequest(RequestCode.VIEW_MESSAGE_BY_ID, { offset: String(id1.physicalOffset) }));
    expect(decodeMessageRecords(view.body!)[0]!.body.toString()).toBe('hello');
  });

  it('auto-creates topics through TBW102, or answers TOPIC_NOT_EXIST when that is off', async () => {
    await startBroker();
    const r = await client.invokeOk(addr, sendRequest('AutoTopic', Buffer.from('x'), {}));
    expect(r.code).toBe(ResponseCode.SUCCESS);
    expect(broker.topics.get('AutoTopic')).toMatchObject({ readQueueNums: 4, writeQueueNums: 4, perm: 6 });
    await waitFor(() => namesrvs[0]!.routes.getRoute('AutoTopic') !== undefined);
    await broker.shutdown();
    await startBroker({ autoCreateTopicEnable: 'false' });
    const no = await client.invoke(addr, sendRequest('Other', Buffer.from('x'), {}));
    expect(no.code).toBe(ResponseCode.TOPIC_NOT_EXIST);
    expect(no.remark).toBe('topic[Other] not exist, apply first please!');
  });

  it('refuses bad sends with the RocketMQ code and keeps the connection', async () => {
    await startBroker({ maxMessageSize: '1024' });
    const big = await client.invoke(addr, sendRequest('T', Buffer.alloc(2048), {}));
    expect(big.code).toBe(ResponseCode.MESSAGE_ILLEGAL);
    const badTopic = await client.invoke(addr, sendRequest('bad topic!', Buffer.from('x'), {}));
    expect(badTopic.code).toBe(ResponseCode.INVALID_PARAMETER);
    const sys = await client.invoke(addr, sendRequest('SCHEDULE_TOPIC_XXXX', Buffer.from('x'), {}));
    expect(sys.code).toBe(ResponseCode.NO_PERMISSION);
    const timer = await client.invoke(addr, sendRequest('T', Buffer.from('x'), { TIMER_DELAY_SEC: String(4 * 24 * 3600) }));
    expect(timer.code).toBe(ResponseCode.MESSAGE_ILLEGAL);
    expect(timer.remark).toMatch(/timer message illegal/);
    const longProps = await client.invoke(addr, sendRequest('T', Buffer.from('x'), { KEYS: 'k'.repeat(33_000) }));
    expect(longProps.code).toBe(ResponseCode.MESSAGE_ILLEGAL);
    expect(longProps.remark).toMatch(/properties of \d+ bytes exceed 32767/);
    const badQueue = await client.invoke(addr, sendRequest('T', Buffer.from('x'), {}, { queueId: 99 }));
    expect(badQueue.code).toBe(ResponseCode.INVALID_PARAMETER);
    const unknown = await client.invoke(addr, createRequest(9999));
    expect(unknown.code).toBe(ResponseCode.REQUEST_CODE_NOT_SUPPORTED);
    const ok = await client.invoke(addr, sendRequest('T', Buffer.from('fine'), {}));
    expect(ok.code).toBe(ResponseCode.SUCCESS);
  });

  it('stores a batch as consecutive messages with comma-joined ids', async () => {
    await startBroker();
    const body = encodeBatchBody([0, 1, 2].map((i) => ({ flag: i, body: Buffer.from(`m${i}`), properties: encodeProperties({ UNIQ_KEY: `U${i}`, TAGS: 'T' }) })));
    const req = sendRequest('Batch', body, {}, { v2: true });
    req.code = RequestCode.SEND_BATCH_MESSAGE;
    req.extFields.m = 'true';
    const r = await client.invokeOk(addr, req);
    expect(r.extFields.msgId!.split(',')).toHaveLength(3);
    const pulled = decodeMessageRecords((await client.invokeOk(addr, pullRequest('G', 'Batch', 0, 0))).body!);
    expect(pulled.map((m) => [m.queueOffset, m.body.toString(), m.flag])).toEqual([[0, 'm0', 0], [1, 'm1', 1], [2, 'm2', 2]]);
  });

  it('refuses bad batches with MESSAGE_ILLEGAL and a remark, storing none of their messages', async () => {
    await startBroker({ maxMessageSize: '4096' });
    const batchReq = (topic: string, body: Buffer): RemotingCommand => {
      const req = sendRequest(topic, body, {}, { v2: true });
      req.code = RequestCode.SEND_BATCH_MESSAGE;
      req.extFields.m = 'true';
      return req;
    };
    const entry = (props: Record<string, string>, size = 8) => ({ flag: 0, body: Buffer.alloc(size, 1), properties: encodeProperties(props) });
    const cases: [string, RemotingCommand, RegExp][] = [
      ['oversize', batchReq('B', encodeBatchBody([entry({}, 3000), entry({}, 3000)])), /6044 bytes exceeds/],
      ['empty', batchReq('B', Buffer.alloc(0)), /batch is empty/],
      ['truncated entry', batchReq('B', encodeBatchBody([entry({})]).subarray(0, 20)), /batch entry 0/],
      ['delay level inside', batchReq('B', encodeBatchBody([entry({}), entry({ DELAY: '2' })])), /delay level is not supported in batch/],
      ['timer inside', batchReq('B', encodeBatchBody([entry({ TIMER_DELAY_SEC: '5' })])), /timer message .* not supported in batch/],
      ['transaction half inside', batchReq('B', encodeBatchBody([entry({ TRAN_MSG: 'true' })])), /cannot hold transaction messages/],
      ['to a retry topic', batchReq('%RETRY%G', encodeBatchBody([entry({})])), /does not support retry group/],
    ];
    for (const [name, req, remark] of cases) {
      const r = await client.invoke(addr, req);
      expect([name, r.code]).toEqual([name, ResponseCode.MESSAGE_ILLEGAL]);
      expect(r.remark, name).toMatch(remark);
    }
    expect(broker.store.getMaxOffsetInQueue('B', 0)).toBe(0);
    // The connection is still good.
    const ok = await client.invokeOk(addr, batchReq('B', encodeBatchBody([entry({}), entry({})])));
    expect(ok.extFields.msgId!.split(',')).toHaveLength(2);
  });

  it('long-polls an empty pull until a message arrives, filters tags, and reports moved offsets', async () => {
    await startBroker();
    await client.invokeOk(addr, sendRequest('LP', Buffer.from('first'), { TAGS: 'a' }));
    const started = Date.now();
    const held = client.invoke(addr, pullRequest('G', 'LP', 0, 1, PullSysFlag.SUBSCRIPTION | PullSysFlag.SUSPEND, 'b', 10_000), 15_000);
    await new Promise((r) => setTimeout(r, 200));
    await client.invokeOk(addr, sendRequest('LP', Buffer.from('not for you'), { TAGS: 'a' }));
    await new Promise((r) => setTimeout(r, 200));
    await client.invokeOk(addr, sendRequest('LP', Buffer.from('yours'), { TAGS: 'b' }));
    const res = await held;
    expect(Date.now() - started).toBeLessThan(5000);
    expect(res.code).toBe(ResponseCode.SUCCESS);
    expect(decodeMessageRecords(res.body!).map((m) => m.body.toString())).toEqual(['yours']);

    const timeout = await client.invoke(addr, pullRequest('G', 'LP', 0, 3, PullSysFlag.SUBSCRIPTION | PullSysFlag.SUSPEND, '*', 300), 5000);
    expect(timeout.code).toBe(ResponseCode.PULL_NOT_FOUND);
    expect(timeout.extFields.nextBeginOffset).toBe('3');
    const moved = await client.invoke(addr, pullRequest('G', 'LP', 0, 50));
    expect(moved.code).toBe(ResponseCode.PULL_OFFSET_MOVED);
    expect(moved.extFields.nextBeginOffset).toBe('3');
    expect(javaStringHash('b')).toBe(98);
  });

  it('tracks consumers by heartbeat, notifies the group on changes, and keeps offsets', async () => {
    await startBroker();
    await client.invokeOk(addr, sendRequest('CT', Buffer.from('x'), {}));
    const hb = (clientID: string): RemotingCommand =>
      createRequest(RequestCode.HEART_BEAT, {}, Buffer.from(JSON.stringify({
        clientID,
        producerDataSet: [],
        consumerDataSet: [{ groupName: 'CG', consumeType: 'CONSUME_PASSIVELY', messageModel: 'CLUSTERING', consumeFromWhere: 'CONSUME_FROM_LAST_OFFSET', subscriptionDataSet: [{ topic: 'CT', subString: '*', tagsSet: [], codeSet: [], expressionType: 'TAG', subVersion: 1 }] }],
      })));
    const c1 = await client.connection(addr);
    const notified: string[] = [];
    const client2 = new RemotingClient(silentLogger());
    client.register(RequestCode.NOTIFY_CONSUMER_IDS_CHANGED, (req) => {
      notified.push(req.extFields.consumerGroup!);
      return null;
    });
    await c1.invokeOk(hb('c1'), 3000);
    expect(broker.topics.get('%RETRY%CG')).toBeDefined();
    await client2.invokeOk(addr, hb('c2'));
    await waitFor(() => notified.includes('CG'));
    const list = JSON.parse((await client.invokeOk(addr, createRequest(RequestCode.GET_CONSUMER_LIST_BY_GROUP, { consumerGroup: 'CG' }))).body!.toString());
    expect(list.consumerIdList.sort()).toEqual(['c1', 'c2']);
    await client2.close();
    await waitFor(() => broker.clients.consumerIds('CG').length === 1);

    // Pull without a subscription in the request uses the heartbeat's.
    const pulled = await c1.invokeOk(pullRequest('CG', 'CT', 0, 0, 0), 3000);
    expect(decodeMessageRecords(pulled.body!)).toHaveLength(1);
    const unknownGroup = await c1.invoke(pullRequest('Nobody', 'CT', 0, 0, 0), 3000);
    expect(unknownGroup.code).toBe(ResponseCode.SUBSCRIPTION_NOT_EXIST);

    const q = (group: string) => c1.invoke(createRequest(RequestCode.QUERY_CONSUMER_OFFSET, { consumerGroup: group, topic: 'CT', queueId: '0' }), 3000);
    expect((await q('CG')).extFields.offset).toBe('0'); // never committed, first message still hot
    await c1.invokeOk(createRequest(RequestCode.UPDATE_CONSUMER_OFFSET, { consumerGroup: 'CG', topic: 'CT', queueId: '0', commitOffset: '1' }), 3000);
    expect((await q('CG')).extFields.offset).toBe('1');
    const strict = await c1.invoke(createRequest(RequestCode.QUERY_CONSUMER_OFFSET, { consumerGroup: 'New', topic: 'CT', queueId: '0', setZeroIfNotFound: 'false' }), 3000);
    expect(strict.code).toBe(ResponseCode.QUERY_NOT_FOUND);
    const max = await c1.invokeOk(createRequest(RequestCode.GET_MAX_OFFSET, { topic: 'CT', queueId: '0' }), 3000);
    expect(max.extFields.offset).toBe('1');
  });

  it('keeps messages, topics and offsets across a restart and unregisters on shutdown', async () => {
    await startBroker();
    for (let i = 0; i < 5; i++) await client.invokeOk(addr, sendRequest('R', Buffer.from(`m${i}`), {}));
    await client.invokeOk(addr, createRequest(RequestCode.UPDATE_CONSUMER_OFFSET, { consumerGroup: 'G', topic: 'R', queueId: '0', commitOffset: '3' }));
    await waitFor(() => namesrvs.every((n) => n.routes.getRoute('R') !== undefined));
    await broker.shutdown();
    for (const n of namesrvs) expect(n.routes.getRoute('R')).toBeUndefined();
    await startBroker();
    const q = await client.invokeOk(addr, createRequest(RequestCode.QUERY_CONSUMER_OFFSET, { consumerGroup: 'G', topic: 'R', queueId: '0' }));
    expect(q.extFields.offset).toBe('3');
    const pulled = decodeMessageRecords((await client.invokeOk(addr, pullRequest('G', 'R', 0, 3))).body!);
    expect(pulled.map((m) => m.body.toString())).toEqual(['m3', 'm4']);
    const next = await client.invokeOk(addr, sendRequest('R', Buffer.from('m5'), {}));
    expect(next.extFields.queueOffset).toBe('5');
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
