import { describe, expect, it } from 'vitest';
import { CappedSeries, CappedSeries2, Exposition, formatValue, Histogram, OTHER_LABEL_VALUE } from './prometheus.js';

describe('Prometheus exposition', () => {
  it('writes HELP/TYPE once per family, labels escaped, special values spelled as Prometheus does', () => {
    const text = new Exposition()
      .counter('x_total', 'Things.\nCounted \\ here.', [
        [[['topic', 'a"b\\c\nd']], 3],
        [[['topic', 'plain'], ['group', 'g']], 1.5],
      ])
      .gauge('y', 'A gauge.', 7)
      .gauge('unknown', 'No sample.', undefined)
      .text();
    expect(text).toBe(
      [
        '# HELP x_total Things.\\nCounted \\\\ here.',
        '# TYPE x_total counter',
        'x_total{topic="a\\"b\\\\c\\nd"} 3',
        'x_total{topic="plain",group="g"} 1.5',
        '# HELP y A gauge.',
        '# TYPE y gauge',
        'y 7',
        '# HELP unknown No sample.',
        '# TYPE unknown gauge',
        '',
      ].join('\n'),
    );
    expect([formatValue(NaN), formatValue(Infinity), formatValue(-Infinity), formatValue(0.25)]).toEqual(['NaN', '+Inf', '-Inf', '0.25']);
  });

  it('histograms are cumulative with le bounds, +Inf, _sum and _count', () => {
    const h = new Histogram([0.1, 1, 0.01]);
    for (const v of [0.005, 0.01, 0.5, 2, 0.05]) h.observe(v);
    expect(h.bounds).toEqual([0.01, 0.1, 1]);
    expect(h.cumulative()).toEqual([2, 3, 4, 5]);
    const text = new Exposition().histogram('lat_seconds', 'Latency.', h).text();
    expect(text).toContain('lat_seconds_bucket{le="0.01"} 2\n');
    expect(text).toContain('lat_seconds_bucket{le="0.1"} 3\n');
    expect(text).toContain('lat_seconds_bucket{le="1"} 4\n');
    expect(text).toContain('lat_seconds_bucket{le="+Inf"} 5\n');
    expect(text).toContain(`lat_seconds_sum ${0.005 + 0.01 + 0.5 + 2 + 0.05}\n`);
    expect(text).toContain('lat_seconds_count 5\n');
    expect(text).toContain('# TYPE lat_seconds histogram\n');
  });

  it('caps label sets: the overflow is summed into "(other)", existing series keep counting', () => {
    const one = new CappedSeries(2, () => ({ n: 0 }));
    one.get('a').n++;
    one.get('b').n++;
    one.get('c').n++;
    one.get('d').n += 2;
    one.get('a').n++;
    expect([...one.entries()].map(([k, v]) => [k, v.n])).toEqual([['a', 2], ['b', 1], [OTHER_LABEL_VALUE, 3]]);
    expect(one.size).toBe(3);

    const two = new CappedSeries2(3, () => ({ n: 0 }));
    for (const [t, g] of [['t1', 'g1'], ['t1', 'g2'], ['t2', 'g1'], ['t2', 'g2'], ['t3', 'g9'], ['t1', 'g1']] as const) two.get(t, g).n++;
    expect([...two.entries()].map(([a, b, v]) => [a, b, v.n])).toEqual([
      ['t1', 'g1', 2],
      ['t1', 'g2', 1],
      ['t2', 'g1', 1],
      [OTHER_LABEL_VALUE, OTHER_LABEL_VALUE, 2],
    ]);
    // The same object is returned for a known series: no allocation on the hot path.
    expect(two.get('t1', 'g1')).toBe(two.get('t1', 'g1'));
  });
});
