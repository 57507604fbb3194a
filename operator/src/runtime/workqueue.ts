// A per-key work queue (controller-runtime's workqueue, reduced to what we use):
// - a key waiting in the queue is there once, however often it is added (de-duplication);
// - a key is never processed by two workers at once: added while in process, it is marked dirty
//   and queued again when the worker finishes (so the latest state is always seen);
// - failures back off exponentially per key (base · 2^(n-1), capped), a success forgets them;
// - 409 Conflict (someone changed the object under us) requeues soon without counting as failure;
// - a result may ask for a later pass (requeueAfterMs: waits in a roll, periodic topic checks).
import type { Logger } from 'pino';
import { isConflict } from './kube.js';

/** What a reconciler returns: nothing, or when to look again. */
export interface ReconcileResult {
  requeueAfterMs?: number;
}

/** An error that retrying cannot fix (recorded, not retried until the object changes). */
export class TerminalError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TerminalError';
  }
}

export interface WorkQueueOptions {
  /** Keys processed at the same time (different keys only). */
  concurrency?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Delay before retrying after a 409 Conflict. */
  conflictDelayMs?: number;
}

export interface WorkQueueStats {
  /** Keys waiting (ready now). */
  depth: number;
  /** Keys being processed. */
  active: number;
  /** Keys waiting for a timer (requeue or backoff). */
  delayed: number;
  processed: number;
  errors: number;
  conflicts: number;
  retries: number;
}

export type Process = (key: string) => Promise<ReconcileResult | void>;

export class WorkQueue {
  readonly #name: string;
  readonly #process: Process;
  readonly #log: Logger;
  readonly #concurrency: number;
  readonly #backoffBaseMs: number;
  readonly #backoffMaxMs: number;
  readonly #conflictDelayMs: number;
  /** Ready keys in FIFO order; `#queued` mirrors it for O(1) membership. */
  readonly #ready: string[] = [];
  readonly #queued = new Set<string>();
  readonly #processing = new Set<string>();
  /** Added while processing: queue again when done. */
  readonly #dirty = new Set<string>();
  /** Pending timer per key and when it fires (only the earliest is kept). */
  readonly #timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  readonly #failures = new Map<string, number>();
  readonly #idle = new Set<() => void>();
  #stopped = false;
  #processed = 0;
  #errors = 0;
  #conflicts = 0;
  #retries = 0;

  constructor(name: string, process: Process, log: Logger, opts: WorkQueueOptions = {}) {
    this.#name = name;
    this.#process = process;
    this.#log = log;
    this.#concurrency = Math.max(1, opts.concurrency ?? 4);
    this.#backoffBaseMs = opts.backoffBaseMs ?? 500;
    this.#backoffMaxMs = opts.backoffMaxMs ?? 5 * 60_000;
    this.#conflictDelayMs = opts.conflictDelayMs ?? 200;
  }

  get name(): string {
    return this.#name;
  }

  /** Queues the key now (no-op when it already waits; marked dirty when in process). */
  add(key: string): void {
    if (this.#stopped) return;
    if (this.#processing.has(key)) {
      this.#dirty.add(key);
      return;
    }
    if (this.#queued.has(key)) return;
    const t = this.#timers.get(key);
    if (t) {
      clearTimeout(t.timer);
      this.#timers.delete(key);
    }
    this.#queued.add(key);
    this.#ready.push(key);
    this.#pump();
  }

  /** Queues the key after `ms`, unless an earlier pass is already due. */
  addAfter(key: string, ms: number): void {
    if (this.#stopped) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    if (this.#queued.has(key)) return;
    const at = Date.now() + ms;
    const existing = this.#timers.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.#timers.delete(key);
      this.add(key);
    }, ms);
    timer.unref?.();
    this.#timers.set(key, { at, timer });
  }

  /** The backoff the next failure of `key` would get. */
  backoffMs(key: string): number {
    const n = (this.#failures.get(key) ?? 0) + 1;
    return Math.min(this.#backoffMaxMs, this.#backoffBaseMs * 2 ** Math.min(30, n - 1));
  }

  stats(): WorkQueueStats {
    return {
      depth: this.#ready.length,
      active: this.#processing.size,
      delayed: this.#timers.size,
      processed: this.#processed,
      errors: this.#errors,
      conflicts: this.#conflicts,
      retries: this.#retries,
    };
  }

  /** Resolves once nothing is queued or in process (timers may still be pending). */
  whenIdle(): Promise<void> {
    if (this.#ready.length === 0 && this.#processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.add(resolve));
  }

  /** Stops taking work, drops timers, waits for running keys to finish. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const t of this.#timers.values()) clearTimeout(t.timer);
    this.#timers.clear();
    this.#ready.length = 0;
    this.#queued.clear();
    this.#dirty.clear();
    await this.whenIdle();
  }

  #pump(): void {
    while (!this.#stopped && this.#processing.size < this.#concurrency && this.#ready.length > 0) {
      const key = this.#ready.shift()!;
      this.#queued.delete(key);
      this.#processing.add(key);
      void this.#run(key);
    }
    if (this.#ready.length === 0 && this.#processing.size === 0) {
      for (const resolve of this.#idle) resolve();
      this.#idle.clear();
    }
  }

  async #run(key: string): Promise<void> {
    let next: { kind: 'none' } | { kind: 'after'; ms: number } = { kind: 'none' };
    try {
      const result = await this.#process(key);
      this.#failures.delete(key);
      if (result?.requeueAfterMs !== undefined) next = { kind: 'after', ms: result.requeueAfterMs };
    } catch (err) {
      if (isConflict(err)) {
        this.#conflicts++;
        this.#log.debug({ queue: this.#name, key }, 'conflict, requeued');
        next = { kind: 'after', ms: this.#conflictDelayMs };
      } else if (err instanceof TerminalError) {
        this.#errors++;
        this.#failures.delete(key);
        this.#log.warn({ queue: this.#name, key, err: err.message }, 'reconcile failed; not retried until the object changes');
      } else {
        this.#errors++;
        this.#retries++;
        const ms = this.backoffMs(key);
        this.#failures.set(key, (this.#failures.get(key) ?? 0) + 1);
        this.#log.warn({ queue: this.#name, key, err: err instanceof Error ? err.message : String(err), retryInMs: ms }, 'reconcile failed, retrying');
        next = { kind: 'after', ms };
      }
    } finally {
      this.#processed++;
      this.#processing.delete(key);
    }
    if (this.#dirty.delete(key)) this.add(key);
    else if (next.kind === 'after') this.addAfter(key, next.ms);
    this.#pump();
  }
}
