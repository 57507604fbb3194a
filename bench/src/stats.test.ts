import { describe, expect, it } from 'vitest';
import { delta, histogramCount, interpolate, median, mergeHistograms, pairRatios, percentile, spread, type Bucket } from './stats.js';

describe('median / spread', () => {
  it('takes the middle value, or the mean of the middle two', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeUndefined();
    expect(median([Number.NaN, 5])).toBe(5);
  });

  it('reports min, max and the spread relative to the median', () => {
    expect(spread([10, 12, 8])).toEqual({ median: 10, min: 8, max: 12, relSpread: 0.4, n: 3 });
    expect(spread([7])).toEqual({ median: 7, min: 7, max: 7, relSpread: 0, n: 1 });
    expect(spread([Number.NaN])).toBeUndefined();
    expect(spread([0, 0])?.relSpread).toBeNaN();
  });

  it('pairs ratios by index and skips missing or zero denominators', () => {
    expect(pairRatios([10, 20, undefined, 5], [5, 0, 4, 10])).toEqual([2, 0.5]);
  });
});

describe('histogram merge and percentiles', () => {
  const a: Bucket[] = [[100, 50], [200, 40], [1000, 10]];
  const b: Bucket[] = [[100, 50], [300, 49], [5000, 1]];

  it('sums equal buckets and sorts by value', () => {
    expect(mergeHistograms([a, b])).toEqual([[100, 100], [200, 40], [300, 49], [1000, 10], [5000, 1]]);
    expect(histogramCount(mergeHistograms([a, b]))).toBe(200);
  });

  it('finds the smallest value covering the rank, like HdrHistogram', () => {
    expect(percentile(a, 50)).toBe(100);
    expect(percentile(a, 51)).toBe(200);
    expect(percentile(a, 90)).toBe(200);
    expect(percentile(a, 90.0001)).toBe(1000);
    expect(percentile(a, 100)).toBe(1000);
    const m = mergeHistograms([a, b]);
    expect(percentile(m, 99)).toBe(1000);
    expect(percentile(m, 99.9)).toBe(5000);
    expect(percentile([], 99)).toBeUndefined();
  });

  it('merging runs gives the percentile of all samples, not the mean of percentiles', () => {
    const fast: Bucket[] = [[1, 99], [2, 1]];
    const slow: Bucket[] = [[50, 100]];
    expect(percentile(mergeHistograms([fast, slow]), 50)).toBe(2);
    expect(percentile(mergeHistograms([fast, slow]), 50.5)).toBe(50);
  });

  it('rejects bad buckets and bad percentiles', () => {
    expect(() => mergeHistograms([[[1, -1]]])).toThrow(/bad histogram bucket/);
    expect(() => percentile(a, 0)).toThrow(/percentile/);
    expect(() => percentile(a, 101)).toThrow(/percentile/);
  });
});

describe('sampled counters', () => {
  const s: Array<[number, number]> = [[1000, 0], [2000, 10], [3000, 10], [4000, 40]];

  it('interpolates linearly and clamps at the ends', () => {
    expect(interpolate(s, 1500)).toBe(5);
    expect(interpolate(s, 3500)).toBe(25);
    expect(interpolate(s, 0)).toBe(0);
    expect(interpolate(s, 9999)).toBe(40);
    expect(interpolate([], 1)).toBeUndefined();
  });

  it('gives the increase over a window', () => {
    expect(delta(s, 1500, 3500)).toBe(20);
    expect(delta(s, 2000, 3000)).toBe(0);
  });
});
