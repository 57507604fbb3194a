// Starts and stops the two implementations on the same loopback ports with the same broker.conf
// settings: the official Apache RocketMQ 5.5.0 through test/support/apache/start.sh + stop.sh, and
// ours from dist/ (the CLIs a user runs). Start-up time is measured per process from its own
// start time in /proc/<pid>/stat to its first successful request.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { silentLogger } from '../../broker/src/common/logger.js';
import { createRequest } from '../../broker/src/protocol/remoting.js';
import { RemotingClient } from '../../broker/src/transport/client.js';
import { readProcMem, readProcStat, readUptime } from './procfs.js';

export type Impl = 'java' | 'ours';

export interface Topology {
  /** Master role: ASYNC_MASTER or SYNC_MASTER. */
  role: 'ASYNC_MASTER' | 'SYNC_MASTER';
  flush: 'ASYNC_FLUSH' | 'SYNC_FLUSH';
  slave: boolean;
}

export interface Ports {
  namesrv: number;
  master: number;
  slave: number;
}

export interface HeapSettings {
  namesrvHeap: string;
  brokerHeap: string;
  brokerDirectMem: string;
}

export interface StartupMetrics {
  /** Process start to the name server's first successful request (GET_BROKER_CLUSTER_INFO). */
  namesrvReadyMs: number;
  /** Broker process start to its first successful request (GET_BROKER_RUNTIME_INFO). */
  brokerReadyMs: number;
  /** Broker process start to the name server listing it (clients can route to it). */
  brokerRegisteredMs: number;
  /** VmRSS after start-up and a quiet period, before any load. */
  idleRss: Record<string, number>;
}

export interface Cluster {
  impl: Impl;
  namesrvAddr: string;
  brokerAddr: string;
  slaveAddr?: string;
  /** Broker-side processes: namesrv, broker and (master/slave cases) slave. */
  pids: Record<string, number>;
  startup: StartupMetrics;
  brokerConf: string;
  stop(): Promise<void>;
}

export const ROOT = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');
const APACHE = join(ROOT, 'test/support/apache');
const DIST = join(ROOT, 'dist/broker/src/cli');

let clkTck: number | undefined;
function ticksPerSecond(): number {
  if (clkTck === undefined) {
    const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    const v = Number(r.stdout?.trim());
    clkTck = Number.isFinite(v) && v > 0 ? v : 100;
  }
  return clkTck;
}

/** Milliseconds since the process started, from /proc (10 ms resolution with CLK_TCK=100). */
export function processAgeMs(pid: number): number | undefined {
  const st = readProcStat(pid);
  if (!st) return undefined;
  return Math.round((readUptime() - st.startTicks / ticksPerSecond()) * 1000);
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolveFree) => {
    const s = createServer();
    s.once('error', () => resolveFree(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolveFree(true)));
  });
}

/** namesrv P (+1 our health), master P+5 (P+3..P+6), slave P+12 (P+10..P+13): all free. */
export async function findPorts(): Promise<Ports> {
  for (let i = 0; i < 200; i++) {
    const p = 20_000 + Math.floor(Math.random() * 12_000);
    const need = [0, 1, 3, 4, 5, 6, 10, 11, 12, 13].map((d) => p + d);
    const free = await Promise.all(need.map(portFree));
    if (free.every(Boolean)) return { namesrv: p, master: p + 5, slave: p + 12 };
  }
  throw new Error('no free block of 14 ports on 127.0.0.1');
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The broker.conf lines both implementations get (start.sh writes the same base for Java). */
export function brokerConfLines(dir: string, ports: Ports, port: number, id: 0 | 1, topo: Topology): string[] {
  return [
    'brokerClusterName=DefaultCluster',
    'brokerName=broker-a',
    `brokerId=${id}`,
    'brokerIP1=127.0.0.1',
    'brokerIP2=127.0.0.1',
    'bindAddress=127.0.0.1',
    `namesrvAddr=127.0.0.1:${ports.namesrv}`,
    `listenPort=${port}`,
    `haListenPort=${port + 1}`,
    `storePathRootDir=${dir}/store`,
    `storePathCommitLog=${dir}/store/commitlog`,
    `brokerRole=${id === 0 ? topo.role : 'SLAVE'}`,
    `flushDiskType=${topo.flush}`,
    'autoCreateTopicEnable=true',
    'autoCreateSubscriptionGroup=true',
    'deleteWhen=04',
    'fileReservedTime=48',
    'mappedFileSizeCommitLog=67108864',
    'waitTimeMillsInSendQueue=3000',
    'osPageCacheBusyTimeOutMills=3000',
  ];
}

/** The lines start.sh does not write itself (it appends BROKER_EXTRA_CONF last, so they win). */
function javaExtraConf(id: 0 | 1, topo: Topology): string {
  return [`brokerId=${id}`, `brokerRole=${id === 0 ? topo.role : 'SLAVE'}`, `flushDiskType=${topo.flush}`].join('\n');
}

interface Probe {
  client: RemotingClient;
  close(): Promise<void>;
}

function probe(): Probe {
  const client = new RemotingClient(silentLogger(), { connectTimeoutMs: 500 });
  return { client, close: () => client.close() };
}

async function ok(client: RemotingClient, addr: string, code: number, ext: Record<string, string> = {}): Promise<Buffer | undefined> {
  try {
    const r = await client.invoke(addr, createRequest(code, ext), 1000);
    return r.code === 0 ? (r.body ?? Buffer.alloc(0)) : undefined;
  } catch {
    return undefined;
  }
}

/** Broker ids the name server lists for broker-a (GET_BROKER_CLUSTER_INFO body). */
function registeredIds(body: Buffer | undefined): string[] {
  if (!body || body.length === 0) return [];
  // fastjson output may use bare numeric keys ({0:"addr"}); only the ids are needed
  const text = body.toString('utf8');
  const m = /"broker-a"\s*:\s*\{[^}]*?"brokerAddrs"\s*:\s*\{([^}]*)\}/.exec(text);
  if (!m) return [];
  return [...m[1]!.matchAll(/"?(\d+)"?\s*:/g)].map((x) => x[1]!);
}

async function waitPidFile(file: string, deadline: number, what: string): Promise<number> {
  while (Date.now() < deadline) {
    if (existsSync(file)) {
      const pid = Number(readFileSync(file, 'utf8').trim());
      if (pid > 0) return pid;
    }
    await sleep(5);
  }
  throw new Error(`no pid file for ${what} (${file})`);
}

/** Polls until `check` succeeds; returns the process's age (ms) at that moment. */
async function readyAge(pid: number, deadline: number, what: string, check: () => Promise<boolean>): Promise<number> {
  while (Date.now() < deadline) {
    if (readProcStat(pid) === undefined) throw new Error(`${what} (pid ${pid}) exited during start-up`);
    if (await check()) {
      const age = processAgeMs(pid);
      if (age === undefined) throw new Error(`${what} (pid ${pid}) vanished`);
      return age;
    }
    await sleep(10);
  }
  throw new Error(`${what} was not serving before the start-up deadline`);
}

export interface StartOptions {
  impl: Impl;
  dir: string;
  ports: Ports;
  topo: Topology;
  heap: HeapSettings;
  idleSettleMs: number;
  startTimeoutMs: number;
  /** Ours only: run the node processes with --cpu-prof into this dir (stopped with SIGTERM so they write it). */
  cpuProfDir?: string;
}

interface Spawned {
  child: ChildProcess;
  exited: Promise<void>;
}

function spawnLogged(cmd: string, args: string[], log: string, env: NodeJS.ProcessEnv = {}): Spawned {
  const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = createWriteStream(log, { flags: 'a' });
  child.stdout?.pipe(out, { end: false });
  child.stderr?.pipe(out, { end: false });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return { child, exited };
}

async function waitExit(s: Spawned, ms: number): Promise<boolean> {
  if (s.child.exitCode !== null || s.child.signalCode !== null) return true;
  return Promise.race([s.exited.then(() => true), sleep(ms).then(() => false)]);
}

/** Starts namesrv + master (+ slave) of one implementation; resolves once all serve. */
export async function startCluster(o: StartOptions): Promise<Cluster> {
  mkdirSync(o.dir, { recursive: true });
  const namesrvAddr = `127.0.0.1:${o.ports.namesrv}`;
  const brokerAddr = `127.0.0.1:${o.ports.master}`;
  const deadline = Date.now() + o.startTimeoutMs;
  const procs: Spawned[] = [];
  const pids: Record<string, number> = {};
  const p = probe();
  let stopped = false;
  const javaDirs: string[] = [];
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await p.close();
    if (o.impl === 'java') {
      for (const d of javaDirs.reverse()) spawnSync('bash', [join(APACHE, 'stop.sh'), '--fast', d], { stdio: 'ignore', timeout: 60_000 });
    }
    for (const s of procs.reverse()) {
      if (o.cpuProfDir && o.impl === 'ours') {
        s.child.kill('SIGTERM');
        if (await waitExit(s, 30_000)) continue;
      }
      s.child.kill('SIGKILL');
      await waitExit(s, 10_000);
    }
  };
  try {
    const startOne = async (id: 0 | 1): Promise<{ broker: number; namesrv?: number; conf: string }> => {
      const port = id === 0 ? o.ports.master : o.ports.slave;
      const dir = join(o.dir, id === 0 ? 'master' : 'slave');
      mkdirSync(dir, { recursive: true });
      if (o.impl === 'java') {
        javaDirs.push(dir);
        const env = {
          NAMESRV_PORT: String(o.ports.namesrv),
          BROKER_PORT: String(port),
          START_NAMESRV: id === 0 ? '1' : '0',
          BROKER_EXTRA_CONF: javaExtraConf(id, o.topo),
          NAMESRV_HEAP: o.heap.namesrvHeap,
          BROKER_HEAP: o.heap.brokerHeap,
          BROKER_DIRECT_MEM: o.heap.brokerDirectMem,
          START_TIMEOUT: String(Math.ceil(o.startTimeoutMs / 1000)),
        };
        const s = spawnLogged('bash', [join(APACHE, 'start.sh'), dir], join(dir, 'start.log'), env);
        procs.push(s);
        const namesrv = id === 0 ? await waitPidFile(join(dir, 'namesrv.pid'), deadline, 'Apache namesrv') : undefined;
        const broker = await waitPidFile(join(dir, 'broker.pid'), deadline, 'Apache broker');
        return { broker, ...(namesrv !== undefined ? { namesrv } : {}), conf: '' };
      }
      const conf = brokerConfLines(dir, o.ports, port, id, o.topo).join('\n') + '\n';
      writeFileSync(join(dir, 'broker.conf'), conf);
      let namesrv: number | undefined;
      const prof = o.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${o.cpuProfDir}`] : [];
      if (id === 0) {
        writeFileSync(join(dir, 'namesrv.conf'), `listenPort=${o.ports.namesrv}\nbindAddress=127.0.0.1\n`);
        const ns = spawnLogged(process.execPath, [...prof, join(DIST, 'namesrv.js'), '-c', join(dir, 'namesrv.conf')], join(dir, 'namesrv.out'), { RMQ_LOG_LEVEL: 'warn' });
        procs.push(ns);
        namesrv = ns.child.pid;
      }
      const br = spawnLogged(process.execPath, [...prof, join(DIST, 'broker.js'), '-c', join(dir, 'broker.conf')], join(dir, 'broker.out'), { RMQ_LOG_LEVEL: 'warn' });
      procs.push(br);
      if (br.child.pid === undefined) throw new Error('could not spawn our broker');
      return { broker: br.child.pid, ...(namesrv !== undefined ? { namesrv } : {}), conf };
    };

    const m = await startOne(0);
    if (m.namesrv === undefined) throw new Error('name server did not start');
    pids.namesrv = m.namesrv;
    pids.broker = m.broker;
    const namesrvReadyMs = await readyAge(m.namesrv, deadline, `${o.impl} namesrv`, async () => (await ok(p.client, namesrvAddr, 106)) !== undefined);
    const brokerReadyMs = await readyAge(m.broker, deadline, `${o.impl} broker`, async () => (await ok(p.client, brokerAddr, 28)) !== undefined);
    const brokerRegisteredMs = await readyAge(m.broker, deadline, `${o.impl} broker registration`, async () => registeredIds(await ok(p.client, namesrvAddr, 106)).includes('0'));
    if (o.topo.slave) {
      const s = await startOne(1);
      pids.slave = s.broker;
      await readyAge(s.broker, deadline, `${o.impl} slave registration`, async () => registeredIds(await ok(p.client, namesrvAddr, 106)).includes('1'));
      // the slave dials the master's HA port once it learns the master's address from its registration
      await sleep(3000);
    }
    // the start scripts must have returned (Java) so stop.sh finds the pid files
    if (o.impl === 'java') {
      for (const s of procs) {
        if (!(await waitExit(s, Math.max(1000, deadline - Date.now())))) throw new Error('start.sh did not return');
        if (s.child.exitCode !== 0) throw new Error(`start.sh failed (exit ${s.child.exitCode}); see ${o.dir}/*/start.log`);
      }
    }
    await sleep(o.idleSettleMs);
    const idleRss: Record<string, number> = {};
    for (const [name, pid] of Object.entries(pids)) idleRss[name] = readProcMem(pid)?.rssBytes ?? Number.NaN;
    const brokerConf = o.impl === 'java' ? readFileSync(join(o.dir, 'master/conf/broker.conf'), 'utf8') : m.conf;
    return { impl: o.impl, namesrvAddr, brokerAddr, ...(o.topo.slave ? { slaveAddr: `127.0.0.1:${o.ports.slave}` } : {}), pids, startup: { namesrvReadyMs, brokerReadyMs, brokerRegisteredMs, idleRss }, brokerConf, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Creates a topic with the request `mqadmin updateTopic` sends, then waits for its route. */
export async function createTopic(c: Cluster, topic: string, queues: number): Promise<void> {
  const p = probe();
  try {
    const r = await p.client.invoke(
      c.brokerAddr,
      createRequest(17, { topic, defaultTopic: 'TBW102', readQueueNums: String(queues), writeQueueNums: String(queues), perm: '6', topicFilterType: 'SINGLE_TAG', topicSysFlag: '0', order: 'false' }),
      5000,
    );
    if (r.code !== 0) throw new Error(`updateTopic ${topic} on ${c.impl}: code ${r.code} ${r.remark ?? ''}`);
    const deadline = Date.now() + 15_000;
    while ((await ok(p.client, c.namesrvAddr, 105, { topic })) === undefined) {
      if (Date.now() > deadline) throw new Error(`topic ${topic} did not appear in ${c.impl}'s name server routes`);
      await sleep(50);
    }
  } finally {
    await p.close();
  }
}

/** commitLogMaxOffset from GET_BROKER_RUNTIME_INFO (both implementations report it). */
export async function commitLogMaxOffset(addr: string): Promise<number | undefined> {
  const p = probe();
  try {
    const body = await ok(p.client, addr, 28);
    if (!body) return undefined;
    const m = /"commitLogMaxOffset"\s*:\s*"?(\d+)"?/.exec(body.toString('utf8'));
    return m ? Number(m[1]) : undefined;
  } finally {
    await p.close();
  }
}

/** Bytes the slave is behind the master once it had up to waitMs to catch up; undefined if unknown. */
export async function slaveLagBytes(c: Cluster, waitMs: number): Promise<number | undefined> {
  if (!c.slaveAddr) return undefined;
  const deadline = Date.now() + waitMs;
  for (;;) {
    const [m, s] = await Promise.all([commitLogMaxOffset(c.brokerAddr), commitLogMaxOffset(c.slaveAddr)]);
    if (m === undefined || s === undefined) return undefined;
    if (s >= m || Date.now() > deadline) return Math.max(0, m - s);
    await sleep(200);
  }
}
