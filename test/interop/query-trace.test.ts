// Message query, consume-from-timestamp, offset reset and message trace with the real Java client
// (QueryTraceCheck.java), 4.9.x and 5.x remoting lines: queryMessage by key, viewMessage by offset
// msg id and by unique id, a traced producer/consumer pair whose trace records land in
// RMQ_SYS_TRACE_TOPIC and are found by message id (as mqadmin queryMsgTraceById finds them),
// CONSUME_FROM_TIMESTAMP on a queue whose head was deleted, and INVOKE_BROKER_TO_RESET_OFFSET
// reaching a live consumer.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../broker/src/common/logger.js';
import { RequestCode, ResponseCode } from '../../broker/src/protocol/codes.js';
import { decodeMessageRecords, decodeOffsetMsgId, encodeProperties } from '../../broker/src/protocol/message.js';
import { createRequest, type RemotingCommand } from '../../broker/src/protocol/remoting.js';
import { RemotingClient } from '../../broker/src/transport/client.js';
import { createTopic, javaCheckArgs, OurCluster, prepareDriver, ROOT, withTimeout } from './harness.js';

interface CheckEvent {
  event: string;
  index?: number;
  msgId?: string;
  offsetMsgId?: string;
  msgIds?: string;
  bodies?: string;
  body?: string;
  keys?: string;
  count?: number;
  responseCode?: number;
  commitLogOffset?: number;
  queueId?: number;
  queueOffset?: number;
  offset?: number;
  type?: string;
  group?: string;
  topic?: string;
  traceTopic?: string;
  types?: string;
  error?: string;
}

class Check {
  readonly events: CheckEvent[] = [];
  readonly #child: ReturnType<typeof spawn>;
  readonly #exited: Promise<number | null>;

  constructor(line: 4 | 5, args: string[], logFile: string) {
    // Rebalance every second (default 20 s): a consumer picks its queues up again soon after a reset.
    const jvm = ['-XX:+UseSerialGC', '-Duser.timezone=UTC', '-Drocketmq.client.rebalance.waitInterval=1000'];
    this.#child = spawn('java', javaCheckArgs(line, 'QueryTraceCheck', args, jvm), { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    const log = createWriteStream(logFile, { flags: 'a' });
    this.#child.stderr!.pipe(log);
    let text = '';
    this.#child.stdout!.on('data', (d: Buffer) => {
      log.write(d);
      text += d.toString();
      let i: number;
      while ((i = text.indexOf('\n')) >= 0) {
        const l = text.slice(0, i).trim();
        text = text.slice(i + 1);
        if (l.startsWith('{')) this.events.push(JSON.parse(l) as CheckEvent);
      }
    });
    this.#exited = new Promise((r) => this.#child.on('exit', (c) => r(c)));
  }

  of(event: string): CheckEvent[] {
    return this.events.filter((e) => e.event === event);
  }

  async waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!cond()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; events: ${JSON.stringify(this.events)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async done(timeoutMs = 120_000): Promise<CheckEvent[]> {
    this.#child.stdin!.end('stop\n');
    const code = await withTimeout(this.#exited, timeoutMs, 'QueryTraceCheck').catch((err: unknown) => {
      this.#child.kill('SIGKILL');
      throw err;
    });
    if (code !== 0) throw new Error(`QueryTraceCheck exited with ${code}: ${JSON.stringify(this.events)}`);
    return this.events;
  }
}

/** consumeTimestamp (yyyyMMddHHmmss) in UTC: the JVM runs with -Duser.timezone=UTC. */
function utcTimestamp(ms: number): string {
  const d = new Date(ms);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

for (const line of [4, 5] as const) {
  const kind = line === 4 ? 'java4' : 'java5';
  const skip = prepareDriver(kind);

  describe.skipIf(skip !== undefined)(`message query and trace with the ${kind} client${skip ? ` (skipped: ${skip})` : ''}`, () => {
    const cluster = new OurCluster(`interop-query-${line}`, { brokerConf: { traceTopicEnable: 'true' } });
    const log = (name: string): string => join(cluster.dir, `${name}.log`);
    const client = new RemotingClient(silentLogger());
    beforeAll(() => cluster.start());
    afterAll(async () => {
      await client.close();
      await cluster.stop();
    });

    it('queryMessage finds messages by key; viewMessage reads them by offset msg id and by unique id', async () => {
      const topic = `T_query${line}_${Date.now()}`;
      const runId = String(Date.now());
      await createTopic(cluster, topic, 2);
      const events = await new Check(line, ['keys', cluster.namesrvAddr, topic, runId, '3'], log('keys')).done();
      const facts = JSON.stringify(events);
      const sent = events.filter((e) => e.event === 'sent');
      expect(sent, facts).toHaveLength(3);
      for (const s of sent) {
        const byKey = events.find((e) => e.event === 'byKey' && e.index === s.index)!;
        expect(byKey.msgIds, facts).toBe(s.msgId);
        expect(byKey.bodies).toBe(`q${s.index}`);
        const byOffset = events.find((e) => e.event === 'viewedByOffset' && e.index === s.index)!;
        expect(byOffset.body, facts).toBe(`q${s.index}`);
        expect(byOffset.commitLogOffset).toBe(decodeOffsetMsgId(s.offsetMsgId!).physicalOffset);
        const byId = events.find((e) => e.event === 'viewed' && e.index === s.index)!;
        expect(byId.msgId, facts).toBe(s.msgId);
        expect(byId.body).toBe(`q${s.index}`);
        expect(byId.keys).toBe(`K-${runId}-${s.index} S-${runId}`);
      }
      const shared = events.find((e) => e.event === 'byShared')!;
      expect(shared.count, facts).toBe(3);
      expect(shared.msgIds!.split(',').sort()).toEqual(sent.map((s) => s.msgId).sort());
      // MQAdminImpl: no broker found anything → MQClientException NO_MESSAGE (208).
      expect(events.find((e) => e.event === 'missing')?.responseCode, facts).toBe(208);
    });

    it('a traced producer and consumer write trace records to RMQ_SYS_TRACE_TOPIC, found by message id', async () => {
      const route = await client.invoke(cluster.namesrvAddr, createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'RMQ_SYS_TRACE_TOPIC' }));
      expect(route.code, route.remark).toBe(ResponseCode.SUCCESS);
      const topic = `T_trace${line}_${Date.now()}`;
      await createTopic(cluster, topic, 2);
      // 5.x consumers trace only messages stored with MSG_REGION (the Java broker adds it to
      // every message, AbstractSendMessageProcessor), so the broker must store it.
      const probe = await client.invokeOk(cluster.brokerAddr, createRequest(RequestCode.SEND_MESSAGE, {
        producerGroup: 'PG_probe', topic, defaultTopic: 'TBW102', defaultTopicQueueNums: '2', queueId: '0', sysFlag: '0',
        bornTimestamp: String(Date.now()), flag: '0', properties: encodeProperties({ KEYS: 'probe' }), reconsumeTimes: '0',
      }, Buffer.from('probe')));
      expect(probe.code).toBe(ResponseCode.SUCCESS);
      const stored = await client.invokeOk(cluster.brokerAddr, createRequest(RequestCode.QUERY_MESSAGE, { topic, key: 'probe', maxNum: '1', beginTimestamp: '0', endTimestamp: String(Date.now() + 60_000) }));
      expect(decodeMessageRecords(stored.body!)[0]!.properties).toContain('MSG_REGION\u0001DefaultRegion\u0002');
      const events = await new Check(line, ['trace', cluster.namesrvAddr, topic, `PG_trace${line}`, `CG_trace${line}`, '30000'], log('trace')).done();
      const facts = JSON.stringify(events);
      const msgId = events.find((e) => e.event === 'sent')!.msgId!;
      const traces = events.filter((e) => e.event === 'trace');
      expect(traces.find((t) => t.type === 'Pub'), facts).toMatchObject({ msgId, topic, group: `PG_trace${line}`, traceTopic: 'RMQ_SYS_TRACE_TOPIC' });
      expect(events.find((e) => e.event === 'traceTypes')?.types, facts).toMatch(/Pub.*SubAfter/);
      // SubAfter records carry no topic (TraceDataEncoder), only the id and the group.
      expect(traces.find((t) => t.type === 'SubAfter'), facts).toMatchObject({ msgId, group: `CG_trace${line}`, traceTopic: 'RMQ_SYS_TRACE_TOPIC' });
      const max = await client.invokeOk(cluster.brokerAddr, createRequest(RequestCode.GET_MAX_OFFSET, { topic: 'RMQ_SYS_TRACE_TOPIC', queueId: '0' }));
      expect(Number(max.extFields.offset)).toBeGreaterThan(0);
    });
  });

  describe.skipIf(skip !== undefined)(`consume from timestamp and offset reset with the ${kind} client${skip ? ` (skipped: ${skip})` : ''}`, () => {
    // Small segments deleted at once (every hour is a delete hour, nothing is reserved): the
    // queue's head goes, so a new group's QUERY_CONSUMER_OFFSET is QUERY_NOT_FOUND and the
    // client searches the offset by time, as against a Java broker.
    const SEG = 8192;
    const allHours = Array.from({ length: 24 }, (_, h) => String(h).padStart(2, '0')).join(';');
    const cluster = new OurCluster(`interop-fromtime-${line}`, {
      brokerConf: { mappedFileSizeCommitLog: String(SEG), maxMessageSize: '4096', fileReservedTime: '0', deleteWhen: allHours, cleanResourceInterval: '200' },
    });
    const client = new RemotingClient(silentLogger());
    beforeAll(() => cluster.start());
    afterAll(async () => {
      await client.close();
      await cluster.stop();
    });

    const send = (topic: string, body: string): Promise<RemotingCommand> =>
      client.invokeOk(cluster.brokerAddr, createRequest(RequestCode.SEND_MESSAGE, {
        producerGroup: 'PG_time', topic, defaultTopic: 'TBW102', defaultTopicQueueNums: '1', queueId: '0', sysFlag: '0',
        bornTimestamp: String(Date.now()), flag: '0', properties: encodeProperties({}), reconsumeTimes: '0',
      }, Buffer.from(body)));
    const minOffset = async (topic: string): Promise<number> =>
      Number((await client.invokeOk(cluster.brokerAddr, createRequest(RequestCode.GET_MIN_OFFSET, { topic, queueId: '0' }))).extFields.offset);
    const commitLogEnd = async (): Promise<number> => {
      const r = await client.invokeOk(cluster.brokerAddr, createRequest(RequestCode.GET_BROKER_RUNTIME_INFO));
      return Number((JSON.parse(r.body!.toString()) as { table: Record<string, string> }).table.commitLogMaxOffset);
    };

    it('CONSUME_FROM_TIMESTAMP starts at the first message stored at the time; a reset by time reaches the live consumer', async () => {
      const topic = `T_time${line}_${Date.now()}`;
      const group = `CG_time${line}_${Date.now()}`;
      await createTopic(cluster, topic, 1);
      const filler = 'x'.repeat(600);
      for (let i = 0; i < 30; i++) await send(topic, `old-${i}-${filler}`);
      for (let t = Date.now(); (await minOffset(topic)) === 0; ) {
        if (Date.now() - t > 20_000) throw new Error('retention did not remove the head of the queue');
        await new Promise((r) => setTimeout(r, 100));
      }
      // Start a fresh segment (it is never deleted while it is the last one) with old messages.
      let oldCount = 30;
      while ((await commitLogEnd()) % SEG > 1500) await send(topic, `old-${oldCount++}-${filler}`);
      const at = Math.ceil(Date.now() / 1000) * 1000;
      await new Promise((r) => setTimeout(r, at - Date.now() + 20));
      const fresh: number[] = [];
      for (let i = 0; i < 3; i++) fresh.push(Number((await send(topic, `new-${i}`)).extFields.queueOffset));
      expect(await minOffset(topic)).toBeLessThan(fresh[0]!); // old messages remain before the time

      const check = new Check(line, ['fromtime', cluster.namesrvAddr, topic, group, utcTimestamp(at), '60000'], join(cluster.dir, 'fromtime.log'));
      const received = (): string[] => check.of('received').map((e) => e.body!);
      try {
        await check.waitFor(() => received().length >= 3, 60_000, 'the three new messages');
        expect(check.of('searchOffset').map((e) => e.offset)).toEqual([fresh[0]]);
        expect(received().sort()).toEqual(['new-0', 'new-1', 'new-2']);
        if (line === 5) {
          // mqadmin resetOffsetByTime: the broker tells the live consumer, which consumes again.
          // The group needs committed offsets first (Broker2Client refuses a group without them).
          const end = String(fresh[2]! + 1);
          for (let t = Date.now(); ; ) {
            const q = await client.invoke(cluster.brokerAddr, createRequest(RequestCode.QUERY_CONSUMER_OFFSET, { consumerGroup: group, topic, queueId: '0', setZeroIfNotFound: 'false' }));
            if (q.code === ResponseCode.SUCCESS && q.extFields.offset === end) break;
            if (Date.now() - t > 30_000) throw new Error(`the consumer did not commit offset ${end}`);
            await new Promise((r) => setTimeout(r, 200));
          }
          const reset = await client.invokeOk(cluster.brokerAddr, createRequest(RequestCode.INVOKE_BROKER_TO_RESET_OFFSET, { topic, group, timestamp: String(at), isForce: 'true' }));
          expect(reset.body?.toString()).toBe(`{"offsetTable":{${JSON.stringify({ brokerName: 'broker-a', queueId: 0, topic })}:${fresh[0]}}}`);
          await check.waitFor(() => received().filter((b) => b === 'new-0').length === 2, 60_000, 'new-0 again after the reset');
        }
      } finally {
        await check.done();
      }
      expect(received().filter((b) => b.startsWith('old-'))).toEqual([]);
    });
  });
}
