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
  /** HTTP port of /healthz /readyz /status /metrics (default listenPort + 1 = 9877); 0 = any free port, -1 = off. */
  healthPort: z.coerce.number().int().min(-1).max(65535).optional(),
  /** Interface the health HTTP server binds (default bindAddress). */
  healthBindAddress: z.string().trim().min(1).optional(),
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
  const healthPort = r.data.healthPort ?? (r.data.listenPort === 0 ? 0 : r.data.listenPort + 1);
  if (healthPort > 0 && healthPort === r.data.listenPort) {
    throw new ConfigError(`${source}: healthPort: ${healthPort} is the name server's listenPort; choose another port (or -1 to turn the health server off)`);
  }
  if (healthPort > 65535) throw new ConfigError(`${source}: healthPort: listenPort + 1 = ${healthPort} is not a port; set healthPort`);
  const config: NameServerConfig = {
    listenPort: r.data.listenPort,
    bindAddress: r.data.bindAddress,
    scanNotActiveBrokerIntervalMs: r.data.scanNotActiveBrokerInterval,
    orderMessageEnable: r.data.orderMessageEnable,
    healthPort,
    healthBindAddress: r.data.healthBindAddress ?? r.data.bindAddress,
  };
  return { config, unknownKeys, ignoredKeys };
}
