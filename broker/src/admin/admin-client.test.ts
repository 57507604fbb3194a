// AdminClient against an in-process NameServer and Broker over real sockets, plus its decoders.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RmqError } from '../common/errors.js';
import { silentLogger } from '../common/logger.js';
import type { BrokerController } from '../broker/broker-controller.js';
import { useBrokerTestBed, waitFor } from '../broker/broker.testbed.js';
import type { NameServer } from '../namesrv/namesrv.js';
import { RequestCode, ResponseCode } from '../protocol/codes.js';
import { encodeProperties } from '../protocol/message.js';
import { createRequest } from '../protocol/remoting.js';
import type { RemotingClient } from '../transport/client.js';
import { RemotingServer } from '../transport/server.js';
import { AdminClient, AdminError, isAdminError, pickBrokerAddr } from './admin-client.js';
import { decodeConsumeStats, decodeResetOffsetBody } from './admin-types.js';
import { parseFastJson } from './fastjson.js';

describe('fastjson reader', () => {
  it('reads object keys, bare numeric keys and ordinary JSON', () => {
    const v = parseFastJson('{"offsetTable":{{"brokerName":"b","queueId":1,"topic":"T"}:{"brokerOffset":5},{"brokerName":"b","queueId":0,"topic":"T"}:{"brokerOffset":2}},"x":{0:"a",1:"b"},"s":"q\\"{","n":[1,-2.5e3,true,null]}') as Record<string, Record<string, unknown>>;
    expect(Object.keys(v.offsetTable!)).toEqual(['{"brokerName":"b","queueId":1,"topic":"T"}', '{"brokerName":"b","queueId":0,"topic":"T"}']);
    expect(v.x).toEqual({ 0: 'a', 1: 'b' });
    expect(v.s).toBe('q"{');
    expect(v.n).toEqual([1, -2500, true, null]);
  });

  it('refuses malformed and too deeply nested input with a ProtocolError', () => {
    for (const bad of ['{"a":1', '{"a" 1}', '[1,]x', '{"a":1}}', '"open', '{a:1}']) {
      expect(() => parseFastJson(bad), bad).toThrow(/not valid \(fast\)JSON/);
    }
    expect(() => parseFastJson('['.repeat(100) + ']'.repeat(100))).toThrow(/nested too deeply/);
  });

  it('decodes ConsumeStats and ResetOffsetBody sorted by queue', () => {
    const stats = decodeConsumeStats(Buffer.from('{"consumeTps":1.5,"offsetTable":{{"brokerName":"b","queueId":1,"topic":"T"}:{"brokerOffset":5,"consumerOffset":3,"lastTimestamp":9},{"brokerName":"b","queueId":0,"topic":"T"}:{"brokerOffset":2,"consumerOffset":2,"lastTimestamp":0}}}'));
    expect(stats.consumeTps).toBe(1.5);
    expect(stats.offsets.map((o) => [o.mq.queueId, o.brokerOffset, o.consumerOffset, o.pullOffset])).toEqual([[0, 2, 2, 2], [1, 5, 3, 3]]);
    expect(decodeResetOffsetBody(Buffer.from('{"offsetTable":{{"brokerName":"b","queueId":2,"topic":"T"}:7}}'))).toEqual([{ mq: { topic: 'T', brokerName: 'b', queueId: 2 }, offset: 7 }]);
  });
});

describe('AdminClient', () => {
  const bed = useBrokerTestBed('admin-client-', { mappedFileSizeCommitLog: String(4 * 1024 * 1024) });
  let namesrv: NameServer;
  let broker: BrokerController;
  let admin: AdminClient;
  let raw: RemotingClient;

  beforeEach(async () => {
    namesrv = bed.namesrv;
    raw = bed.client;
    broker = await bed.startBroker('store');
    admin = new AdminClient({ namesrvAddr: `127.0.0.1:${namesrv.port}`, timeoutMs: 3000 });
    await waitFor(() => namesrv.routes.clusterInfo().brokerAddrTable.has('broker-t'), 'broker registration');
  });

  afterEach(() => admin.close());

  async function send(topic: string, body: string, props: Record<string, string>): Promise<string> {
    const r = await raw.invokeOk(broker.brokerAddr, createRequest(RequestCode.SEND_MESSAGE, {
      producerGroup: 'PG', topic, defaultTopic: 'TBW102', defaultTopicQueueNums: '4', queueId: '0', sysFlag: '0',
      bornTimestamp: String(Date.now()), flag: '0', properties: encodeProperties(props), reconsumeTimes: '0',
    }, Buffer.from(body)));
    return r.extFields.msgId!;
  }

  it('manages topics: create, route, list, config, write permission, delete', async () => {
    const info = await admin.getBrokerClusterInfo();
    expect(info.clusters.get('DefaultCluster')).toEqual(['broker-t']);
    expect(pickBrokerAddr(info.brokers.get('broker-t')!)).toBe(broker.brokerAddr);
    expect(await admin.masterAddrsOfCluster('DefaultCluster')).toEqual([{ brokerName: 'broker-t', addr: broker.brokerAddr }]);

    await admin.createOrUpdateTopic(broker.brokerAddr, { topicName: 'AT', readQueueNums: 3, writeQueueNums: 2, attributes: { 'message.type': 'NORMAL' } });
    await waitFor(async () => (await admin.getAllTopicList()).includes('AT'), 'AT in the topic list');
    const route = await admin.getTopicRoute('AT');
    expect(route.queueDatas).toEqual([{ brokerName: 'broker-t', readQueueNums: 3, writeQueueNums: 2, perm: 6, topicSysFlag: 0 }]);
    expect(route.brokerDatas[0]!.brokerAddrs.get(0)).toBe(broker.brokerAddr);
    const configs = await admin.getAllTopicConfig(broker.brokerAddr);
    expect(configs.get('AT')).toMatchObject({ readQueueNums: 3, writeQueueNums: 2, perm: 6, attributes: { 'message.type': 'NORMAL' } });
    expect(await admin.getTopicsByCluster('DefaultCluster')).toContain('AT');

    const wiped = await admin.wipeWritePermOfBroker('broker-t');
    expect(wiped).toHaveLength(1);
    expect(wiped[0]!.ok && wiped[0]!.value).toBeGreaterThan(0);
    expect((await admin.getTopicRoute('AT')).queueDatas[0]!.perm).toBe(4);
    const added = await admin.addWritePermOfBroker('broker-t');
    expect(added[0]!.ok && added[0]!.value).toBe(wiped[0]!.ok && wiped[0]!.value);
    expect((await admin.getTopicRoute('AT')).queueDatas[0]!.perm).toBe(6);

    const bad = await admin.createOrUpdateTopic(broker.brokerAddr, { topicName: 'bad topic' }).catch((e: unknown) => e);
    expect(isAdminError(bad, ResponseCode.INVALID_PARAMETER)).toBe(true);
    expect((bad as AdminError).requestCode).toBe(RequestCode.UPDATE_AND_CREATE_TOPIC);
    expect((bad as AdminError).remark).toMatch(/topic/);

    expect(await admin.createOrUpdateTopicInCluster('DefaultCluster', { topicName: 'CT2', readQueueNums: 1, writeQueueNums: 1 })).toEqual([broker.brokerAddr]);
    await waitFor(async () => (await admin.getAllTopicList()).includes('CT2'), 'CT2 in the topic list');
    await admin.deleteTopicInCluster('DefaultCluster', 'CT2');
    expect((await admin.getAllTopicList()).includes('CT2')).toBe(false);
    expect((await admin.getAllTopicConfig(broker.brokerAddr)).has('CT2')).toBe(false);
    await expect(admin.createOrUpdateTopicInCluster('NoCluster', { topicName: 'X' })).rejects.toThrow(/cluster NoCluster not found/);

    await admin.deleteTopicInBroker(broker.brokerAddr, 'AT');
    const deleted = await admin.deleteTopicInNameServer('AT');
    expect(deleted.every((d) => d.ok)).toBe(true);
    expect((await admin.getAllTopicConfig(broker.brokerAddr)).has('AT')).toBe(false);
    const gone = await admin.getTopicRoute('AT').catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(AdminError);
    expect((gone as AdminError).responseCode).toBe(ResponseCode.TOPIC_NOT_EXIST);
  });

  it('reads runtime info and reads and updates the broker config', async () => {
    const info = await admin.getBrokerRuntimeInfo(broker.brokerAddr);
    expect(info).toMatchObject({ brokerRole: 'ASYNC_MASTER', brokerId: '0', brokerName: 'broker-t' });
    expect(Number(info.commitLogMaxOffset)).toBe(0);
    expect(info.earliestMessageTimeStamp).toBe('-1'); // nothing stored yet, as Java
    const config = await admin.getBrokerConfig(broker.brokerAddr);
    expect(config.brokerName).toBe('broker-t');
    expect(config.autoCreateTopicEnable).toBe('true');
    await admin.updateBrokerConfig(broker.brokerAddr, { autoCreateTopicEnable: 'false' });
    expect((await admin.getBrokerConfig(broker.brokerAddr)).autoCreateTopicEnable).toBe('false');
    const refused = await admin.updateBrokerConfig(broker.brokerAddr, { listenPort: '1' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AdminError);
    expect((refused as AdminError).responseCode).not.toBe(ResponseCode.SUCCESS);
  });

  it('manages groups, offsets, connections and messages', async () => {
    await admin.createOrUpdateTopic(broker.brokerAddr, { topicName: 'MT', readQueueNums: 2, writeQueueNums: 2 });
    await admin.createOrUpdateSubscriptionGroup(broker.brokerAddr, { groupName: 'AG', retryMaxTimes: 3 });
    expect((await admin.getAllSubscriptionGroups(broker.brokerAddr)).get('AG')).toMatchObject({ retryMaxTimes: 3, consumeEnable: true });

    const before = Date.now();
    const ids = [await send('MT', 'a', { KEYS: 'k1', TAGS: 'x' }), await send('MT', 'b', { KEYS: 'k2 k1' }), await send('MT', 'c', {})];
    const stats = await admin.getTopicStats(broker.brokerAddr, 'MT');
    expect(stats.map((s) => [s.mq.queueId, s.minOffset, s.maxOffset])).toEqual([[0, 0, 3], [1, 0, 0]]);
    expect(stats[0]!.lastUpdateTimestamp).toBeGreaterThanOrEqual(before);
    expect((await admin.getTopicStatsTable(broker.brokerAddr, 'MT')).queues).toEqual(stats);
    expect(await admin.getTopicConfig(broker.brokerAddr, 'MT')).toMatchObject({ topicName: 'MT', readQueueNums: 2, writeQueueNums: 2, perm: 6 });
    expect(isAdminError(await admin.getTopicConfig(broker.brokerAddr, 'nope').catch((e: unknown) => e), ResponseCode.TOPIC_NOT_EXIST)).toBe(true);
    expect(Number((await admin.getBrokerRuntimeInfo(broker.brokerAddr)).earliestMessageTimeStamp)).toBeGreaterThanOrEqual(before);

    await admin.updateConsumerOffset(broker.brokerAddr, 'AG', 'MT', 0, 2);
    expect(await admin.queryConsumerOffset(broker.brokerAddr, 'AG', 'MT', 0)).toBe(2);
    expect(await admin.queryTopicConsumeByWho(broker.brokerAddr, 'MT')).toEqual(['AG']);
    const cs = await admin.getConsumeStats(broker.brokerAddr, 'AG');
    expect(cs.offsets.map((o) => [o.mq.topic, o.mq.brokerName, o.mq.queueId, o.brokerOffset, o.consumerOffset])).toEqual([['MT', 'broker-t', 0, 3, 2], ['MT', 'broker-t', 1, 0, 0]]);
    expect(cs.offsets[0]!.lastTimestamp).toBeGreaterThanOrEqual(before);

    const reset = await admin.resetOffsetOffline(broker.brokerAddr, 'MT', 'AG', 0);
    expect(reset.map((r) => r.offset)).toEqual([0, 0]);
    expect(await admin.queryConsumerOffset(broker.brokerAddr, 'AG', 'MT', 0)).toBe(0);

    const offline = await admin.getConsumerConnectionList(broker.brokerAddr, 'AG').catch((e: unknown) => e);
    expect(isAdminError(offline, ResponseCode.CONSUMER_NOT_ONLINE)).toBe(true);
    await raw.invokeOk(broker.brokerAddr, createRequest(RequestCode.HEART_BEAT, {}, Buffer.from(JSON.stringify({
      clientID: '127.0.0.1@c1',
      producerDataSet: [{ groupName: 'APG' }],
      consumerDataSet: [{ groupName: 'AG', consumeType: 'CONSUME_PASSIVELY', messageModel: 'CLUSTERING', consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', subscriptionDataSet: [{ topic: 'MT', subString: 'x || y', tagsSet: ['x', 'y'], codeSet: [], expressionType: 'TAG', subVersion: 7 }] }],
    }))));
    const cc = await admin.getConsumerConnectionList(broker.brokerAddr, 'AG');
    expect(cc.connections.map((c) => c.clientId)).toEqual(['127.0.0.1@c1']);
    expect(cc).toMatchObject({ consumeType: 'CONSUME_PASSIVELY', messageModel: 'CLUSTERING', consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET' });
    expect(cc.subscriptions.find((s) => s.topic === 'MT')).toMatchObject({ subString: 'x || y', tagsSet: ['x', 'y'], subVersion: 7 });
    expect((await admin.getProducerConnectionList(broker.brokerAddr, 'APG')).connections.map((c) => c.clientId)).toEqual(['127.0.0.1@c1']);

    const m = await admin.viewMessageByOffsetMsgId(ids[1]!);
    expect(m).toMatchObject({ topic: 'MT', queueId: 0, queueOffset: 1, keys: 'k2 k1', offsetMsgId: ids[1] });
    expect(m.body.toString()).toBe('b');
    expect(m.msgId).toMatch(/^[0-9A-F]{32}$/);
    // the broker's key index (QUERY_MESSAGE), by KEYS and by UNIQ_KEY
    await waitFor(async () => (await admin.queryMessage(broker.brokerAddr, 'MT', 'k1')).length === 2, 'k1 indexed');
    expect((await admin.queryMessage(broker.brokerAddr, 'MT', 'k1')).map((x) => x.body.toString()).sort()).toEqual(['a', 'b']);
    expect(await admin.queryMessage(broker.brokerAddr, 'MT', 'no-such-key')).toEqual([]);
    const byId = await admin.queryMessageInCluster('MT', m.msgId, { uniqueKey: true });
    expect(byId.map((x) => x.offsetMsgId)).toEqual([ids[1]]);

    await admin.deleteSubscriptionGroup(broker.brokerAddr, 'AG', true);
    expect((await admin.getAllSubscriptionGroups(broker.brokerAddr)).has('AG')).toBe(false);
  });

  it('reads from the next NameServer when one is down and times out on a silent peer', async () => {
    const dead = new RemotingServer(silentLogger());
    const deadPort = await dead.listen(0, '127.0.0.1');
    await dead.close();
    const failover = new AdminClient({ namesrvAddr: `127.0.0.1:${deadPort};127.0.0.1:${namesrv.port}`, timeoutMs: 1000 });
    try {
      expect((await failover.getBrokerClusterInfo()).clusters.has('DefaultCluster')).toBe(true);
      const writes = await failover.deleteTopicInNameServer('nothing-here');
      expect(writes.map((w) => w.ok)).toEqual([false, true]);
    } finally {
      await failover.close();
    }

    const silent = new RemotingServer(silentLogger());
    silent.register(RequestCode.GET_BROKER_RUNTIME_INFO, () => new Promise(() => undefined));
    const port = await silent.listen(0, '127.0.0.1');
    const slow = new AdminClient({ timeoutMs: 200 });
    try {
      const err = await slow.getBrokerRuntimeInfo(`127.0.0.1:${port}`).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RmqError);
      expect((err as RmqError).code).toBe('RMQ_TIMEOUT');
      await expect(slow.getTopicRoute('x')).rejects.toThrow(/no NameServer address/);
    } finally {
      await slow.close();
      await silent.close();
    }
  });
});
