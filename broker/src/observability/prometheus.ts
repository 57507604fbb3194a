// Prometheus text exposition (format 0.0.4), written by hand: a few metric families do not need
// a client library, and owning the hot path keeps it to a Map lookup and a number increment per
// request (no label-key strings built per observation, no allocation once a series exists).

/** Content-Type of the text exposition format. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Label value used once a capped table is full: later label sets are summed into it. */
export const OTHER_LABEL_VALUE = '(other)';

/** Request latency buckets, in seconds (0.5 ms … 10 s). */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export type LabelPairs = ReadonlyArray<readonly [string, string]>;

function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function formatLabels(labels: LabelPairs | undefined): string {
  if (!labels || labels.length === 0) return '';
  return `{${labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}`;
}

/** Fixed-bucket histogram; observe() scans ≤ 15 bounds and bumps two numbers. */
export class Histogram {
  readonly bounds: readonly number[];
  /** Per-bucket counts (not cumulative); the last slot is +Inf. */
  readonly #counts: Float64Array;
  #sum = 0;
  #count = 0;

  constructor(bounds: readonly number[] = LATENCY_BUCKETS_SECONDS) {
    this.bounds = [...bounds].sort((a, b) => a - b);
    this.#counts = new Float64Array(this.bounds.length + 1);
  }

  observe(value: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > b[i]!) i++;
    this.#counts[i]!++;
    this.#sum += value;
    this.#count++;
  }

  get count(): number {
    return this.#count;
  }

  get sum(): number {
    return this.#sum;
  }

  /** Cumulative counts per bound, then +Inf (= count). */
  cumulative(): number[] {
    const out: number[] = [];
    let acc = 0;
    for (const c of this.#counts) out.push((acc += c));
    return out;
  }
}

/** Series keyed by one label value, at most `max` of them; the rest share OTHER_LABEL_VALUE. */
export class CappedSeries<T> {
  readonly #map = new Map<string, T>();
  readonly #max: number;
  readonly #create: () => T;
  #other: T | undefined;

  constructor(max: number, create: () => T) {
    this.#max = max;
    this.#create = create;
  }

  get(key: string): T {
    const found = this.#map.get(key);
    if (found !== undefined) return found;
    if (this.#map.size >= this.#max) return (this.#other ??= this.#create());
    const created = this.#create();
    this.#map.set(key, created);
    return created;
  }

  get size(): number {
    return this.#map.size + (this.#other ? 1 : 0);
  }

  *entries(): IterableIterator<[string, T]> {
    yield* this.#map;
    if (this.#other) yield [OTHER_LABEL_VALUE, this.#other];
  }
}

/** Series keyed by two label values (nested maps: no key string built per lookup), capped in total. */
export class CappedSeries2<T> {
  readonly #map = new Map<string, Map<string, T>>();
  readonly #max: number;
  readonly #create: () => T;
  #size = 0;
  #other: T | undefined;

  constructor(max: number, create: () => T) {
    this.#max = max;
    this.#create = create;
  }

  get(a: string, b: string): T {
    let inner = this.#map.get(a);
    const found = inner?.get(b);
    if (found !== undefined) return found;
    if (this.#size >= this.#max) return (this.#other ??= this.#create());
    if (!inner) this.#map.set(a, (inner = new Map<string, T>()));
    const created = this.#create();
    inner.set(b, created);
    this.#size++;
    return created;
  }

  get size(): number {
    return this.#size + (this.#other ? 1 : 0);
  }

  *entries(): IterableIterator<[string, string, T]> {
    for (const [a, inner] of this.#map) for (const [b, v] of inner) yield [a, b, v];
    if (this.#other) yield [OTHER_LABEL_VALUE, OTHER_LABEL_VALUE, this.#other];
  }
}

export type Sample = readonly [labels: LabelPairs | undefined, value: number];

/** Accumulates metric families into one exposition text. */
export class Exposition {
  readonly #lines: string[] = [];

  #family(name: string, type: 'counter' | 'gauge' | 'histogram', help: string): void {
    this.#lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
  }

  #samples(name: string, samples: number | Iterable<Sample>): void {
    if (typeof samples === 'number') {
      this.#lines.push(`${name} ${formatValue(samples)}`);
      return;
    }
    for (const [labels, value] of samples) this.#lines.push(`${name}${formatLabels(labels)} ${formatValue(value)}`);
  }

  /** A counter family; `name` carries its `_total` suffix. */
  counter(name: string, help: string, samples: number | Iterable<Sample>): this {
    this.#family(name, 'counter', help);
    this.#samples(name, samples);
    return this;
  }

  /** A gauge family; an undefined value writes the family with no sample (value unknown). */
  gauge(name: string, help: string, samples: number | undefined | Iterable<Sample>): this {
    this.#family(name, 'gauge', help);
    if (samples !== undefined) this.#samples(name, samples);
    return this;
  }

  histogram(name: string, help: string, h: Histogram, labels?: LabelPairs): this {
    this.#family(name, 'histogram', help);
    const cumulative = h.cumulative();
    const base = labels ?? [];
    h.bounds.forEach((bound, i) => {
      this.#lines.push(`${name}_bucket${formatLabels([...base, ['le', formatValue(bound)]])} ${formatValue(cumulative[i]!)}`);
    });
    this.#lines.push(`${name}_bucket${formatLabels([...base, ['le', '+Inf']])} ${formatValue(h.count)}`);
    this.#lines.push(`${name}_sum${formatLabels(base)} ${formatValue(h.sum)}`);
    this.#lines.push(`${name}_count${formatLabels(base)} ${formatValue(h.count)}`);
    return this;
  }

  text(): string {
    return this.#lines.length === 0 ? '' : `${this.#lines.join('\n')}\n`;
  }
}
