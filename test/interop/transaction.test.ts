// Transactional messages with the real Java TransactionMQProducer, 4.9.x and 5.x remoting clients
// (TransactionCheck.java): COMMIT arrives once, ROLLBACK never (a later committed marker does),
// UNKNOW is checked back by the broker and the check's COMMIT arrives; a half left unknown
// survives a broker restart and is checked afterwards; END_TRANSACTION for a bogus offset fails.
// The same flow with rocketmq-client-go/v2's transaction producer (test/interop/go/txcheck).
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../broker/src/common/logger.js';
import { RequestCode, ResponseCode } from '../../broker/src/protocol/codes.js';
import { createRequest } from '../../broker/src/protocol/remoting.js';
import { RemotingClient } from '../../broker/src/transport/client.js';
import { createTopic, OurCluster, prepareDriver, ROOT, withTimeout } from './harness.js';

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
  const target = join(ROOT, 'test/interop/java/target');
  const logDir = join(target, 'logs');
  // As run.sh: client logs go to files, stdout carries our JSON lines only.
  const logOpts = line === 4
    ? ['-Drocketmq.client.logUseSlf4j=false', `-Drocketmq.client.logRoot=${logDir}`, '-Drocketmq.client.logFileName=rocketmq_client_v4.log', '-Drocketmq.client.logLevel=WARN']
    : [`-Drocketmq.log.root=${logDir}/v5`, '-Drocketmq.log.level=warn', '-Dmq.consoleAppender.enabled=false'];
  const cp = `${readFileSync(join(target, `cp-${line}.txt`), 'utf8').trim()}:${join(target, `v${line}/classes`)}`;
  return runEvents('java', ['-Xmx256m', '-XX:+UseSerialGC', ...logOpts, '-cp', cp, 'org.rmqts.interop.TransactionCheck', ...args], `TransactionCheck ${args[0]}`, logFile, timeoutMs);
}

/** Builds test/interop/go/txcheck (a small program next to the shared Go driver). */
function buildGoTxCheck(): string {
  const dir = join(ROOT, 'test/interop/go');
  const out = join(dir, 'bin/txcheck');
  const r = spawnSync('go', ['build', '-trimpath', '-o', out, './txcheck'], {
    cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000,
    env: { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: `${process.env.GOFLAGS ?? ''} -mod=mod -buildvcs=false` },
  });
  if (r.status !== 0) throw new Error(`go build ./txcheck failed (exit ${r.status}):\n${r.stderr?.toString().slice(-3000)}`);
  return out;
}

/** Runs a check program to its end; its stdout's JSON lines are the events. */
async function runEvents(cmd: string, args: string[], what: string, logFile: string, timeoutMs: number): Promise<TxEvent[]> {
  const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(logFile, { flags: 'a' });
  child.stderr.pipe(log);
  let text = '';
  child.stdout.on('data', (d: Buffer) => {
    log.write(d);
    text += d.toString();
  });
  const code = await withTimeout(new Promise<number | null>((r) => child.on('exit', (c) => r(c))), timeoutMs, what).catch((err: unknown) => {
    child.kill('SIGKILL');
    throw err;
  });
  const events = text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as TxEvent);
  if (code !== 0) throw new Error(`${what} exited with ${code}: ${JSON.stringify(events.filter((e) => e.event === 'error'))}; see ${logFile}`);
  return events;
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
    binary = buildGoTxCheck();
    await cluster.start();
  });
  afterAll(() => cluster.stop());

  it('COMMIT arrives once, ROLLBACK never (a later marker does), UNKNOW is checked back and committed', async () => {
    const topic = `T_txgo_${Date.now()}`;
    await createTopic(cluster, topic, 2);
    const events = await runEvents(binary, ['--namesrv', cluster.namesrvAddr, '--topic', topic, '--group', 'PG_txgo'], 'txcheck', join(cluster.dir, 'go-flow.log'), 90_000);
    expectFlow(events, topic);
  });
});
