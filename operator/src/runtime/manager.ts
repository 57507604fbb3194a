// Wires informers to work queues to reconcilers. Watched: the three kinds, plus the StatefulSets
// and Pods the operator manages (label managed-by), each mapped back to its owning resource by
// the instance/component labels. A BrokerGroup change also queues the Topics of its namespace
// (topics follow groups created later); a NameServer change queues the BrokerGroups that use it
// (their namesrvAddr). Reconcilers read the API server directly (never a stale cache); informers
// only decide what to look at.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Exposition} from '../../../broker/src/observability/prometheus.js';
import { Histogram } from '../../../broker/src/observability/prometheus.js';
import { LABEL } from '../builders/common.js';
import { Informer, type ListWatcher } from './informer.js';
import { R, objectKey, type KubeApi, type ResourceType } from './kube.js';
import { WorkQueue, type ReconcileResult } from './workqueue.js';

export type Reconcile = (key: string) => Promise<ReconcileResult>;

export interface ManagerOptions {
  /** Namespaces to watch; empty: all namespaces. */
  namespaces: readonly string[];
  concurrency: number;
  resyncMs: number;
  watchdogMs: number;
  /** Watches are closed by the server after this long and continued (keeps them fresh). */
  watchTimeoutSeconds: number;
}

export interface Reconcilers {
  nameServer: Reconcile;
  brokerGroup: Reconcile;
  topic: Reconcile;
}

type Kind = keyof Reconcilers;

const MANAGED_SELECTOR = `${LABEL.managedBy}=rocketmq-ts-operator`;

interface RefLike extends KubernetesObject {
  spec?: { nameServerRef?: { name?: string; namespace?: string } };
}

/** A change that matters to a reconciler: spec (generation), annotations, labels, finalizers, deletion. */
export function specOrMetaChanged(o: KubernetesObject, old: KubernetesObject): boolean {
  const a = o.metadata ?? {};
  const b = old.metadata ?? {};
  return (
    a.generation !== b.generation ||
    a.deletionTimestamp !== b.deletionTimestamp ||
    JSON.stringify(a.annotations ?? {}) !== JSON.stringify(b.annotations ?? {}) ||
    JSON.stringify(a.labels ?? {}) !== JSON.stringify(b.labels ?? {}) ||
    JSON.stringify(a.finalizers ?? []) !== JSON.stringify(b.finalizers ?? [])
  );
}

export class Manager {
  readonly #api: KubeApi;
  readonly #log: Logger;
  readonly #opts: ManagerOptions;
  readonly #queues: Record<Kind, WorkQueue>;
  readonly #informers: Array<Informer<KubernetesObject>> = [];
  readonly #groups: Array<Informer<KubernetesObject>> = [];
  readonly #topics: Array<Informer<KubernetesObject>> = [];
  readonly #durations: Record<Kind, Histogram>;
  readonly #outcomes = new Map<string, number>();
  #started = false;
  #lastProgressAt = Date.now();

  constructor(api: KubeApi, reconcilers: Reconcilers, log: Logger, opts: ManagerOptions) {
    this.#api = api;
    this.#log = log;
    this.#opts = opts;
    const q = (kind: Kind): WorkQueue => new WorkQueue(kind, (key) => this.#run(kind, reconcilers[kind], key), log, { concurrency: opts.concurrency });
    this.#queues = { nameServer: q('nameServer'), brokerGroup: q('brokerGroup'), topic: q('topic') };
    this.#durations = { nameServer: new Histogram(), brokerGroup: new Histogram(), topic: new Histogram() };
    const namespaces: Array<string | undefined> = opts.namespaces.length > 0 ? [...opts.namespaces] : [undefined];
    for (const ns of namespaces) {
      // Our own status writes must not requeue (a changing replication lag would loop): only
      // spec (generation), annotations, finalizers and deletion count for the custom resources.
      this.#watch(R.nameServer, ns, undefined, (o) => this.#onNameServer(o), true);
      this.#groups.push(this.#watch(R.brokerGroup, ns, undefined, (o) => this.#onBrokerGroup(o), true));
      this.#topics.push(this.#watch(R.topic, ns, undefined, (o) => this.#queues.topic.add(objectKey(o)), true));
      this.#watch(R.statefulSet, ns, MANAGED_SELECTOR, (o) => this.#onOwned(o));
      this.#watch(R.pod, ns, MANAGED_SELECTOR, (o) => this.#onOwned(o));
    }
  }

  async #run(kind: Kind, reconcile: Reconcile, key: string): Promise<ReconcileResult> {
    const started = performance.now();
    let outcome = 'success';
    try {
      return await reconcile(key);
    } catch (err) {
      outcome = 'error';
      throw err;
    } finally {
      this.#durations[kind].observe((performance.now() - started) / 1000);
      const k = `${kind}|${outcome}`;
      this.#outcomes.set(k, (this.#outcomes.get(k) ?? 0) + 1);
      this.#lastProgressAt = Date.now();
    }
  }

  #watch(r: ResourceType, namespace: string | undefined, labelSelector: string | undefined, enqueue: (o: KubernetesObject) => void, ignoreStatusOnly = false): Informer<KubernetesObject> {
    const lw: ListWatcher<KubernetesObject> = {
      list: () => this.#api.list(r, namespace, labelSelector ? { labelSelector } : {}),
      watch: (resourceVersion, onEvent) =>
        this.#api.watch(r, namespace, { resourceVersion, timeoutSeconds: this.#opts.watchTimeoutSeconds, ...(labelSelector ? { labelSelector } : {}) }, onEvent),
    };
    const name = `${r.plural}${namespace ? `@${namespace}` : ''}`;
    const onUpsert = (o: KubernetesObject, old: KubernetesObject | undefined): void => {
      if (ignoreStatusOnly && old && !specOrMetaChanged(o, old)) return;
      enqueue(o);
    };
    const inf = new Informer(name, lw, { onUpsert, onDelete: enqueue, onResync: enqueue }, this.#log, {
      resyncMs: this.#opts.resyncMs,
      watchdogMs: this.#opts.watchdogMs,
    });
    this.#informers.push(inf);
    return inf;
  }

  #onNameServer(o: KubernetesObject): void {
    const key = objectKey(o);
    this.#queues.nameServer.add(key);
    // Groups that use this NameServer: their namesrvAddr and roll gate depend on it.
    for (const inf of this.#groups) {
      for (const g of inf.list() as RefLike[]) {
        const ref = g.spec?.nameServerRef;
        if (ref?.name === o.metadata?.name && (ref?.namespace ?? g.metadata?.namespace) === o.metadata?.namespace) this.#queues.brokerGroup.add(objectKey(g));
      }
    }
  }

  #onBrokerGroup(o: KubernetesObject): void {
    this.#queues.brokerGroup.add(objectKey(o));
    for (const inf of this.#topics) for (const t of inf.list()) if (t.metadata?.namespace === o.metadata?.namespace) this.#queues.topic.add(objectKey(t));
  }

  #onOwned(o: KubernetesObject): void {
    const labels = o.metadata?.labels ?? {};
    const instance = labels[LABEL.instance];
    const ns = o.metadata?.namespace;
    if (!instance || !ns) return;
    const component = labels[LABEL.component];
    if (component === 'nameserver') {
      this.#queues.nameServer.add(`${ns}/${instance}`);
      // A name server pod moving changes the pod IPs group admin requests go to, and its roll gates brokers.
      this.#onNameServer({ metadata: { name: instance, namespace: ns } });
    } else if (component === 'broker') {
      this.#queues.brokerGroup.add(`${ns}/${instance}`);
    }
  }

  /** Starts the informers (work begins as their lists arrive). */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    for (const inf of this.#informers) inf.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.#informers.map((i) => i.stop()));
    await Promise.all(Object.values(this.#queues).map((q) => q.stop()));
  }

  /** Every informer has listed once. */
  get synced(): boolean {
    return this.#informers.every((i) => i.synced);
  }

  /** Queues a key by hand (tests, the CLI). */
  enqueue(kind: Kind, key: string): void {
    this.#queues[kind].add(key);
  }

  metrics(e: Exposition): void {
    const kinds = Object.keys(this.#queues) as Kind[];
    e.counter('rmq_operator_reconcile_total', 'Reconcile passes by kind and outcome', [...this.#outcomes].map(([k, v]) => {
      const [kind, outcome] = k.split('|') as [string, string];
      return [[['kind', kind], ['outcome', outcome]], v] as const;
    }));
    for (const kind of kinds) e.histogram('rmq_operator_reconcile_duration_seconds', 'Reconcile pass duration', this.#durations[kind], [['kind', kind]]);
    const stats = kinds.map((k) => [k, this.#queues[k].stats()] as const);
    e.gauge('rmq_operator_workqueue_depth', 'Keys waiting in the work queue', stats.map(([k, s]) => [[['kind', k]], s.depth] as const));
    e.gauge('rmq_operator_workqueue_delayed', 'Keys waiting for a requeue or backoff timer', stats.map(([k, s]) => [[['kind', k]], s.delayed] as const));
    e.counter('rmq_operator_workqueue_retries_total', 'Reconciles retried after an error', stats.map(([k, s]) => [[['kind', k]], s.retries] as const));
    e.counter('rmq_operator_workqueue_conflicts_total', 'Reconciles requeued after a 409 Conflict', stats.map(([k, s]) => [[['kind', k]], s.conflicts] as const));
    const inf = this.#informers.map((i) => [i.name, i.stats()] as const);
    e.counter('rmq_operator_watch_restarts_total', 'Watches restarted by the watchdog (silent too long)', inf.map(([n, s]) => [[['informer', n]], s.watchdogRestarts] as const));
    e.counter('rmq_operator_watch_errors_total', 'List/watch failures', inf.map(([n, s]) => [[['informer', n]], s.errors] as const));
    e.gauge('rmq_operator_informer_synced', 'Informer has listed at least once (1) or not (0)', inf.map(([n, s]) => [[['informer', n]], s.synced ? 1 : 0] as const));
    e.gauge('rmq_operator_informer_objects', 'Objects in the informer cache', inf.map(([n, s]) => [[['informer', n]], s.objects] as const));
  }

  /** Time of the last finished reconcile pass (liveness). */
  get lastProgressAt(): number {
    return this.#lastProgressAt;
  }
}
