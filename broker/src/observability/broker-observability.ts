// Health, status and metrics of one broker process: /healthz, /readyz, /status and /metrics over
// HTTP (for Kubernetes probes and Prometheus), and the same status for GET_BROKER_RUNTIME_INFO.
import type { Logger } from 'pino';
import { BrokerMetrics, writeStatusGauges } from './broker-metrics.js';
import { collectBrokerStatus, type BrokerStatus, type BrokerStatusSource } from './broker-status.js';
import { DiskUsageSampler, type StatfsFn } from './disk-usage.js';
import { HealthEndpoints, type HealthEndpointOptions } from './health-endpoints.js';
import { ProcessMetrics } from './process-metrics.js';
import { Exposition } from './prometheus.js';

/** With healthPort -1 status and metrics are still collected (GET_BROKER_RUNTIME_INFO uses them). */
export interface BrokerObservabilityOptions extends HealthEndpointOptions {
  /** A slave is ready only with at most this many bytes of replication lag. */
  readyMaxReplicationLagBytes: number;
  /** A path on the store's filesystem (the commit-log directory) for diskUsageRatio. */
  diskPath: string;
  /** statfs replacement (tests). */
  statfs?: StatfsFn;
}

export class BrokerObservability {
  readonly metrics = new BrokerMetrics();
  readonly #source: BrokerStatusSource;
  readonly #options: BrokerObservabilityOptions;
  readonly #process = new ProcessMetrics();
  readonly #disk: DiskUsageSampler;
  readonly #health: HealthEndpoints;

  constructor(source: BrokerStatusSource, options: BrokerObservabilityOptions, log: Logger) {
    this.#source = source;
    this.#options = options;
    this.#disk = new DiskUsageSampler(options.diskPath, options.statfs ? { statfs: options.statfs } : {});
    const health = { readiness: () => this.status(), status: () => this.refreshedStatus(), metricsText: () => this.metricsText() };
    this.#health = new HealthEndpoints(health, options, log);
  }

  /** The bound HTTP port once started; undefined when disabled or not started. */
  get port(): number | undefined {
    return this.#health.port;
  }

  /** Status from the last disk-usage sample (synchronous: GET_BROKER_RUNTIME_INFO uses it). */
  status(): BrokerStatus {
    return collectBrokerStatus(this.#source, this.#disk.current(), { maxReplicationLagBytes: this.#options.readyMaxReplicationLagBytes });
  }

  async refreshedStatus(): Promise<BrokerStatus> {
    await this.#disk.refresh();
    return this.status();
  }

  async metricsText(): Promise<string> {
    const status = await this.refreshedStatus();
    const exp = new Exposition();
    writeStatusGauges(exp, status);
    this.metrics.writeCounters(exp);
    this.#process.write(exp);
    return exp.text();
  }

  /** Starts sampling and the HTTP server (before store recovery, so liveness answers meanwhile). */
  async start(): Promise<void> {
    this.#process.start();
    await this.#disk.start();
    try {
      await this.#health.listen();
    } catch (err) {
      this.#stopSampling();
      throw err;
    }
  }

  async stop(): Promise<void> {
    this.#stopSampling();
    await this.#health.close();
  }

  #stopSampling(): void {
    this.#process.stop();
    this.#disk.stop();
  }
}
