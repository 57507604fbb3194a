// Samples CPU time (utime+stime) and resident memory of the broker-side processes every
// intervalMs, so a case can ask for CPU seconds and peak RSS over any window of wall-clock time.
import { readProcMem, readProcStat } from './procfs.js';
import { delta } from './stats.js';

export class Sampler {
  readonly #pids: Record<string, number>;
  readonly #ticksPerSec: number;
  readonly #cpu: Array<[number, number]> = [];
  readonly #rss: Array<[number, number]> = [];
  /** Bounds memory use: at 200 ms that is over an hour. */
  readonly #maxSamples = 20_000;
  #timer: NodeJS.Timeout | undefined;

  constructor(pids: Record<string, number>, ticksPerSec: number, intervalMs = 200) {
    this.#pids = pids;
    this.#ticksPerSec = ticksPerSec;
    this.sample();
    this.#timer = setInterval(() => this.sample(), intervalMs);
    this.#timer.unref();
  }

  sample(): void {
    if (this.#cpu.length >= this.#maxSamples) return;
    const now = Date.now();
    let ticks = 0;
    let rss = 0;
    for (const pid of Object.values(this.#pids)) {
      const st = readProcStat(pid);
      const mem = readProcMem(pid);
      if (st) ticks += st.cpuTicks;
      if (mem) rss += mem.rssBytes;
    }
    this.#cpu.push([now, ticks / this.#ticksPerSec]);
    this.#rss.push([now, rss]);
  }

  /** CPU seconds all sampled processes used in [t0, t1] (wall-clock ms). */
  cpuSeconds(t0: number, t1: number): number | undefined {
    return delta(this.#cpu, t0, t1);
  }

  /** Highest summed VmRSS sampled in [t0, t1]. */
  peakRss(t0: number, t1: number): number | undefined {
    let best: number | undefined;
    for (const [t, v] of this.#rss) if (t >= t0 && t <= t1 && (best === undefined || v > best)) best = v;
    return best;
  }

  /** VmHWM per process now (peak since the process started). */
  hwm(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, pid] of Object.entries(this.#pids)) out[name] = readProcMem(pid)?.hwmBytes ?? Number.NaN;
    return out;
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
