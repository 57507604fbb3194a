import { describe, expect, it } from 'vitest';
import { CASES } from './cases.js';
import { formatResults, renderMarkdown, renderSvg, summarize, validated, type BenchResults, type StartResult } from './report.js';
import type { CaseResult } from './runner.js';

const pick = (ids: string[]) => CASES.filter((c) => ids.includes(c.id));

function start(impl: 'java' | 'ours', run: number, readyMs: number, rssMiB: number): StartResult {
  return { group: 'async', impl, run, namesrvReadyMs: readyMs - 100, brokerReadyMs: readyMs, brokerRegisteredMs: readyMs + 20, idleRss: { namesrv: rssMiB * 2 ** 19, broker: rssMiB * 2 ** 19 }, hwmEnd: {} };
}

function results(): BenchResults {
  const r: CaseResult[] = [];
  const tput = { java: [1000, 1200, 900], ours: [2000, 1800, 2700] };
  const cpu = { java: [400, 380, 420], ours: [100, 250, 120] };
  for (const impl of ['java', 'ours'] as const) {
    for (let run = 1; run <= 3; run++) {
      r.push({ case: 'async-1k-w16', impl, run, ok: true, msgsPerSec: tput[impl][run - 1], mbPerSec: tput[impl][run - 1]! / 1000, cpuSecPerMMsgs: cpu[impl][run - 1], peakRssBytes: 2 ** 27, failures: 0 });
      const slow = impl === 'java' ? 10 : 1;
      r.push({ case: 'latency-1k', impl, run, ok: true, msgsPerSec: 500, offeredRate: 500, sendP99Us: 2000 * slow, sendHist: [[1000 * slow, 98], [2000 * slow, 1], [9000 * slow, 1]], failures: 0 });
    }
  }
  r.push({ case: 'syncflush-1k-w16', impl: 'java', run: 1, ok: true, msgsPerSec: 800 });
  r.push({ case: 'syncflush-1k-w16', impl: 'ours', run: 1, ok: false, error: 'no TPS line | broken' });
  return {
    schema: 1,
    mode: 'full',
    startedAt: '2026-11-22T05:00:00Z',
    finishedAt: '2026-11-22T05:30:00Z',
    settings: { runs: 3, impls: ['java', 'ours'], heap: { namesrvHeap: '256m', brokerHeap: '2g', brokerDirectMem: '2g' } },
    machine: { cpuModel: 'AMD EPYC <test>', logicalCpus: 2, memTotalBytes: 24 * 2 ** 30, kernel: '6.18', free: '' },
    versions: { ours: 'rocketmq-ts 0.1.0', node: 'v20', java: 'openjdk 17', apache: '5.5.0', loadGenerators: 'x' },
    loadavg: [{ ms: 1, load1: 6, load5: 1, load15: 1 }, { ms: 2, load1: 1, load5: 1, load15: 1 }],
    brokerConf: { java: 'brokerName=broker-a\n', ours: 'brokerName=broker-a\n' },
    cases: pick(['async-1k-w16', 'latency-1k', 'syncflush-1k-w16']),
    starts: [start('java', 1, 4000, 800), start('ours', 1, 300, 120), start('java', 2, 5000, 700), start('ours', 2, 600, 140)],
    results: r,
  };
}

describe('summarize', () => {
  const sum = summarize(results());
  const c = (id: string) => sum.cases.find((x) => x.def.id === id)!;

  it('takes medians and spreads per implementation', () => {
    expect(c('async-1k-w16').impls.java!.metrics.msgsPerSec).toMatchObject({ median: 1000, min: 900, max: 1200, n: 3 });
    expect(c('async-1k-w16').impls.ours!.metrics.msgsPerSec!.median).toBe(2000);
  });

  it('computes ours/Java ratios pair by pair (same run), not as a ratio of medians', () => {
    // pairs: 2000/1000=2, 1800/1200=1.5, 2700/900=3
    expect(c('async-1k-w16').ratios.msgsPerSec).toMatchObject({ median: 2, min: 1.5, max: 3, n: 3 });
    // CPU pairs: 100/400, 250/380, 120/420 -> median 120/420
    expect(c('async-1k-w16').ratios.cpuSecPerMMsgs!.median).toBeCloseTo(120 / 420);
  });

  it('merges latency histograms across runs', () => {
    expect(c('latency-1k').impls.ours!.merged.sendP99Us).toBe(2000);
    expect(c('latency-1k').impls.ours!.merged.sendP999Us).toBe(9000);
    expect(c('latency-1k').impls.java!.merged.sendP50Us).toBe(10_000);
  });

  it('counts failed runs and keeps their errors', () => {
    expect(c('syncflush-1k-w16').impls.ours).toMatchObject({ ok: 0, failed: 1, errors: ['no TPS line | broken'] });
    expect(c('syncflush-1k-w16').ratios.msgsPerSec).toBeUndefined();
  });

  it('reports targets as met, not met or not measured', () => {
    const t = (prefix: string) => sum.targets.find((x) => x.name.startsWith(prefix))!;
    expect(t('Produce throughput, 1 KiB async').met).toBe(true);
    expect(t('Produce throughput, 1 KiB SYNC_FLUSH').met).toBeUndefined();
    expect(t('p99 send latency').met).toBe(true);
    expect(t('CPU per message').met).toBe(true);
    // idle RSS pairs: 120/800, 140/700 -> median 0.175
    expect(sum.startupRatios.idleRssBytes!.median).toBeCloseTo(0.175);
    expect(t('Idle RSS').met).toBe(true);
    // ours broker ready: 300, 600 -> median 450
    expect(t('Ready to serve').met).toBe(true);
    expect(t('Ready to serve').measured).toContain('450 ms');
  });
});

describe('formatResults', () => {
  it('writes JSON that parses back to the same results, one line per case result', () => {
    const r = results();
    const text = formatResults(r);
    expect(JSON.parse(text)).toEqual(r);
    expect(text.split('\n').filter((l) => l.includes('"case":')).length).toBe(r.results.length);
  });
});

describe('validated', () => {
  it('turns an e2e run whose consumer got nothing into a failed run', () => {
    const def = CASES.find((c) => c.id === 'e2e-1k')!;
    const r: CaseResult = { case: 'e2e-1k', impl: 'java', run: 3, ok: true, sendHist: [[10, 5]], b2cHist: [] };
    expect(validated(r, def)).toMatchObject({ ok: false, error: expect.stringContaining('received no measured message') });
    expect(validated({ ...r, b2cHist: [[20, 5]] }, def).ok).toBe(true);
    const lat = CASES.find((c) => c.id === 'latency-1k')!;
    expect(validated({ case: 'latency-1k', impl: 'ours', run: 1, ok: true, sendHist: [] }, lat).ok).toBe(false);
  });
});

describe('rendering', () => {
  const res = results();
  const sum = summarize(res);

  it('writes the tables, the targets, the busy-machine note and the failures', () => {
    const md = renderMarkdown(res, sum, { resultsFile: '../bench/results/x.json', svgFile: 'benchmarks-chart.svg' });
    expect(md).toContain('| Produce throughput, 1 KiB async flush (async-1k-w16) | ours/Java ≥ 1.5× | 2.00× (runs 1.50–3.00, n=3) | met |');
    expect(md).toContain('**The machine was shared and busy during this run**');
    // The run's own load does not make a machine busy: only what was there at the start.
    const quiet = { ...res, loadavg: [{ ms: 1, load1: 0.2, load5: 0, load15: 0 }, { ms: 2, load1: 9, load5: 1, load15: 1 }] };
    expect(renderMarkdown(quiet, summarize(quiet), { resultsFile: 'x.json', svgFile: 'c.svg' })).not.toContain('shared and busy');
    expect(md).toContain('2 × AMD EPYC <test>');
    expect(md).toContain('![ours/Java ratios per case](benchmarks-chart.svg)');
    expect(md).toMatch(/\| `async-1k-w16` .* \| java \| 1,000 <sub>900–1,200<\/sub> \|/);
    expect(md).toContain('- `syncflush-1k-w16` ours run 1: no TPS line \\| broken');
    expect(md).toContain('```properties\nbrokerName=broker-a\n```');
  });

  it('draws one bar per case with a ratio, escapes text, and closes every element', () => {
    const svg = renderSvg(sum);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    // throughput panel: async-1k-w16 only (latency-1k runs at a fixed rate); CPU panel: async-1k-w16
    expect((svg.match(/<rect [^>]*fill="#4e79a7"/g) ?? []).length).toBe(2);
    expect(svg).toContain('target 1.5×');
    expect(svg).not.toMatch(/<text[^>]*>[^<]*[<>&][^<]*<\/text>/);
    const opened = (svg.match(/<text\b/g) ?? []).length;
    expect((svg.match(/<\/text>/g) ?? []).length).toBe(opened);
  });

  it('charts absolute numbers when only one implementation ran', () => {
    const single = { ...res, settings: { ...res.settings, impls: ['ours' as const] }, results: res.results.filter((r) => r.impl === 'ours'), starts: res.starts.filter((s) => s.impl === 'ours') };
    const s = summarize(single);
    expect(s.targets.find((t) => t.name.startsWith('CPU'))!.met).toBeUndefined();
    const svg = renderSvg(s);
    expect(svg).toContain('ours: msgs/s');
    expect(svg).toContain('2,000');
  });
});
