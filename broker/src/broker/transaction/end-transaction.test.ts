// Transactions through a real broker over real sockets (file store): a half send answers as Java
// does and stays invisible, END_TRANSACTION commits or fails with Java's errors, a slave refuses
// it, rejectTransactionMessage refuses halves, and the check service asks a producer connection
// (known from its heartbeat) — also for a half left unresolved across a broker restart.
import { describe, expect, it } from 'vitest';
import { RequestCode, ResponseCode } from '../../protocol/codes.js';
import { decodeMessageRecord, decodeMessageRecords, decodeOffsetMsgId, decodeProperties, encodeProperties, Prop, SysFlag, type DecodedRecord } from '../../protocol/message.js';
import { createRequest, type RemotingCommand } from '../../protocol/remoting.js';
import { silentLogger } from '../../common/logger.js';
import { RemotingClient } from '../../transport/client.js';
import { TRANS_HALF_TOPIC } from '../metadata.js';
import { PullSysFlag } from '../pull-processor.js';
import { randomTestPort, useBrokerTestBed, waitFor } from '../broker.testbed.js';

const bed = useBrokerTestBed('tx-broker-', { brokerName: 'broker-tx' });
const startBroker = bed.startBroker.bind(bed);

function sendHalf(topic: string, body: string, group = 'PG_tx', queueId = 1): RemotingCommand {
  return createRequest(RequestCode.SEND_MESSAGE, {
    producerGroup: group, topic, defaultTopic: 'TBW102', defaultTopicQueueNums: '4', queueId: String(queueId), sysFlag: String(SysFlag.TRANSACTION_PREPARED),
    bornTimestamp: String(Date.now()), flag: '0', properties: encodeProperties({ TAGS: 'TagX', [Prop.TRAN_MSG]: 'true', [Prop.PGROUP]: group, [Prop.UNIQ_KEY]: `U${Date.now()}${Math.random()}`.replace('.', '') }),
    reconsumeTimes: '0',
  }, Buffer.from(body));
}

interface Sent {
  commitLogOffset: number;
  queueOffset: number;
  transactionId: string;
}

async function half(addr: string, topic: string, body: string, group?: string): Promise<Sent> {
  const r = await bed.client.invoke(addr, sendHalf(topic, body, group));
  expect(r.code, r.remark).toBe(ResponseCode.SUCCESS);
  return { commitLogOffset: decodeOffsetMsgId(r.extFields.msgId!).physicalOffset, queueOffset: Number(r.extFields.queueOffset), transactionId: r.extFields.transactionId! };
}

function endTx(s: Sent, type: number, extra: Record<string, string> = {}): RemotingCommand {
  return createRequest(RequestCode.END_TRANSACTION, {
    producerGroup: 'PG_tx', tranStateTableOffset: String(s.queueOffset), commitLogOffset: String(s.commitLogOffset), commitOrRollback: String(type),
    fromTransactionCheck: 'false', msgId: s.transactionId, transactionId: s.transactionId, ...extra,
  });
}

async function pull(addr: string, topic: string, queueId = 1): Promise<DecodedRecord[]> {
  const r = await bed.client.invoke(addr, createRequest(RequestCode.PULL_MESSAGE, {
    consumerGroup: 'CG_tx', topic, queueId: String(queueId), queueOffset: '0', maxMsgNums: '32', sysFlag: String(PullSysFlag.SUBSCRIPTION),
    commitOffset: '0', suspendTimeoutMillis: '0', subscription: '*', subVersion: '0', expressionType: 'TAG',
  }));
  return r.code === ResponseCode.SUCCESS ? decodeMessageRecords(r.body!) : [];
}

/** A producer of PG_tx as the broker sees it: heartbeats, and records CHECK_TRANSACTION_STATE. */
function fakeProducer(c: RemotingClient): RemotingCommand[] {
  const checks: RemotingCommand[] = [];
  c.register(RequestCode.CHECK_TRANSACTION_STATE, (req) => {
    checks.push(req);
    return null;
  });
  return checks;
}

async function heartbeat(c: RemotingClient, addr: string): Promise<void> {
  await c.invokeOk(addr, createRequest(RequestCode.HEART_BEAT, {}, Buffer.from(JSON.stringify({ clientID: '127.0.0.1@tx-test', producerDataSet: [{ groupName: 'PG_tx' }], consumerDataSet: [] }))));
}

describe('transactions through the broker', () => {
  it('answers a half send like Java, keeps it invisible, and commits it on END_TRANSACTION', async () => {
    const b = await startBroker('b1');
    const s = await half(b.brokerAddr, 'T_tx', 'hello');
    expect(s.queueOffset).toBe(0);
    expect(await pull(b.brokerAddr, 'T_tx')).toEqual([]);
    const stored = decodeMessageRecord(b.store.lookMessageByOffset(s.commitLogOffset)!)!;
    expect(stored.topic).toBe(TRANS_HALF_TOPIC);
    expect(stored.queueId).toBe(0);
    expect(stored.sysFlag & SysFlag.TRANSACTION_MASK).toBe(0);
    expect(decodeProperties(stored.properties).get(Prop.UNIQ_KEY)).toBe(s.transactionId);

    const r = await bed.client.invoke(b.brokerAddr, endTx(s, SysFlag.TRANSACTION_COMMIT));
    expect(r.code, r.remark).toBe(ResponseCode.SUCCESS);
    const got = await pull(b.brokerAddr, 'T_tx');
    expect(got.map((m) => m.body.toString())).toEqual(['hello']);
    expect(got[0]!.sysFlag & SysFlag.TRANSACTION_MASK).toBe(SysFlag.TRANSACTION_COMMIT);
    expect(b.transactions.stats.committed).toBe(1);
  });

  it('refuses END_TRANSACTION for an unknown offset, a wrong group or a bad type, with Java\'s codes', async () => {
    const b = await startBroker('b2');
    const s = await half(b.brokerAddr, 'T_tx', 'x');
    const bogus = await bed.client.invoke(b.brokerAddr, endTx({ ...s, commitLogOffset: 987_654_321 }, SysFlag.TRANSACTION_COMMIT));
    expect(bogus.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(bogus.remark).toMatch(/^Find prepared transaction message failed/);
    const group = await bed.client.invoke(b.brokerAddr, endTx(s, SysFlag.TRANSACTION_ROLLBACK, { producerGroup: 'PG_other' }));
    expect(group.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(group.remark).toMatch(/^The producer group wrong/);
    const type = await bed.client.invoke(b.brokerAddr, endTx(s, 3));
    expect(type.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(type.remark).toMatch(/commitOrRollback field wrong/);
    expect(await pull(b.brokerAddr, 'T_tx')).toEqual([]);
  });

  it('refuses halves under rejectTransactionMessage=true (changeable at runtime) and a transaction sysFlag without TRAN_MSG', async () => {
    const b = await startBroker('b3', { rejectTransactionMessage: 'true' });
    const r = await bed.client.invoke(b.brokerAddr, sendHalf('T_tx', 'x'));
    expect(r.code).toBe(ResponseCode.NO_PERMISSION);
    expect(r.remark).toBe('the broker[127.0.0.1] sending transaction message is forbidden');
    const flagOnly = sendHalf('T_tx', 'y');
    flagOnly.extFields.properties = encodeProperties({ [Prop.PGROUP]: 'PG_tx' });
    const r2 = await bed.client.invoke(b.brokerAddr, flagOnly);
    expect(r2.code).toBe(ResponseCode.MESSAGE_ILLEGAL);
    expect(r2.remark).toMatch(/TRAN_MSG/);
    // The keys change at runtime (mqadmin updateBrokerConfig), validated.
    await b.updateConfig(new Map([['rejectTransactionMessage', 'false'], ['transactionCheckMax', '4']]));
    expect(b.config.transactionCheckMax).toBe(4);
    expect((await bed.client.invoke(b.brokerAddr, sendHalf('T_tx', 'x'))).code).toBe(ResponseCode.SUCCESS);
    await expect(b.updateConfig(new Map([['transactionCheckInterval', '10']]))).rejects.toThrow(/transactionCheckInterval: must be at least 100/);
  });

  it('a slave refuses END_TRANSACTION', async () => {
    const b = await startBroker('slave', { brokerRole: 'SLAVE', brokerId: '1' });
    const r = await bed.client.invoke(b.brokerAddr, endTx({ commitLogOffset: 0, queueOffset: 0, transactionId: 'X' }, SysFlag.TRANSACTION_COMMIT));
    expect(r.code).toBe(ResponseCode.SLAVE_NOT_AVAILABLE);
    expect(r.remark).toMatch(/slave/);
    expect(b.transactions.active).toBe(false);
  });

  it('checks an unresolved half back with a heartbeating producer, also after a broker restart', async () => {
    const conf = { transactionTimeOut: '300', transactionCheckInterval: '100' };
    const port = randomTestPort();
    let b = await startBroker('b5', conf, port);
    const producer = new RemotingClient(silentLogger());
    try {
      const checks = fakeProducer(producer);
      await heartbeat(producer, b.brokerAddr);
      const s = await half(b.brokerAddr, 'T_tx', 'checked');
      // The producer does not know yet (UNKNOW), oneway as clients send it.
      (await producer.connection(b.brokerAddr)).invokeOneway(endTx(s, SysFlag.TRANSACTION_NOT_TYPE));
      await waitFor(() => checks.length >= 1, 'a check');
      const check = checks[0]!;
      expect(check.extFields).toMatchObject({ msgId: s.transactionId, transactionId: s.transactionId });
      const msg = decodeMessageRecord(check.body!)!;
      expect(msg.topic).toBe('T_tx');
      expect(msg.queueId).toBe(1);
      // Answer for the copy the check names.
      const copy = { commitLogOffset: Number(check.extFields.commitLogOffset), queueOffset: Number(check.extFields.tranStateTableOffset), transactionId: s.transactionId };
      (await producer.connection(b.brokerAddr)).invokeOneway(endTx(copy, SysFlag.TRANSACTION_COMMIT, { fromTransactionCheck: 'true' }));
      await waitFor(async () => (await pull(b.brokerAddr, 'T_tx')).length === 1, 'the committed message');

      // A second half stays unresolved across a restart and is checked by the new broker.
      const s2 = await half(b.brokerAddr, 'T_tx', 'across-restart', 'PG_gone');
      await bed.stopBroker(b);
      b = await startBroker('b5', conf, port);
      const c2 = new RemotingClient(silentLogger());
      try {
        const checks2: RemotingCommand[] = [];
        c2.register(RequestCode.CHECK_TRANSACTION_STATE, (req) => {
          checks2.push(req);
          return null;
        });
        await c2.invokeOk(b.brokerAddr, createRequest(RequestCode.HEART_BEAT, {}, Buffer.from(JSON.stringify({ clientID: '127.0.0.1@tx-test-2', producerDataSet: [{ groupName: 'PG_gone' }], consumerDataSet: [] }))));
        await waitFor(() => checks2.length >= 1, 'a check after the restart');
        expect(checks2[0]!.extFields.msgId).toBe(s2.transactionId);
        const copy2 = { commitLogOffset: Number(checks2[0]!.extFields.commitLogOffset), queueOffset: Number(checks2[0]!.extFields.tranStateTableOffset), transactionId: s2.transactionId };
        const r = await c2.invoke(b.brokerAddr, endTx(copy2, SysFlag.TRANSACTION_COMMIT, { fromTransactionCheck: 'true', producerGroup: 'PG_gone' }));
        expect(r.code, r.remark).toBe(ResponseCode.SUCCESS);
        // The first message, committed before the restart, is not delivered again.
        expect((await pull(b.brokerAddr, 'T_tx')).map((m) => m.body.toString())).toEqual(['checked', 'across-restart']);
        // And the first one's producer group is never asked again.
        await new Promise((r2) => setTimeout(r2, 500));
        expect(checks2.every((c) => c.extFields.msgId === s2.transactionId)).toBe(true);
      } finally {
        await c2.close();
      }
    } finally {
      await producer.close();
    }
  });
});
