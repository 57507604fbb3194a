// Pure: bench results JSON -> summary (medians, spreads, merged percentiles, ours/Java ratios,
// targets) -> docs/benchmarks.md tables and an SVG chart (bench/src/render.ts re-renders a file).
import type { CaseDef, GroupId } from './cases.js';
import type { HeapSettings, Impl, StartupMetrics } from './clusters.js';
import type { LoadAvg } from './procfs.js';
import type { CaseResult } from './runner.js';
import { histogramCount, mergeHistograms, pairRatios, percentile, spread, type Spread } from './stats.js';

export interface StartResult extends StartupMetrics {
  group: GroupId;
  impl: Impl;
  run: number;
  hwmEnd: Record<string, number>;
}

export interface BenchResults {
  schema: 1;
  mode: 'smoke' | 'full';
  /** false while a run is in progress or when it was interrupted (checkpoint). */
  complete?: boolean;
  startedAt: string;
  finishedAt: string;
  settings: Record<string, unknown> & { runs: number; impls: Impl[]; heap: HeapSettings };
  machine: { cpuModel: string; logicalCpus: number; memTotalBytes: number; kernel: string; free: string };
  versions: { ours: string; node: string; java: string; apache: string; loadGenerators: string };
  loadavg: Array<{ ms: number } & LoadAvg>;
  brokerConf: Partial<Record<Impl, string>>;
  cases: CaseDef[];
  starts: StartResult[];
  results: CaseResult[];
}

/** Valid JSON with one line per top-level key, start and case result (histograms stay compact). */
export function formatResults(r: BenchResults): string {
  const { starts, results, ...rest } = r;
  const head = Object.entries(rest).map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`);
  const list = (xs: readonly unknown[]): string => (xs.length === 0 ? '[]' : `[\n  ${xs.map((x) => JSON.stringify(x)).join(',\n  ')}\n]`);
  return `{\n${[...head, `"starts": ${list(starts)}`, `"results": ${list(results)}`].join(',\n')}\n}\n`;
}

type NumKey = { [K in keyof CaseResult]-?: CaseResult[K] extends number | undefined ? K : never }[keyof CaseResult];

export const METRICS: ReadonlyArray<{ key: NumKey; label: string; better: 'higher' | 'lower' }> = [
  { key: 'msgsPerSec', label: 'msgs/s', better: 'higher' },
  { key: 'mbPerSec', label: 'MB/s', better: 'higher' },
  { key: 'consumeMsgsPerSec', label: 'consume msgs/s', better: 'higher' },
  { key: 'sendAvgRtMs', label: 'avg send RT ms (official)', better: 'lower' },
  { key: 'b2cAvgMs', label: 'avg born-to-consume ms (official)', better: 'lower' },
  { key: 'cpuSecPerMMsgs', label: 'CPU s per M msgs', better: 'lower' },
  { key: 'peakRssBytes', label: 'peak RSS', better: 'lower' },
];

export interface MergedLatency {
  sendP50Us?: number;
  sendP99Us?: number;
  sendP999Us?: number;
  b2cP50Us?: number;
  b2cP99Us?: number;
  b2cP999Us?: number;
}

export interface CaseSummary {
  def: CaseDef;
  impls: Partial<Record<Impl, { ok: number; failed: number; failures: number; errors: string[]; metrics: Partial<Record<NumKey, Spread>>; merged: MergedLatency }>>;
  /** Pairwise ours/Java per run index, for each metric both implementations have. */
  ratios: Partial<Record<NumKey | keyof MergedLatency, Spread>>;
}

export interface StartupSummary {
  impl: Impl;
  namesrvReadyMs?: Spread;
  brokerReadyMs?: Spread;
  brokerRegisteredMs?: Spread;
  idleRssBytes?: Spread;
  idleRssBrokerBytes?: Spread;
  idleRssNamesrvBytes?: Spread;
}

export interface Target {
  name: string;
  goal: string;
  measured: string;
  met: boolean | undefined;
}

export interface Summary {
  cases: CaseSummary[];
  startup: StartupSummary[];
  startupRatios: Partial<Record<'brokerReadyMs' | 'idleRssBytes', Spread>>;
  targets: Target[];
  load1: Spread | undefined;
  /** Share of CPU time stolen by the hypervisor per case run (both implementations). */
  steal: Spread | undefined;
}

function byRun(results: readonly CaseResult[], impl: Impl, key: NumKey, runs: number[]): Array<number | undefined> {
  return runs.map((run) => {
    const r = results.find((x) => x.impl === impl && x.run === run && x.ok);
    const v = r?.[key];
    return typeof v === 'number' ? v : undefined;
  });
}

function mergedLatency(rs: readonly CaseResult[]): MergedLatency {
  const out: MergedLatency = {};
  const send = mergeHistograms(rs.map((r) => r.sendHist ?? []));
  const b2c = mergeHistograms(rs.map((r) => r.b2cHist ?? []));
  const set = (k: keyof MergedLatency, v: number | undefined): void => {
    if (v !== undefined) out[k] = v;
  };
  set('sendP50Us', percentile(send, 50));
  set('sendP99Us', percentile(send, 99));
  set('sendP999Us', percentile(send, 99.9));
  set('b2cP50Us', percentile(b2c, 50));
  set('b2cP99Us', percentile(b2c, 99));
  set('b2cP999Us', percentile(b2c, 99.9));
  return out;
}

function idleTotal(s: StartResult): number {
  return Object.values(s.idleRss).reduce((a, b) => a + b, 0);
}

/**
 * A latency run whose consumer received nothing measured, or whose histogram is empty, measured
 * nothing: it counts as a failed run (it happens when a client's rebalance or subscription stalls).
 */
export function validated(r: CaseResult, def: CaseDef): CaseResult {
  if (!r.ok) return r;
  if (def.kind === 'e2e' && histogramCount(r.b2cHist ?? []) === 0) return { ...r, ok: false, error: 'the consumer received no measured message within the drain time (client-side stall, see the case log)' };
  if ((def.kind === 'e2e' || def.kind === 'latency') && histogramCount(r.sendHist ?? []) === 0) return { ...r, ok: false, error: 'no send completed in the measured window' };
  return r;
}

function validatedAll(res: BenchResults): CaseResult[] {
  return res.results.map((r) => {
    const def = res.cases.find((c) => c.id === r.case);
    return def ? validated(r, def) : r;
  });
}

export function summarize(input: BenchResults): Summary {
  const res: BenchResults = { ...input, results: validatedAll(input) };
  const cases: CaseSummary[] = res.cases.map((def) => {
    const rs = res.results.filter((r) => r.case === def.id);
    const runs = [...new Set(rs.map((r) => r.run))].sort((a, b) => a - b);
    const impls: CaseSummary['impls'] = {};
    for (const impl of res.settings.impls) {
      const mine = rs.filter((r) => r.impl === impl);
      const good = mine.filter((r) => r.ok);
      const metrics: Partial<Record<NumKey, Spread>> = {};
      for (const m of METRICS) {
        const s = spread(good.map((r) => r[m.key]).filter((v): v is number => typeof v === 'number'));
        if (s) metrics[m.key] = s;
      }
      impls[impl] = {
        ok: good.length,
        failed: mine.length - good.length,
        failures: good.reduce((a, r) => a + (r.failures ?? 0), 0),
        errors: mine.filter((r) => !r.ok).map((r) => r.error ?? 'failed'),
        metrics,
        merged: mergedLatency(good),
      };
    }
    const ratios: CaseSummary['ratios'] = {};
    if (impls.java && impls.ours) {
      for (const m of METRICS) {
        const s = spread(pairRatios(byRun(rs, 'ours', m.key, runs), byRun(rs, 'java', m.key, runs)));
        if (s) ratios[m.key] = s;
      }
      // latency ratios: per-run percentiles from each run's own histogram
      for (const k of ['sendP99Us', 'b2cP99Us'] as const) {
        const s = spread(pairRatios(byRun(rs, 'ours', k, runs), byRun(rs, 'java', k, runs)));
        if (s) ratios[k] = s;
      }
    }
    return { def, impls, ratios };
  });

  const startup: StartupSummary[] = res.settings.impls.map((impl) => {
    const ss = res.starts.filter((s) => s.impl === impl);
    const out: StartupSummary = { impl };
    const put = (k: Exclude<keyof StartupSummary, 'impl'>, xs: number[]): void => {
      const s = spread(xs);
      if (s) out[k] = s;
    };
    put('namesrvReadyMs', ss.map((s) => s.namesrvReadyMs));
    put('brokerReadyMs', ss.map((s) => s.brokerReadyMs));
    put('brokerRegisteredMs', ss.map((s) => s.brokerRegisteredMs));
    // idle RSS of the single-master set-up only (namesrv + broker), so the sums compare
    const single = ss.filter((s) => s.group === 'async' || s.group === 'syncflush');
    put('idleRssBytes', single.map(idleTotal));
    put('idleRssBrokerBytes', single.map((s) => s.idleRss.broker ?? Number.NaN));
    put('idleRssNamesrvBytes', single.map((s) => s.idleRss.namesrv ?? Number.NaN));
    return out;
  });
  const startupRatios: Summary['startupRatios'] = {};
  if (res.settings.impls.includes('java') && res.settings.impls.includes('ours')) {
    const pair = (f: (s: StartResult) => number, onlySingle: boolean): Spread | undefined => {
      const keyOf = (s: StartResult): string => `${s.run}/${s.group}`;
      const java = new Map(res.starts.filter((s) => s.impl === 'java' && (!onlySingle || s.group === 'async' || s.group === 'syncflush')).map((s) => [keyOf(s), f(s)]));
      const ours = res.starts.filter((s) => s.impl === 'ours' && java.has(keyOf(s)) && (!onlySingle || s.group === 'async' || s.group === 'syncflush'));
      return spread(pairRatios(ours.map(f), ours.map((s) => java.get(keyOf(s)))));
    };
    const a = pair((s) => s.brokerReadyMs, false);
    const b = pair(idleTotal, true);
    if (a) startupRatios.brokerReadyMs = a;
    if (b) startupRatios.idleRssBytes = b;
  }
  return {
    cases,
    startup,
    startupRatios,
    targets: targets(cases, startup, startupRatios),
    load1: spread(res.loadavg.map((l) => l.load1)),
    steal: spread(res.results.flatMap((r) => (r.stealShare === undefined ? [] : [r.stealShare]))),
  };
}

const fx = (v: number | undefined, d = 2): string => (v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(d));

function ratioTarget(name: string, goal: string, s: Spread | undefined, ok: (m: number) => boolean): Target {
  if (!s) return { name, goal, measured: 'not measured (needs both implementations)', met: undefined };
  return { name, goal, measured: `${fx(s.median)}× (runs ${fx(s.min)}–${fx(s.max)}, n=${s.n})`, met: ok(s.median) };
}

function targets(cases: CaseSummary[], startup: StartupSummary[], sr: Summary['startupRatios']): Target[] {
  const c = (id: string): CaseSummary | undefined => cases.find((x) => x.def.id === id);
  const out: Target[] = [];
  out.push(ratioTarget('Produce throughput, 1 KiB async flush (async-1k-w16)', 'ours/Java ≥ 1.5×', c('async-1k-w16')?.ratios.msgsPerSec, (m) => m >= 1.5));
  out.push(ratioTarget('Produce throughput, 1 KiB SYNC_FLUSH (syncflush-1k-w16)', 'ours/Java ≥ 1.5×', c('syncflush-1k-w16')?.ratios.msgsPerSec, (m) => m >= 1.5));
  const lat = c('latency-1k');
  const lo = lat?.impls.ours?.merged.sendP99Us;
  const lj = lat?.impls.java?.merged.sendP99Us;
  if (lo !== undefined && lj !== undefined && lj > 0) {
    const per = lat?.ratios.sendP99Us;
    out.push({
      name: 'p99 send latency at half of Java peak rate (latency-1k)',
      goal: 'ours/Java ≤ 0.5×',
      measured: `${fx(lo / lj)}× on runs merged (ours ${fx(lo / 1000)} ms, Java ${fx(lj / 1000)} ms)${per ? `; per run ${fx(per.min)}–${fx(per.max)}` : ''}`,
      met: lo / lj <= 0.5,
    });
  } else {
    out.push({ name: 'p99 send latency at half of Java peak rate (latency-1k)', goal: 'ours/Java ≤ 0.5×', measured: 'not measured (needs both implementations)', met: undefined });
  }
  out.push(ratioTarget('CPU per message, broker processes (async-1k-w16)', 'ours/Java ≤ 0.5×', c('async-1k-w16')?.ratios.cpuSecPerMMsgs, (m) => m <= 0.5));
  out.push(ratioTarget('Idle RSS, namesrv + broker', 'ours/Java ≤ 0.25×', sr.idleRssBytes, (m) => m <= 0.25));
  const ours = startup.find((s) => s.impl === 'ours');
  out.push(
    ours?.brokerReadyMs
      ? { name: 'Ready to serve (broker process start → first successful request)', goal: '≤ 500 ms', measured: `${fx(ours.brokerReadyMs.median, 0)} ms (${fx(ours.brokerReadyMs.min, 0)}–${fx(ours.brokerReadyMs.max, 0)}, n=${ours.brokerReadyMs.n}); name server ${fx(ours.namesrvReadyMs?.median, 0)} ms`, met: ours.brokerReadyMs.median <= 500 }
      : { name: 'Ready to serve (broker process start → first successful request)', goal: '≤ 500 ms', measured: 'not measured', met: undefined },
  );
  return out;
}

// ---------------------------------------------------------------------------------------------
// Markdown

const mib = (b: number | undefined): string => (b === undefined || !Number.isFinite(b) ? 'n/a' : `${(b / 1048576).toFixed(0)} MiB`);

function cell(s: Spread | undefined, fmt: (v: number) => string): string {
  if (!s) return '–';
  return s.n > 1 ? `${fmt(s.median)} <sub>${fmt(s.min)}–${fmt(s.max)}</sub>` : fmt(s.median);
}

const int = (v: number): string => Math.round(v).toLocaleString('en-US');
const ms = (us: number): string => (us / 1000).toFixed(2);

function esc(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export interface RenderOptions {
  resultsFile: string;
  svgFile: string;
  /** Hand-written analysis (bench/analysis.md), placed after the targets. */
  notes?: string;
}

function mdHeader(L: string[], res: BenchResults, sum: Summary, o: RenderOptions, _both: boolean): void {
  L.push('# Benchmarks: rocketmq-ts vs Apache RocketMQ 5.5.0');
  L.push('');
  L.push(`Generated by \`npm run bench\` from [\`${o.resultsFile}\`](${o.resultsFile}) (${res.mode} run${res.complete === false ? ', **interrupted: partial results**' : ''}, ${res.startedAt} → ${res.finishedAt}). Do not edit by hand: re-run the bench, or re-render with \`npx tsx bench/src/render.ts <results.json>\`.`);
  L.push('');
}

function mdSetupAndTargets(L: string[], res: BenchResults, sum: Summary, o: RenderOptions, both: boolean): void {
  L.push('## Set-up');
  L.push('');
  L.push(`- Machine: ${res.machine.logicalCpus} × ${res.machine.cpuModel}, ${(res.machine.memTotalBytes / 2 ** 30).toFixed(1)} GiB RAM, Linux ${res.machine.kernel}.`);
  const l1 = sum.load1;
  // The run's own brokers and load generators raise the load average; what was there before the
  // first case (the first sample) says whether other work shared the machine.
  const before = res.loadavg[0]?.load1;
  const busy = before !== undefined && before > res.machine.logicalCpus * 0.75;
  L.push(`- Load average (1 min) during the run, the benchmark's own processes included: ${l1 ? `${fx(l1.min)}–${fx(l1.max)} (median ${fx(l1.median)})` : 'n/a'} on ${res.machine.logicalCpus} CPUs; at the start: ${before !== undefined ? fx(before) : 'n/a'}.${busy ? ' **The machine was shared and busy during this run** (other jobs were using the CPUs), so absolute numbers are low and noisy; the ours/Java ratios, taken pair by pair in the same run, are the more meaningful figures.' : ''}`);
  if (sum.steal) {
    const worst = res.results.reduce<CaseResult | undefined>((w, r) => (r.stealShare !== undefined && (w?.stealShare ?? -1) < r.stealShare ? r : w), undefined);
    const pct = (v: number): string => `${(v * 100).toFixed(1)} %`;
    L.push(`- CPU time stolen by the hypervisor (other guests on the host) during the case runs: median ${pct(sum.steal.median)}, max ${pct(sum.steal.max)}${worst ? ` (${worst.case} ${worst.impl} run ${worst.run})` : ''}; per case run in the JSON (\`stealShare\`). A run with high steal is slow for reasons outside both brokers.`);
  }
  L.push(`- Versions: ${res.versions.ours}, Node ${res.versions.node}; Apache RocketMQ ${res.versions.apache} (Maven Central) on ${res.versions.java}; load generators: ${res.versions.loadGenerators}.`);
  L.push(`- Java heap: namesrv ${res.settings.heap.namesrvHeap}, broker ${res.settings.heap.brokerHeap} (direct ${res.settings.heap.brokerDirectMem}), G1. Ours: Node defaults. Load-generator JVMs: 512 MiB heap each. Everything (brokers and load generators) shares the same ${res.machine.logicalCpus} CPUs; nothing is pinned.`);
  L.push(`- Same loopback ports and the same broker.conf for both (below); each topic is created with the \`updateTopic\` admin request (8 read/write queues) and awaited in the name server's routes. Each set-up (case group) starts fresh clusters per implementation and run; Java runs first in each pair, because the latency case offers half of Java's measured peak. ${res.settings.runs} run(s) per case; cells show the median with the min–max over runs in small print.`);
  L.push('');
  L.push('## Targets (issue 7)');
  L.push('');
  L.push('| Target | Goal | Measured | Met |');
  L.push('|---|---|---|---|');
  for (const t of sum.targets) L.push(`| ${esc(t.name)} | ${esc(t.goal)} | ${esc(t.measured)} | ${t.met === undefined ? 'not measured' : t.met ? 'met' : '**not met**'} |`);
  L.push('');
  if (both) {
    L.push(`![ours/Java ratios per case](${o.svgFile})`);
  } else {
    L.push(`![throughput per case](${o.svgFile})`);
  }
  L.push('');
}

function mdThroughput(L: string[], res: BenchResults, sum: Summary, o: RenderOptions, both: boolean): void {
  if (o.notes?.trim()) {
    L.push(o.notes.trim());
    L.push('');
  }
  L.push('## Throughput and CPU');
  L.push('');
  L.push(`| Case | Impl | msgs/s | MB/s | avg send RT ms | CPU s / M msgs | peak RSS | failures |${both ? ' ours/Java msgs/s | ours/Java CPU/msg |' : ''}`);
  L.push(`|---|---|---|---|---|---|---|---|${both ? '---|---|' : ''}`);
  for (const c of sum.cases) {
    if (c.def.kind === 'latency' || c.def.kind === 'e2e') continue;
    for (const impl of res.settings.impls) {
      const s = c.impls[impl];
      if (!s) continue;
      const m = s.metrics;
      const status = s.failed > 0 ? ` (${s.failed} run(s) failed)` : '';
      const first = impl === res.settings.impls[0];
      L.push(
        `| ${first ? `\`${c.def.id}\` ${esc(c.def.title)}` : ''} | ${impl}${status} | ${cell(m.msgsPerSec, int)} | ${cell(m.mbPerSec, (v) => v.toFixed(1))} | ${cell(m.sendAvgRtMs, (v) => v.toFixed(2))} | ${cell(m.cpuSecPerMMsgs, (v) => v.toFixed(1))} | ${cell(m.peakRssBytes, mib)} | ${s.failures} |${both ? (first ? ' | |' : ` ${cell(c.ratios.msgsPerSec, (v) => `${v.toFixed(2)}×`)} | ${cell(c.ratios.cpuSecPerMMsgs, (v) => `${v.toFixed(2)}×`)} |`) : ''}`,
      );
    }
  }
  L.push('');
  const withSlave = res.results.filter((r) => r.ok && r.masterBytes !== undefined);
  if (withSlave.length > 0) {
    L.push('Replication check (master/slave cases): commit-log bytes the slave still lacked 5 s after the load stopped, of the bytes the master held:');
    for (const r of withSlave) L.push(`- \`${r.case}\` ${r.impl} run ${r.run}: ${r.slaveLagBytes === undefined ? 'unknown' : int(r.slaveLagBytes)} of ${int(r.masterBytes ?? 0)} bytes`);
    L.push('');
  }
  const ps = sum.cases.find((c) => c.def.id === 'pubsub-1k-w16');
  if (ps) {
    L.push('`pubsub-1k-w16`: msgs/s is the produce rate; the official Consumer in parallel consumed:');
    for (const impl of res.settings.impls) {
      const m = ps.impls[impl]?.metrics;
      L.push(`- ${impl}: ${cell(m?.consumeMsgsPerSec, int)} msgs/s consumed, average born-to-consume ${cell(m?.b2cAvgMs, (v) => v.toFixed(1))} ms (official Consumer, ms clock)`);
    }
  }
  L.push('');
}

function mdLatency(L: string[], res: BenchResults, sum: Summary, o: RenderOptions, both: boolean): void {
  L.push('## Latency (HdrHistogram, percentiles over all runs merged)');
  L.push('');
  L.push(`| Case | Impl | offered msg/s | send p50 ms | send p99 ms | send p99.9 ms | born-to-consume p50 ms | born-to-consume p99 ms | b2c p99.9 ms | CPU s / M msgs | failures |`);
  L.push('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const c of sum.cases) {
    if (c.def.kind !== 'latency' && c.def.kind !== 'e2e') continue;
    for (const impl of res.settings.impls) {
      const s = c.impls[impl];
      if (!s) continue;
      const rates = res.results.filter((r) => r.case === c.def.id && r.impl === impl && r.ok).map((r) => r.offeredRate ?? Number.NaN);
      const g = (v: number | undefined): string => (v === undefined ? '–' : ms(v));
      L.push(
        `| ${impl === res.settings.impls[0] ? `\`${c.def.id}\` ${esc(c.def.title)}` : ''} | ${impl}${s.failed > 0 ? ` (${s.failed} failed)` : ''} | ${cell(spread(rates), int)} | ${g(s.merged.sendP50Us)} | ${g(s.merged.sendP99Us)} | ${g(s.merged.sendP999Us)} | ${g(s.merged.b2cP50Us)} | ${g(s.merged.b2cP99Us)} | ${g(s.merged.b2cP999Us)} | ${cell(s.metrics.cpuSecPerMMsgs, (v) => v.toFixed(1))} | ${s.failures} |`,
      );
    }
    if (both) {
      const r = c.ratios;
      L.push(`| | ours/Java per run | | | ${cell(r.sendP99Us, (v) => `${v.toFixed(2)}×`)} | | | ${cell(r.b2cP99Us, (v) => `${v.toFixed(2)}×`)} | | ${cell(r.cpuSecPerMMsgs, (v) => `${v.toFixed(2)}×`)} | |`);
    }
  }
  L.push('');
}

function mdStartup(L: string[], res: BenchResults, sum: Summary, o: RenderOptions, both: boolean): void {
  L.push('## Start-up and memory');
  L.push('');
  L.push('| Impl | namesrv ready ms | broker ready ms | broker registered ms | idle RSS namesrv | idle RSS broker | idle RSS total |');
  L.push('|---|---|---|---|---|---|---|');
  for (const s of sum.startup) {
    L.push(`| ${s.impl} | ${cell(s.namesrvReadyMs, int)} | ${cell(s.brokerReadyMs, int)} | ${cell(s.brokerRegisteredMs, int)} | ${cell(s.idleRssNamesrvBytes, mib)} | ${cell(s.idleRssBrokerBytes, mib)} | ${cell(s.idleRssBytes, mib)} |`);
  }
  if (both) L.push(`| ours/Java | | ${cell(sum.startupRatios.brokerReadyMs, (v) => `${v.toFixed(2)}×`)} | | | | ${cell(sum.startupRatios.idleRssBytes, (v) => `${v.toFixed(2)}×`)} |`);
  L.push('');
  L.push('"Ready" is measured from the process\'s own start time (`/proc/<pid>/stat` starttime, 10 ms ticks) to its first successful request (name server: GET_BROKER_CLUSTER_INFO; broker: GET_BROKER_RUNTIME_INFO), "registered" to the name server listing the broker. Idle RSS is VmRSS of a freshly started single-master set-up after a quiet period, before any load; peak RSS is the highest summed VmRSS sampled (every 200 ms) during a case.');
  L.push('');
}

function mdMethodAndConf(L: string[], res: BenchResults, _sum: Summary, _o: RenderOptions, _both: boolean): void {
  L.push('## Method');
  L.push('');
  L.push('- Throughput cases run the official `org.apache.rocketmq.example.benchmark.Producer` (rocketmq-example 5.5.0, sync sends, `-w` threads, `-ri 1000`), bounded by time and by `-q`. It prints TPS over its last 10 snapshots taken 1 s apart; the figure is the last report before the producer stopped, i.e. the last ~9 s of the run (the first seconds of JVM warm-up are outside it). MB/s = msgs/s × body size.');
  L.push('- CPU seconds per million messages: utime+stime of the broker-side processes (name server + broker, + slave in master/slave cases) from `/proc/<pid>/stat`, sampled every 200 ms and interpolated over exactly the window the message count covers. In produce+consume cases a message counts once produced and once consumed.');
  L.push('- Latency cases run our `LoadClient` (bench/java; rocketmq-client 5.5.0 + HdrHistogram): open-loop async sends at a fixed offered rate after a warm-up; send latency runs from the scheduled send time to the callback (no coordinated omission); born-to-consume from the scheduled send time to the push consumer\'s listener in the same JVM (System.nanoTime in the body). Percentiles are taken from the runs\' histograms merged.');
  L.push('- Backlog: a backlog is produced first, then a new consumer group starts from the first offset; the rate is the backlog over the time from consumer start to its last message.');
  L.push('- Ratios are ours/Java taken pair by pair (same run index, same case), then median and min–max over the pairs.');
  L.push('');
  const failedRuns = validatedAll(res).filter((r) => !r.ok);
  if (failedRuns.length > 0) {
    L.push('## Failed case runs');
    L.push('');
    for (const r of failedRuns) L.push(`- \`${r.case}\` ${r.impl} run ${r.run}: ${esc(r.error ?? 'failed')}`);
    L.push('');
  }
  L.push('## broker.conf');
  L.push('');
  for (const impl of res.settings.impls) {
    const conf = res.brokerConf[impl];
    if (!conf) continue;
    L.push(`${impl} (first set-up; other set-ups change brokerRole / flushDiskType / brokerId):`);
    L.push('');
    L.push('```properties');
    L.push(conf.trim());
    L.push('```');
    L.push('');
  }
}

export function renderMarkdown(res: BenchResults, sum: Summary, o: RenderOptions): string {
  const both = res.settings.impls.length === 2;
  const L: string[] = [];
  for (const section of [mdHeader, mdSetupAndTargets, mdThroughput, mdLatency, mdStartup, mdMethodAndConf]) section(L, res, sum, o, both);
  return L.join('\n');
}

// ---------------------------------------------------------------------------------------------
// SVG

function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

interface Bar {
  label: string;
  value: number;
  min: number;
  max: number;
}

function panel(x0: number, y0: number, width: number, title: string, bars: Bar[], refs: Array<{ at: number; label: string }>, unit: string): string {
  const rowH = 22;
  const labelW = 130;
  const plotW = width - labelW - 20;
  const maxV = Math.max(...bars.map((b) => b.max), ...refs.map((r) => r.at), 1e-9) * 1.1;
  const sx = (v: number): number => x0 + labelW + (Math.max(0, v) / maxV) * plotW;
  const out: string[] = [];
  out.push(`<text x="${x0}" y="${y0 + 14}" font-size="13" font-weight="bold">${xml(title)}</text>`);
  const top = y0 + 26;
  const h = bars.length * rowH;
  bars.forEach((b, i) => {
    const y = top + i * rowH;
    out.push(`<text x="${x0 + labelW - 6}" y="${y + 15}" font-size="11" text-anchor="end">${xml(b.label)}</text>`);
    out.push(`<rect x="${sx(0)}" y="${y + 4}" width="${(sx(b.value) - sx(0)).toFixed(1)}" height="${rowH - 8}" fill="#4e79a7"/>`);
    if (b.max > b.min) out.push(`<line x1="${sx(b.min).toFixed(1)}" x2="${sx(b.max).toFixed(1)}" y1="${y + rowH / 2}" y2="${y + rowH / 2}" stroke="#222" stroke-width="1.5"/>`);
    out.push(`<text x="${(sx(b.value) + 4).toFixed(1)}" y="${y + 15}" font-size="10" fill="#333">${xml(`${b.value >= 100 ? Math.round(b.value).toLocaleString('en-US') : b.value.toFixed(2)}${unit}`)}</text>`);
  });
  for (const r of refs) {
    out.push(`<line x1="${sx(r.at).toFixed(1)}" x2="${sx(r.at).toFixed(1)}" y1="${top}" y2="${top + h}" stroke="#e15759" stroke-dasharray="4 3"/>`);
    out.push(`<text x="${sx(r.at).toFixed(1)}" y="${top + h + 12}" font-size="10" fill="#e15759" text-anchor="middle">${xml(r.label)}</text>`);
  }
  out.push(`<line x1="${sx(0)}" x2="${sx(0)}" y1="${top}" y2="${top + h}" stroke="#888"/>`);
  return out.join('\n');
}

const fixedRate = (c: CaseSummary): boolean => c.def.kind === 'latency' || c.def.kind === 'e2e';

/** Two panels: ours/Java msgs/s and CPU-per-message ratios per case (or ours' msgs/s alone). */
export function renderSvg(sum: Summary): string {
  const both = sum.cases.some((c) => c.ratios.msgsPerSec !== undefined);
  const toBar = (label: string, s: Spread | undefined): Bar | undefined => (s ? { label, value: s.median, min: s.min, max: s.max } : undefined);
  let left: Bar[];
  let right: Bar[];
  let titles: [string, string];
  let refs: [Array<{ at: number; label: string }>, Array<{ at: number; label: string }>];
  let unit: [string, string];
  if (both) {
    // fixed-rate cases send what they are offered: their msgs/s ratio says nothing
    left = sum.cases.filter((c) => !fixedRate(c)).map((c) => toBar(c.def.id, c.ratios.msgsPerSec)).filter((b): b is Bar => b !== undefined);
    right = sum.cases.map((c) => toBar(c.def.id, c.ratios.cpuSecPerMMsgs)).filter((b): b is Bar => b !== undefined);
    titles = ['Throughput, ours / Java (higher is better)', 'CPU per message, ours / Java (lower is better)'];
    refs = [[{ at: 1, label: '1×' }, { at: 1.5, label: 'target 1.5×' }], [{ at: 1, label: '1×' }, { at: 0.5, label: 'target 0.5×' }]];
    unit = ['×', '×'];
  } else {
    const impl = sum.startup[0]?.impl ?? 'ours';
    left = sum.cases.filter((c) => !fixedRate(c)).map((c) => toBar(c.def.id, c.impls[impl]?.metrics.msgsPerSec)).filter((b): b is Bar => b !== undefined);
    right = sum.cases.map((c) => toBar(c.def.id, c.impls[impl]?.metrics.cpuSecPerMMsgs)).filter((b): b is Bar => b !== undefined);
    titles = [`${impl}: msgs/s`, `${impl}: CPU seconds per million messages`];
    refs = [[], []];
    unit = ['', ''];
  }
  const rows = Math.max(left.length, right.length, 1);
  const width = 960;
  const height = 26 + rows * 22 + 40;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    panel(10, 4, width / 2 - 10, titles[0], left, refs[0], unit[0]),
    panel(width / 2 + 10, 4, width / 2 - 20, titles[1], right, refs[1], unit[1]),
    `<text x="10" y="${height - 6}" font-size="10" fill="#555">bars: median over runs; whiskers: min–max over runs</text>`,
    '</svg>',
    '',
  ].join('\n');
}
