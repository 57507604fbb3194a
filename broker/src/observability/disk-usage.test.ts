import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DiskUsageSampler, usedRatio, type FsStats } from './disk-usage.js';

describe('disk usage', () => {
  it('computes used / (used + available) like df', () => {
    // 100 blocks, 40 free of which 30 available to users: used 60 → 60 / 90.
    expect(usedRatio({ blocks: 100, bfree: 40, bavail: 30 })).toBeCloseTo(60 / 90);
    expect(usedRatio({ blocks: 0, bfree: 0, bavail: 0 })).toBeUndefined();
  });

  it('measures the nearest existing ancestor of a path that does not exist yet, and coalesces refreshes', async () => {
    const asked: string[] = [];
    const statfs = (p: string): Promise<FsStats> => {
      asked.push(p);
      if (p.includes('missing')) return Promise.reject(Object.assign(new Error('ENOENT'), { code: 'ENOENT' }));
      return Promise.resolve({ blocks: 10, bfree: 5, bavail: 5 });
    };
    const s = new DiskUsageSampler('/data/missing/commitlog', { statfs, minIntervalMs: 60_000 });
    expect(s.current()).toBeUndefined();
    const [a, b] = await Promise.all([s.refresh(), s.refresh()]);
    expect(a).toBe(0.5);
    expect(b).toBe(0.5);
    expect(asked).toEqual(['/data/missing/commitlog', '/data/missing', '/data']);
    await s.refresh(); // within minIntervalMs: served from the cache
    expect(asked).toHaveLength(3);
    expect(s.current()).toBe(0.5);
  });

  it('keeps the last value when statfs fails for another reason', async () => {
    let fail = false;
    const s = new DiskUsageSampler('/x', {
      minIntervalMs: 0,
      statfs: () => (fail ? Promise.reject(Object.assign(new Error('EIO'), { code: 'EIO' })) : Promise.resolve({ blocks: 4, bfree: 1, bavail: 1 })),
    });
    expect(await s.refresh()).toBe(0.75);
    fail = true;
    expect(await s.refresh()).toBe(0.75);
  });

  it('reads the real filesystem by default', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'disk-usage-'));
    try {
      const s = new DiskUsageSampler(join(dir, 'not-yet', 'commitlog'));
      const r = await s.start(60_000);
      s.stop();
      expect(r).toBeGreaterThanOrEqual(0);
      expect(r).toBeLessThanOrEqual(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
