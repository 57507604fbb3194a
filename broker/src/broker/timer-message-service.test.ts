// 5.x timer messages (TIMER_DELIVER_MS / TIMER_DELAY_MS / TIMER_DELAY_SEC), in-process over real
// sockets: out-of-order delivery times, no earlier than due, restart durability without repeats,
// refusals with the RocketMQ codes, and the checkpoint a slave syncs.
import { describe, expect, it } from 'vitest';
import { RequestCode, ResponseCode } from '../protocol/codes.js';
import { decodeMessageRecords, encodeProperties, getProperty, type DecodedRecord } from '../protocol/message.js';
import { createRequest, type RemotingCommand } from '../protocol/remoting.js';
import { randomTestPort, useBrokerTestBed, waitFor } from './broker.testbed.js';
import { PullSysFlag } from './pull-processor.js';
import { decodeTimerCheckpoint, encodeTimerCheckpoint, placeTimer, TIMER_TOPIC } from './timer-message-service.js';

const bed = useBrokerTestBed('timer-test-', { brokerName: 'broker-t', flushDelayOffsetInterval: '200' });
const startBroker = bed.startBroker.bind(bed);

function send(topic: string, body: string, props: Record<string, string>, queueId = 0): RemotingCommand {
  return createRequest(RequestCode.SEND_MESSAGE, {
    producerGroup: 'PG', topic, defaultTopic: 'TBW102', defaultTopicQueueNums: '4', queueId: String(queueId), sysFlag: '0',
    bornTimestamp: String(Date.now()), flag: '0', properties: encodeProperties(new Map(Object.entries(props))), reconsumeTimes: '0',
  }, Buffer.from(body));
}

async function pull(addr: string, topic: string, queueId = 0): Promise<DecodedRecord[]> {
  const r = await bed.client.invoke(addr, createRequest(RequestCode.PULL_MESSAGE, {
    consumerGroup: 'CG', topic, queueId: String(queueId), queueOffset: '0', maxMsgNums: '32', sysFlag: String(PullSysFlag.SUBSCRIPTION),
    commitOffset: '0', suspendTimeoutMillis: '0', subscription: '*', subVersion: '0', expressionType: 'TAG',
  }));
  return r.code === ResponseCode.SUCCESS ? decodeMessageRecords(r.body!) : [];
}

async function createTopic(addr: string, topic: string, queues = 1): Promise<void> {
  await bed.client.invokeOk(addr, createRequest(RequestCode.UPDATE_AND_CREATE_TOPIC, { topic, defaultTopic: 'TBW102', readQueueNums: String(queues), writeQueueNums: String(queues), perm: '6', topicFilterType: 'SINGLE_TAG', order: 'false' }));
}

describe('placeTimer (HookUtils.transformTimerMessage)', () => {
  const on = { timerWheelEnable: true, timerMaxDelaySec: 60 };
  const now = 1_000_000;

  it('reads the three properties, DELAY_SEC first, and rewrites for rmq_sys_wheel_timer', () => {
    const p = new Map([['TIMER_DELAY_SEC', '3'], ['TIMER_DELAY_MS', '10'], ['TAGS', 'A']]);
    expect(placeTimer(p, 'T', 2, on, now)).toEqual({ kind: 'timer', topic: TIMER_TOPIC, queueId: 0, tagsCode: now + 3000, deliverMs: now + 3000 });
    expect(Object.fromEntries(p)).toMatchObject({ TIMER_OUT_MS: String(now + 3000), REAL_TOPIC: 'T', REAL_QID: '2', TAGS: 'A' });
    expect(placeTimer(new Map([['TIMER_DELAY_MS', '1500']]), 'T', 0, on, now)).toMatchObject({ deliverMs: now + 1500 });
    expect(placeTimer(new Map([['TIMER_DELIVER_MS', String(now + 42)]]), 'T', 0, on, now)).toMatchObject({ deliverMs: now + 42 });
  });

  it('leaves ordinary, already-due and already-converted messages alone', () => {
    expect(placeTimer(new Map([['TAGS', 'A']]), 'T', 0, on, now)).toEqual({ kind: 'none' });
    const due = new Map([['TIMER_DELIVER_MS', String(now - 1)]]);
    expect(placeTimer(due, 'T', 0, on, now)).toEqual({ kind: 'none' });
    expect(due.has('REAL_TOPIC')).toBe(false);
    expect(placeTimer(new Map([['TIMER_DELAY_SEC', '5'], ['TIMER_OUT_MS', '1']]), 'T', 0, on, now)).toEqual({ kind: 'none' });
  });

  it('refuses what Java refuses, with a remark naming the fault', () => {
    expect(placeTimer(new Map([['TIMER_DELAY_SEC', '61']]), 'T', 0, on, now)).toMatchObject({ kind: 'refused', code: 'ILLEGAL', remark: expect.stringContaining('max delay 60000ms') });
    expect(placeTimer(new Map([['TIMER_DELIVER_MS', 'soon']]), 'T', 0, on, now)).toMatchObject({ kind: 'refused', code: 'ILLEGAL', remark: expect.stringContaining('TIMER_DELIVER_MS="soon"') });
    expect(placeTimer(new Map([['TIMER_DELAY_MS', '5']]), 'T', 0, { ...on, timerWheelEnable: false }, now)).toMatchObject({ kind: 'refused', code: 'NOT_ENABLED' });
    expect(placeTimer(new Map([['TIMER_DELAY_MS', '5'], ['TIMER_DEL_UNIQKEY', 'x']]), 'T', 0, on, now)).toMatchObject({ kind: 'refused', code: 'ILLEGAL' });
  });

  it('encodes the checkpoint in Java TimerCheckpoint layout', () => {
    const b = encodeTimerCheckpoint({ readTimeMs: 123, enqueuedTo: 7, scanFrom: 3 }, { stateVersion: 0, timestamp: 99, counter: 5 });
    expect(b.length).toBe(56);
    expect(b.readBigInt64BE(0)).toBe(123n);
    expect(b.readBigInt64BE(16)).toBe(7n);
    expect(b.readBigInt64BE(24)).toBe(7n);
    expect(b.readBigInt64BE(48)).toBe(5n);
    expect(decodeTimerCheckpoint(b)).toEqual({ readTimeMs: 123, enqueuedTo: 7 });
    expect(() => decodeTimerCheckpoint(Buffer.alloc(8))).toThrow(/8 bytes/);
  });
});

describe('timer messages on a broker', () => {
  it('delivers by time, not by send order, no earlier than due and within a second after', async () => {
    const b = await startBroker('a');
    await createTopic(b.brokerAddr, 'T', 2);
    const sentAt = Date.now();
    expect((await bed.client.invoke(b.brokerAddr, send('T', 'late', { TIMER_DELAY_MS: '1600', TAGS: 'L', UNIQ_KEY: 'U-late' }, 1))).code).toBe(ResponseCode.SUCCESS);
    expect((await bed.client.invoke(b.brokerAddr, send('T', 'early', { TIMER_DELIVER_MS: String(sentAt + 700), TAGS: 'E' }, 1))).code).toBe(ResponseCode.SUCCESS);
    expect((await bed.client.invoke(b.brokerAddr, send('T', 'now', {}, 1))).code).toBe(ResponseCode.SUCCESS);
    expect((await pull(b.brokerAddr, 'T', 1)).map((m) => m.body.toString())).toEqual(['now']);
    expect(b.store.getMaxOffsetInQueue(TIMER_TOPIC, 0)).toBe(2);

    await waitFor(async () => (await pull(b.brokerAddr, 'T', 1)).length >= 2, 'the early one');
    const firstAt = Date.now() - sentAt;
    expect(firstAt).toBeGreaterThanOrEqual(700);
    expect(firstAt).toBeLessThan(1700);
    await waitFor(async () => (await pull(b.brokerAddr, 'T', 1)).length >= 3, 'the late one');
    const msgs = await pull(b.brokerAddr, 'T', 1);
    expect(msgs.map((m) => m.body.toString())).toEqual(['now', 'early', 'late']);
    const late = msgs[2]!;
    expect(late.storeTimestamp - sentAt).toBeGreaterThanOrEqual(1600);
    expect(late.storeTimestamp - sentAt).toBeLessThan(2600);
    expect(getProperty(late.properties, 'REAL_TOPIC')).toBeUndefined();
    expect(getProperty(late.properties, 'UNIQ_KEY')).toBe('U-late');
    expect(getProperty(late.properties, 'TAGS')).toBe('L');
    expect(Number(getProperty(late.properties, 'TIMER_OUT_MS'))).toBeGreaterThanOrEqual(sentAt + 1600);
    expect(getProperty(late.properties, 'TIMER_ENQUEUE_MS')).toMatch(/^\d+$/);
    expect(getProperty(late.properties, 'TIMER_DEQUEUE_MS')).toMatch(/^\d+$/);
    expect(b.timers.delivered).toBe(2);
    expect(b.timers.pending).toBe(0);
  });

  it('keeps pending timers across a restart, delivers the ones due meanwhile once, and never repeats delivered ones', async () => {
    const port = randomTestPort();
    let b = await startBroker('r', {}, port);
    await createTopic(b.brokerAddr, 'T');
    await bed.client.invokeOk(b.brokerAddr, send('T', 'first', { TIMER_DELAY_MS: '300' }));
    await bed.client.invokeOk(b.brokerAddr, send('T', 'down', { TIMER_DELAY_MS: '1500' }));
    await bed.client.invokeOk(b.brokerAddr, send('T', 'after', { TIMER_DELAY_MS: '4000' }));
    await waitFor(async () => (await pull(b.brokerAddr, 'T')).length === 1, 'first');
    await bed.stopBroker(b);
    await new Promise((r) => setTimeout(r, 1500));
    const restartedAt = Date.now();
    b = await startBroker('r', {}, port);
    await waitFor(async () => (await pull(b.brokerAddr, 'T')).length >= 2, 'the one due while down');
    expect(Date.now() - restartedAt).toBeLessThan(1000);
    expect(b.timers.pending).toBe(1);
    await waitFor(async () => (await pull(b.brokerAddr, 'T')).length >= 3, 'the one due after restart');
    await new Promise((r) => setTimeout(r, 300));
    expect((await pull(b.brokerAddr, 'T')).map((m) => m.body.toString())).toEqual(['first', 'down', 'after']);
  });

  it('refuses bad timer messages with MESSAGE_ILLEGAL / SYSTEM_ERROR and stores nothing', async () => {
    const b = await startBroker('x', { timerMaxDelaySec: '10' });
    await createTopic(b.brokerAddr, 'T');
    const tooFar = await bed.client.invoke(b.brokerAddr, send('T', 'x', { TIMER_DELAY_SEC: '11' }));
    expect(tooFar.code).toBe(ResponseCode.MESSAGE_ILLEGAL);
    expect(tooFar.remark).toMatch(/max delay 10000ms/);
    const bad = await bed.client.invoke(b.brokerAddr, send('T', 'x', { TIMER_DELIVER_MS: '12abc' }));
    expect(bad.code).toBe(ResponseCode.MESSAGE_ILLEGAL);
    const direct = await bed.client.invoke(b.brokerAddr, send(TIMER_TOPIC, 'x', {}));
    expect(direct.code).not.toBe(ResponseCode.SUCCESS);
    expect(b.store.getMaxOffsetInQueue(TIMER_TOPIC, 0)).toBe(0);
    expect(b.store.getMaxOffsetInQueue('T', 0)).toBe(0);

    const off = await startBroker('y', { timerWheelEnable: 'false' });
    await createTopic(off.brokerAddr, 'T');
    const r = await bed.client.invoke(off.brokerAddr, send('T', 'x', { TIMER_DELAY_SEC: '1' }));
    expect(r.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(r.remark).toMatch(/timerWheelEnable is false/);
  });

  it('a delay level wins over timer properties; GET_TIMER_CHECK_POINT reports progress', async () => {
    const b = await startBroker('d', { messageDelayLevel: '1s 2s' });
    await createTopic(b.brokerAddr, 'T');
    await bed.client.invokeOk(b.brokerAddr, send('T', 'lvl', { DELAY: '1', TIMER_DELAY_SEC: '30' }));
    expect(b.store.getMaxOffsetInQueue(TIMER_TOPIC, 0)).toBe(0);
    await bed.client.invokeOk(b.brokerAddr, send('T', 't', { TIMER_DELAY_MS: '200' }));
    await waitFor(async () => (await pull(b.brokerAddr, 'T')).length === 2, 'both');
    const cp = await bed.client.invokeOk(b.brokerAddr, createRequest(RequestCode.GET_TIMER_CHECK_POINT));
    const { readTimeMs, enqueuedTo } = decodeTimerCheckpoint(cp.body!);
    expect(enqueuedTo).toBe(1);
    expect(readTimeMs).toBeGreaterThan(Date.now() - 5000);
  });
});

describe('timer messages with a slave', () => {
  it('only the master delivers; a promoted slave delivers what is pending and repeats nothing', async () => {
    const opts = { slaveSyncIntervalMillis: '500', haSendHeartbeatInterval: '500' };
    const master = await startBroker('tm', { brokerRole: 'ASYNC_MASTER', ...opts });
    const slave = await startBroker('ts', { brokerRole: 'SLAVE', brokerId: '1', ...opts });
    await createTopic(master.brokerAddr, 'T');
    const sentAt = Date.now();
    await bed.client.invokeOk(master.brokerAddr, send('T', 'soon', { TIMER_DELAY_MS: '200' }));
    await bed.client.invokeOk(master.brokerAddr, send('T', 'later', { TIMER_DELAY_MS: '3000' }));
    await waitFor(() => slave.store.getMaxOffsetInQueue('T', 0) === 1, 'replicated delivery of the first');
    // The slave learns the master's progress (readTimeMs past "soon", before "later").
    await waitFor(() => slave.timers.checkpoint().enqueuedTo === 2 && slave.timers.checkpoint().readTimeMs >= sentAt + 200, 'checkpoint sync', 10_000);
    expect(slave.timers.active).toBe(false);
    expect(slave.timers.delivered).toBe(0);

    const update = (addr: string, props: Record<string, string>): Promise<RemotingCommand> =>
      bed.client.invoke(addr, createRequest(RequestCode.UPDATE_BROKER_CONFIG, {}, Buffer.from(Object.entries(props).map(([k, v]) => `${k}=${v}`).join('\n'))), 15_000);
    expect((await update(master.brokerAddr, { brokerRole: 'SLAVE', brokerId: '2', haMasterAddress: '' })).code).toBe(ResponseCode.SUCCESS);
    expect(master.timers.active).toBe(false);
    expect((await update(slave.brokerAddr, { brokerRole: 'ASYNC_MASTER', haMasterAddress: '' })).code).toBe(ResponseCode.SUCCESS);
    expect(slave.timers.active).toBe(true);
    expect(slave.timers.pending).toBe(1);
    await waitFor(() => slave.store.getMaxOffsetInQueue('T', 0) === 2, 'delivery by the promoted slave');
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(3000);
    await new Promise((r) => setTimeout(r, 300));
    expect((await pull(slave.brokerAddr, 'T')).map((m) => m.body.toString())).toEqual(['soon', 'later']);
    expect(slave.timers.delivered).toBe(1);
  });
});
