// A reconciler test bed: the fake API server, cluster, brokers and admin, and helpers that run
// passes the way the manager would (reconcile, let the "controllers" act, repeat).
import { silentLogger } from '../../broker/src/common/logger.js';
import { API_VERSION } from '../src/api/v1alpha1/common.js';
import { DEFAULT_CONTEXT } from '../src/builders/common.js';
import { reconcileBrokerGroup } from '../src/reconcile/brokergroup.js';
import type { RawResource, ReconcileDeps } from '../src/reconcile/common.js';
import { R } from '../src/runtime/kube.js';
import { reconcileNameServer } from '../src/reconcile/nameserver.js';
import { reconcileTopic } from '../src/reconcile/topic.js';
import type { ReconcileResult } from '../src/runtime/workqueue.js';
import { CollectingEvents, FakeAdmin, FakeBrokers, FakeCluster, FakeKube } from './fake-kube.js';

export const NAMESPACE = 'mq';
export const START = Date.parse('2026-01-01T00:00:00Z');

export function testBed() {
  const kube = new FakeKube();
  const cluster = new FakeCluster(kube);
  const brokers = new FakeBrokers(kube);
  const admin = new FakeAdmin();
  const events = new CollectingEvents();
  const clock = { now: START };
  const deps: ReconcileDeps = {
    api: kube,
    probe: brokers,
    admin,
    events,
    log: silentLogger(),
    build: DEFAULT_CONTEXT,
    settings: { drainMs: 30_000, pollMs: 5_000, topicResyncMs: 60_000, statusRefreshMs: 60_000 },
    now: () => clock.now,
  };
  const key = (name: string) => `${NAMESPACE}/${name}`;
  const bed = {
    kube,
    cluster,
    brokers,
    admin,
    events,
    clock,
    deps,
    frozenBrokers: false,
    nameServer: (name: string): Promise<ReconcileResult> => reconcileNameServer(deps, key(name)),
    brokerGroup: (name: string): Promise<ReconcileResult> => reconcileBrokerGroup(deps, key(name)),
    topic: (name: string): Promise<ReconcileResult> => reconcileTopic(deps, key(name)),
    seedNameServer(name: string, spec: Record<string, unknown> = {}, metadata: Record<string, unknown> = {}) {
      return kube.seed({ apiVersion: API_VERSION, kind: 'NameServer', metadata: { name, namespace: NAMESPACE, ...metadata }, spec });
    },
    seedBrokerGroup(name: string, spec: Record<string, unknown> = {}, metadata: Record<string, unknown> = {}) {
      return kube.seed({ apiVersion: API_VERSION, kind: 'BrokerGroup', metadata: { name, namespace: NAMESPACE, ...metadata }, spec: { nameServerRef: { name: 'rmq-ns' }, ...spec } });
    },
    seedTopic(name: string, spec: Record<string, unknown>, metadata: Record<string, unknown> = {}) {
      return kube.seed({ apiVersion: API_VERSION, kind: 'Topic', metadata: { name, namespace: NAMESPACE, ...metadata }, spec });
    },
    /** NameServer rmq-ns plus groups, reconciled and "running" (every pod ready, brokers registered). */
    async bringUp(groups: Record<string, Record<string, unknown>>, nsSpec: Record<string, unknown> = { replicas: 2 }): Promise<void> {
      bed.seedNameServer('rmq-ns', nsSpec);
      for (const [name, spec] of Object.entries(groups)) bed.seedBrokerGroup(name, spec);
      await bed.settle(Object.keys(groups));
    },
    /** Reconcile the NameServer and the groups, let the controllers act, until nothing changes. */
    async settle(groups: string[]): Promise<void> {
      for (let i = 0; i < 4; i++) {
        await bed.nameServer('rmq-ns');
        // The brokers register with what the NameServer publishes (unless a test freezes them).
        if (!bed.frozenBrokers) brokers.namesrv = kube.peek<RawResource>(R.nameServer, NAMESPACE, 'rmq-ns')?.status?.addresses as string[] ?? [];
        for (const g of groups) await bed.brokerGroup(g);
        cluster.sync();
      }
    },
  };
  return bed;
}
