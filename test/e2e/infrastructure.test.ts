// The e2e infrastructure on its own (no operator): the objects the operator's builders make for a
// NameServer and a SYNC master/slave BrokerGroup, applied as they are, run by the real
// StatefulSet controller and the node agent; the Go client sends and receives through them.
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { KubernetesObject, V1Pod } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { validateBrokerGroup, type BrokerGroup } from '../../operator/src/api/v1alpha1/brokergroup.js';
import { validateNameServer, type NameServer } from '../../operator/src/api/v1alpha1/nameserver.js';
import { DEFAULT_CONTEXT, PORTS, brokerGroupNames, brokerGroupObjects, nameServerAddresses, nameServerObjects } from '../../operator/src/builders/index.js';
import { ConsumerHandle, compareDelivery, prepareDriver, runProducer } from '../interop/harness.js';
import { E2ECluster, prepareE2E } from './support/cluster.js';
import { brokerAddrTable, createTopicAt } from './support/rocketmq.js';

const NS = 'default';
// Agent internals (pod IPs on loopback, claim directories): local control plane only, not kind.
const skip = process.env.RMQ_E2E_KUBECONFIG ? 'needs the local node agent (RMQ_E2E_KUBECONFIG points at another cluster)' : (prepareE2E() ?? prepareDriver('go'));

function valid<T>(r: { ok: true; value: T } | { ok: false; errors: string[] }): T {
  if (!r.ok) throw new Error(`invalid test CR: ${r.errors.join('; ')}`);
  return r.value;
}

/** Builder output without owner references: no CR exists, and the garbage collector would delete orphans of a missing owner. */
function standalone(objs: KubernetesObject[]): KubernetesObject[] {
  return objs.map((o) => ({ ...o, metadata: { ...o.metadata, ownerReferences: undefined } }));
}

const nameServer: NameServer = valid(validateNameServer({ apiVersion: 'rocketmq.rmq-ts.io/v1alpha1', kind: 'NameServer', metadata: { name: 'rmq', namespace: NS, uid: randomUUID() }, spec: { replicas: 1 } }));
const group: BrokerGroup = valid(
  validateBrokerGroup({
    apiVersion: 'rocketmq.rmq-ts.io/v1alpha1',
    kind: 'BrokerGroup',
    metadata: { name: 'broker-a', namespace: NS, uid: randomUUID() },
    spec: { nameServerRef: { name: 'rmq' }, replicas: 2, replication: 'SYNC', storage: { size: '1Gi' }, config: { mappedFileSizeCommitLog: 16 * 1024 * 1024, slaveSyncIntervalMillis: 1000 } },
  }),
);

describe.skipIf(skip !== undefined)(`e2e infrastructure: builder StatefulSets through the node agent${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let cluster: E2ECluster;
  const names = brokerGroupNames('broker-a');
  const podIP = async (name: string) => (await cluster.core.readNamespacedPod({ name, namespace: NS })).status?.podIP ?? '';

  beforeAll(async () => {
    cluster = await E2ECluster.start('infrastructure');
    await cluster.apply(standalone(nameServerObjects(nameServer, DEFAULT_CONTEXT)));
    await cluster.apply(standalone(brokerGroupObjects(group, nameServerAddresses(nameServer, DEFAULT_CONTEXT), DEFAULT_CONTEXT)));
  });
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') cluster?.markFailed();
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('starts the NameServer and both members, each on its own pod IP, registered by DNS name', async () => {
    await cluster.waitStatefulSetReady(NS, 'rmq');
    await cluster.waitStatefulSetReady(NS, names.statefulSet(0));
    await cluster.waitStatefulSetReady(NS, names.statefulSet(1));
    const pods = await cluster.pods(NS);
    const ips = pods.map((p) => p.status?.podIP);
    expect(new Set(ips).size, `distinct pod IPs: ${ips.join(', ')}`).toBe(pods.length);
    for (const p of pods) {
      expect(p.status?.phase).toBe('Running');
      expect(p.status?.hostIP).toBe('127.0.0.1');
      expect(p.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    }
    // The broker found the name server through its headless-Service DNS name (namesrvAddr), and advertises its pod IP (brokerIP1 via the downward API).
    const namesrv = await cluster.serviceAddress(NS, 'rmq', PORTS.namesrv);
    await cluster.waitFor('both members registered with the name server', NS, 60_000, async () => {
      const table = await brokerAddrTable(namesrv);
      const members = table['broker-a'] ?? {};
      return (members['0'] === `${await podIP(names.pod(0))}:${PORTS.broker}` && members['1'] === `${await podIP(names.pod(1))}:${PORTS.broker}`) || JSON.stringify(table);
    });
  });

  it('the Go client sends through the SYNC master and receives everything', async () => {
    const namesrv = await cluster.serviceAddress(NS, 'rmq', PORTS.namesrv);
    const master = `${await podIP(names.pod(0))}:${PORTS.broker}`;
    const topic = 'E2E_INFRA';
    await createTopicAt(master, namesrv, topic);
    const runId = `infra-${Date.now()}`;
    const sent = (await runProducer('go', ['--namesrv', namesrv, '--topic', topic, '--group', 'PG_E2E', '--count', '40', '--mode', 'sync', '--run-id', runId], join(cluster.dir, 'produce.log'))).filter((e) => e.event === 'sent');
    expect(sent.length).toBe(40);
    expect(sent.every((e) => e.status === 'SEND_OK'), `statuses: ${[...new Set(sent.map((e) => e.status))].join(',')}`).toBe(true);
    const c = new ConsumerHandle('go', ['--namesrv', namesrv, '--topic', topic, '--group', 'CG_E2E', '--mode', 'push'], join(cluster.dir, 'consume.log'));
    try {
      await c.ready();
      await c.waitFor((h) => h.received.filter((r) => r.runId === runId).length >= 40, 90_000, '40 messages');
      expect(compareDelivery(sent, c.received, runId)).toEqual([]);
    } finally {
      await c.stop().catch(() => c.kill());
    }
  });

  it('a deleted master is stopped gracefully, re-created on the same claim, and still has its messages', async () => {
    const pod = names.pod(0);
    const before = (await cluster.core.readNamespacedPod({ name: pod, namespace: NS })).metadata!.uid!;
    const claimDir = cluster.agent!.claimDir(NS, names.claim(0));
    const logDir = cluster.agent!.podDir(NS, pod)!;
    await cluster.core.deleteNamespacedPod({ name: pod, namespace: NS });
    await cluster.waitFor(`pod ${pod} re-created by the StatefulSet controller and Ready`, NS, 120_000, async () => {
      const p: V1Pod = await cluster.core.readNamespacedPod({ name: pod, namespace: NS });
      return (p.metadata?.uid !== before && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true) || `uid ${p.metadata?.uid} phase ${p.status?.phase}`;
    });
    // SIGTERM, not SIGKILL: the broker logged its graceful stop and exited 0.
    const oldLog = readFileSync(join(logDir, 'logs/broker.log'), 'utf8');
    expect(oldLog).toMatch(/shutdown complete|stopped/i);
    expect(existsSync(claimDir) && readdirSync(claimDir).length > 0, `claim dir ${claimDir} kept`).toBe(true);
    // The agent's local provisioner gave the claim a PersistentVolume on that directory; the PV controller bound it.
    const pvc = await cluster.core.readNamespacedPersistentVolumeClaim({ name: names.claim(0), namespace: NS });
    expect(pvc.status?.phase, `claim ${names.claim(0)}`).toBe('Bound');
    const pv = await cluster.core.readPersistentVolume({ name: pvc.spec!.volumeName! });
    expect(pv.spec?.hostPath?.path).toBe(claimDir);
    // A new consumer group reads the topic from the start: the 40 messages survived on the claim.
    const namesrv = await cluster.serviceAddress(NS, 'rmq', PORTS.namesrv);
    const c = new ConsumerHandle('go', ['--namesrv', namesrv, '--topic', 'E2E_INFRA', '--group', 'CG_E2E_AFTER', '--mode', 'push'], join(cluster.dir, 'consume-after.log'));
    try {
      await c.ready();
      await c.waitFor((h) => h.received.length >= 40, 90_000, '40 messages after the master was re-created');
    } finally {
      await c.stop().catch(() => c.kill());
    }
  });

  it('refuses an image other than ours with a clear pod status', async () => {
    await cluster.apply([{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'foreign', namespace: NS }, spec: { containers: [{ name: 'c', image: 'busybox:1.36', command: ['sleep', '3600'] }] } } as KubernetesObject]);
    await cluster.waitFor('pod foreign to report ImageRefused', NS, 30_000, async () => {
      const p = await cluster.core.readNamespacedPod({ name: 'foreign', namespace: NS });
      const w = p.status?.containerStatuses?.[0]?.state?.waiting;
      return (w?.reason === 'ImageRefused' && /rocketmq-ts/.test(w.message ?? '') && /busybox/.test(w.message ?? '')) || JSON.stringify(p.status?.containerStatuses ?? []);
    });
    await cluster.core.deleteNamespacedPod({ name: 'foreign', namespace: NS });
  });
});
