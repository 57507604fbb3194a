// Pure statistics for the bench harness: medians and spreads over repeated runs, and
// percentiles over merged latency histograms (HdrHistogram recorded values, [valueUs, count]).

/** One histogram bucket: every value in it is at most `value`; `count` values fell in it. */
export type Bucket = readonly [value: number, count: number];

export interface Spread {
  median: number;
  min: number;
  max: number;
  /** (max - min) / median, 0 for a single run; NaN when the median is 0. */
  relSpread: number;
  n: number;
}

/** Median of finite numbers (mean of the middle two for an even count); undefined when empty. */
export function median(values: readonly number[]): number | undefined {
  const xs = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (xs.length === 0) return undefined;
  const mid = xs.length >> 1;
  return xs.length % 2 === 1 ? xs[mid]! : (xs[mid - 1]! + xs[mid]!) / 2;
}

/** Median, min, max and relative spread of the finite values; undefined when none. */
export function spread(values: readonly number[]): Spread | undefined {
  const xs = values.filter((v) => Number.isFinite(v));
  const m = median(xs);
  if (m === undefined) return undefined;
  const min = Math.min(...xs);
  const max = Math.max(...xs);
  return { median: m, min, max, relSpread: xs.length < 2 ? 0 : m === 0 ? Number.NaN : (max - min) / m, n: xs.length };
}

/** Sums histograms bucket by bucket (buckets with equal values are one bucket), sorted by value. */
export function mergeHistograms(hists: readonly (readonly Bucket[])[]): Bucket[] {
  const acc = new Map<number, number>();
  for (const h of hists) {
    for (const [v, c] of h) {
      if (!Number.isFinite(v) || !Number.isFinite(c) || c < 0) throw new Error(`bad histogram bucket [${v}, ${c}]`);
      if (c > 0) acc.set(v, (acc.get(v) ?? 0) + c);
    }
  }
  return [...acc.entries()].sort((a, b) => a[0] - b[0]);
}

export function histogramCount(h: readonly Bucket[]): number {
  let n = 0;
  for (const [, c] of h) n += c;
  return n;
}

/**
 * The value at percentile p (0 < p <= 100), HdrHistogram's way: the smallest bucket value such
 * that at least ceil(p/100 * total) values are at or below it. Undefined for an empty histogram.
 */
export function percentile(h: readonly Bucket[], p: number): number | undefined {
  if (!(p > 0 && p <= 100)) throw new Error(`percentile must be in (0, 100], got ${p}`);
  const total = histogramCount(h);
  if (total === 0) return undefined;
  const sorted = [...h].sort((a, b) => a[0] - b[0]);
  const rank = Math.max(1, Math.ceil((p / 100) * total));
  let seen = 0;
  for (const [v, c] of sorted) {
    seen += c;
    if (seen >= rank) return v;
  }
  return sorted[sorted.length - 1]![0];
}

/** Linear interpolation of a monotone counter sampled at times (ms) at time t, clamped to the ends. */
export function interpolate(samples: readonly (readonly [ms: number, value: number])[], t: number): number | undefined {
  if (samples.length === 0) return undefined;
  const first = samples[0]!;
  const last = samples[samples.length - 1]!;
  if (t <= first[0]) return first[1];
  if (t >= last[0]) return last[1];
  let lo = 0;
  let hi = samples.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (samples[mid]![0] <= t) lo = mid;
    else hi = mid;
  }
  const [t0, v0] = samples[lo]!;
  const [t1, v1] = samples[hi]!;
  return t1 === t0 ? v1 : v0 + ((v1 - v0) * (t - t0)) / (t1 - t0);
}

/** Increase of a sampled counter over [t0, t1]; undefined when there are no samples. */
export function delta(samples: readonly (readonly [number, number])[], t0: number, t1: number): number | undefined {
  const a = interpolate(samples, t0);
  const b = interpolate(samples, t1);
  return a === undefined || b === undefined ? undefined : b - a;
}

/** Pairwise ratios a[i] / b[i] where both are finite and b[i] != 0. */
export function pairRatios(a: readonly (number | undefined)[], b: readonly (number | undefined)[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x !== undefined && y !== undefined && Number.isFinite(x) && Number.isFinite(y) && y !== 0) out.push(x / y);
  }
  return out;
}
