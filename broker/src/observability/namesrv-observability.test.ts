// NameServer health: readiness rules with a fake source, then a real NameServer's endpoints.
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../common/logger.js';
import { NameServer } from '../namesrv/namesrv.js';
import { RequestCode, ResponseCode } from '../protocol/codes.js';
import { createRequest } from '../protocol/remoting.js';
import { RemotingClient } from '../transport/client.js';
import { httpGet } from './http.testbed.js';
import { collectNamesrvStatus, type NamesrvStatusSource } from './namesrv-observability.js';

describe('name server readiness', () => {
  it('is ready while listening, not before and not while stopping', () => {
    const state = { listening: false, stopping: false };
    const source: NamesrvStatusSource = {
      listening: () => state.listening,
      stopping: () => state.stopping,
      listenAddress: () => '0.0.0.0:9876',
      startedAt: () => 0,
      brokers: () => 2,
      brokerGroups: () => 1,
      clusters: () => 1,
      topics: () => 5,
      openConnections: () => 4,
    };
    expect(collectNamesrvStatus(source, '0.1.0', 10)).toMatchObject({ ready: false, unmet: ['name server is not listening yet'], uptimeMs: 10, brokers: 2, topics: 5 });
    state.listening = true;
    expect(collectNamesrvStatus(source, '0.1.0')).toMatchObject({ ready: true, unmet: [], role: 'NAMESRV', listenAddress: '0.0.0.0:9876', version: '0.1.0' });
    state.stopping = true;
    expect(collectNamesrvStatus(source, '0.1.0').unmet).toEqual(['name server is shutting down']);
  });
});

describe('name server health endpoints', () => {
  let ns: NameServer | undefined;
  let client: RemotingClient | undefined;
  afterEach(async () => {
    await client?.close();
    await ns?.shutdown();
    ns = undefined;
    client = undefined;
  });

  it('serves /healthz, /readyz, /status and /metrics that count brokers and routes', async () => {
    ns = new NameServer({ listenPort: 0, bindAddress: '127.0.0.1', healthPort: 0, healthBindAddress: '127.0.0.1' }, silentLogger());
    expect(ns.healthPort).toBeUndefined();
    await ns.start();
    const port = ns.healthPort!;
    expect(port).toBeGreaterThan(0);
    expect(await httpGet(port, '/healthz')).toMatchObject({ status: 200, body: 'ok\n' });
    expect(await httpGet(port, '/readyz')).toMatchObject({ status: 200 });

    ns.routes.registerBroker({ clusterName: 'C', brokerName: 'a', brokerAddr: '10.0.0.1:10911', brokerId: 0, haServerAddr: '', dataVersion: { counter: 1, stateVersion: 0, timestamp: 1 }, topicConfigs: new Map() });
    ns.routes.registerBroker({ clusterName: 'C', brokerName: 'a', brokerAddr: '10.0.0.2:10911', brokerId: 1, haServerAddr: '', dataVersion: { counter: 1, stateVersion: 0, timestamp: 1 }, topicConfigs: new Map() });
    client = new RemotingClient(silentLogger());
    const r = await client.invoke(`127.0.0.1:${ns.port}`, createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'Missing' }), 3000);
    expect(r.code).toBe(ResponseCode.TOPIC_NOT_EXIST);

    const m = await httpGet(port, '/metrics');
    expect(m.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    const lines = m.body.split('\n');
    for (const line of [
      'rocketmq_namesrv_ready 1',
      'rocketmq_namesrv_brokers 2',
      'rocketmq_namesrv_broker_groups 1',
      'rocketmq_namesrv_clusters 1',
      'rocketmq_namesrv_route_requests_total{result="found"} 0',
      'rocketmq_namesrv_route_requests_total{result="not_found"} 1',
      'rocketmq_namesrv_open_connections 1',
    ]) {
      expect(lines, line).toContain(line);
    }
    expect(m.body).toMatch(/^process_resident_memory_bytes \d+$/m);

    const status = JSON.parse((await httpGet(port, '/status')).body) as Record<string, unknown>;
    expect(status).toMatchObject({ role: 'NAMESRV', ready: true, brokers: 2, listenAddress: `127.0.0.1:${ns.port}` });

    await ns.shutdown();
    ns = undefined;
    await expect(httpGet(port, '/healthz')).rejects.toThrow();
  });

  it('serves no HTTP when no healthPort is given (in-process tests, embedding)', async () => {
    ns = new NameServer({ listenPort: 0, bindAddress: '127.0.0.1' }, silentLogger());
    await ns.start();
    expect(ns.healthPort).toBeUndefined();
  });
});
