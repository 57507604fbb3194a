// `rmq operator [options]`: the Kubernetes operator. Reads in-cluster credentials (service account)
// or KUBECONFIG / ~/.kube/config, watches all namespaces or a list, elects a leader with a Lease,
// serves /healthz, /readyz and /metrics, and reconciles NameServers, BrokerGroups and Topics.
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { stopOnSignals } from '../../broker/src/cli/common.js';
import { createLogger } from '../../broker/src/common/logger.js';
import { HealthHttpServer, TEXT, jsonReply } from '../../broker/src/observability/http-server.js';
import { Exposition, PROMETHEUS_CONTENT_TYPE } from '../../broker/src/observability/prometheus.js';
import { PRODUCT_VERSION } from '../../broker/src/observability/version.js';
import type { BuildContext } from './builders/common.js';
import { AdminClientBrokerAdmin, HttpBrokerProbe } from './reconcile/broker-admin.js';
import { reconcileBrokerGroup } from './reconcile/brokergroup.js';
import { DEFAULT_SETTINGS, type ReconcileDeps, type ReconcilerSettings } from './reconcile/common.js';
import { reconcileNameServer } from './reconcile/nameserver.js';
import { reconcileTopic } from './reconcile/topic.js';
import { KubeEventRecorder } from './runtime/events.js';
import { HttpKubeApi } from './runtime/kube.js';
import { LeaderElector } from './runtime/leader.js';
import { Manager, type ManagerOptions } from './runtime/manager.js';

export const USAGE = `usage: rmq operator [options]
  --namespaces a,b          namespaces to watch (env WATCH_NAMESPACES; default: all)
  --kubeconfig FILE         kubeconfig (env KUBECONFIG; default: in-cluster, else ~/.kube/config)
  --http-port N             /healthz /readyz /metrics port (env OPERATOR_HTTP_PORT; default 8080, 0 = any)
  --http-bind ADDR          bind address of that port (default 0.0.0.0)
  --[no-]leader-elect       elect a leader with a Lease (default on)
  --lease-namespace NS      namespace of the Lease (env POD_NAMESPACE; default "default")
  --lease-name NAME         default rmq-ts-operator
  --default-image IMAGE     image for resources that set none (env OPERATOR_DEFAULT_IMAGE; default rocketmq-ts:<version>)
  --cluster-domain DOMAIN   cluster DNS domain (default cluster.local)
  --drain-seconds N         master drain before its restart (default 35)
  --poll-seconds N          recheck interval while something is in progress (default 5)
  --topic-resync-seconds N  compare topics with the brokers this often (default 60)
  --resync-seconds N        informer resync (default 300)
  --watchdog-seconds N      restart a watch silent this long (default 300)
  --concurrency N           keys reconciled in parallel per kind (default 4)`;

export interface OperatorOptions {
  namespaces: string[];
  kubeconfig: string | undefined;
  httpPort: number;
  httpBind: string;
  leaderElect: boolean;
  leaseNamespace: string;
  leaseName: string;
  build: BuildContext;
  settings: ReconcilerSettings;
  manager: ManagerOptions;
  help: boolean;
}

function positive(name: string, text: string | undefined, fallback: number, min = 1): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got "${text}"`);
  return n;
}

/** Options from argv and the environment (pure). */
export function parseOperatorOptions(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): OperatorOptions {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowNegative: true,
    options: {
      namespaces: { type: 'string' },
      kubeconfig: { type: 'string' },
      'http-port': { type: 'string' },
      'http-bind': { type: 'string' },
      'leader-elect': { type: 'boolean' },
      'lease-namespace': { type: 'string' },
      'lease-name': { type: 'string' },
      'default-image': { type: 'string' },
      'cluster-domain': { type: 'string' },
      'drain-seconds': { type: 'string' },
      'poll-seconds': { type: 'string' },
      'topic-resync-seconds': { type: 'string' },
      'resync-seconds': { type: 'string' },
      'watchdog-seconds': { type: 'string' },
      concurrency: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const namespaces = (values.namespaces ?? env.WATCH_NAMESPACES ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  const sec = (name: string, v: string | undefined, fallbackMs: number, min = 1) => positive(name, v, fallbackMs / 1000, min) * 1000;
  return {
    namespaces,
    kubeconfig: values.kubeconfig ?? env.KUBECONFIG,
    httpPort: positive('http-port', values['http-port'] ?? env.OPERATOR_HTTP_PORT, 8080, 0),
    httpBind: values['http-bind'] ?? '0.0.0.0',
    leaderElect: values['leader-elect'] ?? true,
    leaseNamespace: values['lease-namespace'] ?? env.POD_NAMESPACE ?? 'default',
    leaseName: values['lease-name'] ?? 'rmq-ts-operator',
    build: {
      defaultImage: values['default-image'] ?? env.OPERATOR_DEFAULT_IMAGE ?? `rocketmq-ts:${PRODUCT_VERSION}`,
      clusterDomain: values['cluster-domain'] ?? 'cluster.local',
    },
    settings: {
      drainMs: sec('drain-seconds', values['drain-seconds'], DEFAULT_SETTINGS.drainMs, 0),
      pollMs: sec('poll-seconds', values['poll-seconds'], DEFAULT_SETTINGS.pollMs),
      topicResyncMs: sec('topic-resync-seconds', values['topic-resync-seconds'], DEFAULT_SETTINGS.topicResyncMs),
      statusRefreshMs: DEFAULT_SETTINGS.statusRefreshMs,
    },
    manager: {
      namespaces,
      concurrency: positive('concurrency', values.concurrency, 4),
      resyncMs: sec('resync-seconds', values['resync-seconds'], 300_000),
      watchdogMs: sec('watchdog-seconds', values['watchdog-seconds'], 300_000),
      watchTimeoutSeconds: 240,
    },
    help: values.help ?? false,
  };
}

export function loadKubeConfig(file: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  if (file) kc.loadFromFile(file);
  else kc.loadFromDefault();
  return kc;
}

export interface RunningOperator {
  port: number;
  stop(): Promise<void>;
}

/** Starts everything; resolves once the HTTP server listens (leadership may come later). */
export async function startOperator(opts: OperatorOptions, log: Logger): Promise<RunningOperator> {
  const api = new HttpKubeApi(loadKubeConfig(opts.kubeconfig));
  const identity = `${hostname()}_${process.pid}`;
  const events = new KubeEventRecorder(api, log, { host: hostname() });
  const admin = new AdminClientBrokerAdmin();
  const deps: ReconcileDeps = { api, probe: new HttpBrokerProbe(), admin, events, log, build: opts.build, settings: opts.settings, now: () => Date.now() };
  const manager = new Manager(
    api,
    { nameServer: (k) => reconcileNameServer(deps, k), brokerGroup: (k) => reconcileBrokerGroup(deps, k), topic: (k) => reconcileTopic(deps, k) },
    log,
    opts.manager,
  );
  const elector = opts.leaderElect ? new LeaderElector(api, { namespace: opts.leaseNamespace, name: opts.leaseName, identity }, log) : undefined;
  const http = new HealthHttpServer(
    {
      '/healthz': () => ({ status: 200, contentType: TEXT, body: 'ok\n' }),
      '/readyz': () => {
        const leading = elector ? elector.leading : true;
        const ready = !leading || manager.synced;
        return jsonReply(ready ? 200 : 503, { ready, leader: leading, informersSynced: manager.synced });
      },
      '/metrics': () => {
        const e = new Exposition();
        e.gauge('rmq_operator_leader', 'This replica holds the leader Lease (1) or not (0)', elector ? (elector.leading ? 1 : 0) : 1);
        e.counter('rmq_operator_events_total', 'Kubernetes Events recorded', events.recorded);
        e.gauge('rmq_operator_info', 'Operator version', [[[['version', PRODUCT_VERSION]], 1]]);
        manager.metrics(e);
        return { status: 200, contentType: PROMETHEUS_CONTENT_TYPE, body: e.text() };
      },
    },
    log,
  );
  const port = await http.listen(opts.httpPort, opts.httpBind);
  log.info({ port, namespaces: opts.namespaces.length > 0 ? opts.namespaces : 'all', leaderElect: opts.leaderElect, identity, version: PRODUCT_VERSION }, 'operator started');
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await manager.stop();
    await elector?.release();
    await admin.close();
    await http.close();
  };
  const begin = (): void => manager.start();
  if (elector) {
    void elector
      .acquire(() => {
        // Another replica may act now: stop at once and exit so the Deployment restarts us clean.
        void stop().finally(() => process.exit(1));
      })
      .then(() => {
        if (!stopped) begin();
      });
  } else begin();
  return { port, stop };
}

/** The `rmq operator` command (operator/src/cli.ts runs it). */
export async function main(): Promise<void> {
  const opts = parseOperatorOptions(process.argv.slice(2), process.env);
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const log = createLogger('operator');
  const running = await startOperator(opts, log);
  stopOnSignals(async () => {
    await running.stop();
    log.info('shutdown complete');
  }, 20_000);
}
