// Runs one case against a started cluster with the Java load generators (bench/java/run.sh) and
// turns their output plus the /proc samples into one CaseResult.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import type { CaseDef } from './cases.js';
import { topicOf } from './cases.js';
import type { Cluster, Impl } from './clusters.js';
import { commitLogMaxOffset, ROOT, slaveLagBytes } from './clusters.js';
import { parseConsumerLine, parseLoadLine, parseProducerLine, type LoadBacklogResult, type LoadPacedResult, type ProducerLine } from './parse.js';
import { readCpuTimes, stealShare } from './procfs.js';
import type { Sampler } from './sampler.js';
import type { Bucket } from './stats.js';

export interface CaseSettings {
  /** Wall time the official Producer runs (it prints its first 10 s window after ~10 s). */
  throughputMs: number;
  /** Message bound for the official Producer (-q); it exits by itself when reached. */
  producerMaxMsgs: number;
  /** LoadClient latency/e2e: measured seconds and warm-up seconds. */
  pacedSeconds: number;
  warmupSeconds: number;
  /** Offered rate for the e2e case, msg/s. */
  e2eRate: number;
  backlogMsgs: number;
  backlogMaxSeconds: number;
  logDir: string;
}

export interface CaseResult {
  case: string;
  impl: Impl;
  run: number;
  ok: boolean;
  error?: string;
  /** How msgs and window were obtained. */
  method?: string;
  msgsPerSec?: number;
  mbPerSec?: number;
  msgs?: number;
  windowMs?: number;
  offeredRate?: number;
  sendAvgRtMs?: number;
  sendP50Us?: number;
  sendP99Us?: number;
  sendP999Us?: number;
  sendMaxUs?: number;
  sendHist?: Bucket[];
  b2cP50Us?: number;
  b2cP99Us?: number;
  b2cP999Us?: number;
  b2cHist?: Bucket[];
  /** Official Consumer's average born-to-consume over its last 10 s window (ms granularity). */
  b2cAvgMs?: number;
  consumeMsgsPerSec?: number;
  produceMsgsPerSec?: number;
  failures?: number;
  cpuSec?: number;
  cpuSecPerMMsgs?: number;
  peakRssBytes?: number;
  load1?: number;
  /** Share of the machine's CPU time the hypervisor gave to other guests during the case (0..1). */
  stealShare?: number;
  /** Master/slave cases: commit-log bytes the slave still lacked 5 s after the case. */
  slaveLagBytes?: number;
  /** Master/slave cases: master commit-log bytes written (so the lag has a scale). */
  masterBytes?: number;
}

export interface ClientRun {
  lines: Array<[number, string]>;
  exitCode: number | null;
  startedMs: number;
  endedMs: number;
}

const RUN_SH = join(ROOT, 'bench/java/run.sh');

/**
 * Runs a load generator; SIGTERM at killAfterMs (SIGKILL 5 s later) when it has not exited.
 * `onLine` sees each stdout line as it arrives.
 */
function runClient(tool: 'producer' | 'consumer' | 'load', args: string[], log: string, killAfterMs: number, onLine?: (line: string) => void): { done: Promise<ClientRun>; stop: () => void } {
  const startedMs = Date.now();
  const child = spawn('bash', [RUN_SH, tool, ...args], { cwd: ROOT, env: { ...process.env, BENCH_LOG_DIR: join(log, '..', 'client-logs') }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = createWriteStream(log, { flags: 'a' });
  child.stderr.pipe(out, { end: false });
  const lines: Array<[number, string]> = [];
  let buf = '';
  child.stdout.on('data', (d: Buffer) => {
    out.write(d);
    buf += d.toString('utf8');
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      lines.push([Date.now(), line]);
      onLine?.(line);
    }
  });
  let killTimer: NodeJS.Timeout | undefined;
  const stop = (): void => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    killTimer = setTimeout(() => child.kill('SIGKILL'), 5000);
  };
  const timer = setTimeout(stop, killAfterMs);
  const done = new Promise<ClientRun>((resolve) => {
    child.once('close', (code) => {
      clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      if (buf.length > 0) lines.push([Date.now(), buf]);
      out.end();
      resolve({ lines, exitCode: code, startedMs, endedMs: Date.now() });
    });
  });
  return { done, stop };
}

/**
 * Runs the official Producer for `ms`, but on a slow-starting JVM waits (at most 20 s more) for
 * its first report, which it prints only once it holds 10 one-second snapshots.
 */
function runProducer(args: string[], log: string, ms: number): Promise<ClientRun> {
  const started = Date.now();
  let seen = false;
  const h = runClient('producer', args, log, ms + 20_000, (line) => {
    const p = parseProducerLine(line);
    if (p?.tps !== undefined && !p.complete) seen = true;
    if (seen && Date.now() - started >= ms) h.stop();
  });
  const timer = setTimeout(() => {
    if (seen) h.stop();
  }, ms);
  return h.done.finally(() => clearTimeout(timer));
}

/** Official Producer: the last report line's TPS over its ~9 s snapshot window. */
export function producerWindow(run: ClientRun): { tps: number; msgs: number; t0: number; t1: number; line: ProducerLine; method: string } | undefined {
  const parsed = run.lines.map(([t, l]) => [t, parseProducerLine(l)] as const).filter((x): x is readonly [number, ProducerLine] => x[1] !== undefined);
  const withTps = parsed.filter(([, p]) => p.tps !== undefined && !p.complete);
  const last = withTps[withTps.length - 1];
  if (last) {
    // Producer.doPrintStats: TPS over the first and last of 10 snapshots taken 1 s apart
    const windowMs = 9000;
    return { tps: last[1].tps!, msgs: (last[1].tps! * windowMs) / 1000, t0: last[0] - windowMs, t1: last[0], line: last[1], method: 'official Producer, last 9 s report window' };
  }
  const complete = parsed.find(([, p]) => p.complete);
  if (complete?.[1].sendTotal !== undefined) {
    // short runs (smoke): total over the producer's life after its first output line
    const first = run.lines[0]?.[0] ?? run.startedMs;
    const ms = Math.max(1, complete[0] - first);
    const total = complete[1].sendTotal - complete[1].sendFailed;
    return { tps: (total * 1000) / ms, msgs: total, t0: first, t1: complete[0], line: complete[1], method: 'official Producer [Complete] total over its run (short run)' };
  }
  return undefined;
}

function cpuAndRss(r: CaseResult, sampler: Sampler, t0: number, t1: number, msgs: number, caseStart: number, caseEnd: number): void {
  sampler.sample();
  const cpu = sampler.cpuSeconds(t0, t1);
  if (cpu !== undefined) {
    r.cpuSec = cpu;
    if (msgs > 0) r.cpuSecPerMMsgs = (cpu / msgs) * 1e6;
  }
  const rss = sampler.peakRss(caseStart, caseEnd);
  if (rss !== undefined) r.peakRssBytes = rss;
}

function tail(run: ClientRun): string {
  return run.lines.slice(-5).map(([, l]) => l).join(' / ').slice(-600);
}

/** Runs the official Producer for the case's message size and threads until the time bound. */
function runCaseProducer(c: CaseDef, cl: Cluster, s: CaseSettings, log: string): Promise<ClientRun> {
  const args = ['-n', cl.namesrvAddr, '-t', topicOf(c), '-s', String(c.size), '-w', String(c.threads ?? 16), '-ri', '1000', '-q', String(s.producerMaxMsgs)];
  return runProducer(args, log, s.throughputMs);
}

/** Records the produce side of a Producer run (its last full report window); returns the window. */
function recordProduce(c: CaseDef, run: ClientRun, r: CaseResult): NonNullable<ReturnType<typeof producerWindow>> {
  const w = producerWindow(run);
  if (!w) throw new Error(`no TPS line from the official Producer (exit ${run.exitCode}): ${tail(run)}`);
  r.method = w.method;
  r.msgsPerSec = w.tps;
  r.mbPerSec = (w.tps * c.size) / 1e6;
  r.windowMs = w.t1 - w.t0;
  if (w.line.avgRtMs !== undefined) r.sendAvgRtMs = w.line.avgRtMs;
  r.failures = w.line.sendFailed + w.line.responseFailed;
  return w;
}

async function throughput(c: CaseDef, cl: Cluster, s: CaseSettings, sampler: Sampler, r: CaseResult, log: string, caseStart: number): Promise<void> {
  const w = recordProduce(c, await runCaseProducer(c, cl, s, log), r);
  r.msgs = w.msgs;
  cpuAndRss(r, sampler, w.t0, w.t1, w.msgs, caseStart, Date.now());
}

async function pubsub(c: CaseDef, cl: Cluster, s: CaseSettings, sampler: Sampler, r: CaseResult, log: string, caseStart: number): Promise<void> {
  let started!: () => void;
  const consumerUp = new Promise<void>((res) => (started = res));
  const group = `bench_cg_${r.run}_${c.id.replace(/[^A-Za-z0-9]/g, '_')}`;
  const cons = runClient('consumer', ['-n', cl.namesrvAddr, '-t', topicOf(c), '-g', group, '-w', '20', '-ri', '1000'], `${log}.consumer`, s.throughputMs + 30_000, (l) => {
    if (l.includes('Consumer Started')) started();
  });
  await Promise.race([consumerUp, new Promise((res) => setTimeout(res, 20_000))]);
  await new Promise((res) => setTimeout(res, 1000));
  const prod = await runCaseProducer(c, cl, s, log);
  // give the consumer one more report after the producer stopped, then stop it
  await new Promise((res) => setTimeout(res, 1200));
  cons.stop();
  const consRun = await cons.done;
  const w = recordProduce(c, prod, r);
  r.method = `${w.method}; consume TPS from the official Consumer's last report before the producer stopped`;
  r.produceMsgsPerSec = w.tps;
  const consLines = consRun.lines.filter(([t]) => t <= prod.endedMs + 200).map(([t, l]) => [t, parseConsumerLine(l)] as const);
  const lastCons = consLines.filter(([, p]) => p !== undefined).pop();
  let consumed = 0;
  if (lastCons?.[1]) {
    r.consumeMsgsPerSec = lastCons[1].tps;
    r.b2cAvgMs = lastCons[1].avgB2cMs;
    consumed = (lastCons[1].tps * 9000) / 1000;
  }
  // CPU per message counts both directions: a message produced and a message consumed
  r.msgs = w.msgs;
  cpuAndRss(r, sampler, w.t0, w.t1, w.msgs + consumed, caseStart, Date.now());
}

function pacedResult(run: ClientRun, mode: 'latency' | 'e2e' | 'backlog'): LoadPacedResult | LoadBacklogResult {
  for (const [, l] of run.lines) {
    const p = parseLoadLine(l);
    if (p?.event === 'result' && p.mode === mode) return p;
  }
  throw new Error(`LoadClient ${mode} printed no result (exit ${run.exitCode}): ${tail(run)}`);
}

async function paced(c: CaseDef, cl: Cluster, s: CaseSettings, sampler: Sampler, r: CaseResult, log: string, caseStart: number, rate: number): Promise<void> {
  const mode = c.kind === 'e2e' ? 'e2e' : 'latency';
  const args = ['-n', cl.namesrvAddr, '-t', topicOf(c), '-s', String(c.size), '-r', String(Math.max(1, Math.round(rate))), '-d', String(s.pacedSeconds), '-W', String(s.warmupSeconds)];
  if (mode === 'e2e') args.push('-g', `bench_e2e_${r.run}_${cl.impl}`);
  const bound = (s.pacedSeconds + s.warmupSeconds) * 1000 + 60_000;
  const run = await runClient('load', [mode, ...args], log, bound).done;
  const res = pacedResult(run, mode) as LoadPacedResult;
  const windowMs = Math.max(1, res.measureEndMs - res.measureStartMs);
  r.method = 'LoadClient (HdrHistogram), open-loop async sends at a fixed offered rate; latency from the scheduled send time';
  r.offeredRate = res.offeredRate;
  r.msgs = res.send.count;
  r.windowMs = windowMs;
  r.msgsPerSec = (res.send.count * 1000) / windowMs;
  r.mbPerSec = (r.msgsPerSec * c.size) / 1e6;
  r.sendP50Us = res.send.p50;
  r.sendP99Us = res.send.p99;
  r.sendP999Us = res.send.p999;
  r.sendMaxUs = res.send.max;
  r.sendHist = res.send.values;
  r.failures = res.failed + res.notOk + res.dropped;
  if (res.b2c) {
    r.b2cP50Us = res.b2c.p50;
    r.b2cP99Us = res.b2c.p99;
    r.b2cP999Us = res.b2c.p999;
    r.b2cHist = res.b2c.values;
    if (res.receivedMeasured !== undefined && res.receivedMeasured < res.sentMeasured) r.failures += res.sentMeasured - res.receivedMeasured;
  }
  const msgs = res.send.count * (res.b2c ? 2 : 1);
  cpuAndRss(r, sampler, res.measureStartMs, res.measureEndMs, msgs, caseStart, Date.now());
}

async function backlog(c: CaseDef, cl: Cluster, s: CaseSettings, sampler: Sampler, r: CaseResult, log: string, caseStart: number): Promise<void> {
  const args = ['backlog', '-n', cl.namesrvAddr, '-t', topicOf(c), '-s', String(c.size), '-q', String(s.backlogMsgs), '-d', String(s.backlogMaxSeconds), '-g', `bench_backlog_${r.run}_${cl.impl}`];
  const run = await runClient('load', args, log, s.backlogMaxSeconds * 2000 + 60_000).done;
  const res = pacedResult(run, 'backlog') as LoadBacklogResult;
  const ms = Math.max(1, res.consumeEndMs - res.consumeStartMs);
  r.method = 'LoadClient: backlog produced first, then a new push consumer group from the first offset; rate = backlog / time from consumer start to last message';
  r.msgs = res.received;
  r.windowMs = ms;
  r.msgsPerSec = (Math.min(res.received, res.expected) * 1000) / ms;
  r.mbPerSec = (r.msgsPerSec * c.size) / 1e6;
  r.consumeMsgsPerSec = r.msgsPerSec;
  r.produceMsgsPerSec = (res.ok * 1000) / Math.max(1, res.produceEndMs - res.produceStartMs);
  r.failures = res.failed + Math.max(0, res.expected - res.received);
  cpuAndRss(r, sampler, res.consumeStartMs, res.consumeEndMs, Math.min(res.received, res.expected), caseStart, Date.now());
}

export async function runCase(c: CaseDef, cl: Cluster, s: CaseSettings, sampler: Sampler, runIndex: number, latencyRate: number, load1: number): Promise<CaseResult> {
  const r: CaseResult = { case: c.id, impl: cl.impl, run: runIndex, ok: false, load1 };
  const log = join(s.logDir, `${c.id}.${cl.impl}.run${runIndex}.log`);
  const caseStart = Date.now();
  const cpuBefore = readCpuTimes();
  try {
    switch (c.kind) {
      case 'throughput':
        await throughput(c, cl, s, sampler, r, log, caseStart);
        break;
      case 'pubsub':
        await pubsub(c, cl, s, sampler, r, log, caseStart);
        break;
      case 'latency':
        await paced(c, cl, s, sampler, r, log, caseStart, latencyRate);
        break;
      case 'e2e':
        await paced(c, cl, s, sampler, r, log, caseStart, s.e2eRate);
        break;
      case 'backlog':
        await backlog(c, cl, s, sampler, r, log, caseStart);
        break;
    }
    if (cl.slaveAddr) {
      const lag = await slaveLagBytes(cl, 5000);
      const m = await commitLogMaxOffset(cl.brokerAddr);
      if (lag !== undefined) r.slaveLagBytes = lag;
      if (m !== undefined) r.masterBytes = m;
    }
    r.ok = true;
  } catch (e) {
    r.error = e instanceof Error ? e.message : String(e);
  }
  const cpuAfter = readCpuTimes();
  const steal = cpuBefore && cpuAfter ? stealShare(cpuBefore, cpuAfter) : undefined;
  if (steal !== undefined) r.stealShare = steal;
  return r;
}
