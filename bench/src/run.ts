// `npm run bench` / `npm run bench:smoke`: runs the benchmark matrix against the official Apache
// RocketMQ 5.5.0 and ours, writes bench/results/<time>.json and docs/benchmarks.md.
//
//   tsx bench/src/run.ts [--smoke] [--runs N] [--impl both|ours|java] [--cases id,group,...]
//                        [--duration S] [--paced S] [--warmup S] [--latency-rate R] [--e2e-rate R]
//                        [--backlog N] [--out FILE] [--doc FILE|--no-doc] [--cpu-prof]
// --cpu-prof runs our processes with node --cpu-prof (profiles under .tmp/bench/<time>/cpuprof-*;
// summarize with `npx tsx bench/src/profile-top.ts FILE.cpuprofile`).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { CASES, GROUPS, selectCases, topicOf, type CaseDef, type GroupId } from './cases.js';
import { createTopic, findPorts, ROOT, startCluster, type HeapSettings, type Impl, type StartupMetrics } from './clusters.js';
import { parseCpuInfo, parseMemTotal, readLoadAvg, type LoadAvg } from './procfs.js';
import { formatResults, renderMarkdown, renderSvg, summarize, type BenchResults, type StartResult } from './report.js';
import { runCase, type CaseResult, type CaseSettings } from './runner.js';
import { Sampler } from './sampler.js';

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: ROOT, timeout: 600_000 });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
}

function need(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function log(msg: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

function parseOptions() {
  const { values } = parseArgs({
    options: {
      smoke: { type: 'boolean', default: false },
      runs: { type: 'string' },
      impl: { type: 'string' },
      cases: { type: 'string' },
      duration: { type: 'string' },
      paced: { type: 'string' },
      warmup: { type: 'string' },
      'latency-rate': { type: 'string' },
      'e2e-rate': { type: 'string' },
      backlog: { type: 'string' },
      out: { type: 'string' },
      doc: { type: 'string' },
      'no-doc': { type: 'boolean', default: false },
      'cpu-prof': { type: 'boolean', default: false },
    },
  });
  const smoke = values.smoke === true;
  const num = (v: string | undefined, d: number, what: string): number => {
    if (v === undefined) return d;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${what} must be a positive number, got ${v}`);
    return n;
  };
  const runs = Math.floor(num(values.runs, smoke ? 1 : 3, 'runs'));
  const implArg = values.impl ?? (smoke ? 'ours' : 'both');
  if (!['both', 'ours', 'java'].includes(implArg)) throw new Error(`--impl must be both, ours or java, got ${implArg}`);
  const impls: Impl[] = implArg === 'both' ? ['java', 'ours'] : [implArg as Impl];
  const cases = selectCases(values.cases);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  const workDir = join(ROOT, '.tmp', 'bench', stamp);
  mkdirSync(workDir, { recursive: true });
  const settings: CaseSettings = {
    throughputMs: num(values.duration, smoke ? 30 : 14, 'duration') * 1000,
    producerMaxMsgs: smoke ? 2000 : 5_000_000,
    pacedSeconds: num(values.paced, smoke ? 2 : 8, 'paced'),
    warmupSeconds: num(values.warmup, smoke ? 1 : 3, 'warmup'),
    e2eRate: num(values['e2e-rate'], smoke ? 200 : 500, 'e2e-rate'),
    backlogMsgs: Math.floor(num(values.backlog, smoke ? 2000 : 50_000, 'backlog')),
    backlogMaxSeconds: smoke ? 20 : 40,
    logDir: workDir,
  };
  const fixedLatencyRate = values['latency-rate'] !== undefined ? num(values['latency-rate'], 0, 'latency-rate') : undefined;
  const defaultLatencyRate = smoke ? 300 : 2000;
  return { values, smoke, runs, impls, cases, stamp, workDir, settings, fixedLatencyRate, defaultLatencyRate };
}

async function main(): Promise<void> {
  const { values, smoke, runs, impls, cases, stamp, workDir, settings, fixedLatencyRate, defaultLatencyRate } = parseOptions();
  const heap: HeapSettings = { namesrvHeap: '256m', brokerHeap: '2g', brokerDirectMem: '2g' };

  prepare(impls);

  const ports = await findPorts();
  const loadSamples: Array<{ ms: number } & LoadAvg> = [{ ms: Date.now(), ...readLoadAvg() }];
  const results: CaseResult[] = [];
  const starts: StartResult[] = [];
  const confs: Partial<Record<Impl, string>> = {};
  const startedAt = new Date().toISOString();
  // taken once, at the start: what was built and is being measured
  const machine = machineInfo();
  const vers = versions();
  const snapshot = (complete: boolean): BenchResults => ({
    schema: 1,
    mode: smoke ? 'smoke' : 'full',
    complete,
    startedAt,
    finishedAt: new Date().toISOString(),
    settings: { runs, impls, ...settings, logDir: relative(ROOT, workDir), latencyRate: fixedLatencyRate ?? 'half of Java peak (async-1k-w16) of the same run', defaultLatencyRate, heap, topicQueues: 8 },
    machine,
    versions: vers,
    loadavg: loadSamples,
    brokerConf: confs,
    cases: CASES.filter((c) => cases.includes(c)),
    starts,
    results,
  });
  const outFile = values.out ?? (smoke ? join(workDir, 'results.json') : join(ROOT, 'bench/results', `${stamp}.json`));
  mkdirSync(join(outFile, '..'), { recursive: true });
  const groupOrder = (Object.keys(GROUPS) as GroupId[]).filter((g) => cases.some((c) => c.group === g));
  log(`cases: ${cases.map((c) => c.id).join(', ')}; impls: ${impls.join(', ')}; runs: ${runs}; ports ${JSON.stringify(ports)}; logs in ${relative(ROOT, workDir)}`);

  for (let run = 1; run <= runs; run++) {
    for (const g of groupOrder) {
      const groupCases = cases.filter((c) => c.group === g);
      // Java first: the latency case offers half of Java's measured peak of this run
      for (const impl of impls) {
        const dir = join(workDir, `run${run}-${g}-${impl}`);
        log(`run ${run}/${runs}: starting ${impl} (${GROUPS[g].title})`);
        let cluster;
        try {
          const cpuProfDir = values['cpu-prof'] === true && impl === 'ours' ? join(workDir, `cpuprof-run${run}-${g}`) : undefined;
          cluster = await startCluster({ impl, dir, ports, topo: GROUPS[g].topo, heap, idleSettleMs: smoke ? 1000 : 3000, startTimeoutMs: 120_000, ...(cpuProfDir ? { cpuProfDir } : {}) });
        } catch (e) {
          const msg = e instanceof Error ? e.message : String(e);
          log(`  start failed: ${msg}`);
          for (const c of groupCases) results.push({ case: c.id, impl, run, ok: false, error: `cluster did not start: ${msg}` });
          continue;
        }
        confs[impl] ??= cluster.brokerConf;
        const startup: StartupMetrics = cluster.startup;
        log(`  serving: namesrv ${startup.namesrvReadyMs} ms, broker ${startup.brokerReadyMs} ms (registered ${startup.brokerRegisteredMs} ms); idle RSS ${JSON.stringify(startup.idleRss)}`);
        const sampler = new Sampler(cluster.pids, ticks());
        try {
          for (const c of groupCases) {
            await createTopic(cluster, topicOf(c), 8);
            const rate = latencyRateFor(c, results, run, fixedLatencyRate, defaultLatencyRate);
            const load = readLoadAvg();
            loadSamples.push({ ms: Date.now(), ...load });
            const r = await runCase(c, cluster, settings, sampler, run, rate, load.load1);
            results.push(r);
            log(`  ${c.id} ${impl}: ${r.ok ? describe(r) : `FAILED: ${r.error}`}`);
          }
        } finally {
          const hwm = sampler.hwm();
          sampler.stop();
          starts.push({ group: g, impl, run, ...startup, hwmEnd: hwm });
          await cluster.stop();
          rmSync(join(dir), { recursive: true, force: true });
        }
        // checkpoint: an interrupted run still leaves every finished case on disk
        writeFileSync(outFile, formatResults(snapshot(false)));
      }
    }
  }
  loadSamples.push({ ms: Date.now(), ...readLoadAvg() });
  const out = snapshot(true);
  writeFileSync(outFile, formatResults(out));
  log(`results: ${relative(ROOT, outFile)}`);
  if (!values['no-doc']) {
    const docFile = values.doc ?? (smoke ? join(workDir, 'benchmarks.md') : join(ROOT, 'docs/benchmarks.md'));
    const svgFile = join(docFile, '..', smoke ? 'benchmarks.svg' : 'benchmarks-chart.svg');
    const summary = summarize(out);
    writeFileSync(svgFile, renderSvg(summary));
    const notesFile = join(ROOT, 'bench/analysis.md');
    const notes = !smoke && existsSync(notesFile) ? readFileSync(notesFile, 'utf8') : '';
    writeFileSync(docFile, renderMarkdown(out, summary, { resultsFile: relative(join(docFile, '..'), outFile), svgFile: relative(join(docFile, '..'), svgFile), notes }));
    log(`report: ${relative(ROOT, docFile)}, chart: ${relative(ROOT, svgFile)}`);
  }
  const failed = results.filter((r) => !r.ok);
  if (failed.length > 0) {
    log(`${failed.length} of ${results.length} case runs failed`);
    process.exitCode = 1;
  }
}

function prepare(impls: Impl[]): void {
  for (const cmd of ['java', 'javac', 'mvn']) {
    if (!need(cmd)) throw new Error(`the bench needs '${cmd}' on PATH (load generators are Java programs)`);
  }
  if (!existsSync(join(ROOT, 'dist/broker/src/cli/broker.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  log('building the load generators (bench/java/build.sh)');
  const b = spawnSync('bash', [join(ROOT, 'bench/java/build.sh')], { cwd: ROOT, encoding: 'utf8', timeout: 900_000 });
  if (b.status !== 0) throw new Error(`bench/java/build.sh failed:\n${b.stderr}`);
  if (impls.includes('java')) {
    log('fetching Apache RocketMQ (test/support/apache/setup.sh)');
    const st = spawnSync('bash', [join(ROOT, 'test/support/apache/setup.sh')], { cwd: ROOT, encoding: 'utf8', timeout: 900_000 });
    if (st.status !== 0) throw new Error(`setup.sh failed:\n${st.stderr}`);
    apacheCache = st.stdout.trim();
  }
}

let tck: number | undefined;
let apacheCache = '';
function ticks(): number {
  tck ??= Number(sh('getconf', ['CLK_TCK'])) || 100;
  return tck;
}

function latencyRateFor(c: CaseDef, results: readonly CaseResult[], run: number, fixed: number | undefined, fallback: number): number {
  if (c.kind !== 'latency') return 0;
  if (fixed !== undefined) return fixed;
  const javaPeak = results.find((r) => r.case === 'async-1k-w16' && r.impl === 'java' && r.run === run && r.ok)?.msgsPerSec;
  return javaPeak !== undefined && javaPeak > 0 ? javaPeak / 2 : fallback;
}

function describe(r: CaseResult): string {
  const parts = [`${Math.round(r.msgsPerSec ?? 0)} msg/s`];
  if (r.sendP99Us !== undefined) parts.push(`send p99 ${(r.sendP99Us / 1000).toFixed(2)} ms`);
  if (r.b2cP99Us !== undefined) parts.push(`b2c p99 ${(r.b2cP99Us / 1000).toFixed(2)} ms`);
  if (r.cpuSecPerMMsgs !== undefined) parts.push(`${r.cpuSecPerMMsgs.toFixed(1)} CPU s/M`);
  if (r.failures) parts.push(`${r.failures} failures`);
  return parts.join(', ');
}

function machineInfo(): BenchResults['machine'] {
  const cpu = parseCpuInfo(readFileSync('/proc/cpuinfo', 'utf8'));
  return {
    cpuModel: cpu.model,
    logicalCpus: cpu.logicalCpus,
    memTotalBytes: parseMemTotal(readFileSync('/proc/meminfo', 'utf8')),
    kernel: release(),
    free: sh('free', ['-m']),
  };
}

function versions(): BenchResults['versions'] {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const commit = sh('git', ['rev-parse', '--short', 'HEAD']);
  const dirty = sh('git', ['status', '--porcelain', '--untracked-files=no']).length > 0;
  return {
    ours: `rocketmq-ts ${pkg.version} (${commit}${dirty ? ', uncommitted changes' : ''})`,
    node: process.version,
    java: sh('java', ['-version']).split('\n')[0] ?? 'unknown',
    apache: apacheCache ? readFileSync(join(apacheCache, 'VERSION'), 'utf8').trim() : '(not run)',
    loadGenerators: 'rocketmq-example 5.5.0 benchmark Producer/Consumer; LoadClient on rocketmq-client 5.5.0 + HdrHistogram 2.2.2',
  };
}

main().catch((e: unknown) => {
  process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
