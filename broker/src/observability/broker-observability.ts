// Health, status and metrics of one broker process: /healthz, /readyz, /status and /metrics over
// HTTP (for Kubernetes probes and Prometheus), and the same status for GET_BROKER_RUNTIME_INFO.
import type { Logger } from 'pino';
import { BrokerMetrics, writeStatusGauges } from './broker-metrics.js';
import { collectBrokerStatus, type BrokerStatus, type BrokerStatusSource } from './broker-status.js';
import { DiskUsageSampler, type StatfsFn } from './disk-usage.js';
import { HealthHttpServer, jsonReply, TEXT } from './http-server.js';
import { ProcessMetrics } from './process-metrics.js';
import { Exposition, PROMETHEUS_CONTENT_TYPE } from './prometheus.js';

export interface BrokerObservabilityOptions {
  /** HTTP port; 0 picks a free port, -1 serves no HTTP (status and metrics still collected). */
  healthPort: number;
  healthBindAddress: string;
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
  readonly #log: Logger;
  readonly #process = new ProcessMetrics();
  readonly #disk: DiskUsageSampler;
  readonly #http: HealthHttpServer | undefined;
  #port: number | undefined;

  constructor(source: BrokerStatusSource, options: BrokerObservabilityOptions, log: Logger) {
    this.#source = source;
    this.#options = options;
    this.#log = log;
    this.#disk = new DiskUsageSampler(options.diskPath, options.statfs ? { statfs: options.statfs } : {});
    this.#http =
      options.healthPort < 0
        ? undefined
        : new HealthHttpServer(
            {
              '/healthz': () => ({ status: 200, contentType: TEXT, body: 'ok\n' }),
              '/readyz': () => {
                const s = this.status();
                return jsonReply(s.ready ? 200 : 503, { ready: s.ready, unmet: s.unmet });
              },
              '/status': async () => jsonReply(200, await this.refreshedStatus()),
              '/metrics': async () => ({ status: 200, contentType: PROMETHEUS_CONTENT_TYPE, body: await this.metricsText() }),
            },
            log,
          );
  }

  /** The bound HTTP port once started; undefined when disabled or not started. */
  get port(): number | undefined {
    return this.#port;
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
    if (this.#http && this.#port === undefined) {
      const { healthPort, healthBindAddress } = this.#options;
      try {
        this.#port = await this.#http.listen(healthPort, healthBindAddress);
      } catch (err) {
        this.#stopSampling();
        throw new Error(`health server cannot listen on ${healthBindAddress}:${healthPort} (healthPort): ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
      this.#log.info({ port: this.#port, host: healthBindAddress }, 'health endpoints listening (/healthz /readyz /status /metrics)');
    }
  }

  async stop(): Promise<void> {
    this.#stopSampling();
    await this.#http?.close();
    this.#port = undefined;
  }

  #stopSampling(): void {
    this.#process.stop();
    this.#disk.stop();
  }
}
