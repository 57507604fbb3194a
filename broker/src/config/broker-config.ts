// Broker configuration: the standard RocketMQ broker.conf keys, validated with zod. Unknown
// keys are reported (not fatal); invalid values are errors that name the key.
import { networkInterfaces, hostname, homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../common/errors.js';

const integer = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .union([z.number(), z.string()])
    .transform((v, ctx) => {
      const text = String(v).trim();
      if (!/^[-+]?\d+$/.test(text)) {
        ctx.addIssue({ code: 'custom', message: `expected an integer, got "${String(v)}"` });
        return z.NEVER;
      }
      return Number(text);
    })
    .pipe(z.number().int().min(min, { message: `must be at least ${min}` }).max(max, { message: `must be at most ${max}` }));

const bool = z.union([z.boolean(), z.string()]).transform((v, ctx) => {
  if (typeof v === 'boolean') return v;
  const t = v.trim().toLowerCase();
  if (t === 'true') return true;
  if (t === 'false') return false;
  ctx.addIssue({ code: 'custom', message: `expected true or false, got "${v}"` });
  return z.NEVER;
});

const text = z.string().transform((s) => s.trim());
const nonEmpty = text.pipe(z.string().min(1, { message: 'must not be empty' }));

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? join(homedir(), p.slice(1)) : p;
}

/** The first non-internal IPv4 address, as Java's RemotingUtil.getLocalAddress picks one. */
export function defaultBrokerIp(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

/** Java's default messageDelayLevel. */
export const DEFAULT_MESSAGE_DELAY_LEVEL = '1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h';

export const BrokerConfigSchema = z.object({
  brokerClusterName: nonEmpty.default('DefaultCluster'),
  brokerName: nonEmpty.default(hostname()),
  brokerId: integer(0).default(0),
  brokerRole: z.enum(['ASYNC_MASTER', 'SYNC_MASTER', 'SLAVE']).default('ASYNC_MASTER'),
  namesrvAddr: text.optional(),
  brokerIP1: nonEmpty.optional(),
  brokerIP2: nonEmpty.optional(),
  listenPort: integer(1, 65535).default(10911),
  /** Interface to listen on (NettyServerConfig.bindAddress). */
  bindAddress: nonEmpty.default('0.0.0.0'),
  haListenPort: integer(1, 65535).optional(),
  storePathRootDir: nonEmpty.transform(expandHome).default(join(homedir(), 'store')),
  storePathCommitLog: nonEmpty.transform(expandHome).optional(),
  mappedFileSizeCommitLog: integer(4096, 2 ** 31 - 1).default(1024 * 1024 * 1024),
  mappedFileSizeConsumeQueue: integer(20 * 16, 2 ** 31 - 1).default(300_000 * 20),
  flushDiskType: z.enum(['ASYNC_FLUSH', 'SYNC_FLUSH']).default('ASYNC_FLUSH'),
  flushIntervalCommitLog: integer(1).default(500),
  syncFlushTimeout: integer(1).default(5000),
  autoCreateTopicEnable: bool.default(true),
  autoCreateSubscriptionGroup: bool.default(true),
  defaultTopicQueueNums: integer(1, 1024).default(8),
  maxMessageSize: integer(1, 64 * 1024 * 1024).default(4 * 1024 * 1024),
  deleteWhen: text.pipe(z.string().regex(/^\d{1,2}(;\d{1,2})*$/, { message: 'expected hours like "04" or "04;16"' })).default('04'),
  fileReservedTime: integer(0).default(72),
  diskMaxUsedSpaceRatio: integer(10, 95).default(75),
  /** Above this disk usage (percent) even unexpired commit-log files are deleted, oldest first. */
  diskSpaceCleanForciblyRatio: integer(30, 85).default(85),
  /** Above this disk usage (percent) sends are refused (SERVICE_NOT_AVAILABLE, "disk full"). */
  diskSpaceWarningLevelRatio: integer(35, 90).default(90),
  cleanResourceInterval: integer(100).default(10_000),
  brokerPermission: integer(0, 15).default(6),
  registerNameServerPeriod: integer(1000).default(30_000),
  registerBrokerTimeoutMills: integer(100).default(24_000),
  longPollingEnable: bool.default(true),
  shortPollingTimeMills: integer(1).default(1000),
  serverChannelMaxIdleTimeSeconds: integer(0).default(120),
  traceTopicEnable: bool.default(false),
  msgTraceTopicName: nonEmpty.default('RMQ_SYS_TRACE_TOPIC'),
  enablePropertyFilter: bool.default(false),
  /** Request/reply: also store replies in <cluster>_REPLY_TOPIC (Java default true). */
  storeReplyMessageEnable: bool.default(true),
  /** Orderly consumption: a queue lock not renewed for this long may go to another client (Java -Drocketmq.broker.rebalance.lockMaxLiveTime). */
  rebalanceLockMaxLiveTimeMs: integer(100).default(60_000),
  slaveReadEnable: bool.default(false),
  aclEnable: bool.default(false),
  enableDLegerCommitLog: bool.default(false),
  fetchNamesrvAddrByAddressServer: bool.default(false),
  /** HTTP port of /healthz /readyz /status /metrics (default listenPort - 1); 0 = any free port, -1 = off. */
  healthPort: integer(-1, 65535).optional(),
  /** Interface the health HTTP server binds (default bindAddress). */
  healthBindAddress: nonEmpty.optional(),
  /** /readyz: a SLAVE is ready only while at most this many bytes behind its master. */
  readyMaxReplicationLagBytes: integer(0).default(64 * 1024 * 1024),
  /** Slave: the master's HA address (ip:port); normally learned from the NameServer. */
  haMasterAddress: text.optional(),
  haSendHeartbeatInterval: integer(100).default(5000),
  haHousekeepingInterval: integer(500).default(20_000),
  haTransferBatchSize: integer(1024).default(32 * 1024),
  haMaxGapNotInSync: integer(1).default(256 * 1024 * 1024),
  /** SYNC_MASTER: how long a send waits for a slave's acknowledgement. */
  slaveTimeout: integer(1).default(3000),
  /** Slave: period of the topic/group/offset sync from the master (Java 4.x: 10 s). */
  slaveSyncIntervalMillis: integer(500).default(10_000),
  /** Delay of each level, level 1 first ("1s 5s … 2h"; units s, m, h, d), as Java's messageDelayLevel. */
  messageDelayLevel: text
    .refine((s) => parseDelayLevels(s) !== undefined, { message: 'expected delays like "1s 5s 10s 30s 1m 2h" (a positive number and a unit s, m, h or d each, 1 to 64 levels)' })
    .default(DEFAULT_MESSAGE_DELAY_LEVEL),
  /** How often delayOffset.json (schedule progress) is written, ms. */
  flushDelayOffsetInterval: integer(100).default(10_000),
  /** 5.x timer messages (TIMER_DELIVER_MS/TIMER_DELAY_MS/TIMER_DELAY_SEC); off refuses them. */
  timerWheelEnable: bool.default(true),
  /** Timer messages: the furthest delivery time accepted, seconds ahead (Java: 3 days). */
  timerMaxDelaySec: integer(1).default(3 * 24 * 3600),
  /** Transactions: a half message is checked back once it is this old, ms (Java BrokerConfig). */
  transactionTimeOut: integer(1).default(6000),
  /** Transactions: checks of one half before it goes to TRANS_CHECK_MAX_TIME_TOPIC. */
  transactionCheckMax: integer(1, 1_000_000).default(15),
  /** Transactions: period of the check-back service, ms (Java 5.x default). */
  transactionCheckInterval: integer(100).default(30_000),
  /** Refuse transaction half messages (NO_PERMISSION). */
  rejectTransactionMessage: bool.default(false),
  /** 5.x reset by time: offsets reset on the broker (consumers need not be online); false: 4.x client-side reset. */
  useServerSideResetOffset: bool.default(true),
  /** Index message keys and unique ids for QUERY_MESSAGE (mqadmin queryMsgByKey/queryMsgById, traces). */
  messageIndexEnable: bool.default(true),
  /** Hash slots per index file (Java MessageStoreConfig). */
  maxHashSlotNum: integer(1, 2 ** 31 - 1).default(5_000_000),
  /** Keys per index file; a new file starts when one is full. */
  maxIndexNum: integer(2, 2 ** 31 - 1).default(5_000_000 * 4),
});

/**
 * "1s 5s 1m" → [1000, 5000, 60000] (ScheduleMessageService.parseDelayLevel); undefined when a
 * token is not a whole number followed by s, m, h or d.
 */
export function parseDelayLevels(text: string): number[] | undefined {
  const unitMs: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  const tokens = text.trim().split(/\s+/).filter((t) => t !== '');
  if (tokens.length === 0 || tokens.length > 64) return undefined;
  const out: number[] = [];
  for (const t of tokens) {
    const m = /^(\d{1,9})([smhd])$/.exec(t);
    if (!m || Number(m[1]) <= 0) return undefined;
    out.push(Number(m[1]) * unitMs[m[2]!]!);
  }
  return out;
}

export type BrokerConfigInput = z.input<typeof BrokerConfigSchema>;
type Parsed = z.output<typeof BrokerConfigSchema>;

export interface BrokerConfig extends Parsed {
  brokerIP1: string;
  brokerIP2: string;
  haListenPort: number;
  storePathCommitLog: string;
  namesrvAddrList: string[];
  healthPort: number;
  healthBindAddress: string;
}

/** Old spellings RocketMQ still reads (mapedFile… was renamed mappedFile… in 4.x). */
const ALIASES: Record<string, string> = {
  mapedFileSizeCommitLog: 'mappedFileSizeCommitLog',
  mapedFileSizeConsumeQueue: 'mappedFileSizeConsumeQueue',
};

/**
 * Keys of the Java broker that are accepted and have no effect here (thread pools, JVM and
 * mmap tuning, features of later releases of this project). Listed so a broker.conf from the
 * Apache distribution starts without warnings about them.
 */
export const ACCEPTED_WITHOUT_EFFECT = new Set([
  'rocketmqHome', 'storePathConsumeQueue', 'storePathIndex', 'storeCheckpoint', 'abortFile',
  'sendMessageThreadPoolNums', 'pullMessageThreadPoolNums', 'queryMessageThreadPoolNums', 'adminBrokerThreadPoolNums',
  'clientManageThreadPoolNums', 'consumerManageThreadPoolNums', 'heartbeatThreadPoolNums', 'endTransactionThreadPoolNums',
  'sendThreadPoolQueueCapacity', 'pullThreadPoolQueueCapacity', 'waitTimeMillsInSendQueue', 'waitTimeMillsInPullQueue',
  'useReentrantLockWhenPutMessage', 'osPageCacheBusyTimeOutMills', 'transientStorePoolEnable', 'transientStorePoolSize',
  'warmMapedFileEnable', 'flushCommitLogLeastPages', 'flushConsumeQueueLeastPages', 'flushIntervalConsumeQueue',
  'flushCommitLogThoroughInterval', 'flushConsumeQueueThoroughInterval', 'maxTransferCountOnMessageInMemory',
  'maxTransferBytesOnMessageInMemory', 'maxTransferCountOnMessageInDisk', 'maxTransferBytesOnMessageInDisk',
  'accessMessageInMemoryMaxRatio',
  'deleteCommitLogFilesInterval', 'deleteConsumeQueueFilesInterval', 'destroyMapedFileIntervalForcibly',
  'redeleteHangedFileInterval', 'checkCRCOnRecover', 'cleanFileForciblyEnable', 'isEnableBatchPush',
  'serverWorkerThreads', 'serverCallbackExecutorThreads', 'serverSelectorThreads', 'serverOnewaySemaphoreValue',
  'serverAsyncSemaphoreValue', 'serverSocketSndBufSize', 'serverSocketRcvBufSize', 'serverPooledByteBufAllocatorEnable',
  'useEpollNativeSelector', 'clientWorkerThreads', 'clientCallbackExecutorThreads', 'compressedRegister', 'forceRegister',
  'enableSlaveActingMaster', 'enableControllerMode', 'duplicationEnable', 'timerWheelEnable', 'enableCalcFilterBitMap',
  'filterSupportRetry', 'notifyConsumerIdsChangedEnable', 'offsetCheckInSlave',
  'commercialEnable', 'brokerTopicEnable', 'clusterTopicEnable', 'autoDeleteUnusedStats', 'startAcceptSendRequestTimeStamp',
  'flushConsumerOffsetInterval', 'flushConsumerOffsetHistoryInterval', 'channelNotActiveInterval', 'brokerFastFailureEnable',
  'traceOn', 'isolateLogEnable', 'enableLmq', 'enableMultiDispatch', 'enableScheduleAsyncDeliver',
  'totalReplicas', 'inSyncReplicas', 'minInSyncReplicas', 'allAckInSyncStateSet', 'enableAutoInSyncReplicas',
]);

/** Features a config may ask for that this broker does not offer: refusing beats pretending. */
function unsupported(c: Parsed): string | undefined {
  if (c.aclEnable) return 'aclEnable=true: ACL is not supported by this broker yet; remove the key or set it to false';
  if (c.enableDLegerCommitLog) return 'enableDLegerCommitLog=true: DLedger mode is not supported; use master/slave roles';
  if (c.fetchNamesrvAddrByAddressServer) return 'fetchNamesrvAddrByAddressServer=true: set namesrvAddr instead';
  if (c.brokerRole === 'SLAVE' && c.brokerId <= 0) return `brokerId=${c.brokerId}: a SLAVE's brokerId must be greater than 0`;
  return undefined;
}

export interface LoadedConfig<T> {
  config: T;
  /** Keys that are neither ours nor known Java keys. */
  unknownKeys: string[];
  /** Java keys accepted without effect. */
  ignoredKeys: string[];
}

export function formatZodIssues(source: string, error: z.ZodError): string {
  return error.issues
    .map((i) => `${source}: ${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('\n');
}

/** Validates raw key/value pairs (from broker.conf and overrides) into a BrokerConfig. */
export function loadBrokerConfig(raw: ReadonlyMap<string, string> | Readonly<Record<string, string>>, source = 'broker config'): LoadedConfig<BrokerConfig> {
  const entries: Array<[string, string]> = raw instanceof Map ? [...(raw as ReadonlyMap<string, string>).entries()] : Object.entries(raw as Readonly<Record<string, string>>);
  const known = new Set(Object.keys(BrokerConfigSchema.shape));
  const input: Record<string, string> = {};
  const unknownKeys: string[] = [];
  const ignoredKeys: string[] = [];
  for (const [rawKey, value] of entries) {
    const key = ALIASES[rawKey] ?? rawKey;
    if (known.has(key)) input[key] = value;
    else if (ACCEPTED_WITHOUT_EFFECT.has(key)) ignoredKeys.push(rawKey);
    else unknownKeys.push(rawKey);
  }
  const result = BrokerConfigSchema.safeParse(input);
  if (!result.success) throw new ConfigError(formatZodIssues(source, result.error));
  const c = result.data;
  const problem = unsupported(c);
  if (problem) throw new ConfigError(`${source}: ${problem}`);
  const brokerIP1 = c.brokerIP1 ?? defaultBrokerIp();
  const namesrvAddr = c.namesrvAddr ?? process.env.NAMESRV_ADDR ?? '';
  const config: BrokerConfig = {
    ...c,
    // Masters are brokerId 0 whatever the file says, as Java's BrokerStartup enforces.
    brokerId: c.brokerRole === 'SLAVE' ? c.brokerId : 0,
    haMasterAddress: c.haMasterAddress || undefined,
    brokerIP1,
    brokerIP2: c.brokerIP2 ?? brokerIP1,
    haListenPort: c.haListenPort ?? c.listenPort + 1,
    healthPort: healthPortOf(c, source),
    healthBindAddress: c.healthBindAddress ?? c.bindAddress,
    storePathCommitLog: c.storePathCommitLog ?? join(c.storePathRootDir, 'commitlog'),
    namesrvAddrList: parseNamesrvAddr(namesrvAddr, source),
    registerNameServerPeriod: Math.min(60_000, Math.max(10_000, c.registerNameServerPeriod)),
  };
  return { config, unknownKeys, ignoredKeys };
}

/**
 * The health port: listenPort - 1 unless set (10910 for the default 10911: with the fast channel on
 * 10909 and HA on 10912 the broker's ports form one block, and no RocketMQ component uses 10910).
 * It must not take one of the broker's other ports.
 */
function healthPortOf(c: Parsed, source: string): number {
  const port = c.healthPort ?? c.listenPort - 1;
  const taken: Array<[string, number]> = [['listenPort', c.listenPort], ['listenPort - 2 (fast channel)', c.listenPort - 2], ['haListenPort', c.haListenPort ?? c.listenPort + 1]];
  const clash = port > 0 ? taken.find(([, p]) => p === port) : undefined;
  if (clash) throw new ConfigError(`${source}: healthPort: ${port} is the broker's ${clash[0]}; choose another port (or -1 to turn the health server off)`);
  return port;
}

/** "a:9876;b:9876" → ["a:9876", "b:9876"], each checked to be host:port. */
export function parseNamesrvAddr(value: string, source = 'config'): string[] {
  const list = value
    .split(/[;,]/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const a of list) {
    const i = a.lastIndexOf(':');
    const port = Number(a.slice(i + 1));
    if (i <= 0 || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new ConfigError(`${source}: namesrvAddr: "${a}" is not host:port`);
    }
  }
  return list;
}

/** The config as Java prints it for GET_BROKER_CONFIG / -p (our keys, effective values). */
export function brokerConfigEntries(c: BrokerConfig): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const key of Object.keys(BrokerConfigSchema.shape)) {
    if (key === 'namesrvAddr') continue;
    const v = (c as unknown as Record<string, string | number | boolean | undefined>)[key];
    if (v !== undefined) out.push([key, String(v)]);
  }
  out.push(['namesrvAddr', c.namesrvAddrList.join(';')]);
  return out.sort((a, b) => a[0].localeCompare(b[0]));
}
