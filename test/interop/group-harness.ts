// Starts our NameServer and one broker GROUP (a master and N slaves sharing a brokerName) as
// separate processes on loopback, for the replication interop tests. Each member has its own
// broker.conf, store directory, port block and log file in the test directory; members can be
// stopped (SIGTERM), killed (SIGKILL), restarted, and restarted with a changed config (role,
// brokerId, ...). Admin requests (UPDATE_BROKER_CONFIG, GET_BROKER_RUNTIME_INFO, routes) go
// through our RemotingClient. Every wait is bounded and says what it waited for and what it saw.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, createWriteStream, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../../broker/src/common/logger.js';
import { parseJsonBody } from '../../broker/src/common/json.js';
import { RequestCode, ResponseCode } from '../../broker/src/protocol/codes.js';
import { createRequest, type RemotingCommand } from '../../broker/src/protocol/remoting.js';
import { RemotingClient } from '../../broker/src/transport/client.js';
import { freePortBlock, ROOT, tail, tempDir, untilReady, withTimeout } from './harness.js';

const DIST = join(ROOT, 'dist/broker/src/cli');

export type BrokerRole = 'ASYNC_MASTER' | 'SYNC_MASTER' | 'SLAVE';

export interface BrokerGroupOptions {
  brokerName?: string;
  clusterName?: string;
  /** Role of the first member, "m" (default ASYNC_MASTER). */
  masterRole?: 'ASYNC_MASTER' | 'SYNC_MASTER';
  /** Number of slaves, named s1..sN with brokerId 1..N (default 1). */
  slaves?: number;
  flushDiskType?: 'ASYNC_FLUSH' | 'SYNC_FLUSH';
  /** Extra broker.conf lines for every member (override the short test intervals if needed). */
  brokerConf?: Record<string, string>;
}

/** Short intervals so that a whole group scenario fits in seconds, not minutes. */
export const FAST_REPLICATION_CONF: Readonly<Record<string, string>> = {
  haSendHeartbeatInterval: '500',
  haHousekeepingInterval: '5000',
  slaveSyncIntervalMillis: '1000',
  slaveTimeout: '2000',
  registerNameServerPeriod: '10000',
  mappedFileSizeCommitLog: String(16 * 1024 * 1024),
};

export interface StopResult {
  /** Exit code (null when killed by a signal). */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Milliseconds from sending the signal to the exit. */
  ms: number;
}

interface Running {
  child: ChildProcess;
  exited: Promise<StopResult & { at: number }>;
}

// Children still running when the test process exits (a crashed run) are killed with it.
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

async function spawnUntilReady(args: string[], logFile: string, readyPattern: RegExp, timeoutMs: number): Promise<Running> {
  appendFileSync(logFile, `\n===== ${new Date().toISOString()} node ${args.join(' ')}\n`);
  const child = spawn('node', args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  const log = createWriteStream(logFile, { flags: 'a' });
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  const exited = new Promise<StopResult & { at: number }>((r) =>
    child.on('exit', (code, signal) => {
      live.delete(child);
      r({ code, signal, ms: 0, at: Date.now() });
    }),
  );
  await untilReady(child, `node ${args.join(' ')}`, readyPattern, timeoutMs, logFile);
  return { child, exited };
}

/** One broker process of the group: its config, ports, store and log. */
export class GroupMember {
  readonly name: string;
  readonly port: number;
  readonly storeDir: string;
  readonly confFile: string;
  readonly logFile: string;
  /** The broker.conf contents (rewritten on each start). */
  conf: Record<string, string>;
  starts = 0;
  #running: Running | undefined;

  constructor(name: string, port: number, dir: string, conf: Record<string, string>) {
    this.name = name;
    this.port = port;
    this.storeDir = join(dir, `store-${name}`);
    this.confFile = join(dir, `broker-${name}.conf`);
    this.logFile = join(dir, `broker-${name}.log`);
    this.conf = conf;
  }

  get addr(): string {
    return `127.0.0.1:${this.port}`;
  }

  get haAddr(): string {
    return `127.0.0.1:${this.conf.haListenPort}`;
  }

  get running(): boolean {
    return this.#running !== undefined;
  }

  /** The role the config file gives (runtime changes by UPDATE_BROKER_CONFIG are not in it). */
  get configuredRole(): BrokerRole {
    return this.conf.brokerRole as BrokerRole;
  }

  get pid(): number | undefined {
    return this.#running?.child.pid;
  }

  /** Writes broker.conf and starts the process; resolves once it printed "boot success". */
  async start(): Promise<void> {
    if (this.#running) throw new Error(`broker ${this.name} is already running (pid ${this.pid})`);
    writeFileSync(this.confFile, Object.entries(this.conf).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
    this.starts++;
    this.#running = await spawnUntilReady([join(DIST, 'broker.js'), '-c', this.confFile], this.logFile, /boot success/, 45_000);
    // An unexpected exit is noticed by the next start/stop (the process is gone either way).
    const r = this.#running;
    void r.exited.then(() => {
      if (this.#running === r) this.#running = undefined;
    });
  }

  /** Sends `signal` and waits (bounded) for the exit. SIGTERM is graceful, SIGKILL is kill -9. */
  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM', timeoutMs = 60_000): Promise<StopResult> {
    const r = this.#running;
    if (!r) throw new Error(`broker ${this.name} is not running`);
    const sentAt = Date.now();
    r.child.kill(signal);
    try {
      const e = await withTimeout(r.exited, timeoutMs, `broker ${this.name} (pid ${r.child.pid}) to exit after ${signal}; log:\n${tail(this.logFile)}`);
      return { code: e.code, signal: e.signal, ms: e.at - sentAt };
    } catch (err) {
      r.child.kill('SIGKILL');
      await withTimeout(r.exited, 10_000, `broker ${this.name} to exit after SIGKILL`).catch(() => undefined);
      throw err;
    } finally {
      this.#running = undefined;
    }
  }
}

export type RuntimeInfo = Record<string, string>;

/** NameServer + one broker group, each a process as a user runs them. */
export class BrokerGroup {
  readonly dir: string;
  readonly brokerName: string;
  readonly clusterName: string;
  readonly members = new Map<string, GroupMember>();
  readonly client = new RemotingClient(silentLogger());
  namesrvPort = 0;
  readonly #options: BrokerGroupOptions;
  #namesrv: Running | undefined;

  constructor(name: string, options: BrokerGroupOptions = {}) {
    this.dir = tempDir(name);
    this.#options = options;
    this.brokerName = options.brokerName ?? 'broker-g';
    this.clusterName = options.clusterName ?? 'DefaultCluster';
  }

  get namesrvAddr(): string {
    return `127.0.0.1:${this.namesrvPort}`;
  }

  /** Log file of a client process (driver) kept next to the brokers' logs. */
  log(name: string): string {
    return join(this.dir, `${name}.log`);
  }

  member(name: string): GroupMember {
    const m = this.members.get(name);
    if (!m) throw new Error(`no member ${name} in group ${this.brokerName} (have ${[...this.members.keys()].join(', ')})`);
    return m;
  }

  /** Starts the NameServer, then the master "m", then slaves "s1".."sN"; waits until they replicate. */
  async start(): Promise<void> {
    if (!existsSync(join(DIST, 'broker.js'))) throw new Error('dist/ is missing: run `npm run build` first');
    this.namesrvPort = await freePortBlock();
    const nsConf = join(this.dir, 'namesrv.conf');
    writeFileSync(nsConf, `listenPort=${this.namesrvPort}\nbindAddress=127.0.0.1\n`);
    this.#namesrv = await spawnUntilReady([join(DIST, 'namesrv.js'), '-c', nsConf], join(this.dir, 'namesrv.log'), /boot success/, 20_000);
    const slaves = this.#options.slaves ?? 1;
    await this.#add('m', this.#options.masterRole ?? 'ASYNC_MASTER', 0);
    for (let i = 1; i <= slaves; i++) await this.#add(`s${i}`, 'SLAVE', i);
    await this.member('m').start();
    for (let i = 1; i <= slaves; i++) await this.member(`s${i}`).start();
    const want = [0, ...Array.from({ length: slaves }, (_, i) => i + 1)];
    await this.waitUntil(async () => {
      const ids = [...(await this.clusterMembers()).keys()].sort((a, b) => a - b);
      return JSON.stringify(ids) === JSON.stringify(want);
    }, 20_000, async () => `all members registered with the name server (ids ${want.join(',')}); cluster info: ${JSON.stringify([...(await this.clusterMembers().catch(() => new Map<number, string>()))])}`);
    for (let i = 1; i <= slaves; i++) await this.waitFollowing(`s${i}`, 'm', 30_000);
  }

  async #add(name: string, role: BrokerRole, brokerId: number): Promise<void> {
    // Members are configured before any of them binds: keep their blocks (port-2 .. port+1) apart.
    let port = await freePortBlock();
    const taken = (q: number): boolean => q === this.namesrvPort || [...this.members.values()].some((o) => Math.abs(o.port - q) <= 3);
    for (let i = 0; i < 20 && taken(port); i++) port = await freePortBlock();
    if (taken(port)) throw new Error('no free port block found on 127.0.0.1 apart from the other members');
    const member = new GroupMember(name, port, this.dir, {});
    member.conf = {
      brokerClusterName: this.clusterName,
      brokerName: this.brokerName,
      brokerId: String(brokerId),
      brokerRole: role,
      brokerIP1: '127.0.0.1',
      bindAddress: '127.0.0.1',
      listenPort: String(port),
      haListenPort: String(port + 1),
      namesrvAddr: this.namesrvAddr,
      storePathRootDir: member.storeDir,
      flushDiskType: this.#options.flushDiskType ?? 'ASYNC_FLUSH',
      ...FAST_REPLICATION_CONF,
      ...this.#options.brokerConf,
    };
    this.members.set(name, member);
  }

  async startMember(name: string): Promise<void> {
    await this.member(name).start();
  }

  /**
   * Stops a member: SIGTERM (graceful, bounded) or SIGKILL (kill -9). Our client's connection to
   * it is dropped first so that it cannot hold the graceful stop up.
   */
  async stopMember(name: string, signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM', timeoutMs = 60_000): Promise<StopResult> {
    const m = this.member(name);
    await this.client.disconnect(m.addr).catch(() => undefined);
    return m.stop(signal, timeoutMs);
  }

  /**
   * Restarts a member (stopping it first when it runs) with `changes` applied to its broker.conf
   * (undefined removes a key), e.g. `{ brokerRole: 'SLAVE', brokerId: '2' }`. Same store dir.
   */
  async restartMember(name: string, changes: Record<string, string | undefined> = {}, signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const m = this.member(name);
    if (m.running) await this.stopMember(name, signal);
    for (const [k, v] of Object.entries(changes)) {
      if (v === undefined) delete m.conf[k];
      else m.conf[k] = v;
    }
    await m.start();
  }

  /** UPDATE_BROKER_CONFIG (code 25) as `mqadmin updateBrokerConfig` sends it; returns the raw response. */
  updateConfig(name: string, props: Record<string, string>): Promise<RemotingCommand> {
    const body = Object.entries(props).map(([k, v]) => `${k}=${v}`).join('\n') + '\n';
    return this.client.invoke(this.member(name).addr, createRequest(RequestCode.UPDATE_BROKER_CONFIG, {}, Buffer.from(body, 'utf8')), 20_000);
  }

  /** UPDATE_BROKER_CONFIG that must succeed; returns the broker's remark. */
  async updateConfigOk(name: string, props: Record<string, string>): Promise<string> {
    const r = await this.updateConfig(name, props);
    if (r.code !== ResponseCode.SUCCESS) {
      throw new Error(`updateBrokerConfig ${JSON.stringify(props)} on ${name} answered code ${r.code}: ${r.remark ?? ''}\n${tail(this.member(name).logFile, 1500)}`);
    }
    return r.remark ?? '';
  }

  /** GET_BROKER_RUNTIME_INFO (code 28): the `table` mqadmin brokerStatus prints. */
  async runtimeInfo(name: string): Promise<RuntimeInfo> {
    const r = await this.client.invokeOk(this.member(name).addr, createRequest(RequestCode.GET_BROKER_RUNTIME_INFO), 5000);
    return (parseJsonBody(r.body) as { table?: RuntimeInfo }).table ?? {};
  }

  /** Runtime info, or undefined when the member cannot answer (stopped, starting). */
  async tryRuntimeInfo(name: string): Promise<RuntimeInfo | undefined> {
    return this.runtimeInfo(name).catch(() => undefined);
  }

  /** brokerId → address of this group as the NameServer lists it (GET_BROKER_CLUSTER_INFO). */
  async clusterMembers(): Promise<Map<number, string>> {
    const r = await this.client.invokeOk(this.namesrvAddr, createRequest(RequestCode.GET_BROKER_CLUSTER_INFO), 5000);
    const info = parseJsonBody(r.body) as { brokerAddrTable?: Record<string, { brokerAddrs?: Record<string, string> }> };
    const addrs = info.brokerAddrTable?.[this.brokerName]?.brokerAddrs ?? {};
    return new Map(Object.entries(addrs).map(([id, a]) => [Number(id), a]));
  }

  /**
   * brokerId → address of this group in the topic's route (GET_ROUTEINFO_BY_TOPIC), as clients
   * see it; undefined when the NameServer has no route for the topic.
   */
  async routeMembers(topic: string): Promise<Map<number, string> | undefined> {
    const r = await this.client.invoke(this.namesrvAddr, createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic }), 5000);
    if (r.code === ResponseCode.TOPIC_NOT_EXIST) return undefined;
    if (r.code !== ResponseCode.SUCCESS) throw new Error(`route of ${topic}: code ${r.code} ${r.remark ?? ''}`);
    const route = parseJsonBody(r.body) as { brokerDatas?: Array<{ brokerName?: string; brokerAddrs?: Record<string, string> }> };
    const bd = route.brokerDatas?.find((b) => b.brokerName === this.brokerName);
    if (!bd) return new Map();
    return new Map(Object.entries(bd.brokerAddrs ?? {}).map(([id, a]) => [Number(id), a]));
  }

  /** Creates a topic on a master (mqadmin updateTopic) and waits until its route lists the master. */
  async createTopic(topic: string, queues = 4, on = 'm'): Promise<void> {
    const m = this.member(on);
    await this.client.invokeOk(m.addr, createRequest(RequestCode.UPDATE_AND_CREATE_TOPIC, {
      topic, defaultTopic: 'TBW102', readQueueNums: String(queues), writeQueueNums: String(queues), perm: '6',
      topicFilterType: 'SINGLE_TAG', topicSysFlag: '0', order: 'false',
    }), 5000);
    await this.waitUntil(async () => (await this.routeMembers(topic))?.get(0) === m.addr, 20_000, async () => `topic ${topic} routed to ${on} (${m.addr}); route: ${fmt(await this.routeMembers(topic).catch((e: unknown) => String(e)))}`);
  }

  /**
   * Polls `cond` (every 200 ms) until it is true or `timeoutMs` passed; then fails with `what()`
   * (which should describe what was expected and what was seen) plus the tails of member logs.
   */
  async waitUntil(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: () => string | Promise<string>, logsOf: string[] = []): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      let last: unknown;
      try {
        if (await cond()) return;
      } catch (err) {
        last = err;
      }
      if (Date.now() > end) {
        const logs = logsOf.map((n) => `\n--- ${n} log (${this.member(n).logFile}):\n${tail(this.member(n).logFile, 2000)}`).join('');
        const lastErr = last instanceof Error ? ` (last check threw: ${last.message})` : last !== undefined ? ' (last check threw)' : '';
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${await what()}${lastErr}${logs}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /**
   * Waits until slave `s` follows master `m`: connected, same commit-log max offset, no lag.
   * Returns both runtime tables.
   */
  async waitFollowing(s: string, m: string, timeoutMs = 30_000): Promise<{ slave: RuntimeInfo; master: RuntimeInfo }> {
    let slave: RuntimeInfo | undefined;
    let master: RuntimeInfo | undefined;
    await this.waitUntil(
      async () => {
        master = await this.runtimeInfo(m);
        slave = await this.runtimeInfo(s);
        return (
          slave.brokerRole === 'SLAVE' &&
          slave.haMasterConnected === 'true' &&
          slave.masterAddr === this.member(m).addr &&
          slave.commitLogMaxOffset === master.commitLogMaxOffset &&
          slave.slaveLagBytes === '0'
        );
      },
      timeoutMs,
      () => `${s} to follow ${m} with no lag; ${s}: ${replicationSummary(slave)}; ${m}: ${replicationSummary(master)}`,
      [s, m],
    );
    return { slave: slave!, master: master! };
  }

  /** Stops every member (SIGTERM, SIGKILL if it hangs) and the NameServer. */
  async stop(): Promise<void> {
    for (const m of this.members.values()) {
      if (m.running) await this.stopMember(m.name, 'SIGTERM', 30_000).catch(() => undefined);
    }
    await this.client.close().catch(() => undefined);
    const n = this.#namesrv;
    this.#namesrv = undefined;
    if (n) {
      n.child.kill('SIGTERM');
      await withTimeout(n.exited, 20_000, 'name server to exit').catch(() => n.child.kill('SIGKILL'));
    }
  }
}

const REPLICATION_KEYS = [
  'brokerRole', 'brokerId', 'commitLogMaxOffset', 'masterAddr', 'haMasterConnected', 'slaveReplicatedOffset', 'slaveLagBytes',
  'slaveDroppedDivergentBytes', 'haConnectionCount', 'haSlaveAckedOffsets', 'haMaxLagBytes', 'replicationEpoch', 'replicationEpochStartOffset',
];

/** The replication-related part of a runtime table, for messages. */
export function replicationSummary(info: RuntimeInfo | undefined): string {
  if (!info) return '(no answer)';
  return REPLICATION_KEYS.filter((k) => info[k] !== undefined).map((k) => `${k}=${info[k]}`).join(' ');
}

function fmt(v: unknown): string {
  return v instanceof Map ? JSON.stringify([...(v as Map<unknown, unknown>)]) : JSON.stringify(v);
}
