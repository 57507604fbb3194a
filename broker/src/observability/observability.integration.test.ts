// A real NameServer and BrokerController in-process: the health endpoints as the operator and
// Prometheus see them (readiness flipping on registration, metrics moving with sends and pulls).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BrokerController } from '../broker/broker-controller.js';
import { freePort, randomTestPort, startTestBroker, waitFor } from '../broker/broker.testbed.js';
import { PullSysFlag } from '../broker/pull-processor.js';
import { silentLogger } from '../common/logger.js';
import { loadBrokerConfig } from '../config/broker-config.js';
import { NameServer } from '../namesrv/namesrv.js';
import { RequestCode } from '../protocol/codes.js';
import { decodeMessageRecords, encodeBatchBody, encodeProperties } from '../protocol/message.js';
import { createRequest, type RemotingCommand } from '../protocol/remoting.js';
import { RemotingClient } from '../transport/client.js';
import { httpGet } from './http.testbed.js';

let dir: string;
let namesrv: NameServer | undefined;
let broker: BrokerController | undefined;
let client: RemotingClient;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'observability-'));
  client = new RemotingClient(silentLogger());
});

afterEach(async () => {
  await client.close();
  await broker?.shutdown();
  await namesrv?.shutdown();
  broker = undefined;
  namesrv = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** The value of one sample line (`name{labels}`) in an exposition, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

function send(topic: string, body: Buffer, batch = false): RemotingCommand {
  const req = createRequest(RequestCode.SEND_MESSAGE_V2, {
    a: 'PG', b: topic, c: 'TBW102', d: '4', e: '0', f: '0', g: String(Date.now()), h: '0', i: batch ? '' : encodeProperties({ TAGS: 'x' }), j: '0', m: String(batch),
  }, body);
  if (batch) req.code = RequestCode.SEND_BATCH_MESSAGE;
  return req;
}

function pull(group: string, topic: string, offset: number): RemotingCommand {
  return createRequest(RequestCode.PULL_MESSAGE, {
    consumerGroup: group, topic, queueId: '0', queueOffset: String(offset), maxMsgNums: '32', sysFlag: String(PullSysFlag.SUBSCRIPTION),
    commitOffset: '0', suspendTimeoutMillis: '0', subscription: '*', subVersion: '0', expressionType: 'TAG',
  });
}

describe('health endpoints of a real broker and name server', () => {
  it('/readyz flips from 503 to 200 on registration; /metrics moves with sends and pulls; /status and runtime info agree', async () => {
    const namesrvPort = await freePort();
    const namesrvAddr = `127.0.0.1:${namesrvPort}`;
    const { config } = loadBrokerConfig({
      brokerName: 'broker-h',
      brokerIP1: '127.0.0.1',
      bindAddress: '127.0.0.1',
      listenPort: String(randomTestPort()),
      namesrvAddr,
      storePathRootDir: join(dir, 'store'),
      mappedFileSizeCommitLog: String(8 * 1024 * 1024),
      healthPort: '0',
    });
    expect(config.healthBindAddress).toBe('127.0.0.1');
    broker = new BrokerController(config, silentLogger());
    await broker.start(); // the NameServer is not up yet: registration fails, the broker runs
    const hp = broker.healthPort!;
    const addr = broker.brokerAddr;

    expect(await httpGet(hp, '/healthz')).toMatchObject({ status: 200, body: 'ok\n' });
    const notReady = await httpGet(hp, '/readyz');
    expect(notReady.status).toBe(503);
    const unmet = (JSON.parse(notReady.body) as { unmet: string[] }).unmet;
    expect(unmet).toHaveLength(1);
    expect(unmet[0]).toMatch(new RegExp(`^not registered with any NameServer \\(${namesrvAddr}\\); last errors: ${namesrvAddr}: `));
    expect(sample((await httpGet(hp, '/metrics')).body, 'rocketmq_broker_ready')).toBe(0);

    namesrv = new NameServer({ listenPort: namesrvPort, bindAddress: '127.0.0.1', healthPort: 0, healthBindAddress: '127.0.0.1' }, silentLogger());
    await namesrv.start();
    await broker.registrar.registerAll(); // what the periodic registration does
    const ready = await httpGet(hp, '/readyz');
    expect(ready).toMatchObject({ status: 200 });
    expect(JSON.parse(ready.body)).toEqual({ ready: true, unmet: [] });

    await client.invokeOk(addr, createRequest(RequestCode.UPDATE_AND_CREATE_TOPIC, { topic: 'HT', defaultTopic: 'TBW102', readQueueNums: '1', writeQueueNums: '1', perm: '6', topicFilterType: 'SINGLE_TAG', order: 'false' }));
    const before = (await httpGet(hp, '/metrics')).body;
    expect(sample(before, 'rocketmq_broker_messages_sent_total{topic="HT"}')).toBeUndefined();
    const maxBefore = sample(before, 'rocketmq_broker_commitlog_max_offset_bytes')!;

    await client.invokeOk(addr, send('HT', Buffer.from('one')));
    await client.invokeOk(addr, send('HT', Buffer.from('two')));
    const batchBody = encodeBatchBody([0, 1, 2].map((i) => ({ flag: 0, body: Buffer.from(`b${i}`), properties: encodeProperties({ UNIQ_KEY: `U${i}` }) })));
    await client.invokeOk(addr, send('HT', batchBody, true));
    const pulled = await client.invokeOk(addr, pull('HG', 'HT', 0));
    expect(decodeMessageRecords(pulled.body!)).toHaveLength(5);
    await client.invokeOk(addr, pull('HG', 'HT', 5)).catch(() => undefined); // nothing new: answered, 0 messages

    const m = (await httpGet(hp, '/metrics')).body;
    expect(sample(m, 'rocketmq_broker_messages_sent_total{topic="HT"}')).toBe(5);
    expect(sample(m, 'rocketmq_broker_sent_bytes_total{topic="HT"}')).toBe(3 + 3 + batchBody.length);
    expect(sample(m, 'rocketmq_broker_send_duration_seconds_count')).toBe(3);
    expect(sample(m, 'rocketmq_broker_pulls_total{topic="HT",group="HG"}')).toBe(2);
    expect(sample(m, 'rocketmq_broker_messages_pulled_total{topic="HT",group="HG"}')).toBe(5);
    expect(sample(m, 'rocketmq_broker_pulled_bytes_total{topic="HT",group="HG"}')).toBe(pulled.body!.length);
    expect(sample(m, 'rocketmq_broker_pull_duration_seconds_count')).toBe(2);
    expect(sample(m, 'rocketmq_broker_commitlog_max_offset_bytes')).toBeGreaterThan(maxBefore);
    expect(sample(m, 'rocketmq_broker_open_connections')).toBeGreaterThanOrEqual(1);
    expect(sample(m, `rocketmq_broker_namesrv_registered{namesrv="${namesrvAddr}"}`)).toBe(1);
    expect(sample(m, 'rocketmq_broker_ready')).toBe(1);
    const disk = sample(m, 'rocketmq_broker_disk_usage_ratio')!;
    expect(disk).toBeGreaterThanOrEqual(0);
    expect(disk).toBeLessThanOrEqual(1);
    expect(sample(m, 'process_resident_memory_bytes')).toBeGreaterThan(0);

    const status = JSON.parse((await httpGet(hp, '/status')).body) as Record<string, unknown>;
    const stats = broker.store.stats();
    expect(status).toMatchObject({
      role: 'ASYNC_MASTER',
      brokerId: 0,
      brokerName: 'broker-h',
      clusterName: 'DefaultCluster',
      brokerAddr: addr,
      haConnections: [],
      commitLogMaxOffset: stats.commitLogMaxOffset,
      commitLogMinOffset: stats.commitLogMinOffset,
      writable: true,
      registeredWith: [namesrvAddr],
      storeRecovered: true,
      ready: true,
    });
    expect(typeof status.diskUsageRatio).toBe('number');
    expect(status.uptimeMs as number).toBeGreaterThanOrEqual(0);

    const info = await client.invokeOk(addr, createRequest(RequestCode.GET_BROKER_RUNTIME_INFO, {}));
    const table = (JSON.parse(info.body!.toString('utf8')) as { table: Record<string, string> }).table;
    expect(table).toMatchObject({ ready: 'true', readyUnmet: '', registeredNameServers: namesrvAddr, brokerWritable: 'true', storeRecovered: 'true', haConnections: '[]' });
    expect(Number(table.commitLogDiskRatio)).toBeCloseTo(disk, 2);

    const nsm = (await httpGet(namesrv.healthPort!, '/metrics')).body;
    expect(sample(nsm, 'rocketmq_namesrv_brokers')).toBe(1);
    expect(sample(nsm, 'rocketmq_namesrv_broker_registrations_total')).toBeGreaterThanOrEqual(1);
    expect((await httpGet(namesrv.healthPort!, '/readyz')).status).toBe(200);

    await broker.shutdown();
    broker = undefined;
    await expect(httpGet(hp, '/healthz')).rejects.toThrow();
  });

  it('a slave is ready once connected to its master with a small lag, and unready when the master goes', async () => {
    namesrv = new NameServer({ listenPort: 0, bindAddress: '127.0.0.1' }, silentLogger());
    await namesrv.start();
    const start = (name: string, role: string, brokerId: number): Promise<BrokerController> =>
      startTestBroker(name, join(dir, name), {
        brokerName: 'broker-hr', brokerRole: role, brokerId: String(brokerId), namesrvAddr: `127.0.0.1:${namesrv!.port}`,
        haSendHeartbeatInterval: '500', slaveSyncIntervalMillis: '500', healthPort: '0',
      });
    const master = await start('m', 'ASYNC_MASTER', 0);
    broker = master;
    const slave = await start('s', 'SLAVE', 1);
    try {
      await client.invokeOk(master.brokerAddr, createRequest(RequestCode.UPDATE_AND_CREATE_TOPIC, { topic: 'RT', readQueueNums: '1', writeQueueNums: '1', perm: '6' }));
      for (let i = 0; i < 3; i++) await client.invokeOk(master.brokerAddr, send('RT', Buffer.from(`r${i}`)));
      const masterMax = master.store.stats().commitLogMaxOffset;

      const shp = slave.healthPort!;
      const slaveStatus = async () => JSON.parse((await httpGet(shp, '/status')).body) as { ready: boolean; unmet: string[]; replication: { connected: boolean; replicatedOffset: number; lagBytes: number | null }; masterAddress: string; role: string; writable: boolean };
      await waitFor(async () => {
        const s = await slaveStatus();
        return s.ready && s.replication.replicatedOffset === masterMax;
      }, 'the slave ready and caught up', 10_000);
      expect((await httpGet(shp, '/readyz')).status).toBe(200);
      expect(await slaveStatus()).toMatchObject({ role: 'SLAVE', masterAddress: master.brokerAddr, writable: false, replication: { connected: true, replicatedOffset: masterMax, lagBytes: 0 } });
      const sm = (await httpGet(shp, '/metrics')).body;
      expect(sample(sm, 'rocketmq_broker_master_connected')).toBe(1);
      expect(sample(sm, 'rocketmq_broker_replication_lag_bytes')).toBe(0);
      expect(sample(sm, 'rocketmq_broker_writable')).toBe(0);

      await waitFor(async () => {
        const m = JSON.parse((await httpGet(master.healthPort!, '/status')).body) as { haConnections: Array<{ ackedOffset: number }> };
        return m.haConnections.length === 1 && m.haConnections[0]!.ackedOffset === masterMax;
      }, 'the master to see the slave acknowledge everything', 10_000);
      const mm = (await httpGet(master.healthPort!, '/metrics')).body;
      expect(sample(mm, 'rocketmq_broker_ha_connections')).toBe(1);
      expect(sample(mm, 'rocketmq_broker_replication_lag_bytes')).toBe(0);

      await master.shutdown();
      broker = undefined;
      await waitFor(async () => (await httpGet(shp, '/readyz')).status === 503, 'the slave unready', 10_000);
      expect((await slaveStatus()).unmet.join(' ')).toMatch(/not connected to the master/);
    } finally {
      await slave.shutdown();
    }
  });
});

