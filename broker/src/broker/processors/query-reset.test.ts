// QUERY_MESSAGE, SEARCH_OFFSET_BY_TIMESTAMP boundaries and the broker → client offset requests,
// in-process through real sockets (our RemotingClient plays the client and the consumer).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../common/logger.js';
import { loadBrokerConfig } from '../../config/broker-config.js';
import { RequestCode, ResponseCode } from '../../protocol/codes.js';
import { decodeMessageRecords, encodeProperties } from '../../protocol/message.js';
import { PullSysFlag } from '../pull-processor.js';
import { createRequest, createResponse, type RemotingCommand } from '../../protocol/remoting.js';
import { RemotingClient } from '../../transport/client.js';
import { BrokerController } from '../broker-controller.js';
import { freePort } from '../broker.testbed.js';
import { jsonFieldText } from './reset-offset-processor.js';

let dir: string;
let broker: BrokerController;
let client: RemotingClient;
let addr: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'broker-query-'));
  const { config } = loadBrokerConfig({
    brokerName: 'broker-q',
    brokerIP1: '127.0.0.1',
    bindAddress: '127.0.0.1',
    listenPort: String(await freePort()),
    storePathRootDir: join(dir, 'store'),
    mappedFileSizeCommitLog: String(1024 * 1024),
    maxHashSlotNum: '1000',
    maxIndexNum: '4000',
  });
  broker = new BrokerController(config, silentLogger());
  await broker.start();
  addr = broker.brokerAddr;
  client = new RemotingClient(silentLogger());
});

afterAll(async () => {
  await client.close();
  await broker.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

function send(topic: string, body: string, props: Record<string, string>, queueId = 0): Promise<RemotingCommand> {
  return client.invokeOk(
    addr,
    createRequest(RequestCode.SEND_MESSAGE, {
      producerGroup: 'PG', topic, defaultTopic: 'TBW102', defaultTopicQueueNums: '2', queueId: String(queueId), sysFlag: '0',
      bornTimestamp: String(Date.now()), flag: '0', properties: encodeProperties(props), reconsumeTimes: '0',
    }, Buffer.from(body)),
  );
}

function query(topic: string, key: string, maxNum: number, extra: Record<string, string> = {}, begin = 0, end = Number.MAX_SAFE_INTEGER): Promise<RemotingCommand> {
  return client.invoke(
    addr,
    createRequest(RequestCode.QUERY_MESSAGE, { topic, key, maxNum: String(maxNum), beginTimestamp: String(begin), endTimestamp: String(end), ...extra }),
  );
}

describe('QUERY_MESSAGE', () => {
  it('returns the stored records of a key, newest first, with the index progress header', async () => {
    const a = await send('QT', 'a', { KEYS: 'order-7 x', UNIQ_KEY: 'UNIQ-A' });
    const b = await send('QT', 'b', { KEYS: 'order-7', UNIQ_KEY: 'UNIQ-B' });
    const r = await query('QT', 'order-7', 32);
    expect(r.code).toBe(ResponseCode.SUCCESS);
    const msgs = decodeMessageRecords(r.body!);
    expect(msgs.map((m) => m.body.toString())).toEqual(['b', 'a']);
    expect(msgs.map((m) => m.queueOffset)).toEqual([Number(b.extFields.queueOffset), Number(a.extFields.queueOffset)]);
    expect(Number(r.extFields.indexLastUpdatePhyoffset)).toBe(msgs[0]!.physicalOffset);
    expect(Number(r.extFields.indexLastUpdateTimestamp)).toBe(msgs[0]!.storeTimestamp);
    // Java clients send Long.MAX_VALUE as the end of a unique-key query.
    const byId = await query('QT', 'UNIQ-A', 1, { _UNIQUE_KEY_QUERY: 'true' });
    expect(decodeMessageRecords(byId.body!).map((m) => m.body.toString())).toEqual(['a']);
    const maxLong = await client.invoke(addr, createRequest(RequestCode.QUERY_MESSAGE, { topic: 'QT', key: 'x', maxNum: '64', beginTimestamp: '0', endTimestamp: '9223372036854775807' }));
    expect(decodeMessageRecords(maxLong.body!).map((m) => m.body.toString())).toEqual(['a']);
  });

  it('answers QUERY_NOT_FOUND (with the header) for an unknown key, another topic or a past time range', async () => {
    await send('QT2', 'c', { KEYS: 'only-here' });
    for (const r of [await query('QT2', 'nope', 32), await query('QT', 'only-here', 32), await query('QT2', 'only-here', 32, {}, 0, Date.now() - 3_600_000)]) {
      expect(r.code).toBe(ResponseCode.QUERY_NOT_FOUND);
      expect(r.remark).toMatch(/can not find message/);
      expect(r.extFields.indexLastUpdatePhyoffset).toMatch(/^\d+$/);
      expect(r.body ?? Buffer.alloc(0)).toHaveLength(0);
    }
    const bad = await client.invoke(addr, createRequest(RequestCode.QUERY_MESSAGE, { topic: 'QT2', maxNum: '1', beginTimestamp: '0', endTimestamp: '1' }));
    expect(bad.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(bad.remark).toMatch(/<key>/);
  });
});

describe('SEARCH_OFFSET_BY_TIMESTAMP', () => {
  it('returns the lower boundary by default and the upper one with boundaryType=upper', async () => {
    for (let i = 0; i < 2; i++) await send('ST', `e${i}`, {});
    await new Promise((r) => setTimeout(r, 20));
    const gap = Date.now();
    await new Promise((r) => setTimeout(r, 20));
    for (let i = 0; i < 2; i++) await send('ST', `l${i}`, {});
    const search = async (extra: Record<string, string>): Promise<string | undefined> =>
      (await client.invokeOk(addr, createRequest(RequestCode.SEARCH_OFFSET_BY_TIMESTAMP, { topic: 'ST', queueId: '0', timestamp: String(gap), ...extra }))).extFields.offset;
    expect(await search({})).toBe('2');
    expect(await search({ boundaryType: 'LOWER' })).toBe('2');
    expect(await search({ boundaryType: 'upper' })).toBe('1');
    expect(await search({ boundaryType: 'UPPER' })).toBe('1');
  });
});

describe('INVOKE_BROKER_TO_RESET_OFFSET and INVOKE_BROKER_TO_GET_CONSUMER_STATUS', () => {
  const setServerSide = (on: boolean) =>
    client.invokeOk(addr, createRequest(RequestCode.UPDATE_BROKER_CONFIG, {}, Buffer.from(`useServerSideResetOffset=${String(on)}`)));
  const pullOnce = (group: string, topic: string, queueId: number, offset: number) =>
    client.invoke(addr, createRequest(RequestCode.PULL_MESSAGE, {
      consumerGroup: group, topic, queueId: String(queueId), queueOffset: String(offset), maxMsgNums: '32', sysFlag: String(PullSysFlag.SUBSCRIPTION),
      commitOffset: '0', suspendTimeoutMillis: '0', subscription: '*', subVersion: '0', expressionType: 'TAG',
    }));

  it('5.x server-side reset: commits offsets at the time with no consumer online and moves the next pull', async () => {
    for (let i = 0; i < 3; i++) await send('SRT', `o${i}`, {}, 0);
    await new Promise((r) => setTimeout(r, 20));
    const t = Date.now();
    await new Promise((r) => setTimeout(r, 20));
    for (let i = 0; i < 2; i++) await send('SRT', `n${i}`, {}, 0);
    const mqKey = (q: number): string => JSON.stringify({ brokerName: 'broker-q', queueId: q, topic: 'SRT' });
    const reset = (group: string, extra: Record<string, string> = {}) =>
      client.invoke(addr, createRequest(RequestCode.INVOKE_BROKER_TO_RESET_OFFSET, { topic: 'SRT', group, timestamp: String(t), isForce: 'true', ...extra }));

    expect((await reset('SG_unknown')).code).toBe(ResponseCode.SUBSCRIPTION_GROUP_NOT_EXIST);
    const noTopic = await client.invoke(addr, createRequest(RequestCode.INVOKE_BROKER_TO_RESET_OFFSET, { topic: 'Nope', group: 'SG', timestamp: '0', isForce: 'true' }));
    expect(noTopic.code).toBe(ResponseCode.TOPIC_NOT_EXIST);
    await client.invokeOk(addr, createRequest(RequestCode.UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, {}, Buffer.from(JSON.stringify({ groupName: 'SG', consumeEnable: true }))));

    // The consumer had read everything (offset 5); nobody is online.
    await client.invokeOk(addr, createRequest(RequestCode.UPDATE_CONSUMER_OFFSET, { consumerGroup: 'SG', topic: 'SRT', queueId: '0', commitOffset: '5' }));
    const ok = await reset('SG');
    expect(ok.code, ok.remark).toBe(ResponseCode.SUCCESS);
    const queues = broker.topics.get('SRT')!.readQueueNums;
    expect(ok.body?.toString()).toBe(`{"offsetTable":{${[...Array(queues).keys()].map((q) => `${mqKey(q)}:${q === 0 ? 3 : 0}`).join(',')}}}`);
    const committed = await client.invokeOk(addr, createRequest(RequestCode.QUERY_CONSUMER_OFFSET, { consumerGroup: 'SG', topic: 'SRT', queueId: '0' }));
    expect(committed.extFields.offset).toBe('3');
    // A consumer writing its old position back before it pulled again is ignored.
    await client.invokeOk(addr, createRequest(RequestCode.UPDATE_CONSUMER_OFFSET, { consumerGroup: 'SG', topic: 'SRT', queueId: '0', commitOffset: '5' }));
    // Its next pull is moved to the reset offset, once; then pulls read from there.
    const moved = await pullOnce('SG', 'SRT', 0, 5);
    expect(moved.code).toBe(ResponseCode.PULL_OFFSET_MOVED);
    expect(moved.extFields.nextBeginOffset).toBe('3');
    const after = await pullOnce('SG', 'SRT', 0, 3);
    expect(after.code).toBe(ResponseCode.SUCCESS);
    expect(decodeMessageRecords(after.body!).map((m) => m.body.toString())).toEqual(['n0', 'n1']);
    const again = await client.invokeOk(addr, createRequest(RequestCode.QUERY_CONSUMER_OFFSET, { consumerGroup: 'SG', topic: 'SRT', queueId: '0' }));
    expect(again.extFields.offset).toBe('3');

    // One queue to one offset; out of range refused.
    const one = await reset('SG', { queueId: '0', offset: '1' });
    expect(one.body?.toString()).toBe(`{"offsetTable":{${mqKey(0)}:1}}`);
    const far = await reset('SG', { queueId: '0', offset: '9' });
    expect(far.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(far.remark).toBe('Target offset 9 not in consume queue range [0-5]');
  });

  it('4.x client-side reset (useServerSideResetOffset=false): tells live consumers their offsets at the time, and collects their status', async () => {
    await setServerSide(false);
    for (let i = 0; i < 3; i++) await send('RT', `o${i}`, {}, 0);
    await new Promise((r) => setTimeout(r, 20));
    const t = Date.now();
    await new Promise((r) => setTimeout(r, 20));
    for (let i = 0; i < 2; i++) await send('RT', `n${i}`, {}, 0);

    const reset = () => createRequest(RequestCode.INVOKE_BROKER_TO_RESET_OFFSET, { topic: 'RT', group: 'RG', timestamp: String(t), isForce: 'true' });
    const noOffsets = await client.invoke(addr, reset());
    expect(noOffsets.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(noOffsets.remark).toBe('THe consumer group <RG> not exist');
    for (const q of ['0', '1']) await client.invokeOk(addr, createRequest(RequestCode.UPDATE_CONSUMER_OFFSET, { consumerGroup: 'RG', topic: 'RT', queueId: q, commitOffset: q === '0' ? '5' : '0' }));
    const offline = await client.invoke(addr, reset());
    expect(offline.code).toBe(ResponseCode.CONSUMER_NOT_ONLINE);
    expect(offline.remark).toMatch(/^Consumer not online, so can not reset offset, Group: RG Topic: RT Timestamp: \d+$/);
    const noTopic = await client.invoke(addr, createRequest(RequestCode.INVOKE_BROKER_TO_RESET_OFFSET, { topic: 'Nope', group: 'RG', timestamp: '0', isForce: 'true' }));
    expect(noTopic.code).toBe(ResponseCode.TOPIC_NOT_EXIST);

    // A consumer of RG connects (heartbeat) and answers the broker's requests.
    const consumer = new RemotingClient(silentLogger());
    const resets: RemotingCommand[] = [];
    consumer.register(RequestCode.RESET_CONSUMER_CLIENT_OFFSET, (req) => {
      resets.push(req);
      return null;
    });
    consumer.register(RequestCode.NOTIFY_CONSUMER_IDS_CHANGED, () => null);
    const mqKey = (q: number): string => JSON.stringify({ brokerName: 'broker-q', queueId: q, topic: 'RT' });
    consumer.register(RequestCode.GET_CONSUMER_STATUS_FROM_CLIENT, (req) =>
      createResponse(req, ResponseCode.SUCCESS, undefined, {}, Buffer.from(`{"consumerTable":{},"messageQueueTable":{${mqKey(0)}:3,${mqKey(1)}:0}}`)),
    );
    try {
      await consumer.invokeOk(addr, createRequest(RequestCode.HEART_BEAT, {}, Buffer.from(JSON.stringify({
        clientID: 'client-1',
        producerDataSet: [],
        consumerDataSet: [{ groupName: 'RG', consumeType: 'CONSUME_PASSIVELY', messageModel: 'CLUSTERING', consumeFromWhere: 'CONSUME_FROM_TIMESTAMP', subscriptionDataSet: [{ topic: 'RT', subString: '*', tagsSet: [], codeSet: [], expressionType: 'TAG', subVersion: 1 }] }],
      }))));
      const ok = await client.invoke(addr, reset());
      expect(ok.code).toBe(ResponseCode.SUCCESS);
      const expected = `{"offsetTable":{${mqKey(0)}:3,${mqKey(1)}:0}}`;
      expect(ok.body?.toString()).toBe(expected);
      await waitFor(() => resets.length === 1);
      expect(resets[0]!.extFields).toMatchObject({ topic: 'RT', group: 'RG', timestamp: String(t) });
      expect(resets[0]!.body?.toString()).toBe(expected);
      // Not forced: a committed offset below the time's offset is kept.
      const kept = await client.invokeOk(addr, createRequest(RequestCode.INVOKE_BROKER_TO_RESET_OFFSET, { topic: 'RT', group: 'RG', timestamp: '-1', isForce: 'false' }));
      expect(kept.body?.toString()).toBe(`{"offsetTable":{${mqKey(0)}:5,${mqKey(1)}:0}}`);

      // 5.x resetOffsetByQueueId: one queue to one offset, committed here and told to the consumer.
      const one = await client.invokeOk(addr, createRequest(RequestCode.INVOKE_BROKER_TO_RESET_OFFSET, { topic: 'RT', group: 'RG', timestamp: '0', isForce: 'true', queueId: '0', offset: '1' }));
      expect(one.body?.toString()).toBe(`{"offsetTable":{${mqKey(0)}:1}}`);
      await waitFor(() => resets.length === 3);
      expect(resets[2]!.body?.toString()).toBe(`{"offsetTable":{${mqKey(0)}:1}}`);
      const committed = await client.invokeOk(addr, createRequest(RequestCode.QUERY_CONSUMER_OFFSET, { consumerGroup: 'RG', topic: 'RT', queueId: '0' }));
      expect(committed.extFields.offset).toBe('1');
      const outOfRange = await client.invoke(addr, createRequest(RequestCode.INVOKE_BROKER_TO_RESET_OFFSET, { topic: 'RT', group: 'RG', timestamp: '0', isForce: 'true', queueId: '0', offset: '7' }));
      expect(outOfRange.code).toBe(ResponseCode.SYSTEM_ERROR);
      expect(outOfRange.remark).toBe('Target offset 7 not in consume queue range [0-5]');

      const status = await client.invokeOk(addr, createRequest(RequestCode.INVOKE_BROKER_TO_GET_CONSUMER_STATUS, { topic: 'RT', group: 'RG', clientAddr: '' }));
      expect(status.body?.toString()).toBe(`{"consumerTable":{"client-1":{${mqKey(0)}:3,${mqKey(1)}:0}},"messageQueueTable":{}}`);
      const none = await client.invoke(addr, createRequest(RequestCode.INVOKE_BROKER_TO_GET_CONSUMER_STATUS, { topic: 'RT', group: 'Other' }));
      expect(none.code).toBe(ResponseCode.SYSTEM_ERROR);
    } finally {
      await consumer.close();
      await setServerSide(true);
    }
  });

  it('reads a field of fastjson text whose map keys are objects', () => {
    const text = '{"consumerTable":{},"messageQueueTable":{{"brokerName":"b","queueId":0,"topic":"T"}:7},"n":3}';
    expect(jsonFieldText(text, 'messageQueueTable')).toBe('{{"brokerName":"b","queueId":0,"topic":"T"}:7}');
    expect(jsonFieldText(text, 'n')).toBe('3');
    expect(jsonFieldText(text, 'topic')).toBeUndefined();
  });
});

async function waitFor(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(cond()).toBe(true);
}
