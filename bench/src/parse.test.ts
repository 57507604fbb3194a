import { describe, expect, it } from 'vitest';
import { parseConsumerLine, parseLoadLine, parseProducerLine } from './parse.js';
import { producerWindow } from './runner.js';

// Lines as printed by rocketmq-example 5.5.0 (Producer.doPrintStats, Consumer's printStats)
const PRODUCER = 'Current Time: 2026-11-22 04:40:33,120 | Send TPS: 1678 | Max RT(ms): 412 | Average RT(ms):  10.020 | Send Failed: 0 | Response Failed: 2';
const COMPLETE = '[Complete] Send Total: 2000 | Send TPS: 351 | Max RT(ms): 390 | Average RT(ms):  51.040 | Send Failed: 1 | Response Failed: 0';
const COMPLETE_SHORT = '[Complete] Send Total: 2000 Send Failed: 3 Response Failed: 0';
const CONSUMER = 'Current Time: 2026-11-22 04:40:33,120 | Consume TPS: 1500 | AVG(B2C) RT(ms):   3.250 | AVG(S2C) RT(ms):   2.125 | MAX(B2C) RT(ms): 88 | MAX(S2C) RT(ms): 80 | Consume Fail: 0';

describe('official Producer output', () => {
  it('parses the periodic report', () => {
    expect(parseProducerLine(PRODUCER)).toEqual({ kind: 'producer', complete: false, tps: 1678, maxRtMs: 412, avgRtMs: 10.02, sendFailed: 0, responseFailed: 2 });
  });

  it('parses both [Complete] forms', () => {
    expect(parseProducerLine(COMPLETE)).toMatchObject({ complete: true, sendTotal: 2000, tps: 351, avgRtMs: 51.04, sendFailed: 1 });
    expect(parseProducerLine(COMPLETE_SHORT)).toEqual({ kind: 'producer', complete: true, sendTotal: 2000, sendFailed: 3, responseFailed: 0 });
  });

  it('ignores other lines and the consumer report', () => {
    expect(parseProducerLine('topic: T, threadCount: 16, messageSize: 1024')).toBeUndefined();
    expect(parseProducerLine(CONSUMER)).toBeUndefined();
    expect(parseProducerLine('Current Time: x | Send TPS: abc | Send Failed: 0 | Response Failed: 0')).toBeUndefined();
  });

  it('takes the last periodic report as a 9 s window ending when the line arrived', () => {
    const w = producerWindow({ lines: [[100, 'topic: T'], [11_000, PRODUCER.replace('1678', '1000')], [12_000, PRODUCER], [12_500, 'noise']], exitCode: null, startedMs: 0, endedMs: 13_000 });
    expect(w).toMatchObject({ tps: 1678, t0: 3000, t1: 12_000 });
    expect(w!.msgs).toBeCloseTo(1678 * 9);
  });

  it('falls back to the [Complete] total for short runs', () => {
    const w = producerWindow({ lines: [[1000, 'topic: T'], [3000, COMPLETE_SHORT]], exitCode: 0, startedMs: 0, endedMs: 3100 });
    expect(w).toMatchObject({ msgs: 1997, t0: 1000, t1: 3000, tps: 998.5 });
    expect(producerWindow({ lines: [[1, 'nothing']], exitCode: 1, startedMs: 0, endedMs: 2 })).toBeUndefined();
  });
});

describe('official Consumer output', () => {
  it('parses the periodic report', () => {
    expect(parseConsumerLine(CONSUMER)).toEqual({ kind: 'consumer', tps: 1500, avgB2cMs: 3.25, avgS2cMs: 2.125, maxB2cMs: 88, maxS2cMs: 80, consumeFail: 0 });
    expect(parseConsumerLine('Consumer Started.')).toBeUndefined();
    expect(parseConsumerLine(PRODUCER)).toBeUndefined();
  });
});

describe('LoadClient output', () => {
  const hist = { count: 3, p50: 10, p99: 30, p999: 30, max: 30, mean: 16.7, values: [[10, 2], [30, 1]] };

  it('parses phases and results', () => {
    expect(parseLoadLine('{"event":"phase","phase":"measure-start","ms":123}')).toEqual({ event: 'phase', phase: 'measure-start', ms: 123 });
    const lat = { event: 'result', mode: 'latency', offeredRate: 100, sent: 5, sentMeasured: 3, ok: 5, notOk: 0, failed: 0, dropped: 0, measureStartMs: 1, measureEndMs: 2, send: hist };
    expect(parseLoadLine(JSON.stringify(lat))).toEqual(lat);
    const e2e = { ...lat, mode: 'e2e', received: 5, receivedMeasured: 3, b2c: hist };
    expect(parseLoadLine(JSON.stringify(e2e))).toEqual(e2e);
    const bl = { event: 'result', mode: 'backlog', sent: 10, ok: 10, failed: 0, expected: 11, received: 11, produceStartMs: 1, produceEndMs: 2, consumeStartMs: 3, consumeEndMs: 4 };
    expect(parseLoadLine(JSON.stringify(bl))).toEqual(bl);
  });

  it('skips log noise and rejects malformed results', () => {
    expect(parseLoadLine('WARN something')).toBeUndefined();
    expect(parseLoadLine('{not json')).toBeUndefined();
    expect(() => parseLoadLine('{"event":"result","mode":"latency","sent":1}')).toThrow(/offeredRate/);
    expect(() => parseLoadLine('{"event":"result","mode":"other"}')).toThrow(/unknown mode/);
    const bad = { event: 'result', mode: 'e2e', offeredRate: 1, sent: 1, sentMeasured: 1, ok: 1, notOk: 0, failed: 0, dropped: 0, measureStartMs: 1, measureEndMs: 2, send: hist, received: 1, receivedMeasured: 1, b2c: { ...hist, values: [[1]] } };
    expect(() => parseLoadLine(JSON.stringify(bad))).toThrow(/bad histogram bucket/);
  });
});
