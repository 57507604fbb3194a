// The `rmq admin` commands: mqadmin's verbs, flags and output (same printf formats, so the columns
// line up with the official tool's), built on AdminClient. I/O: the AdminClient and `io`; only
// queryMsgById also writes the message body to a file, as mqadmin does.
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RETRY_GROUP_TOPIC_PREFIX, DLQ_GROUP_TOPIC_PREFIX } from '../broker/metadata.js';
import { ResponseCode } from '../protocol/codes.js';
import { AdminClient, AdminError, isAdminError, MASTER_ID, pickBrokerAddr, type ClusterInfo, type ConsumeStats, type MessageView, type QueueConsumeOffset, type TopicRouteData } from './admin-client.js';
import { compareMessageQueues } from './admin-types.js';
import { parseOptions, usage, UsageError, type OptionSpec, type ParsedOptions } from './cli-args.js';
import { formatDateTime, frontStringAtLeast, humanTime2, javaFormat as f, javaHashMapOrder, javaMapToString, parseJavaTimestamp, permToString } from './java-format.js';
import { versionDesc } from './mq-version.js';

export interface AdminIo {
  out(text: string): void;
  err(text: string): void;
}

interface Ctx {
  opts: ParsedOptions;
  admin: AdminClient;
  io: AdminIo;
}

interface Command {
  name: string;
  desc: string;
  options: OptionSpec[];
  run(ctx: Ctx): Promise<void>;
}

/** A failure the command reports in words (exit code 1), like mqadmin's "... command failed". */
export class CommandError extends Error {}

const opt = (short: string | undefined, long: string, arg: boolean, desc: string, required = false): OptionSpec =>
  short === undefined ? { long, arg, desc, required } : { short, long, arg, desc, required };

// ---------------------------------------------------------------------------------------------
// CommandUtil equivalents

async function masterAddrsOfCluster(admin: AdminClient, cluster: string): Promise<string[]> {
  const info = await admin.getBrokerClusterInfo();
  const names = info.clusters.get(cluster);
  if (!names) throw new CommandError(`Make sure the specified clusterName exists or the name server connected to is correct. (cluster ${cluster} not found)`);
  return names.map((n) => info.brokers.get(n)?.brokerAddrs.get(MASTER_ID)).filter((a): a is string => a !== undefined);
}

async function allAddrsOfCluster(admin: AdminClient, cluster: string): Promise<string[]> {
  const info = await admin.getBrokerClusterInfo();
  const names = info.clusters.get(cluster);
  if (!names) throw new CommandError(`Make sure the specified clusterName exists or the name server connected to is correct. (cluster ${cluster} not found)`);
  return names.flatMap((n) => {
    const bd = info.brokers.get(n);
    return bd ? [...bd.brokerAddrs.entries()].sort((a, b) => a[0] - b[0]).map(([, a]) => a) : [];
  });
}

function routeAddrs(route: TopicRouteData): string[] {
  return route.brokerDatas.map(pickBrokerAddr).filter((a): a is string => a !== undefined);
}

function boolOpt(o: ParsedOptions, name: string): boolean | undefined {
  const v = o.get(name);
  return v === undefined ? undefined : v.toLowerCase() === 'true';
}

function intOpt(o: ParsedOptions, name: string): number | undefined {
  const v = o.get(name);
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v)) throw new UsageError(`option -${name} needs an integer, got "${v}"`);
  return Number(v);
}

function attributesOpt(v: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (v === undefined || v === '') return out;
  // AttributeParser.parseToMap: "+a=b,+c=d,-e"
  for (const item of v.split(',')) {
    const kv = item.trim();
    if (kv.startsWith('+')) {
      const eq = kv.indexOf('=');
      if (eq < 2) throw new UsageError(`bad attribute "${kv}": expected +key=value`);
      out[kv.slice(0, eq)] = kv.slice(eq + 1);
    } else if (kv.startsWith('-')) {
      if (kv.includes('=')) throw new UsageError(`bad attribute "${kv}": a deletion takes no value`);
      out[kv] = '';
    } else throw new UsageError(`bad attribute "${kv}": must start with + or -`);
  }
  return out;
}

/** Double.toString for the plain values we print (0.0, 12.5). */
function javaDouble(x: number): string {
  return Number.isInteger(x) ? x.toFixed(1) : String(x);
}

function javaBool(b: boolean): string {
  return b ? 'true' : 'false';
}

// ---------------------------------------------------------------------------------------------
// topics

interface TopicConfigView {
  topicName: string;
  readQueueNums: number;
  writeQueueNums: number;
  perm: number;
  topicFilterType: string;
  topicSysFlag: number;
  order: boolean;
  attributes: Record<string, string>;
}

export function topicConfigToString(tc: TopicConfigView): string {
  return `TopicConfig [topicName=${tc.topicName}, readQueueNums=${tc.readQueueNums}, writeQueueNums=${tc.writeQueueNums}, perm=${permToString(tc.perm)}, topicFilterType=${tc.topicFilterType}, topicSysFlag=${tc.topicSysFlag}, order=${javaBool(tc.order)}, attributes=${javaMapToString(Object.entries(tc.attributes))}]`;
}

const updateTopic: Command = {
  name: 'updateTopic',
  desc: 'Update or create topic.',
  options: [
    opt('b', 'brokerAddr', true, 'create topic to which broker'),
    opt('c', 'clusterName', true, 'create topic to which cluster'),
    opt('a', 'attributes', true, 'attribute(+a=b,+c=d,-e)'),
    opt('t', 'topic', true, 'topic name', true),
    opt('r', 'readQueueNums', true, 'set read queue nums'),
    opt('w', 'writeQueueNums', true, 'set write queue nums'),
    opt('p', 'perm', true, "set topic's permission(2|4|6), intro[2:W 4:R; 6:RW]"),
    opt('o', 'order', true, "set topic's order(true|false)"),
    opt('u', 'unit', true, 'is unit topic (true|false)'),
    opt('s', 'hasUnitSub', true, 'has unit sub (true|false)'),
  ],
  async run({ opts, admin, io }) {
    const tc: TopicConfigView = {
      topicName: opts.get('t')!,
      readQueueNums: intOpt(opts, 'r') ?? 8,
      writeQueueNums: intOpt(opts, 'w') ?? 8,
      perm: intOpt(opts, 'p') ?? 6,
      topicFilterType: 'SINGLE_TAG',
      // TopicSysFlag.buildSysFlag(unit, hasUnitSub)
      topicSysFlag: (boolOpt(opts, 'u') ? 1 : 0) | (boolOpt(opts, 's') ? 2 : 0),
      order: boolOpt(opts, 'o') ?? false,
      attributes: attributesOpt(opts.get('a')),
    };
    const input = { ...tc, topicFilterType: 'SINGLE_TAG' as const };
    if (opts.has('b')) {
      const addr = opts.get('b')!;
      await admin.createOrUpdateTopic(addr, input);
      if (tc.order) {
        const info = await admin.getBrokerClusterInfo();
        const name = [...info.brokers.values()].find((bd) => [...bd.brokerAddrs.values()].includes(addr))?.brokerName;
        if (!name) throw new CommandError(`broker ${addr} is not registered with the name server`);
        const orderConf = `${name}:${tc.writeQueueNums}`;
        await mergeOrderConf(admin, tc.topicName, orderConf);
        io.out(f('%s%n', `set broker orderConf. isOrder=${javaBool(tc.order)}, orderConf=[${orderConf}]`));
      }
      io.out(f('create topic to %s success.%n', addr));
      io.out(f('%s%n', topicConfigToString(tc)));
      return;
    }
    if (opts.has('c')) {
      const cluster = opts.get('c')!;
      for (const addr of await masterAddrsOfCluster(admin, cluster)) {
        await admin.createOrUpdateTopic(addr, input);
        io.out(f('create topic to %s success.%n', addr));
      }
      if (tc.order) {
        const names = (await admin.getBrokerClusterInfo()).clusters.get(cluster) ?? [];
        const orderConf = names.map((n) => `${n}:${tc.writeQueueNums}`).join(';');
        await requireAllOk(admin.putKvConfig(ORDER_TOPIC_CONFIG, tc.topicName, orderConf));
        io.out(f('set cluster orderConf. isOrder=%s, orderConf=[%s]%n', javaBool(tc.order), orderConf));
      }
      io.out(f('%s%n', topicConfigToString(tc)));
      return;
    }
    io.out(usage('updateTopic', this.options));
  },
};

const ORDER_TOPIC_CONFIG = 'ORDER_TOPIC_CONFIG';

/** createOrUpdateOrderConf(topic, conf, false): merge this broker's entry into the existing conf. */
async function mergeOrderConf(admin: AdminClient, topic: string, conf: string): Promise<void> {
  const existing = await admin.getKvConfig(ORDER_TOPIC_CONFIG, topic);
  const entries = new Map<string, string>();
  for (const part of [...(existing ?? '').split(';'), conf]) {
    const [name, n] = part.split(':');
    if (name && n !== undefined) entries.set(name, n);
  }
  await requireAllOk(admin.putKvConfig(ORDER_TOPIC_CONFIG, topic, [...entries].map(([k, v]) => `${k}:${v}`).join(';')));
}

async function requireAllOk<T>(p: Promise<Array<{ namesrvAddr: string; ok: boolean; error?: Error }>> | Promise<T[]>): Promise<void> {
  const results = (await p) as Array<{ namesrvAddr: string; ok: boolean; error?: Error }>;
  const failed = results.filter((r) => !r.ok);
  if (failed.length > 0) throw new CommandError(failed.map((r) => `${r.namesrvAddr}: ${r.error?.message ?? 'failed'}`).join('; '));
}

const deleteTopic: Command = {
  name: 'deleteTopic',
  desc: 'Delete topic from broker and NameServer.',
  options: [opt('t', 'topic', true, 'topic name', true), opt('c', 'clusterName', true, 'delete topic from which cluster', true)],
  async run({ opts, admin, io }) {
    const topic = opts.get('t')!;
    const cluster = opts.get('c')!;
    for (const addr of await masterAddrsOfCluster(admin, cluster)) await admin.deleteTopicInBroker(addr, topic);
    io.out(f('delete topic [%s] from cluster [%s] success.%n', topic, cluster));
    await requireAllOk(admin.deleteTopicInNameServer(topic, cluster));
    io.out(f('delete topic [%s] from NameServer success.%n', topic));
  },
};

const topicList: Command = {
  name: 'topicList',
  desc: 'Fetch all topic list from name server.',
  options: [opt('c', 'clusterModel', false, 'clusterModel')],
  async run({ opts, admin, io }) {
    const topics = await admin.getAllTopicList();
    if (!opts.has('c')) {
      for (const t of topics) io.out(f('%s%n', t));
      return;
    }
    const info = await admin.getBrokerClusterInfo();
    io.out(f('%-20s  %-48s  %-48s%n', '#Cluster Name', '#Topic', '#Consumer Group'));
    for (const topic of topics) {
      if (topic.startsWith(RETRY_GROUP_TOPIC_PREFIX) || topic.startsWith(DLQ_GROUP_TOPIC_PREFIX)) continue;
      let cluster: string | undefined = '';
      let groups: string[] = [];
      try {
        const route = await admin.getTopicRoute(topic);
        const name = route.brokerDatas[0]?.brokerName;
        cluster = [...info.clusters].find(([, names]) => name !== undefined && names.includes(name))?.[0];
        const addr = routeAddrs(route)[0];
        if (addr) groups = await admin.queryTopicConsumeByWho(addr, topic);
      } catch {
        // as mqadmin: a topic whose route or groups cannot be read is listed without them
      }
      if (groups.length === 0) groups = [''];
      for (const g of groups) io.out(f('%-20s  %-64s  %-64s%n', cluster === undefined ? null : frontStringAtLeast(cluster, 20), frontStringAtLeast(topic, 64), frontStringAtLeast(g, 64)));
    }
  },
};

/** fastjson2's PrettyFormat (tab indented, keys sorted as the bean's getters). */
function prettyJson(v: unknown, indent = ''): string {
  const inner = `${indent}\t`;
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    return `[\n${v.map((x) => inner + prettyJson(x, inner)).join(',\n')}\n${indent}]`;
  }
  if (v instanceof Map) {
    if (v.size === 0) return '{}';
    return `{\n${[...(v as Map<unknown, unknown>)].map(([k, x]) => `${inner}${typeof k === 'number' ? k : JSON.stringify(String(k))}:${prettyJson(x, inner)}`).join(',\n')}\n${indent}}`;
  }
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v).filter(([, x]) => x !== undefined);
    if (entries.length === 0) return '{}';
    return `{\n${entries.map(([k, x]) => `${inner}${JSON.stringify(k)}:${prettyJson(x, inner)}`).join(',\n')}\n${indent}}`;
  }
  return JSON.stringify(v);
}

export function routeToPrettyJson(route: TopicRouteData): string {
  return prettyJson({
    brokerDatas: route.brokerDatas.map((bd) => ({
      brokerAddrs: new Map([...bd.brokerAddrs].sort((a, b) => a[0] - b[0])),
      brokerName: bd.brokerName,
      cluster: bd.cluster,
      enableActingMaster: bd.enableActingMaster,
      zoneName: bd.zoneName,
    })),
    filterServerTable: {},
    orderTopicConf: route.orderTopicConf,
    queueDatas: route.queueDatas.map((q) => ({ brokerName: q.brokerName, perm: q.perm, readQueueNums: q.readQueueNums, topicSysFlag: q.topicSysFlag, writeQueueNums: q.writeQueueNums })),
  });
}

const ROUTE_FORMAT = '%-45s %-32s %-50s %-10s %-11s %-5s%n';

const topicRoute: Command = {
  name: 'topicRoute',
  desc: 'Examine topic route info.',
  options: [opt('t', 'topic', true, 'topic name', true), opt('l', 'list', false, 'Use list format to print data')],
  async run({ opts, admin, io }) {
    const route = await admin.getTopicRoute(opts.get('t')!);
    if (!opts.has('l')) {
      io.out(f('%s%n', routeToPrettyJson(route)));
      return;
    }
    const queues = new Map(route.queueDatas.map((q) => [q.brokerName, q]));
    io.out(f(ROUTE_FORMAT, '#ClusterName', '#BrokerName', '#BrokerAddrs', '#ReadQueue', '#WriteQueue', '#Perm'));
    let totalRead = 0;
    let totalWrite = 0;
    for (const bd of [...route.brokerDatas].sort((a, b) => a.brokerName.localeCompare(b.brokerName))) {
      const q = queues.get(bd.brokerName);
      totalRead += q?.readQueueNums ?? 0;
      totalWrite += q?.writeQueueNums ?? 0;
      io.out(f(ROUTE_FORMAT, bd.cluster, bd.brokerName, javaMapToString([...bd.brokerAddrs]), q?.readQueueNums ?? 0, q?.writeQueueNums ?? 0, q?.perm ?? 0));
    }
    io.out(`${'-'.repeat(158)}\n`);
    io.out(f(ROUTE_FORMAT, 'Total:', queues.size, '', totalRead, totalWrite, ''));
  },
};

const topicStatus: Command = {
  name: 'topicStatus',
  desc: 'Examine topic Status info.',
  options: [opt('t', 'topic', true, 'topic name', true), opt('c', 'cluster', true, 'cluster name or lmq parent topic, lmq is used to find the route.')],
  async run({ opts, admin, io }) {
    const topic = opts.get('t')!;
    const route = await admin.getTopicRoute(opts.get('c') ?? topic);
    const tables = await Promise.all(routeAddrs(route).map((a) => admin.getTopicStatsTable(a, topic)));
    const stats = tables.flatMap((t) => t.queues).sort((a, b) => compareMessageQueues(a.mq, b.mq));
    io.out(f('%-32s  %-4s  %-20s  %-20s    %s%n', '#Broker Name', '#QID', '#Min Offset', '#Max Offset', '#Last Updated'));
    for (const s of stats) {
      io.out(f('%-32s  %-4d  %-20d  %-20d    %s%n', frontStringAtLeast(s.mq.brokerName, 32), s.mq.queueId, s.minOffset, s.maxOffset, s.lastUpdateTimestamp > 0 ? humanTime2(s.lastUpdateTimestamp) : ''));
    }
    io.out('\n');
    io.out(f('Topic Put TPS: %s%n', javaDouble(tables.reduce((n, t) => n + t.topicPutTps, 0))));
  },
};

// ---------------------------------------------------------------------------------------------
// cluster and brokers

function clusterNamesInJavaOrder(info: ClusterInfo, only: string | undefined): string[] {
  if (only) return [only];
  return javaHashMapOrder([...info.clusters.keys()]);
}

const clusterList: Command = {
  name: 'clusterList',
  desc: 'List cluster infos.',
  options: [opt('m', 'moreStats', false, 'Print more stats'), opt('i', 'interval', true, 'specify intervals numbers, it is in seconds'), opt('c', 'clusterName', true, 'which cluster')],
  async run({ opts, admin, io }) {
    if (opts.has('i')) throw new UsageError('-i (repeat every N seconds) is not supported by rmq admin; run it in a loop instead');
    const info = await admin.getBrokerClusterInfo();
    const more = opts.has('m');
    if (more) io.out(f('%-16s  %-32s %14s %14s %14s %14s%n', '#Cluster Name', '#Broker Name', '#InTotalYest', '#OutTotalYest', '#InTotalToday', '#OutTotalToday'));
    else io.out(f('%-22s  %-22s  %-4s  %-22s %-16s  %16s  %30s  %-22s  %-11s  %-12s  %-8s  %-10s%n', '#Cluster Name', '#Broker Name', '#BID', '#Addr', '#Version', '#InTPS(LOAD)', '#OutTPS(LOAD)', '#Timer(Progress)', '#PCWait(ms)', '#Hour', '#SPACE', '#ACTIVATED'));
    for (const cluster of clusterNamesInJavaOrder(info, opts.get('c'))) {
      for (const brokerName of [...(info.clusters.get(cluster) ?? [])].sort()) {
        const bd = info.brokers.get(brokerName);
        if (!bd) continue;
        for (const id of javaHashMapOrder([...bd.brokerAddrs.keys()])) {
          const addr = bd.brokerAddrs.get(id)!;
          let t: Record<string, string> = {};
          try {
            t = await admin.getBrokerRuntimeInfo(addr);
          } catch (err) {
            io.err(`${err instanceof Error ? err.message : String(err)}\n`);
          }
          if (more) {
            const n = (k: string): number => Number(t[k] ?? NaN);
            const diff = (a: string, b: string): number => (Number.isFinite(n(a) - n(b)) ? n(a) - n(b) : 0);
            io.out(f('%-16s  %-32s %14d %14d %14d %14d%n', cluster, brokerName, diff('msgPutTotalTodayMorning', 'msgPutTotalYesterdayMorning'), diff('msgGetTotalTodayMorning', 'msgGetTotalYesterdayMorning'), diff('msgPutTotalTodayNow', 'msgPutTotalTodayMorning'), diff('msgGetTotalTodayNow', 'msgGetTotalTodayMorning')));
            continue;
          }
          const first = (k: string): number => Number((t[k] ?? '').split(' ')[0] || 0);
          const num = (k: string): number => (t[k] !== undefined && Number.isFinite(Number(t[k])) ? Number(t[k]) : 0);
          const earliest = t.earliestMessageTimeStamp;
          const hour = earliest ? (Date.now() - Number(earliest)) / 1000 / 60 / 60 : 0;
          const space = t.commitLogDiskRatio ? Number(t.commitLogDiskRatio) : 0;
          io.out(f('%-22s  %-22s  %-4s  %-22s %-16s  %16s  %30s  %-22s  %11s  %-12s  %-8s  %10s%n',
            cluster, brokerName, id, addr, t.brokerVersionDesc ?? '',
            f('%9.2f(%s,%sms)', first('putTps'), t.sendThreadPoolQueueSize, t.sendThreadPoolQueueHeadWaitTimeMills),
            f('%9.2f(%s,%sms|%s,%sms)', first('getTransferredTps'), t.pullThreadPoolQueueSize, t.pullThreadPoolQueueHeadWaitTimeMills, t.ackThreadPoolQueueSize ?? 'N', t.ackThreadPoolQueueHeadWaitTimeMills ?? 'N'),
            f('%d-%d(%.1fw, %.1f, %.1f)', num('timerReadBehind'), num('timerOffsetBehind'), num('timerCongestNum') / 10000, num('timerEnqueueTps'), num('timerDequeueTps')),
            t.pageCacheLockTimeMills, f('%2.2f', hour), f('%.4f', space), javaBool(t.brokerActive === 'true')));
        }
      }
    }
  },
};

const brokerStatus: Command = {
  name: 'brokerStatus',
  desc: 'Fetch broker runtime status data.',
  options: [opt('b', 'brokerAddr', true, 'Broker address'), opt('c', 'clusterName', true, 'which cluster')],
  async run({ opts, admin, io }) {
    const print = async (addr: string, withAddr: boolean): Promise<void> => {
      const table = await admin.getBrokerRuntimeInfo(addr);
      for (const k of Object.keys(table).sort()) {
        io.out(withAddr ? f('%-24s %-32s: %s%n', addr, k, table[k]) : f('%-32s: %s%n', k, table[k]));
      }
    };
    if (opts.has('b')) return print(opts.get('b')!, false);
    if (!opts.has('c')) throw new UsageError('one of -b or -c is required');
    for (const addr of await allAddrsOfCluster(admin, opts.get('c')!)) {
      try {
        await print(addr, true);
      } catch (err) {
        io.err(`${addr}: ${err instanceof Error ? err.message : String(err)}\n`);
      }
    }
  },
};

const getBrokerConfig: Command = {
  name: 'getBrokerConfig',
  desc: 'Get broker config by cluster or special broker.',
  options: [opt('b', 'brokerAddr', true, 'get which broker'), opt('c', 'clusterName', true, 'get which cluster')],
  async run({ opts, admin, io }) {
    const print = async (prefix: string, addr: string): Promise<void> => {
      io.out(prefix);
      const config = await admin.getBrokerConfig(addr);
      for (const [k, v] of Object.entries(config)) io.out(f('%-50s=  %s\n', k, v));
      io.out('\n');
    };
    if (opts.has('b')) {
      const addr = opts.get('b')!;
      await print(f('============%s============\n', addr), addr);
      return;
    }
    if (!opts.has('c')) return;
    const info = await admin.getBrokerClusterInfo();
    const cluster = opts.get('c')!;
    const names = info.clusters.get(cluster);
    if (!names) throw new CommandError(`Make sure the specified clusterName exists or the name server connected to is correct. (cluster ${cluster} not found)`);
    for (const name of names) {
      const bd = info.brokers.get(name);
      const master = bd?.brokerAddrs.get(MASTER_ID);
      if (!bd || !master) continue;
      await print(f('============Master: %s============\n', master), master);
      for (const [id, slave] of [...bd.brokerAddrs].sort((a, b) => a[0] - b[0])) {
        if (id !== MASTER_ID) await print(f('============My Master: %s=====Slave: %s============\n', master, slave), slave);
      }
    }
  },
};

const updateBrokerConfig: Command = {
  name: 'updateBrokerConfig',
  desc: 'Update broker\'s config.',
  options: [
    opt('b', 'brokerAddr', true, 'update which broker'),
    opt('c', 'clusterName', true, 'update which cluster'),
    opt('a', 'updateAllBroker', true, 'update all brokers include slave'),
    opt('k', 'key', true, 'config key', true),
    opt('v', 'value', true, 'config value', true),
  ],
  async run({ opts, admin, io }) {
    const update = { [opts.get('k')!]: opts.get('v')! };
    if (opts.has('b')) {
      const addr = opts.get('b')!;
      await admin.updateBrokerConfig(addr, update);
      io.out(f('update broker config success, %s\n', addr));
      return;
    }
    if (opts.has('c')) {
      const cluster = opts.get('c')!;
      const addrs = opts.has('a') ? await allAddrsOfCluster(admin, cluster) : await masterAddrsOfCluster(admin, cluster);
      let failed = 0;
      for (const addr of addrs) {
        try {
          await admin.updateBrokerConfig(addr, update);
          io.out(f('update broker config success, %s\n', addr));
        } catch (err) {
          failed++;
          io.err(`update broker config failed, ${addr}: ${err instanceof Error ? err.message : String(err)}\n`);
        }
      }
      if (failed > 0) throw new CommandError(`${failed} of ${addrs.length} brokers refused the update`);
      return;
    }
    io.out(usage('updateBrokerConfig', this.options));
  },
};

function writePermCommand(name: 'wipeWritePerm' | 'addWritePerm'): Command {
  const verb = name === 'wipeWritePerm' ? 'wipe' : 'add';
  return {
    name,
    desc: name === 'wipeWritePerm' ? 'Wipe write perm of broker in all name server you defined in the -n param' : 'Add write perm of broker in all name server you defined in the -n param',
    options: [opt('b', 'brokerName', true, 'broker name', true)],
    async run({ opts, admin, io }) {
      const brokerName = opts.get('b')!;
      const results = verb === 'wipe' ? await admin.wipeWritePermOfBroker(brokerName) : await admin.addWritePermOfBroker(brokerName);
      for (const r of results) {
        if (r.ok) io.out(f(`${verb} write perm of broker[%s] in name server[%s] OK, %d%n`, brokerName, r.namesrvAddr, r.value));
        else {
          io.out(f(`${verb} write perm of broker[%s] in name server[%s] Failed%n`, brokerName, r.namesrvAddr));
          io.err(`${r.error.message}\n`);
        }
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// consumers and producers

async function examineConsumeStats(admin: AdminClient, group: string, topic: string | undefined, cluster?: string): Promise<ConsumeStats> {
  const candidates = [RETRY_GROUP_TOPIC_PREFIX + group, ...(topic !== undefined ? [topic] : []), ...(cluster ? [cluster] : [])];
  let route: TopicRouteData | undefined;
  let lastError: unknown;
  for (const t of candidates) {
    try {
      route = await admin.getTopicRoute(t);
      break;
    } catch (err) {
      lastError = err;
    }
  }
  if (!route) throw lastError instanceof Error ? lastError : new CommandError(`no route for ${candidates.join(', ')}`);
  const all = await Promise.all(routeAddrs(route).map((a) => admin.getConsumeStats(a, group, topic)));
  const offsets = all.flatMap((s) => s.offsets).sort((a, b) => compareMessageQueues(a.mq, b.mq));
  if (offsets.length === 0) {
    throw new AdminError(208, admin.namesrvAddrs.join(';'), ResponseCode.CONSUMER_NOT_ONLINE, 'Not found the consumer group consume stats, because return offset table is empty, maybe the consumer not online');
  }
  return { offsets, consumeTps: all.reduce((n, s) => n + s.consumeTps, 0) };
}

async function examineConsumerConnection(admin: AdminClient, group: string, brokerAddr?: string): ReturnType<AdminClient['getConsumerConnectionList']> {
  const addr = brokerAddr ?? routeAddrs(await admin.getTopicRoute(RETRY_GROUP_TOPIC_PREFIX + group))[0];
  if (!addr) throw new AdminError(203, admin.namesrvAddrs.join(';'), ResponseCode.CONSUMER_NOT_ONLINE, 'Not found the consumer group connection');
  return admin.getConsumerConnectionList(addr, group);
}

const consumerProgress: Command = {
  name: 'consumerProgress',
  desc: 'Query consumers\'s progress, speed.',
  options: [
    opt('g', 'groupName', true, 'consumer group name'),
    opt('t', 'topicName', true, 'topic name'),
    opt('s', 'showClientIP', true, 'Show Client IP per Queue'),
    opt('c', 'cluster', true, 'Cluster name or lmq parent topic, lmq is used to find the route.'),
  ],
  async run({ opts, admin, io }) {
    if (opts.has('g')) {
      const group = opts.get('g')!;
      const stats = await examineConsumeStats(admin, group, opts.get('t'), opts.get('c'));
      const showIp = opts.get('s')?.toLowerCase() === 'true';
      const owners = new Map<string, string>();
      if (showIp) {
        // mqadmin asks each client for its queues (GET_CONSUMER_RUNNING_INFO); we print the client
        // of each queue only when the broker can tell, otherwise N/A.
        io.err('note: -s true prints N/A: per-queue client allocation is not available from rmq admin\n');
      }
      io.out(showIp
        ? f('%-64s  %-32s  %-4s  %-20s  %-20s  %-20s %-20s %-20s%s%n', '#Topic', '#Broker Name', '#QID', '#Broker Offset', '#Consumer Offset', '#Client IP', '#Diff', '#Inflight', '#LastTime')
        : f('%-64s  %-32s  %-4s  %-20s  %-20s  %-20s %-20s%s%n', '#Topic', '#Broker Name', '#QID', '#Broker Offset', '#Consumer Offset', '#Diff', '#Inflight', '#LastTime'));
      let diffTotal = 0;
      let inflightTotal = 0;
      for (const o of stats.offsets) {
        const diff = o.brokerOffset - o.consumerOffset;
        const inflight = o.pullOffset - o.consumerOffset;
        diffTotal += diff;
        inflightTotal += inflight;
        const lastTime = o.lastTimestamp === 0 ? 'N/A' : formatDateTime(o.lastTimestamp);
        const topic = frontStringAtLeast(o.mq.topic, 64);
        const broker = frontStringAtLeast(o.mq.brokerName, 32);
        io.out(showIp
          ? f('%-64s  %-32s  %-4d  %-20d  %-20d  %-20s %-20d %-20d %s%n', topic, broker, o.mq.queueId, o.brokerOffset, o.consumerOffset, owners.get(JSON.stringify(o.mq)) ?? 'N/A', diff, inflight, lastTime)
          : f('%-64s  %-32s  %-4d  %-20d  %-20d  %-20d %-20d %s%n', topic, broker, o.mq.queueId, o.brokerOffset, o.consumerOffset, diff, inflight, lastTime));
      }
      io.out('\n');
      io.out(f('Consume TPS: %.2f%n', stats.consumeTps));
      io.out(f('Consume Diff Total: %d%n', diffTotal));
      io.out(f('Consume Inflight Total: %d%n', inflightTotal));
      return;
    }
    io.out(f('%-64s  %-6s  %-24s %-5s  %-14s  %-7s  %s%n', '#Group', '#Count', '#Version', '#Type', '#Model', '#TPS', '#Diff Total'));
    for (const topic of await admin.getAllTopicList()) {
      if (!topic.startsWith(RETRY_GROUP_TOPIC_PREFIX)) continue;
      const group = topic.slice(RETRY_GROUP_TOPIC_PREFIX.length);
      let stats: ConsumeStats | undefined;
      let cc: Awaited<ReturnType<AdminClient['getConsumerConnectionList']>> | undefined;
      try {
        stats = await examineConsumeStats(admin, group, undefined);
      } catch {
        // offline group without offsets: printed with zeros, as mqadmin does
      }
      try {
        cc = await examineConsumerConnection(admin, group);
      } catch {
        // not online
      }
      const count = cc?.connections.length ?? 0;
      const version = count > 0 ? versionDesc(Math.min(...cc!.connections.map((c) => c.version))) : 'OFFLINE';
      const type = count > 0 ? (cc!.consumeType === 'CONSUME_ACTIVELY' ? 'PULL' : 'PUSH') : '';
      const model = count > 0 && cc!.consumeType === 'CONSUME_PASSIVELY' ? cc!.messageModel : '';
      const diffTotal = (stats?.offsets ?? []).reduce((n, o: QueueConsumeOffset) => n + (o.brokerOffset - o.consumerOffset), 0);
      io.out(f('%-64s  %-6d  %-24s %-5s  %-14s  %-7d  %d%n', frontStringAtLeast(group, 64), count, version, type, model, Math.trunc(stats?.consumeTps ?? 0), diffTotal));
    }
  },
};

const consumerConnection: Command = {
  name: 'consumerConnection',
  desc: 'Query consumer\'s socket connection, client version and subscription.',
  options: [opt('g', 'consumerGroup', true, 'consumer group name', true), opt('b', 'brokerAddr', true, 'broker address')],
  async run({ opts, admin, io }) {
    const cc = await examineConsumerConnection(admin, opts.get('g')!, opts.get('b'));
    io.out(f('%-36s %-22s %-10s %s%n', '#ClientId', '#ClientAddr', '#Language', '#Version'));
    for (const c of cc.connections) io.out(f('%-36s %-22s %-10s %s%n', c.clientId, c.clientAddr, c.language, versionDesc(c.version)));
    io.out(f('%nBelow is subscription:\n'));
    io.out(f('%-20s %s%n', '#Topic', '#SubExpression'));
    for (const s of cc.subscriptions) io.out(f('%-20s %s%n', s.topic, s.subString));
    io.out('\n');
    io.out(f('ConsumeType: %s%n', cc.consumeType));
    io.out(f('MessageModel: %s%n', cc.messageModel));
    io.out(f('ConsumeFromWhere: %s%n', cc.consumeFromWhere));
  },
};

const producerConnection: Command = {
  name: 'producerConnection',
  desc: 'Query producer\'s socket connection and client version.',
  options: [opt('g', 'producerGroup', true, 'producer group name', true), opt('t', 'topic', true, 'topic name', true)],
  async run({ opts, admin, io }) {
    const addr = routeAddrs(await admin.getTopicRoute(opts.get('t')!))[0];
    const pc = addr ? await admin.getProducerConnectionList(addr, opts.get('g')!) : { connections: [] };
    if (pc.connections.length === 0) throw new CommandError('Not found the producer group connection');
    pc.connections.forEach((c, i) => io.out(f('%04d  %-32s %-22s %-8s %s%n', i + 1, c.clientId, c.clientAddr, c.language, versionDesc(c.version))));
  },
};

export function subscriptionGroupToString(g: Record<string, unknown>): string {
  const v = (k: string): string => {
    const x = g[k];
    if (x === undefined || x === null) return 'null';
    if (typeof x === 'object') return k === 'attributes' ? javaMapToString(Object.entries(x as Record<string, string>)) : JSON.stringify(x);
    return typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean' ? String(x) : JSON.stringify(x);
  };
  const keys = ['groupName', 'consumeEnable', 'consumeFromMinEnable', 'consumeBroadcastEnable', 'consumeMessageOrderly', 'retryQueueNums', 'retryMaxTimes'];
  const tail = ['brokerId', 'whichBrokerWhenConsumeSlowly', 'notifyConsumerIdsChangedEnable', 'groupSysFlag', 'consumeTimeoutMinute', 'subscriptionDataSet', 'attributes'];
  return `SubscriptionGroupConfig{${[...keys.map((k) => `${k}=${v(k)}`), 'groupRetryPolicy=GroupRetryPolicy{type=CUSTOMIZED, exponentialRetryPolicy=null, customizedRetryPolicy=null}', ...tail.map((k) => `${k}=${v(k)}`)].join(', ')}}`;
}

const updateSubGroup: Command = {
  name: 'updateSubGroup',
  desc: 'Update or create subscription group.',
  options: [
    opt('b', 'brokerAddr', true, 'create subscription group to which broker'),
    opt('c', 'clusterName', true, 'create subscription group to which cluster'),
    opt('g', 'groupName', true, 'consumer group name', true),
    opt('s', 'consumeEnable', true, 'consume enable'),
    opt('m', 'consumeFromMinEnable', true, 'from min offset'),
    opt('d', 'consumeBroadcastEnable', true, 'broadcast'),
    opt('o', 'consumeMessageOrderly', true, 'consume message orderly'),
    opt('q', 'retryQueueNums', true, 'retry queue nums'),
    opt('r', 'retryMaxTimes', true, 'retry max times'),
    opt('i', 'brokerId', true, 'consumer from which broker id'),
    opt('w', 'whichBrokerWhenConsumeSlowly', true, 'which broker id when consume slowly'),
    opt('a', 'notifyConsumerIdsChanged', true, 'notify consumerId changed'),
    opt(undefined, 'attributes', true, 'attribute(+a=b,+c=d,-e)'),
  ],
  async run({ opts, admin, io }) {
    const g = {
      groupName: opts.get('g')!,
      consumeEnable: boolOpt(opts, 's') ?? true,
      consumeFromMinEnable: boolOpt(opts, 'm') ?? false,
      consumeBroadcastEnable: boolOpt(opts, 'd') ?? false,
      consumeMessageOrderly: boolOpt(opts, 'o') ?? false,
      retryQueueNums: intOpt(opts, 'q') ?? 1,
      retryMaxTimes: intOpt(opts, 'r') ?? 16,
      brokerId: intOpt(opts, 'i') ?? 0,
      whichBrokerWhenConsumeSlowly: intOpt(opts, 'w') ?? 1,
      notifyConsumerIdsChangedEnable: boolOpt(opts, 'a') ?? true,
      groupSysFlag: 0,
      consumeTimeoutMinute: 15,
      attributes: attributesOpt(opts.get('attributes')),
    };
    let addrs: string[];
    if (opts.has('b')) addrs = [opts.get('b')!];
    else if (opts.has('c')) addrs = await masterAddrsOfCluster(admin, opts.get('c')!);
    else {
      io.out(usage('updateSubGroup', this.options));
      return;
    }
    for (const addr of addrs) {
      await admin.createOrUpdateSubscriptionGroup(addr, g);
      io.out(f('create subscription group to %s success.%n', addr));
    }
    io.out(subscriptionGroupToString(g));
  },
};

const deleteSubGroup: Command = {
  name: 'deleteSubGroup',
  desc: 'Delete subscription group from broker.',
  options: [
    opt('b', 'brokerAddr', true, 'delete subscription group from which broker'),
    opt('c', 'clusterName', true, 'delete subscription group from which cluster'),
    opt('g', 'groupName', true, 'subscription group name', true),
    opt('r', 'removeOffset', true, 'remove offset'),
  ],
  async run({ opts, admin, io }) {
    const group = opts.get('g')!;
    const clean = boolOpt(opts, 'r') ?? false;
    if (opts.has('b')) {
      const addr = opts.get('b')!;
      await admin.deleteSubscriptionGroup(addr, group, clean);
      io.out(f('delete subscription group [%s] from broker [%s] success.%n', group, addr));
      return;
    }
    if (opts.has('c')) {
      const cluster = opts.get('c')!;
      const masters = await masterAddrsOfCluster(admin, cluster);
      for (const addr of masters) {
        await admin.deleteSubscriptionGroup(addr, group, clean);
        io.out(f('delete subscription group [%s] from broker [%s] in cluster [%s] success.%n', group, addr, cluster));
      }
      // and its retry and dead-letter topics, as mqadmin does
      for (const topic of [RETRY_GROUP_TOPIC_PREFIX + group, DLQ_GROUP_TOPIC_PREFIX + group]) {
        try {
          for (const addr of masters) await admin.deleteTopicInBroker(addr, topic);
          await requireAllOk(admin.deleteTopicInNameServer(topic, cluster));
        } catch (err) {
          io.err(`${err instanceof Error ? err.message : String(err)}\n`);
        }
      }
      return;
    }
    io.out(usage('deleteSubGroup', this.options));
  },
};

const resetOffsetByTime: Command = {
  name: 'resetOffsetByTime',
  desc: 'Reset consumer offset by timestamp(without client restart).',
  options: [
    opt('g', 'group', true, 'set the consumer group', true),
    opt('t', 'topic', true, 'set the topic', true),
    opt('s', 'timestamp', true, 'set the timestamp[now|currentTimeMillis|yyyy-MM-dd#HH:mm:ss:SSS]', true),
    opt('f', 'force', true, 'set the force rollback by timestamp switch[true|false]. Deprecated.'),
    opt('b', 'broker', true, 'broker addr'),
    opt('q', 'queue', true, 'queue id'),
    opt('o', 'offset', true, 'Expect queue offset, not support old version broker'),
    opt('c', 'cluster', true, 'Cluster name or lmq parent topic, lmq is used to find the route.'),
  ],
  async run({ opts, admin, io }) {
    const group = opts.get('g')!;
    const topic = opts.get('t')!;
    const tsText = opts.get('s')!;
    const timestamp = tsText === 'now' ? Date.now() : /^-?\d+$/.test(tsText) ? Number(tsText) : parseJavaTimestamp(tsText);
    if (timestamp === undefined) throw new UsageError(`-s must be now, milliseconds or yyyy-MM-dd#HH:mm:ss:SSS, got "${tsText}"`);
    const force = boolOpt(opts, 'f') ?? true;
    const queueId = intOpt(opts, 'q') ?? -1;
    if (opts.has('b') && queueId >= 0) {
      const addr = opts.get('b')!;
      io.out(f('start reset consumer offset by specified, group[%s], topic[%s], queueId[%s], broker[%s], timestamp(string)[%s], timestamp(long)[%s]%n', group, topic, queueId, addr, tsText, timestamp));
      const offset = intOpt(opts, 'o') ?? await admin.searchOffset(addr, topic, queueId, timestamp);
      io.out(f('reset consumer offset to %d%n', offset));
      if (offset > 0) {
        // as DefaultMQAdminExt.resetOffsetByQueueId: commit it, then have the broker reset it
        await admin.updateConsumerOffset(addr, group, topic, queueId, offset);
        await admin.resetOffsetOfQueue(addr, topic, group, queueId, offset);
      }
      return;
    }
    const route = await admin.getTopicRoute(opts.get('c') ?? topic);
    const addrs = routeAddrs(route);
    const table = [];
    try {
      for (const addr of addrs) table.push(...await admin.resetOffsetByTimestamp(addr, topic, group, timestamp, force));
    } catch (err) {
      if (!isAdminError(err, ResponseCode.CONSUMER_NOT_ONLINE)) throw err;
      // nobody online to tell: rewrite the committed offsets (ResetOffsetByTimeOldCommand)
      io.out(f('reset consumer offset by specified consumerGroup[%s], topic[%s], force[%s], timestamp(string)[%s], timestamp(long)[%s]%n', group, topic, javaBool(force), tsText, timestamp));
      io.out(f('%-20s  %-20s  %-20s  %-20s  %-20s  %-20s%n', '#brokerName', '#queueId', '#brokerOffset', '#consumerOffset', '#timestampOffset', '#resetOffset'));
      for (const addr of addrs) {
        for (const r of await rollbackOffline(admin, addr, route, group, topic, timestamp, force)) {
          io.out(f('%-20s  %-20d  %-20d  %-20d  %-20d  %-20d%n', frontStringAtLeast(r.brokerName, 32), r.queueId, r.brokerOffset, r.consumerOffset, r.timestampOffset, r.resetOffset));
        }
      }
      return;
    }
    io.out(f('start reset consumer offset by specified, group[%s], topic[%s], force[%s], timestamp(string)[%s], timestamp(long)[%s]%n', group, topic, javaBool(force), tsText, timestamp));
    io.out(f('%-40s  %-40s  %-40s%n', '#brokerName', '#queueId', '#offset'));
    for (const e of table) io.out(f('%-40s  %-40d  %-40d%n', frontStringAtLeast(e.mq.brokerName, 32), e.mq.queueId, e.offset));
  },
};

interface RollbackStats {
  brokerName: string;
  queueId: number;
  brokerOffset: number;
  consumerOffset: number;
  timestampOffset: number;
  resetOffset: number;
}

async function rollbackOffline(admin: AdminClient, addr: string, route: TopicRouteData, group: string, topic: string, timestamp: number, force: boolean): Promise<RollbackStats[]> {
  let queues = (await admin.getConsumeStats(addr, group)).offsets.filter((o) => o.mq.topic === topic).map((o) => ({ mq: o.mq, brokerOffset: o.brokerOffset, consumerOffset: o.consumerOffset }));
  if (queues.length === 0) {
    // never consumed: every readable queue, from its min offset
    const stats = await admin.getTopicStats(addr, topic);
    const brokerName = stats[0]?.mq.brokerName ?? route.brokerDatas.find((bd) => pickBrokerAddr(bd) === addr)?.brokerName ?? '';
    const readQueues = route.queueDatas.find((q) => q.brokerName === brokerName)?.readQueueNums ?? stats.length;
    queues = stats.filter((s) => s.mq.queueId < readQueues).map((s) => ({ mq: s.mq, brokerOffset: s.maxOffset, consumerOffset: s.minOffset }));
  }
  const out: RollbackStats[] = [];
  for (const q of queues) {
    const timestampOffset = timestamp === -1 ? await admin.getMaxOffset(addr, topic, q.mq.queueId) : await admin.searchOffset(addr, topic, q.mq.queueId, timestamp);
    const apply = force || timestampOffset <= q.consumerOffset;
    if (apply) await admin.updateConsumerOffset(addr, group, topic, q.mq.queueId, timestampOffset);
    out.push({ brokerName: q.mq.brokerName, queueId: q.mq.queueId, brokerOffset: q.brokerOffset, consumerOffset: q.consumerOffset, timestampOffset, resetOffset: apply ? timestampOffset : q.consumerOffset });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// messages

async function printMessage(admin: AdminClient, io: AdminIo, m: MessageView, charset: string | undefined): Promise<void> {
  const dir = join(tmpdir(), 'rocketmq', 'msgbodys');
  mkdirSync(dir, { recursive: true });
  const bodyPath = join(dir, m.msgId);
  writeFileSync(bodyPath, m.body);
  const line = (label: string, value: string | number): void => io.out(f(typeof value === 'number' ? '%-20s %d%n' : '%-20s %s%n', label, value));
  line('OffsetID:', m.offsetMsgId);
  line('Topic:', m.topic);
  line('Tags:', `[${m.tags ?? 'null'}]`);
  line('Keys:', `[${m.keys ?? 'null'}]`);
  line('Queue ID:', m.queueId);
  line('Queue Offset:', m.queueOffset);
  line('CommitLog Offset:', m.commitLogOffset);
  line('Reconsume Times:', m.reconsumeTimes);
  line('Born Timestamp:', humanTime2(m.bornTimestamp));
  line('Store Timestamp:', humanTime2(m.storeTimestamp));
  line('Born Host:', m.bornHost);
  line('Store Host:', m.storeHost);
  line('System Flag:', m.sysFlag);
  // MessageDecoder builds the properties as new HashMap<>(128)
  line('Properties:', javaMapToString(Object.entries(m.properties), 128));
  line('Message Body Path:', bodyPath);
  if (charset !== undefined) line('Message Body:', m.body.toString(charset.toLowerCase().replace('-', '') === 'utf8' ? 'utf8' : 'latin1'));
  const tracks = await messageTracks(admin, m);
  if (tracks.length === 0) io.out(f('%n%nWARN: No Consumer'));
  else {
    io.out(f('%n%n'));
    for (const t of tracks) io.out(f('%s%n', t));
  }
}

/** MessageTrack lines: per consumer group of the topic, whether it consumed the message. */
async function messageTracks(admin: AdminClient, m: MessageView): Promise<string[]> {
  const route = await admin.getTopicRoute(m.topic);
  const addr = routeAddrs(route)[0];
  if (!addr) return [];
  const out: string[] = [];
  for (const group of await admin.queryTopicConsumeByWho(addr, m.topic)) {
    const track = (type: string, desc: string | null = null): string => `MessageTrack [consumerGroup=${group}, trackType=${type}, exceptionDesc=${desc ?? 'null'}]`;
    let cc;
    try {
      cc = await examineConsumerConnection(admin, group);
    } catch (err) {
      out.push(err instanceof AdminError ? track(err.responseCode === ResponseCode.CONSUMER_NOT_ONLINE ? 'NOT_ONLINE' : 'UNKNOWN', `CODE:${err.responseCode} DESC:${err.remark}`) : track('UNKNOWN', String(err)));
      continue;
    }
    if (cc.consumeType === 'CONSUME_ACTIVELY') {
      out.push(track('PULL'));
      continue;
    }
    try {
      const stats = await examineConsumeStats(admin, group, m.topic);
      const q = stats.offsets.find((o) => o.mq.topic === m.topic && o.mq.queueId === m.queueId);
      out.push(track(q && q.consumerOffset > m.queueOffset ? 'CONSUMED' : 'NOT_CONSUME_YET'));
    } catch (err) {
      out.push(track('UNKNOWN', err instanceof Error ? err.message : String(err)));
    }
  }
  return out;
}

const queryMsgById: Command = {
  name: 'queryMsgById',
  desc: 'Query Message by Id.',
  options: [
    opt('t', 'topic', true, 'topic name', true),
    opt('i', 'msgId', true, 'Message Id', true),
    opt('g', 'consumerGroup', true, 'consumer group name'),
    opt('d', 'clientId', true, "The consumer's client id"),
    opt('s', 'sendMessage', true, 'resend message'),
    opt('u', 'unitName', true, 'unit name'),
    opt('f', 'bodyFormat', true, 'print message body by the specified format'),
    opt('c', 'cluster', true, 'Cluster name or lmq parent topic, lmq is used to find the route.'),
  ],
  async run({ opts, admin, io }) {
    if (opts.has('s') || (opts.has('g') && opts.has('d'))) throw new UsageError('resending (-s) and direct push (-g -d) are not supported by rmq admin');
    const topic = opts.get('t')!;
    for (const id of opts.get('i')!.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
      let m: MessageView | undefined;
      if (/^[0-9A-Fa-f]{32}$/.test(id)) {
        try {
          m = await admin.viewMessageByOffsetMsgId(id, topic);
        } catch {
          // not an offset id after all (or that broker is gone): try it as a message id
        }
      }
      m ??= (await admin.queryMessageInCluster(topic, id, { uniqueKey: true, maxNum: 32 }))[0];
      if (!m) throw new CommandError(`query message by key finished, but no message. (topic ${topic}, id ${id})`);
      await printMessage(admin, io, m, opts.get('f'));
    }
  },
};

const queryMsgByKey: Command = {
  name: 'queryMsgByKey',
  desc: 'Query Message by Key.',
  options: [
    opt('t', 'topic', true, 'Topic name', true),
    opt('k', 'msgKey', true, 'Message Key', true),
    opt('b', 'beginTimestamp', true, 'Begin timestamp(ms). default:0, eg:1676730526212'),
    opt('e', 'endTimestamp', true, 'End timestamp(ms). default:Long.MAX_VALUE, eg:1676730526212'),
    opt('m', 'maxNum', true, 'The maximum number of messages returned by the query, default:64'),
    opt('c', 'cluster', true, 'Cluster name or lmq parent topic, lmq is used to find the route.'),
    opt('p', 'keyType', true, 'Index key type, default index key type is K, you can use K for keys OR T for tags'),
    opt('l', 'lastKey', true, 'Last Key'),
  ],
  async run({ opts, admin, io }) {
    const keyType = opts.get('p') ?? 'K';
    if (keyType !== 'K') throw new UsageError(keyType === 'T' ? 'querying by tag (-p T) is not supported by rmq admin: the broker indexes keys and message ids' : 'index type error, just support K for keys or T for tags');
    const topic = opts.get('t')!;
    const key = opts.get('k')!;
    const found = await admin.queryMessageInCluster(topic, key, {
      maxNum: intOpt(opts, 'm') ?? 64,
      beginTimestamp: intOpt(opts, 'b') ?? 0,
      endTimestamp: intOpt(opts, 'e') ?? Number.MAX_SAFE_INTEGER,
    });
    io.out(f('%-50s %4s %40s %-200s%n', '#Message ID', '#QID', '#Offset', '#IndexKey'));
    for (const m of found) {
      // 5.x index key: store hour @ topic @ key type @ key @ message id @ commit-log offset
      const hour = m.storeTimestamp > 0 ? Math.floor(m.storeTimestamp / 3_600_000) * 3_600_000 : m.storeTimestamp;
      io.out(f('%-50s %4d %40d %-200s%n', m.msgId, m.queueId, m.queueOffset, `${hour}@${topic}@${keyType}@${key}@${m.msgId}@${m.commitLogOffset}`));
    }
  },
};

// ---------------------------------------------------------------------------------------------

export const COMMANDS: readonly Command[] = [
  updateTopic, deleteTopic, topicList, topicRoute, topicStatus, clusterList, brokerStatus, consumerProgress,
  consumerConnection, producerConnection, updateSubGroup, deleteSubGroup, resetOffsetByTime, queryMsgById,
  queryMsgByKey, getBrokerConfig, updateBrokerConfig, writePermCommand('wipeWritePerm'), writePermCommand('addWritePerm'),
];

function commandList(): string {
  const lines = ['The most commonly used mqadmin commands are:'];
  for (const c of COMMANDS) lines.push(f('   %-35s %s', c.name, c.desc));
  lines.push('', 'See \'rmq admin help <command>\' for more information on a specific command.');
  return lines.join('\n') + '\n';
}

export interface RunAdminOptions {
  /** NAMESRV_ADDR, used when -n is not given (as mqadmin). */
  namesrvAddr?: string | undefined;
  timeoutMs?: number;
}

/** Runs one admin command; resolves with the process exit code (0 ok, 1 failed, 2 usage). */
export async function runAdmin(argv: readonly string[], io: AdminIo, options: RunAdminOptions = {}): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || (name === 'help' && rest.length === 0)) {
    io.out(commandList());
    return 0;
  }
  const helpFor = name === 'help' ? rest[0] : undefined;
  const command = COMMANDS.find((c) => c.name === (helpFor ?? name));
  if (!command) {
    io.err(`The sub command ${helpFor ?? name} not exist.\n${commandList()}`);
    return 2;
  }
  if (helpFor !== undefined) {
    io.out(usage(command.name, command.options));
    return 0;
  }
  let opts: ParsedOptions;
  try {
    opts = parseOptions(rest, command.options);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(`${err.message}\n${usage(command.name, command.options)}`);
    return 2;
  }
  if (opts.has('h')) {
    io.out(usage(command.name, command.options));
    return 0;
  }
  const admin = new AdminClient({ namesrvAddr: opts.get('n') ?? options.namesrvAddr ?? '', timeoutMs: options.timeoutMs ?? 5000 });
  try {
    await command.run({ opts, admin, io });
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`${err.message}\n${usage(command.name, command.options)}`);
      return 2;
    }
    io.err(`${command.name} command failed: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  } finally {
    await admin.close();
  }
}
