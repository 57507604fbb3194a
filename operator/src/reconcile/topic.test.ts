import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { NAMESPACE, testBed } from '../../test/harness.js';
import { R } from '../runtime/kube.js';
import { TOPIC_FINALIZER, type RawResource } from './common.js';
import type { TopicSettings } from './broker-admin.js';
import { compareTopic } from './topic.js';

type Bed = ReturnType<typeof testBed>;
const T0 = '2026-01-01T00:00:00Z';

function topic(bed: Bed, name: string): RawResource | undefined {
  return bed.kube.peek<RawResource>(R.topic, NAMESPACE, name);
}

function master(bed: Bed, group: string): string {
  return `${bed.kube.peek<V1Pod>(R.pod, NAMESPACE, `${group}-0-0`)!.status!.podIP!}:10911`;
}

async function twoGroups(): Promise<Bed> {
  const bed = testBed();
  await bed.bringUp({ 'broker-a': { replicas: 2 }, 'broker-b': { replicas: 1 } });
  return bed;
}

describe('Topic reconciler', () => {
  it('creates the topic on the master of every group of the cluster, adds the finalizer, reports per group', async () => {
    const bed = await twoGroups();
    bed.seedTopic('orders', { clusterName: 'DefaultCluster', writeQueueNums: 4, readQueueNums: 4, messageType: 'FIFO', ordered: true });
    expect(await bed.topic('orders')).toEqual({ requeueAfterMs: 60_000 });
    const a = master(bed, 'broker-a');
    const b = master(bed, 'broker-b');
    const ns = bed.kube.all<V1Pod>(R.pod).filter((p) => p.metadata!.name!.startsWith('rmq-ns')).map((p) => `${p.status!.podIP!}:9876`).sort().join(';');
    // Ordered: the queue order of both groups goes to the name servers (ORDER_TOPIC_CONFIG).
    expect(bed.admin.calls).toEqual([`applyTopic ${a} orders r4 w4 p6`, `applyTopic ${b} orders r4 w4 p6`, `putOrderConf ${ns} orders broker-a:4;broker-b:4`]);
    expect(bed.admin.topics.get(a)!.get('orders')).toEqual({ topicName: 'orders', readQueueNums: 4, writeQueueNums: 4, perm: 6, order: true, attributes: { 'message.type': 'FIFO' } });
    const raw = topic(bed, 'orders')!;
    expect(raw.metadata!.finalizers).toEqual([TOPIC_FINALIZER]);
    expect(raw.status).toEqual({
      observedGeneration: 1,
      topicName: 'orders',
      groups: [
        { brokerGroup: 'broker-a', brokerName: 'broker-a', applied: true, readQueueNums: 4, writeQueueNums: 4 },
        { brokerGroup: 'broker-b', brokerName: 'broker-b', applied: true, readQueueNums: 4, writeQueueNums: 4 },
      ],
      applied: '2/2',
      conditions: [{ type: 'Ready', status: 'True', reason: 'Applied', message: 'applied on 2/2 broker groups', lastTransitionTime: T0, observedGeneration: 1 }],
    });
    expect(bed.events.events.filter((e) => e.object === 'Topic/orders').map((e) => e.reason)).toEqual(['TopicCreated', 'TopicCreated', 'OrderConfApplied', 'Applied']);
    // Nothing changed: no second write of the order configuration.
    await bed.topic('orders');
    expect(bed.admin.calls).toHaveLength(3);
    // Deleting the ordered topic also removes its order configuration.
    await bed.kube.delete(R.topic, NAMESPACE, 'orders');
    await bed.topic('orders');
    expect(bed.admin.calls.filter((c) => c.startsWith('deleteOrderConf'))).toEqual([`deleteOrderConf ${ns} orders`, `deleteOrderConf ${ns} orders`]);
    expect(bed.admin.orderConfs.size).toBe(0);
  });

  it('a second pass with nothing changed does nothing on the brokers', async () => {
    const bed = await twoGroups();
    bed.seedTopic('orders', { clusterName: 'DefaultCluster' });
    await bed.topic('orders');
    const calls = bed.admin.calls.length;
    const writes = bed.kube.writes.length;
    await bed.topic('orders');
    expect(bed.admin.calls.length).toBe(calls);
    expect(bed.kube.writes.length).toBe(writes);
  });

  it('reverts an out-of-band change on the next periodic pass', async () => {
    const bed = await twoGroups();
    bed.seedTopic('orders', { brokerGroups: ['broker-a'], writeQueueNums: 8, readQueueNums: 8 });
    await bed.topic('orders');
    const a = master(bed, 'broker-a');
    bed.admin.topics.get(a)!.set('orders', { topicName: 'orders', readQueueNums: 4, writeQueueNums: 4, perm: 4, order: false, attributes: {} });
    await bed.topic('orders');
    expect(bed.admin.topics.get(a)!.get('orders')).toMatchObject({ readQueueNums: 8, writeQueueNums: 8, perm: 6 });
    expect(bed.events.events.at(-1)).toEqual({ object: 'Topic/orders', type: 'Normal', reason: 'TopicReverted', message: `reverted out-of-band change on broker-a (${a}): readQueueNums 4 → 8, writeQueueNums 4 → 8, perm 4 → 6` });
  });

  it('refuses to lower queue counts unless allowQueueShrink', async () => {
    const bed = await twoGroups();
    bed.seedTopic('orders', { brokerGroups: ['broker-a'], writeQueueNums: 8, readQueueNums: 8 });
    await bed.topic('orders');
    bed.kube.edit<RawResource>(R.topic, NAMESPACE, 'orders', (t) => Object.assign(t.spec as object, { writeQueueNums: 4, readQueueNums: 4 }));
    const calls = bed.admin.calls.length;
    await bed.topic('orders');
    expect(bed.admin.calls.length).toBe(calls);
    const status = topic(bed, 'orders')!.status!;
    expect(status.groups).toEqual([{ brokerGroup: 'broker-a', brokerName: 'broker-a', applied: false, readQueueNums: 8, writeQueueNums: 8, error: 'refusing to lower readQueueNums 8 → 4, writeQueueNums 8 → 4: set spec.allowQueueShrink to allow it' }]);
    expect(status.conditions).toEqual([{ type: 'Ready', status: 'False', reason: 'QueueShrinkRefused', message: 'broker-a: refusing to lower readQueueNums 8 → 4, writeQueueNums 8 → 4: set spec.allowQueueShrink to allow it', lastTransitionTime: T0, observedGeneration: 2 }]);
    bed.kube.edit<RawResource>(R.topic, NAMESPACE, 'orders', (t) => Object.assign(t.spec as object, { allowQueueShrink: true }));
    await bed.topic('orders');
    expect(bed.admin.topics.get(master(bed, 'broker-a'))!.get('orders')).toMatchObject({ readQueueNums: 4, writeQueueNums: 4 });
  });

  it('includes groups of the cluster created later', async () => {
    const bed = await twoGroups();
    bed.seedTopic('orders', { clusterName: 'DefaultCluster' });
    await bed.topic('orders');
    bed.seedBrokerGroup('broker-c', { replicas: 1 });
    await bed.settle(['broker-a', 'broker-b', 'broker-c']);
    await bed.topic('orders');
    expect(bed.admin.topics.get(master(bed, 'broker-c'))!.has('orders')).toBe(true);
    expect(topic(bed, 'orders')!.status!.applied).toBe('3/3');
  });

  it('deletion removes the topic from every master and the name servers, then the finalizer', async () => {
    const bed = await twoGroups();
    bed.seedTopic('orders', { clusterName: 'DefaultCluster' });
    await bed.topic('orders');
    await bed.kube.delete(R.topic, NAMESPACE, 'orders');
    expect(topic(bed, 'orders')!.metadata!.deletionTimestamp).toBeDefined();
    await bed.topic('orders');
    expect(topic(bed, 'orders')).toBeUndefined();
    const a = master(bed, 'broker-a');
    const b = master(bed, 'broker-b');
    expect(bed.admin.topics.get(a)!.has('orders')).toBe(false);
    expect(bed.admin.topics.get(b)!.has('orders')).toBe(false);
    const ns = bed.kube.all<V1Pod>(R.pod).filter((p) => p.metadata!.name!.startsWith('rmq-ns')).map((p) => `${p.status!.podIP!}:9876`).join(';');
    expect(bed.admin.calls.slice(-4)).toEqual([`deleteTopic ${a} orders`, `deleteTopicInNameServers ${ns} orders`, `deleteTopic ${b} orders`, `deleteTopicInNameServers ${ns} orders`]);
  });

  it('a failed cleanup keeps the finalizer and says why', async () => {
    const bed = await twoGroups();
    bed.seedTopic('orders', { clusterName: 'DefaultCluster' });
    await bed.topic('orders');
    bed.admin.down.add(master(bed, 'broker-b'));
    await bed.kube.delete(R.topic, NAMESPACE, 'orders');
    await expect(bed.topic('orders')).rejects.toThrow(/topic cleanup failed: broker-b: connect ECONNREFUSED/);
    const raw = topic(bed, 'orders')!;
    expect(raw.metadata!.finalizers).toEqual([TOPIC_FINALIZER]);
    expect(raw.status!.conditions).toMatchObject([{ type: 'Ready', status: 'False', reason: 'DeletionFailed' }]);
    bed.admin.down.clear();
    await bed.topic('orders');
    expect(topic(bed, 'orders')).toBeUndefined();
  });

  it('a second Topic for the same RocketMQ topic is a ResourceConflict; the older one keeps it', async () => {
    const bed = await twoGroups();
    bed.seedTopic('orders', { clusterName: 'DefaultCluster' });
    bed.kube.now += 1000;
    bed.seedTopic('orders-copy', { topicName: 'orders', clusterName: 'DefaultCluster', writeQueueNums: 2 });
    await bed.topic('orders');
    await bed.topic('orders-copy');
    expect(topic(bed, 'orders-copy')!.status!.conditions).toMatchObject([{ reason: 'ResourceConflict', message: 'Topic orders in this namespace already manages topic orders' }]);
    expect(bed.admin.calls.every((c) => c.includes(' w8 '))).toBe(true);
    // Deleting the loser does not delete the winner's topic.
    await bed.kube.delete(R.topic, NAMESPACE, 'orders-copy');
    await bed.topic('orders-copy');
    expect(bed.admin.calls.some((c) => c.startsWith('deleteTopic'))).toBe(false);
  });

  it('an invalid spec is a condition naming the field; unknown groups are per-group errors', async () => {
    const bed = await twoGroups();
    bed.seedTopic('bad', { clusterName: 'DefaultCluster', brokerGroups: ['broker-a'] });
    await bed.topic('bad');
    expect(topic(bed, 'bad')!.status!.conditions).toMatchObject([
      { type: 'Ready', status: 'False', reason: 'InvalidSpec', message: 'spec.brokerGroups: set clusterName or brokerGroups, not both' },
      { type: 'Progressing', status: 'False', reason: 'InvalidSpec' },
    ]);
    bed.seedTopic('lost', { brokerGroups: ['broker-x'] });
    expect(await bed.topic('lost')).toEqual({ requeueAfterMs: 10_000 });
    expect(topic(bed, 'lost')!.status!.groups).toEqual([{ brokerGroup: 'broker-x', applied: false, error: 'BrokerGroup broker-x does not exist in namespace mq' }]);
  });
});

describe('compareTopic', () => {
  const t = (r: number, w: number, perm = 6, type?: string): TopicSettings => ({ topicName: 't', readQueueNums: r, writeQueueNums: w, perm, order: false, attributes: type ? { 'message.type': type } : {} });
  it.each([
    ['missing', undefined, t(8, 8, 6, 'NORMAL'), false, { kind: 'create' }],
    ['equal (no attributes = NORMAL)', t(8, 8), t(8, 8, 6, 'NORMAL'), false, { kind: 'equal' }],
    ['grow', t(4, 4), t(8, 8, 6, 'NORMAL'), false, { kind: 'update', what: ['readQueueNums 4 → 8', 'writeQueueNums 4 → 8'] }],
    ['shrink refused', t(8, 8), t(8, 4, 6, 'NORMAL'), false, { kind: 'shrinkRefused', what: ['writeQueueNums 8 → 4'] }],
    ['shrink allowed', t(8, 8), t(8, 4, 6, 'NORMAL'), true, { kind: 'update', what: ['writeQueueNums 8 → 4'] }],
    ['type change', t(8, 8, 6, 'NORMAL'), t(8, 8, 6, 'FIFO'), false, { kind: 'update', what: ['message type NORMAL → FIFO'] }],
  ] as const)('%s', (_n, current, want, allow, result) => {
    expect(compareTopic(current, want, allow)).toEqual(result);
  });
});
