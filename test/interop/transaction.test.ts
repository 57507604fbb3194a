// Transactional messages with the real Java TransactionMQProducer, 4.9.x and 5.x remoting clients
// (TransactionCheck.java): COMMIT arrives once, ROLLBACK never (a later committed marker does),
// UNKNOW is checked back by the broker and the check's COMMIT arrives; a half left unknown
// survives a broker restart and is checked afterwards; END_TRANSACTION for a bogus offset fails.
// The same flow with rocketmq-client-go/v2's transaction producer (test/interop/go/txcheck).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../broker/src/common/logger.js';
import { RequestCode, ResponseCode } from '../../broker/src/protocol/codes.js';
import { createRequest } from '../../broker/src/protocol/remoting.js';
import { RemotingClient } from '../../broker/src/transport/client.js';
import { buildGoCheck, createTopic, OurCluster, prepareDriver, runCheckProgram, runJavaCheck } from './harness.js';

interface TxEvent {
  event: string;
  at?: number;
  body?: string;
  status?: string;
  localState?: string;
  transactionId?: string | null;
  msgId?: string;
  offsetMsgId?: string;
  queueOffset?: number;
  topic?: string;
  queueId?: number;
  checkTimes?: string | null;
  uniqKey?: string | null;
  tranMsg?: string | null;
  realTopic?: string | null;
  preparedTransactionOffset?: number;
  error?: string;
}

/** Runs TransactionCheck with client line 4 or 5 to its end and returns its JSON events. */
function runCheck(line: 4 | 5, args: string[], logFile: string, timeoutMs = 90_000): Promise<TxEvent[]> {
  return runJavaCheck<TxEvent>(line, 'TransactionCheck', args, logFile, timeoutMs, ['-XX:+UseSerialGC']);
}

/** (a) COMMIT once, (b) ROLLBACK never though a later marker arrives, (c) UNKNOW checked back once and committed. */
function expectFlow(events: TxEvent[], topic: string): void {
  const facts = JSON.stringify(events);
  const sent = new Map(events.filter((e) => e.event === 'sent').map((e) => [e.body!, e]));
  expect([...sent.values()].map((e) => e.status), facts).toEqual(['SEND_OK', 'SEND_OK', 'SEND_OK', 'SEND_OK']);
  expect(sent.get('tx-unknown')!.localState).toBe('UNKNOW');
  const received = events.filter((e) => e.event === 'received');
  expect(received.map((e) => e.body).sort(), facts).toEqual(['tx-commit', 'tx-marker', 'tx-unknown']);
  for (const r of received) {
    const s = sent.get(r.body!)!;
    expect(r.topic).toBe(topic);
    expect(r.uniqKey).toBe(s.transactionId);
    expect(r.transactionId).toBe(s.transactionId);
    expect(r.tranMsg).toBe('true');
    expect(r.realTopic).toBeNull();
  }
  // The broker asked about the UNKNOW one only, once, under its real topic.
  const checked = events.filter((e) => e.event === 'checked');
  expect(checked.map((e) => e.body), facts).toEqual(['tx-unknown']);
  expect(checked[0]).toMatchObject({ topic, transactionId: sent.get('tx-unknown')!.transactionId, checkTimes: '1' });
}

for (const line of [4, 5] as const) {
  const kind = line === 4 ? 'java4' : 'java5';
  const skip = prepareDriver(kind);

  describe.skipIf(skip !== undefined)(`transactional messages with the ${kind} client${skip ? ` (skipped: ${skip})` : ''}`, () => {
    // Short check timing: a half unresolved for 1 s is checked back within about 2 s.
    const cluster = new OurCluster(`interop-tx-${line}`, { brokerConf: { transactionTimeOut: '1000', transactionCheckInterval: '1000' } });
    const log = (name: string): string => join(cluster.dir, `${name}.log`);
    beforeAll(() => cluster.start());
    afterAll(() => cluster.stop());

    it('COMMIT arrives once, ROLLBACK never (a later marker does), UNKNOW is checked back and committed', async () => {
      const topic = `T_tx${line}_${Date.now()}`;
      await createTopic(cluster, topic, 2);
      expectFlow(await runCheck(line, ['flow', '--namesrv', cluster.namesrvAddr, '--topic', topic, '--group', `PG_tx${line}`], log('flow')), topic);
    });

    it('END_TRANSACTION for a bogus offset gets SYSTEM_ERROR "Find prepared transaction message failed"', async () => {
      const client = new RemotingClient(silentLogger());
      try {
        const r = await client.invoke(cluster.brokerAddr, createRequest(RequestCode.END_TRANSACTION, {
          producerGroup: `PG_tx${line}`, tranStateTableOffset: '0', commitLogOffset: '123456789', commitOrRollback: '8', fromTransactionCheck: 'false', msgId: 'BOGUS', transactionId: 'BOGUS',
        }));
        expect(r.code).toBe(ResponseCode.SYSTEM_ERROR);
        expect(r.remark).toMatch(/^Find prepared transaction message failed/);
      } finally {
        await client.close();
      }
    });

    it('a half left unknown survives a broker restart and is checked back afterwards', async () => {
      const topic = `T_txr${line}_${Date.now()}`;
      const group = `PG_txr${line}`;
      await createTopic(cluster, topic, 2);
      const first = await runCheck(line, ['send-unknown', '--namesrv', cluster.namesrvAddr, '--topic', topic, '--group', group, '--body', 'tx-restart'], log('send-unknown'));
      const sent = first.find((e) => e.event === 'sent')!;
      expect(sent).toMatchObject({ status: 'SEND_OK', localState: 'UNKNOW' });
      expect(await cluster.stopBroker('SIGTERM')).toBe(0);
      await cluster.startBroker();
      const events = await runCheck(line, ['await-check', '--namesrv', cluster.namesrvAddr, '--topic', topic, '--group', group, '--body', 'tx-restart'], log('await-check'));
      const facts = JSON.stringify(events);
      const checked = events.filter((e) => e.event === 'checked');
      expect(checked.length, facts).toBeGreaterThanOrEqual(1);
      expect(checked[0]).toMatchObject({ body: 'tx-restart', transactionId: sent.transactionId, topic });
      expect(events.filter((e) => e.event === 'received').map((e) => e.body).sort(), facts).toEqual(['tx-restart', 'tx-warmup']);
    });
  });
}

const skipGo = prepareDriver('go');

describe.skipIf(skipGo !== undefined)(`transactional messages with the go client${skipGo ? ` (skipped: ${skipGo})` : ''}`, () => {
  const cluster = new OurCluster('interop-tx-go', { brokerConf: { transactionTimeOut: '1000', transactionCheckInterval: '1000' } });
  let binary = '';
  beforeAll(async () => {
    binary = buildGoCheck('txcheck');
    await cluster.start();
  });
  afterAll(() => cluster.stop());

  it('COMMIT arrives once, ROLLBACK never (a later marker does), UNKNOW is checked back and committed', async () => {
    const topic = `T_txgo_${Date.now()}`;
    await createTopic(cluster, topic, 2);
    const events = await runCheckProgram<TxEvent>(binary, ['--namesrv', cluster.namesrvAddr, '--topic', topic, '--group', 'PG_txgo'], join(cluster.dir, 'go-flow.log'), 90_000);
    expectFlow(events, topic);
  });
});
