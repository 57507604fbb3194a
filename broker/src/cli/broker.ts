#!/usr/bin/env node
// rmq-broker -c broker.conf [-n namesrvAddr] [-p]: the broker, configured like Java's BrokerStartup.
import { createLogger } from '../common/logger.js';
import { BrokerController } from '../broker/broker-controller.js';
import { brokerConfigEntries, loadBrokerConfig } from '../config/broker-config.js';
import { fail, stopOnSignals } from './common.js';
import { readServerArgs } from './server-args.js';

const USAGE = `usage: rmq-broker [-c broker.conf] [-n namesrvAddr] [-p]
  -c  broker configuration file (RocketMQ key=value properties)
  -n  name server address list, e.g. "127.0.0.1:9876;127.0.0.2:9876" (overrides namesrvAddr)
  -p  print the effective configuration and exit`;

async function main(): Promise<void> {
  const start = readServerArgs(USAGE);
  if (!start) return;
  const { args, raw } = start;
  if (args.namesrvAddr !== undefined) raw.set('namesrvAddr', args.namesrvAddr);
  const { config, unknownKeys, ignoredKeys } = loadBrokerConfig(raw, args.configFile ?? 'broker config');
  if (args.printConfig) {
    for (const [k, v] of brokerConfigEntries(config)) process.stdout.write(`${k}=${v}\n`);
    return;
  }
  const log = createLogger('broker');
  for (const key of unknownKeys) log.warn({ key, file: args.configFile }, `unknown config key "${key}" ignored`);
  if (ignoredKeys.length > 0) log.info({ keys: ignoredKeys }, 'Java broker keys accepted without effect');
  const broker = new BrokerController(config, log, {}, raw);
  stopOnSignals(async () => {
    log.info('shutting down');
    await broker.shutdown();
    log.info('shutdown complete');
  }, 60_000);
  await broker.start();
  const ns = config.namesrvAddrList.join(';') || '(none)';
  process.stdout.write(`The broker[${config.brokerName}, ${broker.brokerAddr}] boot success. serializeType=JSON and name server is ${ns}\n`);
  if (broker.healthPort !== undefined) process.stdout.write(`Health endpoints on http://${config.healthBindAddress}:${broker.healthPort} (/healthz /readyz /status /metrics)\n`);
}

main().catch(fail);
