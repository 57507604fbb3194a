#!/usr/bin/env node
// `npm start`: a NameServer on 127.0.0.1:9876 and broker-a (DefaultCluster, port 10911) in one
// process, storing under $RMQ_DATA_DIR (default ./data). Ctrl-C stops both cleanly.
import { resolve } from 'node:path';
import { createLogger } from '../common/logger.js';
import { BrokerController } from '../broker/broker-controller.js';
import { loadBrokerConfig } from '../config/broker-config.js';
import { NameServer } from '../namesrv/namesrv.js';
import { fail, stopOnSignals } from './common.js';

async function main(): Promise<void> {
  const dataDir = resolve(process.env.RMQ_DATA_DIR ?? 'data');
  const namesrvPort = Number(process.env.RMQ_NAMESRV_PORT ?? 9876);
  const brokerPort = Number(process.env.RMQ_BROKER_PORT ?? 10911);
  const host = '127.0.0.1';
  // Health endpoints as the CLIs default them: namesrv listenPort + 1, broker listenPort - 1.
  const namesrv = new NameServer({ listenPort: namesrvPort, bindAddress: host, healthPort: namesrvPort === 0 ? 0 : namesrvPort + 1 }, createLogger('namesrv'));
  const { config } = loadBrokerConfig(
    {
      brokerClusterName: 'DefaultCluster',
      brokerName: 'broker-a',
      brokerId: '0',
      brokerIP1: host,
      bindAddress: host,
      listenPort: String(brokerPort),
      namesrvAddr: `${host}:${namesrvPort}`,
      storePathRootDir: `${dataDir}/store`,
    },
    'npm start defaults',
  );
  const broker = new BrokerController(config, createLogger('broker'));
  stopOnSignals(async () => {
    await broker.shutdown();
    await namesrv.shutdown();
    process.stdout.write('stopped\n');
  }, 60_000);
  await namesrv.start();
  process.stdout.write(`The Name Server boot success. address ${host}:${namesrv.port}, health http://${host}:${namesrv.healthPort ?? '-'}/readyz\n`);
  await broker.start();
  process.stdout.write(`The broker[broker-a, ${broker.brokerAddr}] boot success. cluster DefaultCluster, data ${config.storePathRootDir}, name server ${host}:${namesrv.port}, health http://${host}:${broker.healthPort ?? '-'}/readyz (also /healthz /status /metrics)\n`);
}

main().catch(fail);
