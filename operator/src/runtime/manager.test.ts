// The whole loop on the fake API server: informers (list+watch) → work queues → reconcilers, with
// the fake StatefulSet controller acting in the background. Proves the wiring: owned objects map
// back to their resource, a NameServer change reaches its BrokerGroups, a BrokerGroup created later
// reaches the Topics of its namespace.
import type { KubernetesObject } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../broker/src/common/logger.js';
import { NAMESPACE, testBed } from '../../test/harness.js';
import { reconcileBrokerGroup } from '../reconcile/brokergroup.js';
import type { RawResource } from '../reconcile/common.js';
import { reconcileNameServer } from '../reconcile/nameserver.js';
import { reconcileTopic } from '../reconcile/topic.js';
import { R } from './kube.js';
import { Manager, specOrMetaChanged } from './manager.js';
import { Exposition } from '../../../broker/src/observability/prometheus.js';

async function until(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const ready = (o: RawResource | undefined): boolean => (o?.status?.conditions as Array<{ type: string; status: string }> | undefined)?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

describe('Manager', () => {
  const stops: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const s of stops.splice(0)) await s();
  });

  it('reconciles resources created after start until they are Ready, following owned objects', async () => {
    const bed = testBed();
    bed.deps.settings = { drainMs: 100, pollMs: 50, topicResyncMs: 200, statusRefreshMs: 200 };
    bed.deps.now = () => Date.now();
    const manager = new Manager(
      bed.kube,
      { nameServer: (k) => reconcileNameServer(bed.deps, k), brokerGroup: (k) => reconcileBrokerGroup(bed.deps, k), topic: (k) => reconcileTopic(bed.deps, k) },
      silentLogger(),
      { namespaces: [], concurrency: 2, resyncMs: 1_000, watchdogMs: 5_000, watchTimeoutSeconds: 60 },
    );
    // The "controllers" and the brokers' registration run beside the operator.
    const controllers = setInterval(() => {
      bed.cluster.sync();
      bed.brokers.namesrv = (bed.kube.peek<RawResource>(R.nameServer, NAMESPACE, 'rmq-ns')?.status?.addresses as string[] | undefined) ?? [];
    }, 25);
    stops.push(async () => {
      clearInterval(controllers);
      await manager.stop();
    });
    manager.start();
    await until('informers synced', () => manager.synced);

    bed.seedNameServer('rmq-ns', { replicas: 2 });
    bed.seedBrokerGroup('broker-a', { replicas: 2 });
    bed.seedTopic('orders', { clusterName: 'DefaultCluster' });
    await until('BrokerGroup Ready', () => ready(bed.kube.peek(R.brokerGroup, NAMESPACE, 'broker-a')));
    await until('Topic Ready', () => ready(bed.kube.peek(R.topic, NAMESPACE, 'orders')));

    // A group created later gets the topic without touching the Topic.
    bed.seedBrokerGroup('broker-b', { replicas: 1 });
    await until('topic on broker-b', () => bed.kube.peek<RawResource>(R.topic, NAMESPACE, 'orders')?.status?.applied === '2/2');

    const e = new Exposition();
    manager.metrics(e);
    const text = e.text();
    expect(text).toMatch(/rmq_operator_reconcile_total\{kind="brokerGroup",outcome="success"\} \d+/);
    expect(text).toContain('rmq_operator_informer_synced{informer="pods"} 1');
  });
});

describe('specOrMetaChanged', () => {
  const base = { metadata: { name: 'g', generation: 1, resourceVersion: '1', annotations: { a: '1' } }, status: { lag: 1 } };
  it.each([
    ['a status-only change (our own write)', { ...base, metadata: { ...base.metadata, resourceVersion: '2' }, status: { lag: 2 } }, false],
    ['a spec change (generation)', { ...base, metadata: { ...base.metadata, generation: 2 } }, true],
    ['an annotation (pause, restart)', { ...base, metadata: { ...base.metadata, annotations: { a: '2' } } }, true],
    ['deletion', { ...base, metadata: { ...base.metadata, deletionTimestamp: new Date(0) } }, true],
    ['a finalizer', { ...base, metadata: { ...base.metadata, finalizers: ['x'] } }, true],
  ] as Array<[string, KubernetesObject, boolean]>)('%s', (_n, next, want) => {
    expect(specOrMetaChanged(next, base)).toBe(want);
  });
});
