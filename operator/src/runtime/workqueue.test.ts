import { afterEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../../broker/src/common/logger.js';
import { KubeApiError } from './kube.js';
import { TerminalError, WorkQueue, type ReconcileResult, type WorkQueueOptions } from './workqueue.js';

function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: Error) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

const flush = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

/** A queue whose handler rejects its first `failures` passes with `error()`; `ranAt` gets each pass's time since creation. */
function failingQueue(failures: number, error: () => Error, opts: WorkQueueOptions): { q: WorkQueue; ranAt: number[] } {
  const ranAt: number[] = [];
  const start = Date.now();
  let left = failures;
  const q = new WorkQueue('t', () => {
    ranAt.push(Date.now() - start);
    return left-- > 0 ? Promise.reject(error()) : Promise.resolve();
  }, silentLogger(), opts);
  return { q, ranAt };
}

describe('WorkQueue', () => {
  afterEach(() => vi.useRealTimers());

  it('de-duplicates a key added many times while it waits', async () => {
    const seen: string[] = [];
    const gate = deferred();
    const q = new WorkQueue('t', async (k) => {
      seen.push(k);
      if (k === 'block') await gate.promise;
    }, silentLogger(), { concurrency: 1 });
    q.add('block');
    for (let i = 0; i < 5; i++) q.add('a');
    q.add('b');
    q.add('a');
    expect(q.stats().depth).toBe(2);
    gate.resolve();
    await q.whenIdle();
    expect(seen).toEqual(['block', 'a', 'b']);
  });

  it('never processes one key twice at once; an add during processing runs it once more afterwards', async () => {
    let running = 0;
    let maxRunning = 0;
    const gates = [deferred(), deferred()];
    let calls = 0;
    const q = new WorkQueue('t', async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await gates[calls++]!.promise;
      running--;
    }, silentLogger(), { concurrency: 4 });
    q.add('x');
    await flush();
    q.add('x');
    q.add('x');
    await flush();
    expect(calls).toBe(1);
    gates[0]!.resolve();
    await flush();
    expect(calls).toBe(2);
    gates[1]!.resolve();
    await q.whenIdle();
    expect(maxRunning).toBe(1);
    expect(q.stats().processed).toBe(2);
  });

  it('runs different keys in parallel up to the concurrency', async () => {
    let running = 0;
    let maxRunning = 0;
    const gate = deferred();
    const q = new WorkQueue('t', async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await gate.promise;
      running--;
    }, silentLogger(), { concurrency: 2 });
    for (const k of ['a', 'b', 'c']) q.add(k);
    await flush();
    expect(running).toBe(2);
    gate.resolve();
    await q.whenIdle();
    expect(maxRunning).toBe(2);
  });

  it('backs off exponentially per key on errors, capped, and forgets after a success', async () => {
    vi.useFakeTimers();
    const { q, ranAt } = failingQueue(4, () => new Error('boom'), { backoffBaseMs: 100, backoffMaxMs: 300 });
    q.add('k');
    await vi.advanceTimersByTimeAsync(2_000);
    expect(ranAt).toEqual([0, 100, 300, 600, 900]);
    expect(q.stats().retries).toBe(4);
    expect(q.backoffMs('k')).toBe(100);
    await q.stop();
  });

  it('requeues a 409 Conflict soon without counting a failure', async () => {
    vi.useFakeTimers();
    const { q, ranAt } = failingQueue(2, () => new KubeApiError(409, 'Conflict', 'modified'), { conflictDelayMs: 50, backoffBaseMs: 1000 });
    q.add('k');
    await vi.advanceTimersByTimeAsync(500);
    expect(ranAt).toEqual([0, 50, 100]);
    expect(q.stats()).toMatchObject({ conflicts: 2, retries: 0, errors: 0 });
    await q.stop();
  });

  it('does not retry a TerminalError, and honours requeueAfterMs', async () => {
    vi.useFakeTimers();
    const seen: string[] = [];
    const q = new WorkQueue('t', (k): Promise<ReconcileResult> => {
      seen.push(`${k}@${Date.now()}`);
      if (k === 'bad') return Promise.reject(new TerminalError('invalid'));
      return Promise.resolve(seen.length < 3 ? { requeueAfterMs: 1000 } : {});
    }, silentLogger());
    const start = Date.now();
    q.add('bad');
    q.add('later');
    await vi.advanceTimersByTimeAsync(5_000);
    expect(seen).toEqual([`bad@${start}`, `later@${start}`, `later@${start + 1000}`]);
    await q.stop();
  });

  it('an add replaces a pending timer; addAfter keeps the earliest', async () => {
    vi.useFakeTimers();
    const seen: number[] = [];
    const start = Date.now();
    const q = new WorkQueue('t', () => {
      seen.push(Date.now() - start);
      return Promise.resolve();
    }, silentLogger());
    q.addAfter('k', 1000);
    q.addAfter('k', 300);
    q.addAfter('k', 2000);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(seen).toEqual([300]);
    q.addAfter('k', 1000);
    q.add('k');
    await vi.advanceTimersByTimeAsync(5_000);
    // Ran at once (t=5000); the 1000 ms timer was dropped, so no second pass at 6000.
    expect(seen).toEqual([300, 5000]);
    await q.stop();
  });
});
