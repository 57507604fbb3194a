// Readiness rules, /status, /metrics and the HTTP surface, against a fake BrokerStatusSource.
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../broker/broker.testbed.js';
import { silentLogger } from '../common/logger.js';
import { BrokerObservability } from './broker-observability.js';
import { httpGet } from './http.testbed.js';
import {
  collectBrokerStatus,
  replicationLagBytes,
  runtimeInfoEntries,
  type BrokerStatusSource,
  type HAConnectionInfo,
  type SlaveReplicationInfo,
} from './broker-status.js';

const MiB = 1024 * 1024;

class FakeSource implements BrokerStatusSource {
  role = 'ASYNC_MASTER';
  brokerId = 0;
  recovered = true;
  isStopping = false;
  configured: string[] = ['10.0.0.1:9876', '10.0.0.2:9876'];
  registered: string[] = ['10.0.0.1:9876'];
  errors = new Map<string, string>();
  offsets = { commitLogMinOffset: 0, commitLogMaxOffset: 1000, flushedOffset: 900 };
  perm = true;
  connections: HAConnectionInfo[] | undefined;
  slaveInfo: SlaveReplicationInfo | undefined;
  masterAddr: string | undefined;
  hasReplication = true;

  identity() {
    return { clusterName: 'C', brokerName: 'b', brokerId: this.brokerId, role: this.role, brokerAddr: '10.0.0.9:10911', version: '0.1.0', rocketmqVersion: 'V5_3_3' };
  }
  startedAt() {
    return Date.UTC(2025, 0, 1);
  }
  storeRecovered() {
    return this.recovered;
  }
  stopping() {
    return this.isStopping;
  }
  storeOffsets() {
    return this.offsets;
  }
  writable() {
    return this.perm;
  }
  nameServers() {
    return { configured: this.configured, registered: this.registered, errors: this.errors };
  }
  openConnections() {
    return 3;
  }
  heldPullRequests() {
    return 2;
  }
  replication() {
    if (!this.hasReplication) return undefined;
    return { connections: () => this.connections ?? [], slave: () => this.slaveInfo, masterAddr: () => this.masterAddr };
  }
}

const opts = { maxReplicationLagBytes: 64 * MiB };

describe('broker readiness', () => {
  it('a recovered master registered with at least one NameServer is ready', () => {
    const s = collectBrokerStatus(new FakeSource(), 0.42, opts, Date.UTC(2025, 0, 1) + 5000);
    expect(s).toMatchObject({
      ready: true,
      unmet: [],
      role: 'ASYNC_MASTER',
      brokerId: 0,
      brokerName: 'b',
      clusterName: 'C',
      brokerAddr: '10.0.0.9:10911',
      version: '0.1.0',
      commitLogMaxOffset: 1000,
      commitLogMinOffset: 0,
      flushedOffset: 900,
      diskUsageRatio: 0.42,
      writable: true,
      registeredWith: ['10.0.0.1:9876'],
      nameServers: ['10.0.0.1:9876', '10.0.0.2:9876'],
      uptimeMs: 5000,
      startedAt: '2025-01-01T00:00:00.000Z',
      haConnections: [],
    });
    expect(s.replication).toBeUndefined();
    expect(s.masterAddress).toBeUndefined();
  });

  it('lists every unmet condition in words', () => {
    const f = new FakeSource();
    f.recovered = false;
    f.registered = [];
    f.errors.set('10.0.0.1:9876', 'connect ECONNREFUSED');
    const s = collectBrokerStatus(f, undefined, opts);
    expect(s.ready).toBe(false);
    expect(s.diskUsageRatio).toBeNull();
    expect(s.unmet).toEqual([
      'store has not finished recovery',
      'not registered with any NameServer (10.0.0.1:9876, 10.0.0.2:9876); last errors: 10.0.0.1:9876: connect ECONNREFUSED',
    ]);
    f.configured = [];
    f.recovered = true;
    f.isStopping = true;
    expect(collectBrokerStatus(f, undefined, opts).unmet).toEqual([
      'broker is shutting down',
      'no NameServer is configured (namesrvAddr is empty), so clients cannot discover this broker',
    ]);
  });

  it('a slave needs its master link and a lag under readyMaxReplicationLagBytes', () => {
    const f = new FakeSource();
    f.role = 'SLAVE';
    f.brokerId = 1;
    f.hasReplication = false;
    expect(collectBrokerStatus(f, 0.1, opts).unmet).toEqual(['replication from the master is not running (no HA client)']);

    f.hasReplication = true;
    f.slaveInfo = { connected: false, replicatedOffset: 0 };
    expect(collectBrokerStatus(f, 0.1, opts).unmet).toEqual(['not connected to the master (master address not known yet)']);
    f.slaveInfo = { connected: false, replicatedOffset: 0, masterAddress: '10.0.0.5:10912' };
    expect(collectBrokerStatus(f, 0.1, opts).unmet).toEqual(['not connected to the master (HA 10.0.0.5:10912)']);

    f.slaveInfo = { connected: true, replicatedOffset: 100, masterAddress: '10.0.0.5:10912' };
    expect(collectBrokerStatus(f, 0.1, opts).unmet).toEqual(['replication lag is not known yet (no data received from the master)']);

    f.slaveInfo = { connected: true, replicatedOffset: 100, masterAddress: '10.0.0.5:10912', masterMaxOffsetSeen: 100 + 65 * MiB };
    expect(collectBrokerStatus(f, 0.1, opts).unmet).toEqual([`replication lag ${65 * MiB} bytes exceeds readyMaxReplicationLagBytes=${64 * MiB}`]);

    f.masterAddr = '10.0.0.5:10911';
    f.slaveInfo = { connected: true, replicatedOffset: 100, masterAddress: '10.0.0.5:10912', masterMaxOffsetSeen: 100 + 64 * MiB };
    const ok = collectBrokerStatus(f, 0.1, opts);
    expect(ok.ready).toBe(true);
    expect(ok).toMatchObject({ masterAddress: '10.0.0.5:10911', masterHaAddress: '10.0.0.5:10912', replication: { connected: true, replicatedOffset: 100, lagBytes: 64 * MiB } });
    expect(ok.haConnections).toBeUndefined();
    expect(replicationLagBytes(ok)).toBe(64 * MiB);

    // lagBytes from the HA client wins over the computed one.
    f.slaveInfo = { connected: true, replicatedOffset: 100, lagBytes: 7, masterMaxOffsetSeen: 100 + 100 * MiB };
    expect(collectBrokerStatus(f, 0.1, opts)).toMatchObject({ ready: true, replication: { lagBytes: 7 } });
  });

  it('a master reports per-slave lag (the whole log before a slave first reports)', () => {
    const f = new FakeSource();
    f.connections = [
      { remote: '10.0.0.7:5555', ackedOffset: 600 },
      { remote: '10.0.0.8:5555', ackedOffset: -1 },
      { remote: '10.0.0.9:5555', ackedOffset: 950, lagBytes: 50 },
    ];
    const s = collectBrokerStatus(f, 0.1, opts);
    expect(s.ready).toBe(true); // slaves' lag does not make a master unready
    expect(s.haConnections).toEqual([
      { remote: '10.0.0.7:5555', ackedOffset: 600, lagBytes: 400 },
      { remote: '10.0.0.8:5555', ackedOffset: -1, lagBytes: 1000 },
      { remote: '10.0.0.9:5555', ackedOffset: 950, lagBytes: 50 },
    ]);
    expect(replicationLagBytes(s)).toBe(1000);
    const info = runtimeInfoEntries(s);
    expect(info).toMatchObject({
      brokerClusterName: 'C',
      commitLogDiskRatio: '0.1',
      commitLogFlushedOffset: '900',
      brokerWritable: 'true',
      registeredNameServers: '10.0.0.1:9876',
      ready: 'true',
      readyUnmet: '',
      replicationLagBytes: '1000',
      openConnections: '3',
    });
    expect(JSON.parse(info.haConnections!)).toEqual(s.haConnections);
  });
});

describe('broker health HTTP server', () => {
  let obs: BrokerObservability | undefined;
  afterEach(async () => {
    await obs?.stop();
    obs = undefined;
  });

  function start(source: BrokerStatusSource, healthPort = 0): Promise<void> {
    obs = new BrokerObservability(
      source,
      { healthPort, healthBindAddress: '127.0.0.1', readyMaxReplicationLagBytes: 64 * MiB, diskPath: '/store/commitlog', statfs: () => Promise.resolve({ blocks: 100, bfree: 25, bavail: 25 }) },
      silentLogger(),
    );
    return obs.start();
  }

  it('/healthz answers ok; /readyz flips between 503 (with reasons) and 200', async () => {
    const f = new FakeSource();
    f.recovered = false;
    f.registered = [];
    await start(f);
    const port = obs!.port!;
    expect(port).toBeGreaterThan(0);
    const live = await httpGet(port, '/healthz');
    expect(live).toMatchObject({ status: 200, body: 'ok\n' });
    expect(live.headers['cache-control']).toBe('no-store');

    const notReady = await httpGet(port, '/readyz');
    expect(notReady.status).toBe(503);
    expect(notReady.headers['content-type']).toMatch(/^application\/json/);
    const body = JSON.parse(notReady.body) as { ready: boolean; unmet: string[] };
    expect(body.ready).toBe(false);
    expect(body.unmet).toEqual(['store has not finished recovery', 'not registered with any NameServer (10.0.0.1:9876, 10.0.0.2:9876)']);

    f.recovered = true;
    f.registered = ['10.0.0.2:9876'];
    const ready = await httpGet(port, '/readyz?verbose=1');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toEqual({ ready: true, unmet: [] });
  });

  it('/status has the facts the operator reads', async () => {
    const f = new FakeSource();
    f.connections = [{ remote: '10.0.0.7:5555', ackedOffset: 600 }];
    await start(f);
    const r = await httpGet(obs!.port!, '/status');
    expect(r.status).toBe(200);
    const s = JSON.parse(r.body) as Record<string, unknown>;
    expect(s).toMatchObject({
      role: 'ASYNC_MASTER',
      brokerId: 0,
      brokerName: 'b',
      clusterName: 'C',
      brokerAddr: '10.0.0.9:10911',
      version: '0.1.0',
      rocketmqVersion: 'V5_3_3',
      haConnections: [{ remote: '10.0.0.7:5555', ackedOffset: 600, lagBytes: 400 }],
      commitLogMaxOffset: 1000,
      commitLogMinOffset: 0,
      flushedOffset: 900,
      diskUsageRatio: 0.75,
      writable: true,
      registeredWith: ['10.0.0.1:9876'],
      startedAt: '2025-01-01T00:00:00.000Z',
      ready: true,
    });
    expect(typeof s.uptimeMs).toBe('number');

    f.role = 'SLAVE';
    f.brokerId = 1;
    f.masterAddr = '10.0.0.5:10911';
    f.slaveInfo = { connected: true, replicatedOffset: 990, masterMaxOffsetSeen: 1000, masterAddress: '10.0.0.5:10912' };
    const slave = JSON.parse((await httpGet(obs!.port!, '/status')).body) as Record<string, unknown>;
    expect(slave).toMatchObject({ role: 'SLAVE', masterAddress: '10.0.0.5:10911', replication: { connected: true, replicatedOffset: 990, lagBytes: 10 } });
  });

  it('/metrics exposes counters, histograms and status gauges in the text format', async () => {
    const f = new FakeSource();
    f.connections = [{ remote: '10.0.0.7:5555', ackedOffset: 600 }];
    await start(f);
    obs!.metrics.sent('T', 2, 300, 1.5);
    obs!.metrics.sent('T', 1, 100, 0.2);
    obs!.metrics.putFailed('IO_ERROR', 3);
    obs!.metrics.pulled('T', 'G', 3, 999, 0.7);
    obs!.metrics.pulled('T', 'G', 0, 0, 0.1);
    const r = await httpGet(obs!.port!, '/metrics');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    const t = r.body;
    for (const line of [
      'rocketmq_broker_messages_sent_total{topic="T"} 3',
      'rocketmq_broker_sent_bytes_total{topic="T"} 400',
      'rocketmq_broker_put_failures_total{status="IO_ERROR"} 1',
      'rocketmq_broker_send_duration_seconds_count 3',
      'rocketmq_broker_send_duration_seconds_bucket{le="0.0005"} 1',
      'rocketmq_broker_send_duration_seconds_bucket{le="0.005"} 3',
      'rocketmq_broker_pulls_total{topic="T",group="G"} 2',
      'rocketmq_broker_messages_pulled_total{topic="T",group="G"} 3',
      'rocketmq_broker_pulled_bytes_total{topic="T",group="G"} 999',
      'rocketmq_broker_pull_duration_seconds_count 2',
      'rocketmq_broker_info{cluster="C",broker_name="b",broker_id="0",role="ASYNC_MASTER",broker_addr="10.0.0.9:10911",version="0.1.0"} 1',
      'rocketmq_broker_ready 1',
      'rocketmq_broker_writable 1',
      'rocketmq_broker_namesrv_registered{namesrv="10.0.0.1:9876"} 1',
      'rocketmq_broker_namesrv_registered{namesrv="10.0.0.2:9876"} 0',
      'rocketmq_broker_commitlog_max_offset_bytes 1000',
      'rocketmq_broker_commitlog_min_offset_bytes 0',
      'rocketmq_broker_commitlog_flushed_offset_bytes 900',
      'rocketmq_broker_disk_usage_ratio 0.75',
      'rocketmq_broker_open_connections 3',
      'rocketmq_broker_held_pull_requests 2',
      'rocketmq_broker_replication_lag_bytes 400',
      'rocketmq_broker_ha_connections 1',
      'rocketmq_broker_ha_slave_lag_bytes{slave="10.0.0.7:5555"} 400',
      'rocketmq_broker_ha_slave_acked_offset_bytes{slave="10.0.0.7:5555"} 600',
    ]) {
      expect(t.split('\n'), line).toContain(line);
    }
    expect(t).toMatch(/^process_resident_memory_bytes \d+$/m);
    expect(t).toMatch(/^nodejs_eventloop_lag_max_seconds [\d.e-]+$/m);
    // Every sample line belongs to a family announced by # TYPE.
    const families = new Set([...t.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
    for (const line of t.split('\n').filter((l) => l !== '' && !l.startsWith('#'))) {
      const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)![0];
      expect(families.has(name) || families.has(name.replace(/_(bucket|sum|count)$/, '')), line).toBe(true);
    }
  });

  it('answers 404 for unknown paths, 405 for other methods, and HEAD without a body', async () => {
    await start(new FakeSource());
    const port = obs!.port!;
    expect((await httpGet(port, '/nope')).status).toBe(404);
    const post = await httpGet(port, '/healthz', 'POST');
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    const head = await httpGet(port, '/readyz', 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
  });

  it('healthPort -1 serves no HTTP but still computes status; a taken port is an error naming healthPort', async () => {
    await start(new FakeSource(), -1);
    expect(obs!.port).toBeUndefined();
    expect(obs!.status().ready).toBe(true);
    await obs!.stop();

    const port = await freePort();
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', () => r()));
    try {
      await expect(start(new FakeSource(), port)).rejects.toThrow(new RegExp(`health server cannot listen on 127.0.0.1:${port} \\(healthPort\\)`));
    } finally {
      await new Promise<void>((r) => blocker.close(() => r()));
    }
  });
});
