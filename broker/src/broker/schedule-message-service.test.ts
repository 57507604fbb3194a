// Delayed messages, consume retry and the DLQ, in-process over real sockets: delivery timing and
// order, restart durability, delayOffset.json, CONSUMER_SEND_MSG_BACK → %RETRY% → %DLQ%, and a
// slave that syncs delay progress without delivering.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadBrokerConfig } from '../config/broker-config.js';
import { RequestCode, ResponseCode } from '../protocol/codes.js';
import { decodeMessageRecords, encodeProperties, getProperty, type DecodedRecord } from '../protocol/message.js';
import { createRequest, type RemotingCommand } from '../protocol/remoting.js';
import { randomTestPort, useBrokerTestBed, waitFor } from './broker.testbed.js';
import { SCHEDULE_TOPIC } from './metadata.js';
import { PullSysFlag } from './pull-processor.js';

const bed = useBrokerTestBed('schedule-test-', { brokerName: 'broker-d', messageDelayLevel: '1s 2s 3s' });
const startBroker = bed.startBroker.bind(bed);

function send(topic: string, body: string, props: Record<string, string>, extra: Record<string, string> = {}): RemotingCommand {
  return createRequest(RequestCode.SEND_MESSAGE, {
    producerGroup: 'PG', topic, defaultTopic: 'TBW102', defaultTopicQueueNums: '4', queueId: '0', sysFlag: '0',
    bornTimestamp: String(Date.now()), flag: '7', properties: encodeProperties(props), reconsumeTimes: '0', ...extra,
  }, Buffer.from(body));
}

async function pull(addr: string, topic: string, queueId = 0, offset = 0): Promise<DecodedRecord[]> {
  const r = await bed.client.invoke(addr, createRequest(RequestCode.PULL_MESSAGE, {
    consumerGroup: 'CG', topic, queueId: String(queueId), queueOffset: String(offset), maxMsgNums: '32', sysFlag: String(PullSysFlag.SUBSCRIPTION),
    commitOffset: '0', suspendTimeoutMillis: '0', subscription: '*', subVersion: '0', expressionType: 'TAG',
  }));
  return r.code === ResponseCode.SUCCESS ? decodeMessageRecords(r.body!) : [];
}

async function createTopic(addr: string, topic: string): Promise<void> {
  await bed.client.invokeOk(addr, createRequest(RequestCode.UPDATE_AND_CREATE_TOPIC, { topic, defaultTopic: 'TBW102', readQueueNums: '1', writeQueueNums: '1', perm: '6', topicFilterType: 'SINGLE_TAG', order: 'false' }));
}

describe('delayed messages', () => {
  it('delivers each level in order no earlier than due and within a second after, with the original message', async () => {
    const b = await startBroker('a');
    await createTopic(b.brokerAddr, 'T');
    const sentAt = Date.now();
    const r = await bed.client.invokeOk(b.brokerAddr, send('T', 'one', { TAGS: 'A', KEYS: 'k', DELAY: '1', UNIQ_KEY: 'U1' }));
    expect(r.code).toBe(ResponseCode.SUCCESS);
    await bed.client.invokeOk(b.brokerAddr, send('T', 'two', { DELAY: '1' }));
    await bed.client.invokeOk(b.brokerAddr, send('T', 'late', { DELAY: '99' })); // clamped to level 3
    await bed.client.invokeOk(b.brokerAddr, send('T', 'now', {}));
    expect((await pull(b.brokerAddr, 'T')).map((m) => m.body.toString())).toEqual(['now']);
    expect(b.store.getMaxOffsetInQueue(SCHEDULE_TOPIC, 0)).toBe(2);
    expect(b.store.getMaxOffsetInQueue(SCHEDULE_TOPIC, 2)).toBe(1);

    await waitFor(async () => (await pull(b.brokerAddr, 'T')).length >= 3, 'level 1 delivery');
    const at1 = Date.now() - sentAt;
    expect(at1).toBeGreaterThanOrEqual(1000);
    expect(at1).toBeLessThan(2000);
    const msgs = await pull(b.brokerAddr, 'T');
    expect(msgs.map((m) => m.body.toString())).toEqual(['now', 'one', 'two']);
    const one = msgs[1]!;
    expect(getProperty(one.properties, 'DELAY')).toBeUndefined();
    expect(getProperty(one.properties, 'REAL_TOPIC')).toBe('T');
    expect(getProperty(one.properties, 'REAL_QID')).toBe('0');
    expect(getProperty(one.properties, 'UNIQ_KEY')).toBe('U1');
    expect(getProperty(one.properties, 'TAGS')).toBe('A');
    expect(one.flag).toBe(7);
    expect(one.storeTimestamp - one.bornTimestamp).toBeGreaterThanOrEqual(1000);

    await waitFor(async () => (await pull(b.brokerAddr, 'T')).length >= 4, 'level 3 delivery');
    const at3 = Date.now() - sentAt;
    expect(at3).toBeGreaterThanOrEqual(3000);
    expect(at3).toBeLessThan(4000);
    await b.shutdown();
    const json = readFileSync(join(bed.dir, 'a', 'config', 'delayOffset.json'), 'utf8');
    expect(json).toMatch(/^\{"offsetTable":\{1:2,2:0,3:1\},"dataVersion":\{"counter":\d+,"stateVersion":0,"timestamp":\d+\}\}$/);
  });

  it('delivers a message that fell due while the broker was down right after start, once', async () => {
    const port = randomTestPort();
    let b = await startBroker('r', {}, port);
    await createTopic(b.brokerAddr, 'T');
    await bed.client.invokeOk(b.brokerAddr, send('T', 'x', { DELAY: '1' }));
    await bed.stopBroker(b);
    await new Promise((r) => setTimeout(r, 1300));
    const restartedAt = Date.now();
    b = await startBroker('r', {}, port);
    await waitFor(async () => (await pull(b.brokerAddr, 'T')).length >= 1, 'delivery after restart');
    expect(Date.now() - restartedAt).toBeLessThan(1500);
    await new Promise((r) => setTimeout(r, 200));
    expect((await pull(b.brokerAddr, 'T')).map((m) => m.body.toString())).toEqual(['x']);
    expect(b.schedule.offsetOf(1)).toBe(1);
  });

  it('refuses a bad messageDelayLevel naming the key', () => {
    expect(() => loadBrokerConfig({ messageDelayLevel: '1s 5x' })).toThrow(/messageDelayLevel/);
    expect(loadBrokerConfig({}).config.messageDelayLevel).toBe('1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h');
    expect(loadBrokerConfig({}).ignoredKeys).toEqual([]);
  });
});

describe('consume retry and DLQ', () => {
  function sendBack(offset: number, delayLevel: number, maxReconsumeTimes?: number): RemotingCommand {
    const ext: Record<string, string> = { offset: String(offset), group: 'CG', delayLevel: String(delayLevel), originMsgId: '', originTopic: 'T', unitMode: 'false' };
    if (maxReconsumeTimes !== undefined) ext.maxReconsumeTimes = String(maxReconsumeTimes);
    return createRequest(RequestCode.CONSUMER_SEND_MSG_BACK, ext);
  }

  it('sends back to %RETRY%group with growing delay levels, then to %DLQ%group', async () => {
    const b = await startBroker('s', { messageDelayLevel: '1s 1s 1s 1s 1s 1s' });
    const addr = b.brokerAddr;
    await createTopic(addr, 'T');
    await bed.client.invokeOk(addr, send('T', 'body', { TAGS: 'A', UNIQ_KEY: 'U9' }));
    const [orig] = await pull(addr, 'T');
    const retry = '%RETRY%CG';

    // reconsumeTimes 0, level 0 → 3 + 0 = level 3 (queue 2)
    expect((await bed.client.invoke(addr, sendBack(orig!.physicalOffset, 0, 2))).code).toBe(ResponseCode.SUCCESS);
    expect(b.store.getMaxOffsetInQueue(SCHEDULE_TOPIC, 2)).toBe(1);
    expect(b.topics.get(retry)).toMatchObject({ perm: 6, writeQueueNums: 1 });
    await waitFor(async () => (await pull(addr, retry)).length === 1, 'first retry');
    const r1 = (await pull(addr, retry))[0]!;
    expect(r1.reconsumeTimes).toBe(1);
    expect(r1.body.toString()).toBe('body');
    expect(getProperty(r1.properties, 'RETRY_TOPIC')).toBe('T');
    expect(getProperty(r1.properties, 'UNIQ_KEY')).toBe('U9');
    expect(getProperty(r1.properties, 'ORIGIN_MESSAGE_ID')).toMatch(/^[0-9A-F]{32}$/);
    expect(getProperty(r1.properties, 'WAIT')).toBe('false');

    // reconsumeTimes 1 → level 4 (queue 3)
    expect((await bed.client.invoke(addr, sendBack(r1.physicalOffset, 0, 2))).code).toBe(ResponseCode.SUCCESS);
    expect(b.store.getMaxOffsetInQueue(SCHEDULE_TOPIC, 3)).toBe(1);
    await waitFor(async () => (await pull(addr, retry)).length === 2, 'second retry');
    const r2 = (await pull(addr, retry))[1]!;
    expect(r2.reconsumeTimes).toBe(2);
    expect(getProperty(r2.properties, 'ORIGIN_MESSAGE_ID')).toBe(getProperty(r1.properties, 'ORIGIN_MESSAGE_ID'));

    // reconsumeTimes 2 ≥ max 2 → DLQ, stored at once, topic created and routable
    expect((await bed.client.invoke(addr, sendBack(r2.physicalOffset, 0, 2))).code).toBe(ResponseCode.SUCCESS);
    const dlq = await pull(addr, '%DLQ%CG');
    expect(dlq).toHaveLength(1);
    expect(dlq[0]!.reconsumeTimes).toBe(3);
    expect(getProperty(dlq[0]!.properties, 'RETRY_TOPIC')).toBe('T');
    expect(b.topics.get('%DLQ%CG')).toMatchObject({ perm: 6, readQueueNums: 1, writeQueueNums: 1 });
    await waitFor(() => bed.namesrv.routes.getRoute('%DLQ%CG') !== undefined, 'DLQ route');

    // delayLevel < 0 → DLQ directly; unknown offset → SYSTEM_ERROR
    expect((await bed.client.invoke(addr, sendBack(orig!.physicalOffset, -1))).code).toBe(ResponseCode.SUCCESS);
    expect(await pull(addr, '%DLQ%CG')).toHaveLength(2);
    expect((await bed.client.invoke(addr, sendBack(999_999, 0))).code).toBe(ResponseCode.SYSTEM_ERROR);
  });

  it('applies the DLQ rule to messages clients send to %RETRY% themselves', async () => {
    const b = await startBroker('c');
    const addr = b.brokerAddr;
    const ok = await bed.client.invokeOk(addr, send('%RETRY%CG', 'again', { DELAY: '1', RETRY_TOPIC: 'T' }, { reconsumeTimes: '1', maxReconsumeTimes: '2' }));
    expect(ok.code).toBe(ResponseCode.SUCCESS);
    await waitFor(async () => (await pull(addr, '%RETRY%CG')).length === 1, 'client retry delivered');
    await bed.client.invokeOk(addr, send('%RETRY%CG', 'dead', { DELAY: '1' }, { reconsumeTimes: '3', maxReconsumeTimes: '2' }));
    const dlq = await pull(addr, '%DLQ%CG');
    expect(dlq.map((m) => m.body.toString())).toEqual(['dead']);
    expect(dlq[0]!.reconsumeTimes).toBe(3);
  });
});

describe('delayed messages with a slave', () => {
  it('only the master delivers; the slave syncs the progress', async () => {
    const master = await startBroker('m', { brokerRole: 'ASYNC_MASTER', slaveSyncIntervalMillis: '500', haSendHeartbeatInterval: '500' });
    const slave = await startBroker('sl', { brokerRole: 'SLAVE', brokerId: '1', slaveSyncIntervalMillis: '500', haSendHeartbeatInterval: '500' });
    await createTopic(master.brokerAddr, 'T');
    await bed.client.invokeOk(master.brokerAddr, send('T', 'd', { DELAY: '1' }));
    await waitFor(() => master.store.getMaxOffsetInQueue('T', 0) === 1, 'master delivery');
    await waitFor(() => slave.schedule.offsetOf(1) === 1, 'slave delay offset sync', 15_000);
    await waitFor(() => slave.store.getMaxOffsetInQueue('T', 0) === 1, 'replicated delivery');
    expect(slave.schedule.active).toBe(false);
    expect(slave.schedule.delivered).toBe(0);
    expect(master.schedule.delivered).toBe(1);
    const back = await bed.client.invoke(slave.brokerAddr, createRequest(RequestCode.CONSUMER_SEND_MSG_BACK, { offset: '0', group: 'CG', delayLevel: '0', unitMode: 'false' }));
    expect(back.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(back.remark).toMatch(/no master available/);
  });

  it('a promoted slave delivers from the synced progress; the demoted master stops', async () => {
    const opts = { slaveSyncIntervalMillis: '500', haSendHeartbeatInterval: '500' };
    const master = await startBroker('pm', { brokerRole: 'ASYNC_MASTER', ...opts });
    const slave = await startBroker('ps', { brokerRole: 'SLAVE', brokerId: '1', ...opts });
    await createTopic(master.brokerAddr, 'T');
    const sentAt = Date.now();
    await bed.client.invokeOk(master.brokerAddr, send('T', 'p', { DELAY: '3' }));
    await waitFor(() => slave.store.getMaxOffsetInQueue(SCHEDULE_TOPIC, 2) === 1, 'replicated schedule entry');
    const update = (addr: string, props: Record<string, string>): Promise<RemotingCommand> =>
      bed.client.invoke(addr, createRequest(RequestCode.UPDATE_BROKER_CONFIG, {}, Buffer.from(Object.entries(props).map(([k, v]) => `${k}=${v}`).join('\n'))), 15_000);
    expect((await update(master.brokerAddr, { brokerRole: 'SLAVE', brokerId: '2', haMasterAddress: '' })).code).toBe(ResponseCode.SUCCESS);
    expect(master.schedule.active).toBe(false);
    expect((await update(slave.brokerAddr, { brokerRole: 'ASYNC_MASTER', haMasterAddress: '' })).code).toBe(ResponseCode.SUCCESS);
    expect(slave.schedule.active).toBe(true);
    await waitFor(() => slave.store.getMaxOffsetInQueue('T', 0) === 1, 'delivery by the promoted slave');
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(3000);
    expect(slave.schedule.delivered).toBe(1);
    expect(master.schedule.delivered).toBe(0);
  });
});
