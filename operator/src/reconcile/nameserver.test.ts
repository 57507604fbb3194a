import type { V1StatefulSet } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { NAMESPACE, testBed } from '../../test/harness.js';
import { validateNameServer } from '../api/v1alpha1/index.js';
import { DEFAULT_CONTEXT, nameServerObjects } from '../builders/index.js';
import { R } from '../runtime/kube.js';
import { RESTART_ANNOTATION, type RawResource } from './common.js';

const ADDRS = ['rmq-ns-0.rmq-ns-headless.mq.svc.cluster.local:9876', 'rmq-ns-1.rmq-ns-headless.mq.svc.cluster.local:9876'];

describe('NameServer reconciler', () => {
  it('applies exactly the builder objects and reports Creating, then Ready with the addresses', async () => {
    const bed = testBed();
    bed.seedNameServer('rmq-ns', { replicas: 2 });
    expect(await bed.nameServer('rmq-ns')).toEqual({ requeueAfterMs: 5_000 });

    const raw = bed.kube.peek<RawResource>(R.nameServer, NAMESPACE, 'rmq-ns')!;
    const v = validateNameServer(raw);
    if (!v.ok) throw new Error(v.errors.join());
    for (const want of nameServerObjects(v.value, DEFAULT_CONTEXT)) {
      const r = Object.values(R).find((x) => x.kind === want.kind)!;
      const got = bed.kube.peek<V1StatefulSet>(r, NAMESPACE, want.metadata!.name!)!;
      // Whole object: what we applied, plus only what the API server adds (uid, versions, status).
      const { uid: _u, resourceVersion: _r, generation: _g, creationTimestamp: _c, ...meta } = got.metadata!;
      expect({ ...got, metadata: meta, status: undefined }).toEqual({ ...want, status: undefined });
    }
    expect(raw.status).toEqual({
      observedGeneration: 1,
      readyReplicas: 0,
      addresses: ADDRS,
      namesrvAddr: ADDRS.join(';'),
      conditions: [
        { type: 'Ready', status: 'False', reason: 'ReplicasNotReady', message: '0/2 name servers ready', lastTransitionTime: '2026-01-01T00:00:00Z', observedGeneration: 1 },
        { type: 'Progressing', status: 'True', reason: 'Creating', message: '0/2 name servers ready', lastTransitionTime: '2026-01-01T00:00:00Z', observedGeneration: 1 },
        { type: 'Degraded', status: 'False', reason: 'Healthy', lastTransitionTime: '2026-01-01T00:00:00Z', observedGeneration: 1 },
      ],
    });

    bed.cluster.sync();
    bed.clock.now += 60_000;
    expect(await bed.nameServer('rmq-ns')).toEqual({});
    const ready = bed.kube.peek<RawResource>(R.nameServer, NAMESPACE, 'rmq-ns')!;
    expect(ready.status).toEqual({
      observedGeneration: 1,
      readyReplicas: 2,
      addresses: ADDRS,
      namesrvAddr: ADDRS.join(';'),
      conditions: [
        { type: 'Ready', status: 'True', reason: 'AllReplicasReady', message: '2/2 name servers ready', lastTransitionTime: '2026-01-01T00:01:00Z', observedGeneration: 1 },
        { type: 'Progressing', status: 'False', reason: 'UpToDate', lastTransitionTime: '2026-01-01T00:01:00Z', observedGeneration: 1 },
        // Unchanged status: the transition time stays.
        { type: 'Degraded', status: 'False', reason: 'Healthy', lastTransitionTime: '2026-01-01T00:00:00Z', observedGeneration: 1 },
      ],
    });
    expect(bed.events.events).toEqual([{ object: 'NameServer/rmq-ns', type: 'Normal', reason: 'AllReplicasReady', message: '2/2 name servers ready' }]);
  });

  it('writes status only when it changed (a settled pass is read-only apart from the apply)', async () => {
    const bed = testBed();
    bed.seedNameServer('rmq-ns', { replicas: 1 });
    await bed.nameServer('rmq-ns');
    bed.cluster.sync();
    await bed.nameServer('rmq-ns');
    const before = bed.kube.writes.length;
    await bed.nameServer('rmq-ns');
    expect(bed.kube.writes.slice(before).filter((w) => !w.startsWith('APPLY'))).toEqual([]);
  });

  it('an invalid spec becomes Ready=False InvalidSpec naming the field, plus a Warning event; nothing is created', async () => {
    const bed = testBed();
    bed.seedNameServer('rmq-ns', { replicas: 0, config: { listenPort: 1234 } });
    expect(await bed.nameServer('rmq-ns')).toEqual({});
    const raw = bed.kube.peek<RawResource>(R.nameServer, NAMESPACE, 'rmq-ns')!;
    const message = 'spec.replicas: must be >= 1; spec.config.listenPort: is set by the operator (the name server port is fixed at 9876 so Services and broker addresses agree); remove it';
    expect(raw.status).toEqual({
      observedGeneration: 1,
      conditions: [
        { type: 'Ready', status: 'False', reason: 'InvalidSpec', message, lastTransitionTime: '2026-01-01T00:00:00Z', observedGeneration: 1 },
        { type: 'Progressing', status: 'False', reason: 'InvalidSpec', message: 'nothing is changed until the spec is fixed', lastTransitionTime: '2026-01-01T00:00:00Z', observedGeneration: 1 },
      ],
    });
    expect(bed.events.events).toEqual([{ object: 'NameServer/rmq-ns', type: 'Warning', reason: 'InvalidSpec', message }]);
    expect(bed.kube.writes.filter((w) => w.startsWith('APPLY'))).toEqual([]);
  });

  it('the restart annotation reaches the pod template (the StatefulSet rolls the name servers)', async () => {
    const bed = testBed();
    bed.seedNameServer('rmq-ns', { replicas: 1 }, { annotations: { [RESTART_ANNOTATION]: '2026-01-01' } });
    await bed.nameServer('rmq-ns');
    const sts = bed.kube.peek<V1StatefulSet>(R.statefulSet, NAMESPACE, 'rmq-ns')!;
    expect(sts.spec!.template.metadata!.annotations![RESTART_ANNOTATION]).toBe('2026-01-01');
  });

  it('paused: no apply, a Progressing=True ReconciliationPaused condition', async () => {
    const bed = testBed();
    bed.seedNameServer('rmq-ns', { replicas: 1 }, { annotations: { 'rocketmq.rmq-ts.io/pause-reconciliation': 'true' } });
    await bed.nameServer('rmq-ns');
    expect(bed.kube.writes).toEqual(['STATUS NameServer/mq/rmq-ns']);
    const raw = bed.kube.peek<RawResource>(R.nameServer, NAMESPACE, 'rmq-ns')!;
    expect(raw.status).toMatchObject({ conditions: [{ type: 'Progressing', status: 'True', reason: 'ReconciliationPaused' }] });
  });
});
