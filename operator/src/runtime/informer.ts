// List+watch informer with a cache, a periodic resync and a watchdog for silent watches.
//
// Loop: list (fills the cache, reports additions, changes and deletions against it) → watch from
// the list's resourceVersion → on a clean end (the server's timeoutSeconds) watch again from the
// last resourceVersion seen; on 410 Gone or a transport error relist (after a backoff for
// errors). Watches that stay open but deliver nothing are real (client-node #596, #958; Pepr
// #766; KFC #979): the watchdog aborts a watch that has seen no event, not even a bookmark, for
// `watchdogMs`, and the loop relists. Every `resyncMs` each cached object is handed to
// `onResync` so level-based reconcilers look at everything again.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { KubeApiError, isGone, objectKey, type ListResult, type WatchEvent, type WatchHandle } from './kube.js';

/** Where an informer gets its objects (KubeApi bound to one type, namespace and selector; a fake in tests). */
export interface ListWatcher<T extends KubernetesObject> {
  list(): Promise<ListResult<T>>;
  watch(resourceVersion: string, onEvent: (e: WatchEvent<T>) => void): WatchHandle;
}

export interface InformerHandlers<T extends KubernetesObject> {
  /** Added or changed (also replayed after a relist when the resourceVersion differs). */
  onUpsert?(obj: T, old: T | undefined): void;
  onDelete?(obj: T): void;
  /** Periodic resync: every cached object. */
  onResync?(obj: T): void;
}

export interface InformerOptions {
  resyncMs?: number;
  /** A watch with no event for this long is restarted. */
  watchdogMs?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
}

export interface InformerStats {
  synced: boolean;
  objects: number;
  lists: number;
  watches: number;
  /** Watches ended by the watchdog. */
  watchdogRestarts: number;
  errors: number;
}

export class Informer<T extends KubernetesObject> {
  readonly name: string;
  readonly #lw: ListWatcher<T>;
  readonly #handlers: InformerHandlers<T>;
  readonly #log: Logger;
  readonly #resyncMs: number;
  readonly #watchdogMs: number;
  readonly #backoffBaseMs: number;
  readonly #backoffMaxMs: number;
  readonly #cache = new Map<string, T>();
  #resourceVersion = '';
  #synced = false;
  #stopped = true;
  #watch: WatchHandle | undefined;
  #lastEventAt = 0;
  #watchdog: NodeJS.Timeout | undefined;
  #resync: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  #syncedWaiters: Array<() => void> = [];
  readonly #stats = { lists: 0, watches: 0, watchdogRestarts: 0, errors: 0 };

  constructor(name: string, lw: ListWatcher<T>, handlers: InformerHandlers<T>, log: Logger, opts: InformerOptions = {}) {
    this.name = name;
    this.#lw = lw;
    this.#handlers = handlers;
    this.#log = log;
    this.#resyncMs = opts.resyncMs ?? 5 * 60_000;
    this.#watchdogMs = opts.watchdogMs ?? 5 * 60_000;
    this.#backoffBaseMs = opts.backoffBaseMs ?? 1_000;
    this.#backoffMaxMs = opts.backoffMaxMs ?? 30_000;
  }

  get synced(): boolean {
    return this.#synced;
  }

  stats(): InformerStats {
    return { synced: this.#synced, objects: this.#cache.size, ...this.#stats };
  }

  /** Cached objects (a snapshot). */
  list(): T[] {
    return [...this.#cache.values()];
  }

  get(key: string): T | undefined {
    return this.#cache.get(key);
  }

  /** Resolves after the first successful list. */
  whenSynced(): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise((resolve) => this.#syncedWaiters.push(resolve));
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#loop = this.#run();
    if (this.#resyncMs > 0) {
      this.#resync = setInterval(() => {
        for (const obj of this.#cache.values()) this.#handlers.onResync?.(obj);
      }, this.#resyncMs);
      this.#resync.unref?.();
    }
    this.#watchdog = setInterval(() => this.#checkWatch(), Math.max(10, Math.floor(this.#watchdogMs / 4)));
    this.#watchdog.unref?.();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#resync);
    clearInterval(this.#watchdog);
    this.#watch?.abort();
    this.#wake?.();
    await this.#loop;
  }

  #checkWatch(): void {
    if (!this.#watch || Date.now() - this.#lastEventAt < this.#watchdogMs) return;
    this.#stats.watchdogRestarts++;
    this.#log.warn({ informer: this.name, silentMs: Date.now() - this.#lastEventAt }, 'watch silent too long, restarting it');
    this.#resourceVersion = ''; // relist: events may have been lost while it was silent
    this.#watch.abort();
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.#wake = undefined;
        resolve();
      }, ms);
      this.#wake = () => {
        clearTimeout(t);
        this.#wake = undefined;
        resolve();
      };
    });
  }

  async #run(): Promise<void> {
    let failures = 0;
    while (!this.#stopped) {
      try {
        if (this.#resourceVersion === '') {
          await this.#relist();
          failures = 0;
        }
        if (this.#stopped) break;
        const started = Date.now();
        await this.#watchOnce();
        // A watch that ends at once, again and again, must not spin: pause a little.
        if (!this.#stopped && Date.now() - started < this.#backoffBaseMs) await this.#sleep(this.#backoffBaseMs);
      } catch (err) {
        if (this.#stopped) break;
        this.#resourceVersion = '';
        if (isGone(err)) {
          this.#log.info({ informer: this.name }, 'watch expired (410 Gone), relisting');
          continue;
        }
        failures++;
        this.#stats.errors++;
        const ms = Math.min(this.#backoffMaxMs, this.#backoffBaseMs * 2 ** Math.min(20, failures - 1));
        this.#log.warn({ informer: this.name, err: err instanceof Error ? err.message : String(err), retryInMs: ms }, 'list/watch failed');
        await this.#sleep(ms);
      }
    }
  }

  async #relist(): Promise<void> {
    const { items, resourceVersion } = await this.#lw.list();
    this.#stats.lists++;
    const seen = new Set<string>();
    for (const obj of items) {
      const key = objectKey(obj);
      seen.add(key);
      const old = this.#cache.get(key);
      this.#cache.set(key, obj);
      if (!old || old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.#handlers.onUpsert?.(obj, old);
    }
    for (const [key, obj] of [...this.#cache]) {
      if (seen.has(key)) continue;
      this.#cache.delete(key);
      this.#handlers.onDelete?.(obj);
    }
    this.#resourceVersion = resourceVersion;
    if (!this.#synced) {
      this.#synced = true;
      for (const w of this.#syncedWaiters) w();
      this.#syncedWaiters = [];
    }
  }

  async #watchOnce(): Promise<void> {
    this.#stats.watches++;
    this.#lastEventAt = Date.now();
    let failure: Error | undefined;
    const handle = this.#lw.watch(this.#resourceVersion, (e) => {
      this.#lastEventAt = Date.now();
      try {
        this.#onEvent(e);
      } catch (err) {
        failure = err instanceof Error ? err : new Error(String(err));
        handle.abort();
      }
    });
    this.#watch = handle;
    try {
      await handle.done;
    } finally {
      this.#watch = undefined;
    }
    if (failure !== undefined) throw failure;
  }

  #onEvent(e: WatchEvent<T>): void {
    if (e.type === 'ERROR') {
      const s = e.object as unknown as { code?: number; reason?: string; message?: string };
      throw new KubeApiError(s.code ?? 500, s.reason ?? '', s.message ?? 'watch error');
    }
    const rv = e.object.metadata?.resourceVersion;
    if (rv) this.#resourceVersion = rv;
    if (e.type === 'BOOKMARK') return;
    const key = objectKey(e.object);
    if (e.type === 'DELETED') {
      this.#cache.delete(key);
      this.#handlers.onDelete?.(e.object);
      return;
    }
    const old = this.#cache.get(key);
    this.#cache.set(key, e.object);
    this.#handlers.onUpsert?.(e.object, old);
  }
}
