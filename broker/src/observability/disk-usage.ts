// Used-space ratio of the filesystem holding a path, via statfs (like `df`): used / (used + available
// to unprivileged users), the same ratio Java RocketMQ compares with diskMaxUsedSpaceRatio.
import { statfs } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

export interface FsStats {
  blocks: number;
  bfree: number;
  bavail: number;
}

export type StatfsFn = (path: string) => Promise<FsStats>;

/** The ratio from statfs numbers, or undefined for an empty/unknown filesystem. */
export function usedRatio(s: FsStats): number | undefined {
  const used = s.blocks - s.bfree;
  const entire = used + s.bavail;
  if (!(entire > 0)) return undefined;
  return Math.min(1, Math.max(0, used / entire));
}

/**
 * Caches the ratio for a path; refresh() re-reads at most once per `minIntervalMs` and coalesces
 * concurrent callers. A path that does not exist yet (store not created) is measured at its
 * nearest existing ancestor.
 */
export class DiskUsageSampler {
  readonly #path: string;
  readonly #statfs: StatfsFn;
  readonly #minIntervalMs: number;
  #value: number | undefined;
  #lastAt = 0;
  #pending: Promise<number | undefined> | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(path: string, options: { statfs?: StatfsFn; minIntervalMs?: number } = {}) {
    this.#path = resolve(path);
    this.#statfs = options.statfs ?? ((p) => statfs(p));
    this.#minIntervalMs = options.minIntervalMs ?? 1000;
  }

  /** Last measured ratio (0..1), undefined before the first successful measurement. */
  current(): number | undefined {
    return this.#value;
  }

  refresh(): Promise<number | undefined> {
    if (this.#pending) return this.#pending;
    if (this.#lastAt !== 0 && Date.now() - this.#lastAt < this.#minIntervalMs) return Promise.resolve(this.#value);
    this.#pending = this.#measure().finally(() => {
      this.#pending = undefined;
      this.#lastAt = Date.now();
    });
    return this.#pending;
  }

  /** Refreshes now and then every `periodMs` (the timer does not keep the process alive). */
  start(periodMs = 10_000): Promise<number | undefined> {
    if (!this.#timer) {
      this.#timer = setInterval(() => void this.refresh(), periodMs);
      this.#timer.unref();
    }
    return this.refresh();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #measure(): Promise<number | undefined> {
    let p = this.#path;
    for (let depth = 0; depth < 256; depth++) {
      try {
        this.#value = usedRatio(await this.#statfs(p));
        return this.#value;
      } catch (err) {
        const parent = dirname(p);
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || parent === p) return this.#value;
        p = parent;
      }
    }
    return this.#value;
  }
}
