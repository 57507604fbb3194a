// TransactionalMessageService against real stores (in-memory and file): halves stay invisible,
// commit stores the real message once, rollback never does, the check service asks a producer
// connection, counts checks and discards, waits while no producer is connected, and its progress
// (consumer offsets of CID_RMQ_SYS_TRANS) survives a restart.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../common/logger.js';
import { RequestCode, ResponseCode } from '../../protocol/codes.js';
import { decodeMessageRecord, decodeProperties, encodeHost, encodeProperties, Prop, SysFlag, tagsCode, type DecodedRecord } from '../../protocol/message.js';
import type { RemotingCommand } from '../../protocol/remoting.js';
import { DefaultMessageStore } from '../../store/default-message-store.js';
import { MemoryMessageStore } from '../../store/memory-message-store.js';
import type { MessageStore } from '../../store/message-store.js';
import { ConsumerOffsetManager, TRANS_CHECK_MAX_TIME_TOPIC, TRANS_HALF_TOPIC, TRANS_OP_HALF_TOPIC } from '../metadata.js';
import { TIMER_TOPIC } from '../timer-message-service.js';
import { placeHalf, resetTransactionValue, TRANS_CHECK_GROUP, TranProp, type EndTransactionHeader } from './transaction-util.js';
import { TransactionalMessageService, type CheckChannel, type TransactionSettings } from './transactional-message-service.js';

const BROKER_HOST = encodeHost('127.0.0.1:10911');
const BORN_HOST = encodeHost('10.0.0.7:50000');

class FakeProducer implements CheckChannel {
  readonly remoteAddress = '10.0.0.7:50000';
  readonly checks: RemotingCommand[] = [];
  invokeOneway(request: RemotingCommand): void {
    this.checks.push(request);
  }
}

interface Half {
  commitLogOffset: number;
  queueOffset: number;
  uniqKey: string;
}

type StoreKind = 'memory' | 'file';

describe.each<StoreKind>(['memory', 'file'])('TransactionalMessageService on the %s store', (kind) => {
  let dir: string;
  let store: MessageStore;
  let offsets: ConsumerOffsetManager;
  let service: TransactionalMessageService;
  const producers = new Map<string, FakeProducer>();
  const settings: TransactionSettings = {
    transactionTimeOut: 1000, transactionCheckMax: 3, transactionCheckInterval: 100, fileReservedTime: 72, brokerName: 'broker-t', timerWheelEnable: true, timerMaxDelaySec: 3600,
  };
  const created: string[] = [];
  let uniq = 0;

  const openStore = async (): Promise<MessageStore> => {
    const s = kind === 'memory' ? new MemoryMessageStore() : new DefaultMessageStore({ storePathRootDir: join(dir, 'store'), mappedFileSizeCommitLog: 1024 * 1024, logger: silentLogger() });
    await s.start();
    return s;
  };
  const openService = (): TransactionalMessageService => {
    offsets = new ConsumerOffsetManager(join(dir, 'config'));
    offsets.load();
    return new TransactionalMessageService({
      store,
      offsets,
      producerChannel: (g) => producers.get(g),
      settings: () => settings,
      brokerHost: BROKER_HOST,
      ensureTopic: (t) => created.push(t),
      log: silentLogger(),
    });
  };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tx-service-'));
    producers.clear();
    created.length = 0;
    settings.transactionCheckMax = 3;
    store = await openStore();
    service = openService();
  });

  afterEach(async () => {
    await service.shutdown();
    await store.shutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  /** What the send path stores for a transaction half (send-processor + placeHalf). */
  async function putHalf(topic: string, queueId: number, body: string, opts: { group?: string; bornAgoMs?: number; props?: Record<string, string> } = {}): Promise<Half> {
    const uniqKey = `UNIQ${String(++uniq).padStart(8, '0')}`;
    const props = new Map(Object.entries({ TAGS: 'TagT', KEYS: 'k1', [Prop.TRAN_MSG]: 'true', [Prop.PGROUP]: opts.group ?? 'PG', [Prop.UNIQ_KEY]: uniqKey, ...opts.props }));
    const place = placeHalf(props, topic, queueId);
    const r = await store.putMessage({
      topic: place.topic, queueId: place.queueId, flag: 3, sysFlag: resetTransactionValue(SysFlag.TRANSACTION_PREPARED, SysFlag.TRANSACTION_NOT_TYPE),
      bornTimestamp: Date.now() - (opts.bornAgoMs ?? 0), bornHost: BORN_HOST, storeHost: BROKER_HOST, reconsumeTimes: 0, preparedTransactionOffset: 0,
      body: Buffer.from(body), properties: encodeProperties(props), tagsCode: tagsCode('TagT'), waitStoreMsgOK: true,
    });
    expect(r.status).toBe('PUT_OK');
    return { commitLogOffset: r.appended[0]!.physicalOffset, queueOffset: r.appended[0]!.queueOffset, uniqKey };
  }

  function end(h: Half, type: number, extra: Partial<EndTransactionHeader> = {}): Promise<{ code: number; remark?: string }> {
    return service.endTransaction({ producerGroup: 'PG', tranStateTableOffset: h.queueOffset, commitLogOffset: h.commitLogOffset, commitOrRollback: type, fromTransactionCheck: false, msgId: h.uniqKey, transactionId: h.uniqKey, ...extra }, 'test');
  }

  function read(topic: string, queueId = 0): DecodedRecord[] {
    const res = store.getMessages(topic, queueId, 0, { maxMsgNums: 100 });
    return res.status === 'FOUND' ? res.messages.map((m) => decodeMessageRecord(m)!) : [];
  }

  /** Halves born this long ago are due for a check. */
  const DUE = 5000;

  it('keeps a half invisible; commit stores the real message once with Java\'s properties and flags', async () => {
    const h = await putHalf('T_tx', 2, 'body-commit');
    expect(read('T_tx', 2)).toEqual([]);
    const half = read(TRANS_HALF_TOPIC)[0]!;
    expect(decodeProperties(half.properties).get(Prop.REAL_TOPIC)).toBe('T_tx');

    expect(await end(h, SysFlag.TRANSACTION_COMMIT)).toEqual({ code: ResponseCode.SUCCESS });
    const got = read('T_tx', 2);
    expect(got).toHaveLength(1);
    const m = got[0]!;
    const props = decodeProperties(m.properties);
    expect(m.body.toString()).toBe('body-commit');
    expect(m.flag).toBe(3);
    expect(m.sysFlag & SysFlag.TRANSACTION_MASK).toBe(SysFlag.TRANSACTION_COMMIT);
    expect(m.preparedTransactionOffset).toBe(h.commitLogOffset);
    expect(m.bornHost.equals(BORN_HOST)).toBe(true);
    expect(props.get(Prop.UNIQ_KEY)).toBe(h.uniqKey);
    expect(props.get(TranProp.TRANSACTION_ID)).toBe(h.uniqKey);
    expect(props.get(Prop.TRAN_MSG)).toBe('true');
    expect(props.get('TAGS')).toBe('TagT');
    expect(props.has(Prop.REAL_TOPIC)).toBe(false);
    expect(props.has(Prop.REAL_QID)).toBe(false);
    const ops = read(TRANS_OP_HALF_TOPIC);
    expect(ops.map((o) => o.body.toString())).toEqual([`${h.queueOffset},`]);

    // Resolved: the check service neither asks about it nor stores it again.
    producers.set('PG', new FakeProducer());
    const r = await service.checkOnce(Date.now() + DUE);
    expect(r).toMatchObject({ checked: 0, resolved: 1 });
    expect(producers.get('PG')!.checks).toEqual([]);
    expect(read('T_tx', 2)).toHaveLength(1);
    expect(offsets.query(TRANS_CHECK_GROUP, TRANS_HALF_TOPIC, 0)).toBe(1);
    expect(offsets.query(TRANS_CHECK_GROUP, TRANS_OP_HALF_TOPIC, 0)).toBe(1);
  });

  it('a committed message with TIMER_DELAY_MS goes to the timer queue, not yet to its topic', async () => {
    const h = await putHalf('T_tx', 0, 'timed', { props: { TIMER_DELAY_MS: '60000' } });
    expect((await end(h, SysFlag.TRANSACTION_COMMIT)).code).toBe(ResponseCode.SUCCESS);
    expect(read('T_tx')).toEqual([]);
    const timed = read(TIMER_TOPIC);
    expect(timed.map((m) => m.body.toString())).toEqual(['timed']);
    const props = decodeProperties(timed[0]!.properties);
    expect(props.get(Prop.REAL_TOPIC)).toBe('T_tx');
    expect(Number(props.get('TIMER_OUT_MS'))).toBeGreaterThan(Date.now());
    expect(timed[0]!.sysFlag & SysFlag.TRANSACTION_MASK).toBe(SysFlag.TRANSACTION_COMMIT);
  });

  it('rollback never stores the message and writes an op record', async () => {
    const h = await putHalf('T_tx', 0, 'body-rollback');
    expect((await end(h, SysFlag.TRANSACTION_ROLLBACK)).code).toBe(ResponseCode.SUCCESS);
    expect(read('T_tx')).toEqual([]);
    expect(read(TRANS_OP_HALF_TOPIC)).toHaveLength(1);
    producers.set('PG', new FakeProducer());
    await service.checkOnce(Date.now() + DUE);
    expect(producers.get('PG')!.checks).toEqual([]);
    expect(read('T_tx')).toEqual([]);
  });

  it('answers bad END_TRANSACTION requests with Java\'s errors and changes nothing', async () => {
    const h = await putHalf('T_tx', 0, 'b');
    const bogus = await end({ ...h, commitLogOffset: h.commitLogOffset + 7 }, SysFlag.TRANSACTION_COMMIT);
    expect(bogus.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(bogus.remark).toMatch(/^Find prepared transaction message failed/);
    const group = await end(h, SysFlag.TRANSACTION_COMMIT, { producerGroup: 'OTHER' });
    expect(group.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(group.remark).toMatch(/^The producer group wrong/);
    const table = await end(h, SysFlag.TRANSACTION_COMMIT, { tranStateTableOffset: h.queueOffset + 5 });
    expect(table.remark).toMatch(/^The transaction state table offset wrong/);
    // A normal message is not a half.
    const normal = await store.putMessage({ topic: 'T_plain', queueId: 0, flag: 0, sysFlag: 0, bornTimestamp: Date.now(), bornHost: BORN_HOST, storeHost: BROKER_HOST, reconsumeTimes: 0, preparedTransactionOffset: 0, body: Buffer.from('x'), properties: encodeProperties({ PGROUP: 'PG' }), tagsCode: 0, waitStoreMsgOK: true });
    const notHalf = await end({ ...h, commitLogOffset: normal.appended[0]!.physicalOffset, queueOffset: 0 }, SysFlag.TRANSACTION_COMMIT);
    expect(notHalf.remark).toMatch(/not a transaction half message/);
    expect(read('T_tx')).toEqual([]);
    expect(read(TRANS_OP_HALF_TOPIC)).toEqual([]);
  });

  it('checks a due half back with a producer connection, and the answer commits it', async () => {
    const fresh = await putHalf('T_tx', 1, 'young');
    const p = new FakeProducer();
    producers.set('PG', p);
    // Younger than transactionTimeOut: not yet.
    expect((await service.checkOnce()).checked).toBe(0);
    expect(p.checks).toEqual([]);

    const r = await service.checkOnce(Date.now() + DUE);
    expect(r.checked).toBe(1);
    const req = p.checks[0]!;
    expect(req.code).toBe(RequestCode.CHECK_TRANSACTION_STATE);
    const copyOffset = Number(req.extFields.commitLogOffset);
    expect(copyOffset).toBeGreaterThan(fresh.commitLogOffset);
    expect(req.extFields).toMatchObject({ msgId: fresh.uniqKey, transactionId: fresh.uniqKey, tranStateTableOffset: '1', bname: 'broker-t' });
    const sent = decodeMessageRecord(req.body!)!;
    expect(sent.topic).toBe('T_tx');
    expect(sent.queueId).toBe(1);
    expect(sent.physicalOffset).toBe(copyOffset);
    expect(sent.body.toString()).toBe('young');
    expect(decodeProperties(sent.properties).get(TranProp.CHECK_TIMES)).toBe('1');

    // The producer answers for the copy (fromTransactionCheck).
    const res = await end({ commitLogOffset: copyOffset, queueOffset: Number(req.extFields.tranStateTableOffset), uniqKey: fresh.uniqKey }, SysFlag.TRANSACTION_COMMIT, { fromTransactionCheck: true });
    expect(res.code).toBe(ResponseCode.SUCCESS);
    expect(read('T_tx', 1).map((m) => m.body.toString())).toEqual(['young']);
    await service.checkOnce(Date.now() + 2 * DUE);
    await service.checkOnce(Date.now() + 3 * DUE);
    expect(p.checks).toHaveLength(1);
    expect(read('T_tx', 1)).toHaveLength(1);
  });

  it('waits CHECK_IMMUNITY_TIME_IN_SECONDS before the first check; past it only a check\'s answer may end the transaction', async () => {
    const h = await putHalf('T_tx', 0, 'immune', { props: { [TranProp.CHECK_IMMUNITY_TIME_IN_SECONDS]: '10' } });
    const p = new FakeProducer();
    producers.set('PG', p);
    // Older than transactionTimeOut (1 s) but within its own 10 s.
    expect((await service.checkOnce(Date.now() + DUE)).checked).toBe(0);
    expect((await service.checkOnce(Date.now() + 11_000)).checked).toBe(1);
    const late = await service.endTransaction({ producerGroup: 'PG', tranStateTableOffset: h.queueOffset, commitLogOffset: h.commitLogOffset, commitOrRollback: SysFlag.TRANSACTION_COMMIT, fromTransactionCheck: false, msgId: h.uniqKey, transactionId: h.uniqKey }, 'test');
    // Born "now", so not yet past its immunity time: accepted.
    expect(late.code).toBe(ResponseCode.SUCCESS);
    const old = await putHalf('T_tx', 0, 'immune-old', { bornAgoMs: 20_000, props: { [TranProp.CHECK_IMMUNITY_TIME_IN_SECONDS]: '10' } });
    const refused = await end(old, SysFlag.TRANSACTION_COMMIT);
    expect(refused.code).toBe(ResponseCode.ILLEGAL_OPERATION);
    expect(refused.remark).toMatch(/CHECK_IMMUNITY_TIME_IN_SECONDS/);
    expect((await end(old, SysFlag.TRANSACTION_COMMIT, { fromTransactionCheck: true })).code).toBe(ResponseCode.SUCCESS);
    expect(read('T_tx').map((m) => m.body.toString())).toEqual(['immune', 'immune-old']);
  });

  it('counts checks in TRANSACTION_CHECK_TIMES and discards after transactionCheckMax', async () => {
    settings.transactionCheckMax = 2;
    await putHalf('T_tx', 0, 'never-answered');
    const p = new FakeProducer();
    producers.set('PG', p);
    for (let round = 1; round <= 5; round++) await service.checkOnce(Date.now() + round * DUE);
    expect(p.checks.map((c) => decodeProperties(decodeMessageRecord(c.body!)!.properties).get(TranProp.CHECK_TIMES))).toEqual(['1', '2']);
    expect(created).toContain(TRANS_CHECK_MAX_TIME_TOPIC);
    const discarded = read(TRANS_CHECK_MAX_TIME_TOPIC);
    expect(discarded).toHaveLength(1);
    expect(discarded[0]!.body.toString()).toBe('never-answered');
    expect(decodeProperties(discarded[0]!.properties).get(Prop.REAL_TOPIC)).toBe('T_tx');
    expect(read('T_tx')).toEqual([]);
    expect(service.stats.discarded).toBe(1);
  });

  it('keeps a half while no producer of its group is connected, and checks it once one is', async () => {
    settings.transactionCheckMax = 1;
    await putHalf('T_tx', 0, 'orphan', { group: 'PG_gone' });
    for (let round = 1; round <= 4; round++) {
      const r = await service.checkOnce(Date.now() + round * DUE);
      expect(r).toMatchObject({ checked: 0, discarded: 0, waitingForProducer: 1 });
    }
    const p = new FakeProducer();
    producers.set('PG_gone', p);
    expect((await service.checkOnce(Date.now() + 10 * DUE)).checked).toBe(1);
    expect(decodeMessageRecord(p.checks[0]!.body!)!.body.toString()).toBe('orphan');
    expect(read(TRANS_CHECK_MAX_TIME_TOPIC)).toEqual([]);
  });

  it('resumes from its persisted progress after a restart: unresolved halves are checked, resolved ones never', async () => {
    const committed = await putHalf('T_tx', 0, 'committed-before');
    const pending = await putHalf('T_tx', 0, 'pending');
    expect((await end(committed, SysFlag.TRANSACTION_COMMIT)).code).toBe(ResponseCode.SUCCESS);
    // A round with nobody connected moves the progress past the committed half.
    await service.checkOnce(Date.now() + DUE);
    expect(offsets.query(TRANS_CHECK_GROUP, TRANS_HALF_TOPIC, 0)).toBeGreaterThan(committed.queueOffset);

    await service.shutdown();
    if (kind === 'file') {
      await store.shutdown();
      store = await openStore();
    }
    service = openService();
    expect(offsets.query(TRANS_CHECK_GROUP, TRANS_HALF_TOPIC, 0)).toBeGreaterThan(committed.queueOffset);
    const p = new FakeProducer();
    producers.set('PG', p);
    await service.checkOnce(Date.now() + 2 * DUE);
    expect(p.checks.map((c) => c.extFields.msgId)).toEqual([pending.uniqKey]);
    expect(read('T_tx').map((m) => m.body.toString())).toEqual(['committed-before']);
  });
});
