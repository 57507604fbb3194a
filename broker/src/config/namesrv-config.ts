// NameServer configuration (namesrv.conf keys), validated like the broker's.
import { z } from 'zod';
import { ConfigError } from '../common/errors.js';
import type { NameServerConfig } from '../namesrv/namesrv.js';
import { formatZodIssues, type LoadedConfig } from './broker-config.js';

const port = z.coerce.number().int().min(0).max(65535);
const bool = z.enum(['true', 'false']).transform((v) => v === 'true');

const NamesrvConfigSchema = z.object({
  listenPort: port.default(9876),
  bindAddress: z.string().trim().min(1).default('0.0.0.0'),
  scanNotActiveBrokerInterval: z.coerce.number().int().min(100).default(5000),
  orderMessageEnable: bool.default(false),
});

/** Java namesrv keys accepted without effect here. */
const IGNORED = new Set(['rocketmqHome', 'kvConfigPath', 'configStorePath', 'productEnvName', 'clusterTest', 'serverWorkerThreads',
  'serverSelectorThreads', 'serverCallbackExecutorThreads', 'defaultThreadPoolNums', 'clientRequestThreadPoolNums',
  'enableControllerInNamesrv', 'needWaitForService', 'waitSecondsForService', 'deleteTopicWithBrokerRegistration']);

export function loadNamesrvConfig(raw: ReadonlyMap<string, string>, source: string): LoadedConfig<NameServerConfig> {
  const known = new Set(Object.keys(NamesrvConfigSchema.shape));
  const input: Record<string, string> = {};
  const unknownKeys: string[] = [];
  const ignoredKeys: string[] = [];
  for (const [k, v] of raw) {
    if (known.has(k)) input[k] = v.trim();
    else if (IGNORED.has(k)) ignoredKeys.push(k);
    else unknownKeys.push(k);
  }
  const r = NamesrvConfigSchema.safeParse(input);
  if (!r.success) throw new ConfigError(formatZodIssues(source, r.error));
  const config: NameServerConfig = {
    listenPort: r.data.listenPort,
    bindAddress: r.data.bindAddress,
    scanNotActiveBrokerIntervalMs: r.data.scanNotActiveBrokerInterval,
    orderMessageEnable: r.data.orderMessageEnable,
  };
  return { config, unknownKeys, ignoredKeys };
}
