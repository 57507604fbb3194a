import { connect } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../common/logger.js';
import { newTopicConfig } from '../common/topic-config.js';
import { RequestCode, ResponseCode } from '../protocol/codes.js';
import { createRequest, encodeCommand, SerializeType, type RemotingCommand } from '../protocol/remoting.js';
import { RemotingClient } from '../transport/client.js';
import { NameServer, encodeTopicRoute } from './namesrv.js';
import { RouteInfoManager } from './route-info-manager.js';

const dv = (counter: number) => ({ counter, stateVersion: 0, timestamp: 1000 + counter });

describe('RouteInfoManager', () => {
  it('routes a topic to the groups whose master carries it', () => {
    const r = new RouteInfoManager();
    r.registerBroker({ clusterName: 'C', brokerName: 'a', brokerAddr: '1.1.1.1:10911', brokerId: 0, haServerAddr: '1.1.1.1:10912', dataVersion: dv(1), topicConfigs: new Map([['T', newTopicConfig('T', 4)]]) });
    const slave = r.registerBroker({ clusterName: 'C', brokerName: 'a', brokerAddr: '1.1.1.2:10911', brokerId: 1, haServerAddr: '', dataVersion: dv(1), topicConfigs: new Map([['T', newTopicConfig('T', 8)]]) });
    expect(slave).toEqual({ masterAddr: '1.1.1.1:10911', haServerAddr: '1.1.1.1:10912' });
    const route = r.getRoute('T')!;
    expect(route.queueDatas).toEqual([{ brokerName: 'a', readQueueNums: 4, writeQueueNums: 4, perm: 6, topicSysFlag: 0 }]);
    expect([...route.brokerDatas[0]!.brokerAddrs]).toEqual([[0, '1.1.1.1:10911'], [1, '1.1.1.2:10911']]);
    expect(r.getRoute('nope')).toBeUndefined();
  });

  it('takes queue data only when the data version changed, so wiped write perms stick', () => {
    const r = new RouteInfoManager();
    const reg = (v: number, queues: number) => r.registerBroker({ clusterName: 'C', brokerName: 'a', brokerAddr: 'x:1', brokerId: 0, haServerAddr: '', dataVersion: dv(v), topicConfigs: new Map([['T', newTopicConfig('T', queues)]]) });
    reg(1, 4);
    expect(r.setWritePerm('a', false)).toBe(1);
    reg(1, 4);
    expect(r.getRoute('T')!.queueDatas[0]!.perm).toBe(4);
    reg(2, 8);
    expect(r.getRoute('T')!.queueDatas[0]).toMatchObject({ perm: 6, writeQueueNums: 8 });
  });

  it('expires silent brokers after their timeout and removes empty groups and topics', () => {
    const r = new RouteInfoManager();
    r.registerBroker({ clusterName: 'C', brokerName: 'a', brokerAddr: 'x:1', brokerId: 0, haServerAddr: '', dataVersion: dv(1), topicConfigs: new Map([['T', newTopicConfig('T', 4)]]) }, 0);
    expect(r.scanNotActiveBrokers(119_000)).toEqual([]);
    expect(r.scanNotActiveBrokers(121_000)).toEqual(['x:1']);
    expect(r.getRoute('T')).toBeUndefined();
    expect(r.clusterInfo().clusterAddrTable.size).toBe(0);
  });

  it('refuses a second live master for one broker name, and accepts it once the first is gone', () => {
    const r = new RouteInfoManager();
    const reg = (addr: string, id: number, now: number) => r.registerBroker({ clusterName: 'C', brokerName: 'a', brokerAddr: addr, brokerId: id, haServerAddr: '', dataVersion: dv(1), topicConfigs: new Map() }, now);
    expect(reg('m1:1', 0, 0).rejected).toBeUndefined();
    expect(reg('s1:1', 1, 0).rejected).toBeUndefined();
    expect(reg('s1:1', 0, 1000).rejected).toMatch(/already has a live master at m1:1/);
    expect(reg('m1:1', 0, 2000).rejected).toBeUndefined(); // the master itself re-registers fine
    r.unregisterBroker('C', 'm1:1', 'a', 0);
    expect(reg('s1:1', 0, 3000).rejected).toBeUndefined(); // promoted slave: its id-1 entry moves to id 0
    expect([...r.clusterInfo().brokerAddrTable.get('a')!.brokerAddrs]).toEqual([[0, 's1:1']]);
    expect(reg('m1:1', 0, 100_000).rejected).toMatch(/live master at s1:1/);
    expect(reg('m1:1', 0, 200_000).rejected).toBeUndefined(); // s1 silent for over 120 s
  });

  it('keeps a group\'s queues routable through its slave when the master leaves', () => {
    const r = new RouteInfoManager();
    r.registerBroker({ clusterName: 'C', brokerName: 'a', brokerAddr: 'm:1', brokerId: 0, haServerAddr: '', dataVersion: dv(1), topicConfigs: new Map([['T', newTopicConfig('T', 4)]]) });
    r.registerBroker({ clusterName: 'C', brokerName: 'a', brokerAddr: 's:1', brokerId: 1, haServerAddr: '', dataVersion: dv(1), topicConfigs: new Map([['T', newTopicConfig('T', 4)]]) });
    r.unregisterBroker('C', 'm:1', 'a', 0);
    const route = r.getRoute('T')!;
    expect([...route.brokerDatas[0]!.brokerAddrs]).toEqual([[1, 's:1']]);
    expect(route.queueDatas).toHaveLength(1);
    r.unregisterBroker('C', 's:1', 'a', 1);
    expect(r.getRoute('T')).toBeUndefined();
  });

  it('drops the brokers of a closed connection at once', () => {
    const r = new RouteInfoManager();
    r.registerBroker({ clusterName: 'C', brokerName: 'a', brokerAddr: 'x:1', brokerId: 0, haServerAddr: '', dataVersion: dv(1), topicConfigs: new Map([['T', newTopicConfig('T', 4)]]), connectionId: 5 });
    expect(r.onConnectionClosed(4)).toEqual([]);
    expect(r.onConnectionClosed(5)).toEqual(['x:1']);
    expect(r.allTopics()).toEqual([]);
  });

  it('encodes route JSON compactly, with quoted or bare brokerAddrs keys', () => {
    const r = new RouteInfoManager();
    r.registerBroker({ clusterName: 'C', brokerName: 'a', brokerAddr: '1.1.1.1:10911', brokerId: 0, haServerAddr: '', dataVersion: dv(1), topicConfigs: new Map([['T', newTopicConfig('T', 4)]]) });
    const route = r.getRoute('T')!;
    expect(encodeTopicRoute(route, true)).toBe(
      '{"brokerDatas":[{"brokerAddrs":{"0":"1.1.1.1:10911"},"brokerName":"a","cluster":"C","enableActingMaster":false}],"filterServerTable":{},"queueDatas":[{"brokerName":"a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}',
    );
    expect(encodeTopicRoute(route, false)).toContain('"brokerAddrs":{0:"1.1.1.1:10911"}');
  });
});

describe('NameServer over TCP', () => {
  let ns: NameServer;
  let client: RemotingClient;
  let addr: string;
  beforeEach(async () => {
    ns = new NameServer({ listenPort: 0, bindAddress: '127.0.0.1' }, silentLogger());
    await ns.start();
    addr = `127.0.0.1:${ns.port}`;
    client = new RemotingClient(silentLogger());
  });
  afterEach(async () => {
    await client.close();
    await ns.shutdown();
  });

  const register = (brokerName: string, brokerAddr: string, topics: string[], serializeType: SerializeType = SerializeType.JSON): Promise<RemotingCommand> => {
    const body = Buffer.from(JSON.stringify({ topicConfigSerializeWrapper: { dataVersion: dv(1), topicConfigTable: Object.fromEntries(topics.map((t) => [t, newTopicConfig(t, 4)])) }, filterServerList: [] }));
    return client.invokeOk(addr, createRequest(RequestCode.REGISTER_BROKER, { brokerName, brokerAddr, clusterName: 'DefaultCluster', brokerId: '0', haServerAddr: '', compressed: 'false', bodyCrc32: '0' }, body, serializeType));
  };

  it('registers a broker and serves its routes, cluster info and topic list', async () => {
    await register('broker-a', '127.0.0.1:10911', ['TopicTest']);
    const route = await client.invokeOk(addr, { ...createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'TopicTest' }), version: 479 });
    expect(JSON.parse(route.body!.toString())).toMatchObject({ brokerDatas: [{ brokerName: 'broker-a', brokerAddrs: { '0': '127.0.0.1:10911' } }], queueDatas: [{ writeQueueNums: 4 }] });
    const old = await client.invokeOk(addr, { ...createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'TopicTest' }), version: 121 });
    expect(old.body!.toString()).toContain('{0:"127.0.0.1:10911"}');
    const missing = await client.invoke(addr, createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'Nope' }));
    expect(missing.code).toBe(ResponseCode.TOPIC_NOT_EXIST);
    expect(missing.remark).toBe('No topic route info in name server for the topic: Nope');
    const info = JSON.parse((await client.invokeOk(addr, createRequest(RequestCode.GET_BROKER_CLUSTER_INFO))).body!.toString());
    expect(info.clusterAddrTable).toEqual({ DefaultCluster: ['broker-a'] });
    const list = JSON.parse((await client.invokeOk(addr, createRequest(RequestCode.GET_ALL_TOPIC_LIST_FROM_NAMESERVER))).body!.toString());
    expect(list.topicList).toEqual(['TopicTest']);
  });

  it('accepts binary-header requests and answers in kind', async () => {
    await register('broker-a', '127.0.0.1:10911', ['T'], SerializeType.ROCKETMQ);
    const r = await client.invokeOk(addr, createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'T' }, undefined, SerializeType.ROCKETMQ));
    expect(r.serializeType).toBe(SerializeType.ROCKETMQ);
  });

  it('forgets a broker when its connection closes', async () => {
    const other = new RemotingClient(silentLogger());
    const body = Buffer.from(JSON.stringify({ topicConfigSerializeWrapper: { dataVersion: dv(1), topicConfigTable: { X: newTopicConfig('X', 1) } } }));
    await other.invokeOk(addr, createRequest(RequestCode.REGISTER_BROKER, { brokerName: 'b', brokerAddr: '127.0.0.1:1', clusterName: 'C', brokerId: '0', haServerAddr: '' }, body));
    expect(ns.routes.getRoute('X')).toBeDefined();
    await other.close();
    await waitFor(() => ns.routes.getRoute('X') === undefined);
  });

  it('unregisters, wipes and restores write permission', async () => {
    await register('broker-a', '127.0.0.1:10911', ['T']);
    const wipe = await client.invokeOk(addr, createRequest(RequestCode.WIPE_WRITE_PERM_OF_BROKER, { brokerName: 'broker-a' }));
    expect(wipe.extFields.wipeTopicCount).toBe('1');
    expect(ns.routes.getRoute('T')!.queueDatas[0]!.perm).toBe(4);
    await client.invokeOk(addr, createRequest(RequestCode.ADD_WRITE_PERM_OF_BROKER, { brokerName: 'broker-a' }));
    expect(ns.routes.getRoute('T')!.queueDatas[0]!.perm).toBe(6);
    await client.invokeOk(addr, createRequest(RequestCode.UNREGISTER_BROKER, { brokerName: 'broker-a', brokerAddr: '127.0.0.1:10911', clusterName: 'DefaultCluster', brokerId: '0' }));
    expect(ns.routes.getRoute('T')).toBeUndefined();
  });

  it('checks the body CRC as Java brokers compute it (masked to 31 bits)', async () => {
    const { crc32 } = await import('node:zlib');
    // A body whose CRC has the high bit set: the masked value must be accepted.
    let n = 0;
    let body = Buffer.from('{}');
    while ((crc32(body) & 0x80000000) === 0) body = Buffer.from(`{"filterServerList":[],"n":${n++}}`);
    const masked = String(crc32(body) & 0x7fffffff);
    const ok = await client.invoke(addr, createRequest(RequestCode.REGISTER_BROKER, { brokerName: 'a', brokerAddr: 'x:1', clusterName: 'C', brokerId: '0', bodyCrc32: masked }, body));
    expect(ok.code).toBe(ResponseCode.SUCCESS);
  });

  it('rejects a registration whose body CRC does not match', async () => {
    const r = await client.invoke(addr, createRequest(RequestCode.REGISTER_BROKER, { brokerName: 'a', brokerAddr: 'x:1', clusterName: 'C', brokerId: '0', bodyCrc32: '12345' }, Buffer.from('{}')));
    expect(r.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(r.remark).toBe('crc32 not match');
  });

  it('answers unknown codes with REQUEST_CODE_NOT_SUPPORTED and missing fields with a named error', async () => {
    const r = await client.invoke(addr, createRequest(4242));
    expect(r.code).toBe(ResponseCode.REQUEST_CODE_NOT_SUPPORTED);
    expect(r.remark).toContain('4242');
    const m = await client.invoke(addr, createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC));
    expect(m.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(m.remark).toContain('<topic>');
  });

  it('closes a connection that sends garbage and keeps serving others', async () => {
    const closed = await new Promise<boolean>((resolve) => {
      const s = connect(ns.port, '127.0.0.1', () => s.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0])));
      s.on('close', () => resolve(true));
      s.on('error', () => undefined);
    });
    expect(closed).toBe(true);
    const ok = await client.invoke(addr, createRequest(RequestCode.GET_ALL_TOPIC_LIST_FROM_NAMESERVER));
    expect(ok.code).toBe(0);
  });

  it('does not answer oneway requests', async () => {
    const got = await new Promise<number>((resolve) => {
      const s = connect(ns.port, '127.0.0.1', () => {
        s.write(encodeCommand({ ...createRequest(RequestCode.GET_ALL_TOPIC_LIST_FROM_NAMESERVER), flag: 2, opaque: 1 }));
        setTimeout(() => {
          s.destroy();
          resolve(bytes);
        }, 200);
      });
      let bytes = 0;
      s.on('data', (d) => (bytes += d.length));
    });
    expect(got).toBe(0);
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
