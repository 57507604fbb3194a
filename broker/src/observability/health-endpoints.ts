// The HTTP endpoints every server process serves (broker and name server alike): /healthz (alive),
// /readyz (200, or 503 with what is unmet), /status (JSON) and /metrics (Prometheus text).
import type { Logger } from 'pino';
import { HealthHttpServer, jsonReply, TEXT } from './http-server.js';
import { PROMETHEUS_CONTENT_TYPE } from './prometheus.js';

export interface Readiness {
  ready: boolean;
  unmet: string[];
}

/** What the endpoints report; each is asked again on every request. */
export interface HealthSource {
  /** From what is known at once: probes must not wait. */
  readiness(): Readiness;
  status(): object | Promise<object>;
  metricsText(): string | Promise<string>;
}

export interface HealthEndpointOptions {
  /** HTTP port; 0 picks a free port, -1 serves no HTTP. */
  healthPort: number;
  healthBindAddress: string;
}

export class HealthEndpoints {
  readonly #options: HealthEndpointOptions;
  readonly #log: Logger;
  readonly #http: HealthHttpServer | undefined;
  #port: number | undefined;

  constructor(source: HealthSource, options: HealthEndpointOptions, log: Logger) {
    this.#options = options;
    this.#log = log;
    this.#http =
      options.healthPort < 0
        ? undefined
        : new HealthHttpServer(
            {
              '/healthz': () => ({ status: 200, contentType: TEXT, body: 'ok\n' }),
              '/readyz': () => {
                const r = source.readiness();
                return jsonReply(r.ready ? 200 : 503, { ready: r.ready, unmet: r.unmet });
              },
              '/status': async () => jsonReply(200, await source.status()),
              '/metrics': async () => ({ status: 200, contentType: PROMETHEUS_CONTENT_TYPE, body: await source.metricsText() }),
            },
            log,
          );
  }

  /** The bound HTTP port once listening; undefined when disabled or not started. */
  get port(): number | undefined {
    return this.#port;
  }

  /** Starts listening unless HTTP is disabled or already listening. */
  async listen(): Promise<void> {
    if (!this.#http || this.#port !== undefined) return;
    const { healthPort, healthBindAddress } = this.#options;
    try {
      this.#port = await this.#http.listen(healthPort, healthBindAddress);
    } catch (err) {
      throw new Error(`health server cannot listen on ${healthBindAddress}:${healthPort} (healthPort): ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    this.#log.info({ port: this.#port, host: healthBindAddress }, 'health endpoints listening (/healthz /readyz /status /metrics)');
  }

  async close(): Promise<void> {
    await this.#http?.close();
    this.#port = undefined;
  }
}
