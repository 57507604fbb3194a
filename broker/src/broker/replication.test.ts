// Master/slave in one process over real sockets: replication, SYNC_MASTER acks, reads from the
// slave, metadata sync, promotion, demotion with divergent-tail truncation.
import { describe, expect, it } from 'vitest';
import { RequestCode, ResponseCode } from '../protocol/codes.js';
import { decodeMessageRecords, encodeProperties } from '../protocol/message.js';
import { createRequest, type RemotingCommand } from '../protocol/remoting.js';
import type { BrokerController } from './broker-controller.js';
import { useBrokerTestBed, waitFor as waitUntil } from './broker.testbed.js';
import { PullSysFlag } from './pull-processor.js';

const bed = useBrokerTestBed('replication-test-', {
  brokerName: 'broker-r',
  haSendHeartbeatInterval: '500',
  slaveSyncIntervalMillis: '500',
  slaveTimeout: '2000',
});

const waitFor = (cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> => waitUntil(cond, what, timeoutMs);

function startBroker(name: string, role: string, brokerId: number, extra: Record<string, string> = {}): Promise<BrokerController> {
  return bed.startBroker(name, { brokerRole: role, brokerId: String(brokerId), ...extra });
}

function send(addr: string, topic: string, body: string): Promise<RemotingCommand> {
  return bed.client.invoke(addr, createRequest(RequestCode.SEND_MESSAGE, {
    producerGroup: 'PG', topic, defaultTopic: 'TBW102', defaultTopicQueueNums: '4', queueId: '0', sysFlag: '0',
    bornTimestamp: String(Date.now()), flag: '0', properties: encodeProperties({ WAIT: 'true' }), reconsumeTimes: '0',
  }, Buffer.from(body)), 5000);
}

async function pullAll(addr: string, topic: string): Promise<string[]> {
  const r = await bed.client.invoke(addr, createRequest(RequestCode.PULL_MESSAGE, {
    consumerGroup: 'G', topic, queueId: '0', queueOffset: '0', maxMsgNums: '32', sysFlag: String(PullSysFlag.SUBSCRIPTION),
    commitOffset: '0', suspendTimeoutMillis: '0', subscription: '*', subVersion: '0',
  }), 5000);
  return r.code === ResponseCode.SUCCESS ? decodeMessageRecords(r.body!).map((m) => m.body.toString()) : [];
}

async function createTopic(addr: string, topic: string): Promise<void> {
  await bed.client.invokeOk(addr, createRequest(RequestCode.UPDATE_AND_CREATE_TOPIC, { topic, readQueueNums: '1', writeQueueNums: '1', perm: '6' }));
}

function updateConfig(addr: string, props: Record<string, string>): Promise<RemotingCommand> {
  const body = Object.entries(props).map(([k, v]) => `${k}=${v}`).join('\n');
  return bed.client.invoke(addr, createRequest(RequestCode.UPDATE_BROKER_CONFIG, {}, Buffer.from(body)), 15_000);
}

describe('master/slave replication', () => {
  it('SYNC_MASTER acknowledges after the slave has the message; the slave serves reads and refuses writes', async () => {
    const master = await startBroker('m', 'SYNC_MASTER', 0);
    await createTopic(master.brokerAddr, 'RT');
    // No slave yet: stored, but the producer is told no slave has it.
    const lonely = await send(master.brokerAddr, 'RT', 'before-slave');
    expect(lonely.code).toBe(ResponseCode.SLAVE_NOT_AVAILABLE);

    const slave = await startBroker('s', 'SLAVE', 1);
    await waitFor(() => master.replication.haConnections.length === 1, 'the slave to connect');
    for (let i = 0; i < 20; i++) expect((await send(master.brokerAddr, 'RT', `m${i}`)).code).toBe(ResponseCode.SUCCESS);
    // Acknowledged under SYNC_MASTER ⇒ already on the slave.
    expect(slave.store.getMaxPhyOffset()).toBe(master.store.getMaxPhyOffset());
    await waitFor(async () => (await pullAll(slave.brokerAddr, 'RT')).length === 21, 'consume queues on the slave');
    expect(await pullAll(slave.brokerAddr, 'RT')).toEqual(['before-slave', ...Array.from({ length: 20 }, (_, i) => `m${i}`)]);
    // Topic configs came over by metadata sync; the slave refuses sends.
    await waitFor(() => slave.topics.get('RT') !== undefined, 'topic sync');
    const refused = await send(slave.brokerAddr, 'RT', 'nope');
    expect(refused.code).toBe(ResponseCode.SERVICE_NOT_AVAILABLE);
    // The NameServer lists both members; the slave learned its master from it.
    const route = bed.namesrv.routes.getRoute('RT')!;
    expect([...route.brokerDatas[0]!.brokerAddrs.keys()].sort()).toEqual([0, 1]);
    expect(slave.replication.masterAddr).toBe(master.brokerAddr);
  });

  it('promotes the slave when the master is gone, then the old master rejoins as a slave and drops its divergent tail', async () => {
    const master = await startBroker('m', 'ASYNC_MASTER', 0);
    await createTopic(master.brokerAddr, 'FT');
    const slave = await startBroker('s', 'SLAVE', 1);
    for (let i = 0; i < 10; i++) await send(master.brokerAddr, 'FT', `a${i}`);
    await waitFor(() => slave.store.getMaxPhyOffset() === master.store.getMaxPhyOffset(), 'slave to catch up');
    const common = master.store.getMaxPhyOffset();

    // Cut the slave off, then the master takes writes the slave never sees.
    const cut = await updateConfig(slave.brokerAddr, { haMasterAddress: '127.0.0.1:1' });
    expect(cut.code).toBe(ResponseCode.SUCCESS);
    for (let i = 0; i < 5; i++) await send(master.brokerAddr, 'FT', `lost${i}`);
    expect(master.store.getMaxPhyOffset()).toBeGreaterThan(common);

    // Promotion is refused while the old master is alive and registered.
    const early = await updateConfig(slave.brokerAddr, { brokerRole: 'SYNC_MASTER' });
    expect(early.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(early.remark).toMatch(/still has a live master/);

    // Demote the old master first (frees brokerId 0), then promote the slave.
    const demoted = await updateConfig(master.brokerAddr, { brokerRole: 'SLAVE', brokerId: '2', haMasterAddress: '' });
    expect(demoted.code).toBe(ResponseCode.SUCCESS);
    const promoted = await updateConfig(slave.brokerAddr, { brokerRole: 'ASYNC_MASTER', haMasterAddress: '' });
    expect(promoted.code).toBe(ResponseCode.SUCCESS);
    expect(promoted.remark).toMatch(/promoted/);
    expect(slave.replication.role).toBe('ASYNC_MASTER');
    await waitFor(() => bed.namesrv.routes.getRoute('FT')?.brokerDatas[0]?.brokerAddrs.get(0) === slave.brokerAddr, 'new master in the route');

    for (let i = 0; i < 3; i++) expect((await send(slave.brokerAddr, 'FT', `b${i}`)).code).toBe(ResponseCode.SUCCESS);
    // The old master follows the new one: its 5 lost messages are dropped, the new ones arrive.
    await waitFor(() => master.replication.role === 'SLAVE' && master.store.getMaxPhyOffset() === slave.store.getMaxPhyOffset(), 'old master to follow the new one');
    await waitFor(async () => (await pullAll(master.brokerAddr, 'FT')).length === 13, 'consume queues rebuilt on the old master');
    expect(await pullAll(master.brokerAddr, 'FT')).toEqual([...Array.from({ length: 10 }, (_, i) => `a${i}`), 'b0', 'b1', 'b2']);
    expect(master.replication.lastTruncatedBytes).toBeGreaterThan(0);
    expect((await send(master.brokerAddr, 'FT', 'x')).code).toBe(ResponseCode.SERVICE_NOT_AVAILABLE);
  });
});
