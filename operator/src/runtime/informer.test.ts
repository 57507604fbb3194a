import type { KubernetesObject } from '@kubernetes/client-node';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../../broker/src/common/logger.js';
import { Informer, type ListWatcher } from './informer.js';
import { KubeApiError, type ListResult, type WatchEvent, type WatchHandle } from './kube.js';

const obj = (name: string, rv: string): KubernetesObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'ns', resourceVersion: rv } });

/** A controllable API: each list returns `items` at `rv`; each watch is recorded and driven by the test. */
class FakeLW implements ListWatcher<KubernetesObject> {
  items: KubernetesObject[] = [];
  rv = '1';
  listCalls = 0;
  listError: Error | undefined;
  readonly watches: Array<{ rv: string; emit: (e: WatchEvent<KubernetesObject>) => void; end: (err?: Error) => void; aborted: boolean }> = [];

  list(): Promise<ListResult<KubernetesObject>> {
    this.listCalls++;
    if (this.listError) return Promise.reject(this.listError);
    return Promise.resolve({ items: this.items.map((i) => structuredClone(i)), resourceVersion: this.rv });
  }

  watch(rv: string, onEvent: (e: WatchEvent<KubernetesObject>) => void): WatchHandle {
    let resolve!: () => void;
    let reject!: (e: Error) => void;
    const done = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
    const w = { rv, emit: onEvent, end: (err?: Error) => (err ? reject(err) : resolve()), aborted: false };
    this.watches.push(w);
    return {
      done,
      abort: () => {
        w.aborted = true;
        resolve();
      },
    };
  }

  get last() {
    return this.watches[this.watches.length - 1]!;
  }
}

function setup(opts: { watchdogMs?: number; resyncMs?: number } = {}) {
  const lw = new FakeLW();
  const log: string[] = [];
  const inf = new Informer('cm', lw, {
    onUpsert: (o, old) => log.push(`${old ? 'update' : 'add'} ${o.metadata!.name!}@${o.metadata!.resourceVersion!}`),
    onDelete: (o) => log.push(`delete ${o.metadata!.name!}`),
    onResync: (o) => log.push(`resync ${o.metadata!.name!}`),
  }, silentLogger(), { watchdogMs: opts.watchdogMs ?? 60_000, resyncMs: opts.resyncMs ?? 0, backoffBaseMs: 100, backoffMaxMs: 1000 });
  return { lw, log, inf };
}

describe('Informer', () => {
  afterEach(() => vi.useRealTimers());

  it('lists, then watches from the list resourceVersion, keeping the cache', async () => {
    vi.useFakeTimers();
    const { lw, log, inf } = setup();
    lw.items = [obj('a', '5'), obj('b', '6')];
    lw.rv = '7';
    inf.start();
    await vi.advanceTimersByTimeAsync(1);
    expect(inf.synced).toBe(true);
    expect(lw.last.rv).toBe('7');
    lw.last.emit({ type: 'MODIFIED', object: obj('a', '8') });
    lw.last.emit({ type: 'ADDED', object: obj('c', '9') });
    lw.last.emit({ type: 'DELETED', object: obj('b', '10') });
    lw.last.emit({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '11' } } });
    expect(log).toEqual(['add a@5', 'add b@6', 'update a@8', 'add c@9', 'delete b']);
    expect(inf.list().map((o) => o.metadata!.name).sort()).toEqual(['a', 'c']);
    await inf.stop();
  });

  it('continues a cleanly closed watch from the last resourceVersion without relisting', async () => {
    vi.useFakeTimers();
    const { lw, inf } = setup();
    inf.start();
    await vi.advanceTimersByTimeAsync(1);
    lw.last.emit({ type: 'ADDED', object: obj('a', '42') });
    lw.last.end();
    await vi.advanceTimersByTimeAsync(100);
    expect(lw.watches.map((w) => w.rv)).toEqual(['1', '42']);
    expect(lw.listCalls).toBe(1);
    await inf.stop();
  });

  it('relists after 410 Gone and reports objects deleted meanwhile', async () => {
    vi.useFakeTimers();
    const { lw, log, inf } = setup();
    lw.items = [obj('a', '2'), obj('b', '3')];
    inf.start();
    await vi.advanceTimersByTimeAsync(1);
    lw.items = [obj('a', '2'), obj('c', '20')];
    lw.rv = '21';
    lw.last.emit({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' } as unknown as KubernetesObject });
    await vi.advanceTimersByTimeAsync(1);
    expect(lw.listCalls).toBe(2);
    expect(lw.last.rv).toBe('21');
    // a unchanged (same resourceVersion): no event; b gone; c new.
    expect(log).toEqual(['add a@2', 'add b@3', 'add c@20', 'delete b']);
    await inf.stop();
  });

  it('restarts a silent watch (watchdog) and relists', async () => {
    vi.useFakeTimers();
    const { lw, inf } = setup({ watchdogMs: 1000 });
    inf.start();
    await vi.advanceTimersByTimeAsync(1);
    const first = lw.last;
    await vi.advanceTimersByTimeAsync(700);
    expect(first.aborted).toBe(false);
    first.emit({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '3' } } }); // a live watch: bookmarks count
    await vi.advanceTimersByTimeAsync(700);
    expect(first.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1000);
    expect(first.aborted).toBe(true);
    expect(lw.watches.length).toBe(2);
    expect(lw.listCalls).toBe(2);
    expect(inf.stats().watchdogRestarts).toBe(1);
    await inf.stop();
  });

  it('backs off and relists after transport errors, then recovers', async () => {
    vi.useFakeTimers();
    const { lw, inf } = setup();
    lw.listError = new Error('ECONNREFUSED');
    inf.start();
    await vi.advanceTimersByTimeAsync(1);
    expect(lw.listCalls).toBe(1);
    await vi.advanceTimersByTimeAsync(100);
    expect(lw.listCalls).toBe(2);
    await vi.advanceTimersByTimeAsync(150);
    expect(lw.listCalls).toBe(2); // second backoff is 200 ms
    lw.listError = undefined;
    await vi.advanceTimersByTimeAsync(100);
    expect(lw.listCalls).toBe(3);
    expect(inf.synced).toBe(true);
    lw.last.end(new KubeApiError(500, 'InternalError', 'stream reset'));
    await vi.advanceTimersByTimeAsync(100);
    expect(lw.listCalls).toBe(4);
    expect(inf.stats().errors).toBe(3);
    await inf.stop();
  });

  it('hands every cached object to onResync periodically', async () => {
    vi.useFakeTimers();
    const { lw, log, inf } = setup({ resyncMs: 1000 });
    lw.items = [obj('a', '1'), obj('b', '2')];
    inf.start();
    await vi.advanceTimersByTimeAsync(1000);
    expect(log.filter((l) => l.startsWith('resync'))).toEqual(['resync a', 'resync b']);
    await inf.stop();
  });
});
