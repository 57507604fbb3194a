// Process-level metrics under the names Prometheus client libraries use (process_*, nodejs_*),
// so stock dashboards and alerts work unchanged.
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { Exposition } from './prometheus.js';

export class ProcessMetrics {
  readonly #startTimeSeconds = Math.round(Date.now() / 1000 - process.uptime());
  #loop: IntervalHistogram | undefined;

  /** Starts sampling event-loop delay (a libuv timer every 20 ms; negligible cost). */
  start(): void {
    if (this.#loop) return;
    this.#loop = monitorEventLoopDelay({ resolution: 20 });
    this.#loop.enable();
  }

  stop(): void {
    this.#loop?.disable();
    this.#loop = undefined;
  }

  /** Writes the process families; event-loop delay is over the interval since the previous call. */
  write(exp: Exposition): void {
    const mem = process.memoryUsage();
    const cpu = process.cpuUsage();
    exp
      .gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', mem.rss)
      .counter('process_cpu_seconds_total', 'Total user and system CPU time spent in seconds.', (cpu.user + cpu.system) / 1e6)
      .gauge('process_start_time_seconds', 'Start time of the process since unix epoch in seconds.', this.#startTimeSeconds)
      .gauge('nodejs_heap_size_used_bytes', 'V8 heap used in bytes.', mem.heapUsed)
      .gauge('nodejs_heap_size_total_bytes', 'V8 heap size in bytes.', mem.heapTotal)
      .gauge('nodejs_external_memory_bytes', 'Memory of C++ objects bound to JavaScript (includes Buffers) in bytes.', mem.external);
    const loop = this.#loop;
    if (loop) {
      // With no sample yet the histogram reports max 0; min is a huge sentinel and is not used.
      exp
        .gauge('nodejs_eventloop_lag_max_seconds', 'Maximum event loop delay since the previous scrape, in seconds.', loop.max / 1e9)
        .gauge('nodejs_eventloop_lag_p99_seconds', '99th percentile of event loop delay since the previous scrape, in seconds.', loop.percentile(99) / 1e9);
      loop.reset();
    }
  }
}
