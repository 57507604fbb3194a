// Parsers for the load generators' stdout: the official rocketmq-example benchmark Producer and
// Consumer (apache/rocketmq example/.../benchmark/{Producer,Consumer}.java, 5.5.0) and our
// LoadClient's JSON lines (bench/java).
import type { Bucket } from './stats.js';

/** `Current Time: … | Send TPS: N | Max RT(ms): N | Average RT(ms): x | Send Failed: N | Response Failed: N` */
export interface ProducerLine {
  kind: 'producer';
  complete: boolean;
  /** Only on the `[Complete]` line. */
  sendTotal?: number;
  /** Absent on the short `[Complete]` form printed when fewer than two 1 s snapshots exist. */
  tps?: number;
  maxRtMs?: number;
  avgRtMs?: number;
  sendFailed: number;
  responseFailed: number;
}

/** `Current Time: … | Consume TPS: N | AVG(B2C) RT(ms): x | AVG(S2C) RT(ms): x | MAX(B2C) RT(ms): N | MAX(S2C) RT(ms): N | Consume Fail: N` */
export interface ConsumerLine {
  kind: 'consumer';
  tps: number;
  avgB2cMs: number;
  avgS2cMs: number;
  maxB2cMs: number;
  maxS2cMs: number;
  consumeFail: number;
}

function num(fields: Map<string, string>, key: string): number | undefined {
  const v = fields.get(key);
  if (v === undefined) return undefined;
  const n = Number(v.trim());
  return Number.isFinite(n) ? n : undefined;
}

function fieldsOf(line: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of line.split('|')) {
    const i = part.indexOf(':');
    if (i < 0) continue;
    out.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  return out;
}

/** Parses one stdout line of the official benchmark Producer; undefined for other lines. */
export function parseProducerLine(line: string): ProducerLine | undefined {
  const t = line.trim();
  if (t.startsWith('[Complete] Send Total:') && !t.includes('|')) {
    // short form: "[Complete] Send Total: N Send Failed: N Response Failed: N"
    const m = /^\[Complete\] Send Total: (\d+) Send Failed: (\d+) Response Failed: (\d+)$/.exec(t);
    if (!m) return undefined;
    return { kind: 'producer', complete: true, sendTotal: Number(m[1]), sendFailed: Number(m[2]), responseFailed: Number(m[3]) };
  }
  const complete = t.startsWith('[Complete]');
  if (!complete && !t.startsWith('Current Time:')) return undefined;
  const f = fieldsOf(complete ? t.replace(/^\[Complete\]\s*/, '') : t);
  const tps = num(f, 'Send TPS');
  const sendFailed = num(f, 'Send Failed');
  const responseFailed = num(f, 'Response Failed');
  if (tps === undefined || sendFailed === undefined || responseFailed === undefined) return undefined;
  const out: ProducerLine = { kind: 'producer', complete, tps, sendFailed, responseFailed };
  const maxRt = num(f, 'Max RT(ms)');
  const avgRt = num(f, 'Average RT(ms)');
  if (maxRt !== undefined) out.maxRtMs = maxRt;
  if (avgRt !== undefined) out.avgRtMs = avgRt;
  if (complete) {
    const total = num(f, 'Send Total');
    if (total !== undefined) out.sendTotal = total;
  }
  return out;
}

/** Parses one stdout line of the official benchmark Consumer; undefined for other lines. */
export function parseConsumerLine(line: string): ConsumerLine | undefined {
  const t = line.trim();
  if (!t.startsWith('Current Time:') || !t.includes('Consume TPS')) return undefined;
  const f = fieldsOf(t);
  const vals = {
    tps: num(f, 'Consume TPS'),
    avgB2cMs: num(f, 'AVG(B2C) RT(ms)'),
    avgS2cMs: num(f, 'AVG(S2C) RT(ms)'),
    maxB2cMs: num(f, 'MAX(B2C) RT(ms)'),
    maxS2cMs: num(f, 'MAX(S2C) RT(ms)'),
    consumeFail: num(f, 'Consume Fail'),
  };
  for (const v of Object.values(vals)) if (v === undefined) return undefined;
  return { kind: 'consumer', ...(vals as Omit<ConsumerLine, 'kind'>) };
}

export interface HistSummary {
  count: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
  values: Bucket[];
}

export interface LoadPhase {
  event: 'phase';
  phase: string;
  ms: number;
}

export interface LoadPacedResult {
  event: 'result';
  mode: 'latency' | 'e2e';
  offeredRate: number;
  sent: number;
  sentMeasured: number;
  ok: number;
  notOk: number;
  failed: number;
  dropped: number;
  measureStartMs: number;
  measureEndMs: number;
  send: HistSummary;
  received?: number;
  receivedMeasured?: number;
  b2c?: HistSummary;
}

export interface LoadBacklogResult {
  event: 'result';
  mode: 'backlog';
  sent: number;
  ok: number;
  failed: number;
  expected: number;
  received: number;
  produceStartMs: number;
  produceEndMs: number;
  consumeStartMs: number;
  consumeEndMs: number;
}

export type LoadLine = LoadPhase | LoadPacedResult | LoadBacklogResult;

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkNumbers(o: Record<string, unknown>, keys: readonly string[], what: string): void {
  for (const k of keys) {
    if (typeof o[k] !== 'number' || !Number.isFinite(o[k])) throw new Error(`LoadClient ${what}: field ${k} is not a number`);
  }
}

function checkHist(v: unknown, what: string): HistSummary {
  if (!isObj(v)) throw new Error(`LoadClient ${what}: histogram missing`);
  checkNumbers(v, ['count', 'p50', 'p99', 'p999', 'max', 'mean'], what);
  const values = v.values;
  if (!Array.isArray(values)) throw new Error(`LoadClient ${what}: histogram values missing`);
  for (const b of values) {
    if (!Array.isArray(b) || b.length !== 2 || typeof b[0] !== 'number' || typeof b[1] !== 'number') throw new Error(`LoadClient ${what}: bad histogram bucket ${JSON.stringify(b)}`);
  }
  return v as unknown as HistSummary;
}

/** Parses one stdout line of LoadClient; undefined for non-JSON lines, throws on malformed JSON objects. */
export function parseLoadLine(line: string): LoadLine | undefined {
  const t = line.trim();
  if (!t.startsWith('{')) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(t);
  } catch {
    return undefined;
  }
  if (!isObj(v)) return undefined;
  if (v.event === 'phase') {
    if (typeof v.phase !== 'string') throw new Error('LoadClient phase: phase is not a string');
    checkNumbers(v, ['ms'], 'phase');
    return v as unknown as LoadPhase;
  }
  if (v.event !== 'result') return undefined;
  if (v.mode === 'backlog') {
    checkNumbers(v, ['sent', 'ok', 'failed', 'expected', 'received', 'produceStartMs', 'produceEndMs', 'consumeStartMs', 'consumeEndMs'], 'backlog');
    return v as unknown as LoadBacklogResult;
  }
  if (v.mode === 'latency' || v.mode === 'e2e') {
    checkNumbers(v, ['offeredRate', 'sent', 'sentMeasured', 'ok', 'notOk', 'failed', 'dropped', 'measureStartMs', 'measureEndMs'], v.mode);
    checkHist(v.send, `${v.mode} send`);
    if (v.mode === 'e2e') {
      checkNumbers(v, ['received', 'receivedMeasured'], 'e2e');
      checkHist(v.b2c, 'e2e b2c');
    }
    return v as unknown as LoadPacedResult;
  }
  throw new Error(`LoadClient result: unknown mode ${JSON.stringify(v.mode)}`);
}
