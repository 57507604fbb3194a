#!/usr/bin/env node
// rmq-namesrv [-c namesrv.conf] [-p]: the NameServer, configured like Java's NamesrvStartup.
import { createLogger } from '../common/logger.js';
import { loadNamesrvConfig } from '../config/namesrv-config.js';
import { NameServer } from '../namesrv/namesrv.js';
import { fail, stopOnSignals } from './common.js';
import { readServerArgs } from './server-args.js';

const USAGE = `usage: rmq-namesrv [-c namesrv.conf] [-p]
  -c  name server configuration file (key=value: listenPort, bindAddress, ...)
  -p  print the effective configuration and exit`;

async function main(): Promise<void> {
  const start = readServerArgs(USAGE);
  if (!start) return;
  const { args, raw } = start;
  const { config, unknownKeys } = loadNamesrvConfig(raw, args.configFile ?? 'namesrv config');
  if (args.printConfig) {
    for (const [k, v] of Object.entries(config)) process.stdout.write(`${k}=${String(v)}\n`);
    return;
  }
  const log = createLogger('namesrv');
  for (const key of unknownKeys) log.warn({ key, file: args.configFile }, `unknown config key "${key}" ignored`);
  const namesrv = new NameServer(config, log);
  stopOnSignals(async () => {
    await namesrv.shutdown();
    log.info('shutdown complete');
  }, 10_000);
  await namesrv.start();
  process.stdout.write(`The Name Server boot success. serializeType=JSON, address ${config.bindAddress}:${namesrv.port}\n`);
  if (namesrv.healthPort !== undefined) process.stdout.write(`Health endpoints on http://${config.healthBindAddress ?? config.bindAddress}:${namesrv.healthPort} (/healthz /readyz /status /metrics)\n`);
}

main().catch(fail);
