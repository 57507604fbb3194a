// Health and metrics of a NameServer process: /healthz, /readyz (ready while listening), /status
// and /metrics (registered brokers, routes served).
import type { Logger } from 'pino';
import { HealthEndpoints, type HealthEndpointOptions } from './health-endpoints.js';
import { ProcessMetrics } from './process-metrics.js';
import { Exposition, type Sample } from './prometheus.js';

export interface NamesrvStatusSource {
  /** True once the remoting port is listening (and until shutdown). */
  listening(): boolean;
  stopping(): boolean;
  /** bindAddress:port of the remoting listener. */
  listenAddress(): string;
  startedAt(): number;
  /** Registered broker addresses (masters and slaves). */
  brokers(): number;
  /** Registered broker names (master/slave groups). */
  brokerGroups(): number;
  clusters(): number;
  topics(): number;
  openConnections(): number;
}

export interface NamesrvStatus {
  role: 'NAMESRV';
  listenAddress: string;
  version: string;
  brokers: number;
  brokerGroups: number;
  clusters: number;
  topics: number;
  openConnections: number;
  uptimeMs: number;
  startedAt: string;
  ready: boolean;
  unmet: string[];
}

/** Counters the NameServer bumps on its request path. */
export class NamesrvMetrics {
  brokerRegistrations = 0;
  routesFound = 0;
  routesNotFound = 0;
}

export interface NamesrvObservabilityOptions extends HealthEndpointOptions {
  version: string;
}

export function collectNamesrvStatus(source: NamesrvStatusSource, version: string, now = Date.now()): NamesrvStatus {
  const unmet: string[] = [];
  if (source.stopping()) unmet.push('name server is shutting down');
  else if (!source.listening()) unmet.push('name server is not listening yet');
  const startedAt = source.startedAt();
  return {
    role: 'NAMESRV',
    listenAddress: source.listenAddress(),
    version,
    brokers: source.brokers(),
    brokerGroups: source.brokerGroups(),
    clusters: source.clusters(),
    topics: source.topics(),
    openConnections: source.openConnections(),
    uptimeMs: Math.max(0, now - startedAt),
    startedAt: new Date(startedAt).toISOString(),
    ready: unmet.length === 0,
    unmet,
  };
}

export class NamesrvObservability {
  readonly metrics = new NamesrvMetrics();
  readonly #source: NamesrvStatusSource;
  readonly #options: NamesrvObservabilityOptions;
  readonly #process = new ProcessMetrics();
  readonly #health: HealthEndpoints;

  constructor(source: NamesrvStatusSource, options: NamesrvObservabilityOptions, log: Logger) {
    this.#source = source;
    this.#options = options;
    const health = { readiness: () => this.status(), status: () => this.status(), metricsText: () => this.metricsText() };
    this.#health = new HealthEndpoints(health, options, log);
  }

  get port(): number | undefined {
    return this.#health.port;
  }

  status(): NamesrvStatus {
    return collectNamesrvStatus(this.#source, this.#options.version);
  }

  metricsText(): string {
    const s = this.status();
    const m = this.metrics;
    const exp = new Exposition()
      .gauge('rocketmq_namesrv_ready', '1 when /readyz answers 200.', s.ready ? 1 : 0)
      .gauge('rocketmq_namesrv_brokers', 'Registered broker addresses (masters and slaves).', s.brokers)
      .gauge('rocketmq_namesrv_broker_groups', 'Registered broker names.', s.brokerGroups)
      .gauge('rocketmq_namesrv_clusters', 'Clusters with at least one registered broker.', s.clusters)
      .gauge('rocketmq_namesrv_topics', 'Topics with routes.', s.topics)
      .gauge('rocketmq_namesrv_open_connections', 'Open remoting connections (brokers and clients).', s.openConnections)
      .counter('rocketmq_namesrv_broker_registrations_total', 'REGISTER_BROKER requests answered.', m.brokerRegistrations)
      .counter('rocketmq_namesrv_route_requests_total', 'GET_ROUTEINFO_BY_TOPIC requests answered, by result.', [
        [[['result', 'found']], m.routesFound],
        [[['result', 'not_found']], m.routesNotFound],
      ] satisfies Sample[]);
    this.#process.write(exp);
    return exp.text();
  }

  async start(): Promise<void> {
    this.#process.start();
    try {
      await this.#health.listen();
    } catch (err) {
      this.#process.stop();
      throw err;
    }
  }

  async stop(): Promise<void> {
    this.#process.stop();
    await this.#health.close();
  }
}
