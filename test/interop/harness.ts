// Starts our NameServer and Broker as real processes on loopback and runs the client drivers
// (see DRIVERS.md) against them. Every wait is bounded and says what it was waiting for.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../../broker/src/common/logger.js';
import { createRequest } from '../../broker/src/protocol/remoting.js';
import { RemotingClient } from '../../broker/src/transport/client.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DIST = join(ROOT, 'dist/broker/src/cli');

export function tempDir(prefix: string): string {
  const base = join(ROOT, '.tmp');
  mkdirSync(base, { recursive: true });
  return mkdtempSync(join(base, `${prefix}-`));
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolveFree) => {
    const s = createServer();
    s.once('error', () => resolveFree(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolveFree(true)));
  });
}

/** A port p such that p-2 .. p+1 are all free (broker, fast channel, HA). */
export async function freePortBlock(): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const p = 20_000 + Math.floor(Math.random() * 12_000); // below the ephemeral range (32768+)
    const all = await Promise.all([p - 2, p - 1, p, p + 1].map(portFree));
    if (all.every(Boolean)) return p;
  }
  throw new Error('no free port block found on 127.0.0.1');
}

interface Proc {
  child: ChildProcess;
  exited: Promise<number | null>;
}

/** The last `chars` characters of a log file (for failure messages). */
export function tail(file: string, chars = 3000): string {
  try {
    const text = readFileSync(file, 'utf8');
    return text.length > chars ? `…${text.slice(-chars)}` : text;
  } catch {
    return '(no log)';
  }
}

/**
 * Resolves once `child` (spawned with piped stdout) has printed something matching `readyPattern`
 * there. Kills it and rejects after `timeoutMs`, rejects when it exits first; the errors name it
 * `what` and end with the tail of `logFile`.
 */
export function untilReady(child: ChildProcess, what: string, readyPattern: RegExp, timeoutMs: number, logFile: string): Promise<void> {
  return new Promise<void>((resolveReady, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${what} did not print ${readyPattern} within ${timeoutMs} ms; see ${logFile}:\n${tail(logFile)}`));
    }, timeoutMs);
    const onData = (d: Buffer): void => {
      out += d.toString();
      if (readyPattern.test(out)) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        out = '';
        resolveReady();
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (code ${code}, signal ${signal}) before it was ready; see ${logFile}:\n${tail(logFile)}`));
    });
  });
}

async function startProcess(cmd: string, args: string[], logFile: string, readyPattern: RegExp, timeoutMs: number, env: NodeJS.ProcessEnv = {}): Promise<Proc> {
  const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(logFile, { flags: 'a' });
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  await untilReady(child, `${cmd} ${args.join(' ')}`, readyPattern, timeoutMs, logFile);
  return { child, exited };
}

export interface ClusterOptions {
  /** Extra broker.conf lines (key=value). */
  brokerConf?: Record<string, string>;
  brokerName?: string;
}

/** Our NameServer + one master broker, as the CLIs a user runs. */
export class OurCluster {
  readonly dir: string;
  namesrvPort = 0;
  brokerPort = 0;
  #namesrv: Proc | undefined;
  #broker: Proc | undefined;
  readonly #options: ClusterOptions;

  constructor(name: string, options: ClusterOptions = {}) {
    this.dir = tempDir(name);
    this.#options = options;
  }

  get namesrvAddr(): string {
    return `127.0.0.1:${this.namesrvPort}`;
  }

  get brokerAddr(): string {
    return `127.0.0.1:${this.brokerPort}`;
  }

  async start(): Promise<void> {
    if (!existsSync(join(DIST, 'broker.js'))) throw new Error('dist/ is missing: run `npm run build` first');
    this.namesrvPort = await freePortBlock();
    writeFileSync(join(this.dir, 'namesrv.conf'), `listenPort=${this.namesrvPort}\nbindAddress=127.0.0.1\n`);
    this.#namesrv = await startProcess('node', [join(DIST, 'namesrv.js'), '-c', join(this.dir, 'namesrv.conf')], join(this.dir, 'namesrv.log'), /boot success/, 20_000);
    this.brokerPort = await freePortBlock();
    const conf: Record<string, string> = {
      brokerClusterName: 'DefaultCluster',
      brokerName: this.#options.brokerName ?? 'broker-a',
      brokerId: '0',
      brokerIP1: '127.0.0.1',
      bindAddress: '127.0.0.1',
      listenPort: String(this.brokerPort),
      namesrvAddr: this.namesrvAddr,
      storePathRootDir: join(this.dir, 'store'),
      mappedFileSizeCommitLog: String(64 * 1024 * 1024),
      ...this.#options.brokerConf,
    };
    writeFileSync(join(this.dir, 'broker.conf'), Object.entries(conf).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
    await this.startBroker();
  }

  async startBroker(): Promise<void> {
    this.#broker = await startProcess('node', [join(DIST, 'broker.js'), '-c', join(this.dir, 'broker.conf')], join(this.dir, 'broker.log'), /boot success/, 30_000);
  }

  /** SIGTERM (graceful) or SIGKILL (crash); resolves with the exit code. */
  async stopBroker(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<number | null> {
    const b = this.#broker;
    this.#broker = undefined;
    if (!b) return null;
    b.child.kill(signal);
    return withTimeout(b.exited, 60_000, `broker to exit after ${signal}`);
  }

  async stop(): Promise<void> {
    await this.stopBroker('SIGTERM').catch(() => undefined);
    const n = this.#namesrv;
    this.#namesrv = undefined;
    if (n) {
      n.child.kill('SIGTERM');
      await withTimeout(n.exited, 20_000, 'name server to exit').catch(() => n.child.kill('SIGKILL'));
    }
  }
}

export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

/** Creates a topic on the broker with the admin request mqadmin updateTopic sends. */
export async function createTopic(cluster: OurCluster, topic: string, queues = 4): Promise<void> {
  const client = new RemotingClient(silentLogger());
  try {
    await client.invokeOk(cluster.brokerAddr, createRequest(17, { topic, defaultTopic: 'TBW102', readQueueNums: String(queues), writeQueueNums: String(queues), perm: '6', topicFilterType: 'SINGLE_TAG', topicSysFlag: '0', order: 'false' }));
    const deadline = Date.now() + 10_000;
    for (;;) {
      const r = await client.invoke(cluster.namesrvAddr, createRequest(105, { topic }));
      if (r.code === 0) break;
      if (Date.now() > deadline) throw new Error(`topic ${topic} did not appear in the name server's routes`);
      await new Promise((res) => setTimeout(res, 100));
    }
  } finally {
    await client.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Drivers

export type DriverKind = 'java4' | 'java5' | 'go' | 'alions';

export interface DriverEvent {
  event: string;
  index?: number;
  status?: string;
  msgId?: string;
  offsetMsgId?: string;
  queueId?: number;
  queueOffset?: number;
  bodySha256?: string;
  oneway?: boolean;
  instance?: string;
  runId?: string;
  topic?: string;
  tag?: string;
  keys?: string;
  props?: Record<string, string>;
  flag?: number;
  error?: string;
  sent?: number;
  failed?: number;
  received?: number;
}

function driverCommand(kind: DriverKind): [string, string[]] {
  switch (kind) {
    case 'java4':
      return ['bash', [join(ROOT, 'test/interop/java/run.sh'), '4']];
    case 'java5':
      return ['bash', [join(ROOT, 'test/interop/java/run.sh'), '5']];
    case 'go':
      return [join(ROOT, 'test/interop/go/bin/rmq-go-driver'), []];
    case 'alions':
      return ['node', [join(ROOT, 'test/interop/alions/driver.mjs')]];
  }
}

function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Builds a driver if its toolchain exists. Returns a reason to skip when it does not; under
 * CI=true a missing toolchain is an error, never a skip.
 */
export function prepareDriver(kind: DriverKind): string | undefined {
  const needs: Record<DriverKind, string[]> = { java4: ['java', 'mvn'], java5: ['java', 'mvn'], go: ['go'], alions: ['node'] };
  const missing = needs[kind].filter((c) => !has(c));
  if (missing.length > 0) {
    const reason = `${kind} driver needs ${missing.join(', ')} on PATH`;
    if (process.env.CI === 'true') throw new Error(`${reason} (CI=true: a missing toolchain fails the run)`);
    return reason;
  }
  const build = kind === 'java4' || kind === 'java5' ? 'test/interop/java/build.sh' : kind === 'go' ? 'test/interop/go/build.sh' : undefined;
  if (build) {
    const r = spawnSync('bash', [join(ROOT, build)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], timeout: 900_000 });
    if (r.status !== 0) throw new Error(`${build} failed (exit ${r.status}):\n${r.stderr?.toString().slice(-3000)}`);
  } else if (!existsSync(join(ROOT, 'node_modules/ali-ons'))) {
    throw new Error('ali-ons is not installed: run npm ci');
  }
  return undefined;
}

function parseLines(buf: { text: string }, chunk: string, onEvent: (e: DriverEvent) => void): void {
  buf.text += chunk;
  let i: number;
  while ((i = buf.text.indexOf('\n')) >= 0) {
    const line = buf.text.slice(0, i).trim();
    buf.text = buf.text.slice(i + 1);
    if (!line.startsWith('{')) continue;
    try {
      onEvent(JSON.parse(line) as DriverEvent);
    } catch {
      // not one of ours
    }
  }
}

/**
 * Appends a child's stderr and stdout to `logFile` (stdout also goes to `onStdout`); the file is
 * closed once both streams are done (on 'close'), never while one may still write.
 */
function logChildOutput(child: ChildProcess, logFile: string, onStdout: (d: Buffer) => void): void {
  const log = createWriteStream(logFile, { flags: 'a' });
  child.stderr?.pipe(log, { end: false });
  child.stdout?.on('data', (d: Buffer) => {
    log.write(d);
    onStdout(d);
  });
  child.on('close', () => log.end());
}

/** Starts a producer; `events` fills as it runs, `done` resolves with all of them. */
export function startProducer(kind: DriverKind, args: string[], logFile: string, timeoutMs = 180_000, env: NodeJS.ProcessEnv = {}): { events: DriverEvent[]; done: Promise<DriverEvent[]> } {
  const [cmd, pre] = driverCommand(kind);
  const child = spawn(cmd, [...pre, 'produce', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const events: DriverEvent[] = [];
  const buf = { text: '' };
  logChildOutput(child, logFile, (d) => parseLines(buf, d.toString(), (e) => events.push(e)));
  const exited = new Promise<number | null>((r) => child.on('close', (c) => r(c)));
  const done = withTimeout(exited, timeoutMs, `${kind} producer ${args.join(' ')}`).then(
    (code) => {
      if (code !== 0) throw new Error(`${kind} producer exited with ${code}; see ${logFile}`);
      return events;
    },
    (err: unknown) => {
      child.kill('SIGKILL');
      throw err;
    },
  );
  return { events, done };
}

/** Runs a producer to completion and returns its events. */
export function runProducer(kind: DriverKind, args: string[], logFile: string, timeoutMs = 180_000, env: NodeJS.ProcessEnv = {}): Promise<DriverEvent[]> {
  return startProducer(kind, args, logFile, timeoutMs, env).done;
}

export class ConsumerHandle {
  readonly events: DriverEvent[] = [];
  readonly #child: ChildProcess;
  readonly #exited: Promise<number | null>;
  readonly #what: string;

  constructor(kind: DriverKind, args: string[], logFile: string, env: NodeJS.ProcessEnv = {}) {
    const [cmd, pre] = driverCommand(kind);
    this.#what = `${kind} consumer ${args.join(' ')}`;
    this.#child = spawn(cmd, [...pre, 'consume', ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    const buf = { text: '' };
    logChildOutput(this.#child, logFile, (d) => parseLines(buf, d.toString(), (e) => this.events.push(e)));
    this.#exited = new Promise((r) => this.#child.on('close', (c) => r(c)));
  }

  get received(): DriverEvent[] {
    return this.events.filter((e) => e.event === 'received');
  }

  async waitFor(cond: (h: ConsumerHandle) => boolean, timeoutMs: number, what: string): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!cond(this)) {
      const err = this.events.find((e) => e.event === 'error');
      if (err) throw new Error(`${this.#what} reported an error: ${err.error}`);
      if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${this.#what}); got ${this.received.length} messages`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  ready(timeoutMs = 60_000): Promise<void> {
    return this.waitFor((h) => h.events.some((e) => e.event === 'ready'), timeoutMs, 'ready');
  }

  /** Asks the driver to shut its consumer down cleanly (committing offsets) and waits. */
  async stop(timeoutMs = 60_000): Promise<void> {
    this.#child.stdin!.end('stop\n');
    const code = await withTimeout(this.#exited, timeoutMs, `${this.#what} to stop`).catch((err: unknown) => {
      this.#child.kill('SIGKILL');
      throw err;
    });
    if (code !== 0) throw new Error(`${this.#what} exited with ${code}`);
  }

  kill(): void {
    this.#child.kill('SIGKILL');
  }
}

/** Polls until `cond` is true or the time is up. */
export async function eventually(cond: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms: ${what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Checks that every sent message arrived exactly once (across the given consumers of one
 * group) with the same body, tag, keys and properties. Returns a list of problems.
 */
export function compareDelivery(sent: DriverEvent[], received: DriverEvent[], runId: string, tag?: string): string[] {
  const problems: string[] = [];
  const mine = received.filter((r) => r.runId === runId);
  const byIndex = new Map<number, DriverEvent[]>();
  for (const r of mine) {
    const list = byIndex.get(r.index!) ?? [];
    list.push(r);
    byIndex.set(r.index!, list);
  }
  for (const s of sent) {
    const got = byIndex.get(s.index!) ?? [];
    if (got.length === 0) {
      problems.push(`message ${s.index} was sent (${s.msgId ?? 'oneway'}) but never received`);
      continue;
    }
    if (got.length > 1) problems.push(`message ${s.index} was received ${got.length} times`);
    const r = got[0]!;
    if (r.bodySha256 !== s.bodySha256) problems.push(`message ${s.index}: body differs`);
    if (tag !== undefined && r.tag !== tag) problems.push(`message ${s.index}: tag ${r.tag} != ${tag}`);
    if (r.keys !== `key-${runId}-${s.index} k2-${s.index}`) problems.push(`message ${s.index}: keys "${r.keys}"`);
    const props = r.props ?? {};
    if (props.idx !== String(s.index) || props.runId !== runId || props.uprop !== `v-é-${s.index}`) {
      problems.push(`message ${s.index}: properties ${JSON.stringify(props)}`);
    }
    // ali-ons sends no UNIQ_KEY, so its send result's msgId is the offset id (the broker adds one).
    if (s.msgId && !s.oneway) {
      if (s.msgId === s.offsetMsgId) {
        if (r.offsetMsgId !== s.offsetMsgId) problems.push(`message ${s.index}: offsetMsgId ${r.offsetMsgId} != sent ${s.offsetMsgId}`);
      } else if (r.msgId !== s.msgId) problems.push(`message ${s.index}: msgId ${r.msgId} != sent ${s.msgId}`);
    }
  }
  const sentIdx = new Set(sent.map((s) => s.index));
  for (const idx of byIndex.keys()) if (!sentIdx.has(idx)) problems.push(`message ${idx} received but not reported sent`);
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Java check classes (test/interop/java/src/main/java/org/rmqts/interop/*Check.java)

/** A JSON event line printed by a Java check class. */
export type CheckEvent = Record<string, unknown> & { event: string };

/**
 * The `java` arguments that run check class `className` of the Java driver build on client line
 * 4 or 5, as run.sh does: the client logs to files under target/logs, so stdout carries only the
 * JSON lines. `jvm` adds JVM options.
 */
export function javaCheckArgs(line: 4 | 5, className: string, args: string[], jvm: string[] = []): string[] {
  const target = join(ROOT, 'test/interop/java/target');
  const logDir = join(target, 'logs');
  const logOpts = line === 4
    ? ['-Drocketmq.client.logUseSlf4j=false', `-Drocketmq.client.logRoot=${logDir}`, '-Drocketmq.client.logFileName=rocketmq_client_v4.log', '-Drocketmq.client.logLevel=WARN']
    : [`-Drocketmq.log.root=${logDir}/v5`, '-Drocketmq.log.level=warn', '-Dmq.consoleAppender.enabled=false'];
  const cp = `${readFileSync(join(target, `cp-${line}.txt`), 'utf8').trim()}:${join(target, `v${line}/classes`)}`;
  return ['-Xmx256m', ...jvm, ...logOpts, '-cp', cp, `org.rmqts.interop.${className}`, ...args];
}

/**
 * Runs one check class of the Java driver build on client line 4 or 5 to its end and returns
 * its JSON events; throws with its error events and the log path when it exits non-zero.
 */
export function runJavaCheck<E extends { event: string } = CheckEvent>(line: 4 | 5, className: string, args: string[], logFile: string, timeoutMs = 150_000, jvm: string[] = []): Promise<E[]> {
  return runEvents<E>('java', javaCheckArgs(line, className, args, jvm), `${className} ${args[0] ?? ''}`, logFile, timeoutMs, {});
}

/** Builds a small program under test/interop/go/<name> (next to the shared Go driver); returns its path. */
export function buildGoCheck(name: string): string {
  const dir = join(ROOT, 'test/interop/go');
  const out = join(dir, 'bin', name);
  const r = spawnSync('go', ['build', '-trimpath', '-o', out, `./${name}`], {
    cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000,
    env: { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: `${process.env.GOFLAGS ?? ''} -mod=mod -buildvcs=false` },
  });
  if (r.status !== 0) throw new Error(`go build ./${name} failed (exit ${r.status}):\n${r.stderr?.toString().slice(-3000)}`);
  return out;
}

/** Runs a check program (a Go binary, or node with a script) to its end and returns its JSON events (as runJavaCheck). */
export function runCheckProgram<E extends { event: string } = CheckEvent>(binary: string, args: string[], logFile: string, timeoutMs = 150_000, env: NodeJS.ProcessEnv = {}): Promise<E[]> {
  return runEvents<E>(binary, args, `${binary.split('/').pop() ?? binary} ${args[0] ?? ''}`, logFile, timeoutMs, env);
}

/** Runs `cmd` to its end; the JSON lines on its stdout are the events. Throws with its error events and the log path when it exits non-zero. */
async function runEvents<E extends { event: string }>(cmd: string, args: string[], name: string, logFile: string, timeoutMs: number, env: NodeJS.ProcessEnv): Promise<E[]> {
  const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let text = '';
  logChildOutput(child, logFile, (d) => {
    text += d.toString();
  });
  const code = await withTimeout(new Promise<number | null>((r) => child.on('close', (c) => r(c))), timeoutMs, name).catch((err: unknown) => {
    child.kill('SIGKILL');
    throw err;
  });
  const events = text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as E);
  if (code !== 0) throw new Error(`${name} exited with ${code}: ${JSON.stringify(events.filter((e) => e.event === 'error'))}; see ${logFile}`);
  return events;
}
