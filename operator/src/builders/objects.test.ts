import { describe, expect, it } from 'vitest';
import { brokerGroup, nameServer } from '../../test/fixtures.js';
import { DEFAULT_CONTEXT, brokerGroupObjects, nameServerAddresses, nameServerObjects } from './index.js';

describe('all objects of a resource', () => {
  const ns = nameServer({ replicas: 2 });
  const group = brokerGroup('broker-a', { replicas: 3, replication: 'SYNC' });

  it('lists every owned object once, with deterministic names', () => {
    const ids = (objs: ReturnType<typeof nameServerObjects>) => objs.map((o) => `${o.kind}/${o.metadata!.name}`);
    expect(ids(nameServerObjects(ns, DEFAULT_CONTEXT))).toEqual(['ConfigMap/rmq-ns-config', 'Service/rmq-ns-headless', 'Service/rmq-ns', 'PodDisruptionBudget/rmq-ns', 'StatefulSet/rmq-ns']);
    expect(ids(brokerGroupObjects(group, nameServerAddresses(ns, DEFAULT_CONTEXT), DEFAULT_CONTEXT))).toEqual([
      'ConfigMap/broker-a-config',
      'Service/broker-a-headless',
      'Service/broker-a',
      'PodDisruptionBudget/broker-a',
      'StatefulSet/broker-a-0',
      'StatefulSet/broker-a-1',
      'StatefulSet/broker-a-2',
    ]);
  });

  it('every object is in the CR namespace, controlled by the CR, with the shared labels', () => {
    const all = [...nameServerObjects(ns, DEFAULT_CONTEXT), ...brokerGroupObjects(group, [], DEFAULT_CONTEXT)];
    for (const o of all) {
      expect(o.metadata!.namespace).toBe('mq');
      expect(o.metadata!.ownerReferences).toHaveLength(1);
      expect(o.metadata!.ownerReferences![0]).toMatchObject({ controller: true, apiVersion: 'rocketmq.rmq-ts.io/v1alpha1' });
      expect(Object.keys(o.metadata!.labels!)).toEqual(expect.arrayContaining(['app.kubernetes.io/name', 'app.kubernetes.io/instance', 'app.kubernetes.io/component', 'app.kubernetes.io/part-of', 'app.kubernetes.io/managed-by']));
    }
  });

  it('is pure: the same input gives the same objects', () => {
    const addrs = nameServerAddresses(ns, DEFAULT_CONTEXT);
    expect(JSON.stringify(brokerGroupObjects(group, addrs, DEFAULT_CONTEXT))).toBe(JSON.stringify(brokerGroupObjects(group, addrs, DEFAULT_CONTEXT)));
  });
});
