// The operator's BrokerProbe and BrokerAdmin implementations against an in-process NameServer and
// Broker over real sockets: what the reconcilers will see and do on a running broker.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminClient } from '../../../broker/src/admin/admin-client.js';
import { BrokerController } from '../../../broker/src/broker/broker-controller.js';
import { silentLogger } from '../../../broker/src/common/logger.js';
import { loadBrokerConfig } from '../../../broker/src/config/broker-config.js';
import { NameServer } from '../../../broker/src/namesrv/namesrv.js';
import { AdminClientBrokerAdmin, HttpBrokerProbe } from './broker-admin.js';

async function waitFor<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('BrokerProbe and BrokerAdmin on a running broker', () => {
  let dir: string;
  let namesrv: NameServer;
  let broker: BrokerController;
  let nsAddr: string;
  let probe: HttpBrokerProbe;
  const admin = new AdminClientBrokerAdmin({ timeoutMs: 3_000 });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'operator-admin-'));
    namesrv = new NameServer({ listenPort: 0, bindAddress: '127.0.0.1' }, silentLogger());
    await namesrv.start();
    nsAddr = `127.0.0.1:${namesrv.port}`;
    const rawConf = new Map(Object.entries({
      brokerName: 'broker-op',
      brokerIP1: '127.0.0.1',
      bindAddress: '127.0.0.1',
      listenPort: String(20000 + Math.floor(Math.random() * 12000)),
      healthPort: '0',
      namesrvAddr: nsAddr,
      storePathRootDir: join(dir, 'store'),
      mappedFileSizeCommitLog: String(4 * 1024 * 1024),
    }));
    broker = new BrokerController(loadBrokerConfig(rawConf).config, silentLogger(), {}, rawConf);
    await broker.start();
    probe = new HttpBrokerProbe({ port: broker.healthPort! });
  });

  afterAll(async () => {
    await admin.close();
    await broker.shutdown();
    await namesrv.shutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the probe reads the broker\'s own report: role, id, readiness, registration', async () => {
    const r = await waitFor(async () => {
      const rep = await probe.report('127.0.0.1');
      return rep.ready ? rep : undefined;
    }, 'broker ready');
    expect(r).toMatchObject({ role: 'ASYNC_MASTER', brokerId: 0, brokerName: 'broker-op', brokerAddr: broker.brokerAddr, ready: true, unmet: [], registeredWith: [nsAddr], nameServers: [nsAddr], writable: true });
    expect(r.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('the probe fails clearly when nothing answers', async () => {
    await expect(new HttpBrokerProbe({ port: 1, timeoutMs: 500 }).report('127.0.0.1')).rejects.toThrow();
  });

  it('creates, reads, updates and deletes a topic on the broker', async () => {
    const addr = broker.brokerAddr;
    expect(await admin.getTopic(addr, 'OpTopic')).toBeUndefined();
    await admin.applyTopic(addr, { topicName: 'OpTopic', readQueueNums: 4, writeQueueNums: 4, perm: 6, order: false, attributes: { 'message.type': 'FIFO' } });
    const created = await admin.getTopic(addr, 'OpTopic');
    expect(created).toMatchObject({ topicName: 'OpTopic', readQueueNums: 4, writeQueueNums: 4, perm: 6, order: false });
    await admin.applyTopic(addr, { ...created!, readQueueNums: 8, writeQueueNums: 8, perm: 4 });
    expect(await admin.getTopic(addr, 'OpTopic')).toMatchObject({ readQueueNums: 8, writeQueueNums: 8, perm: 4 });
    await admin.deleteTopic(addr, 'OpTopic');
    await admin.deleteTopicInNameServers([nsAddr], 'OpTopic');
    expect(await admin.getTopic(addr, 'OpTopic')).toBeUndefined();
  });

  it('wipes and restores the group\'s write permission on the name servers', async () => {
    const addr = broker.brokerAddr;
    await admin.applyTopic(addr, { topicName: 'DrainTopic', readQueueNums: 2, writeQueueNums: 2, perm: 6, order: false, attributes: {} });
    const reader = new AdminClient({ namesrvAddr: nsAddr });
    try {
      const perm = async () => (await reader.getTopicRoute('DrainTopic')).queueDatas.find((q) => q.brokerName === 'broker-op')?.perm;
      await waitFor(async () => ((await perm()) === 6 ? true : undefined), 'route with RW perm');
      await admin.wipeWritePerm([nsAddr], 'broker-op');
      expect(await perm()).toBe(4);
      await admin.addWritePerm([nsAddr], 'broker-op');
      expect(await perm()).toBe(6);
    } finally {
      await reader.close();
    }
  });

  it('pushes namesrvAddr at runtime; the broker reports the new list', async () => {
    const extra = new NameServer({ listenPort: 0, bindAddress: '127.0.0.1' }, silentLogger());
    await extra.start();
    try {
      const both = `${nsAddr};127.0.0.1:${extra.port}`;
      await admin.updateBrokerConfig(broker.brokerAddr, { namesrvAddr: both });
      const r = await probe.report('127.0.0.1');
      expect(r.nameServers).toEqual(both.split(';'));
      expect((await admin.getBrokerConfig(broker.brokerAddr)).namesrvAddr).toBe(both);
      await admin.updateBrokerConfig(broker.brokerAddr, { namesrvAddr: nsAddr });
    } finally {
      await extra.shutdown();
    }
  });

  it('keeps an ordered topic\'s queue order on the name servers', async () => {
    expect(await admin.getOrderConf([nsAddr], 'OrderedTopic')).toBeUndefined();
    await admin.putOrderConf([nsAddr], 'OrderedTopic', 'broker-op:4');
    expect(await admin.getOrderConf([nsAddr], 'OrderedTopic')).toBe('broker-op:4');
    await admin.deleteOrderConf([nsAddr], 'OrderedTopic');
    expect(await admin.getOrderConf([nsAddr], 'OrderedTopic')).toBeUndefined();
  });

  it('a name-server write that fails names the server', async () => {
    await expect(admin.wipeWritePerm(['127.0.0.1:1'], 'broker-op')).rejects.toThrow(/127\.0\.0\.1:1: /);
  });
});
