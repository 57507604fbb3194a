import type { V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { NAMESPACE, testBed } from '../../test/harness.js';
import { validateBrokerGroup } from '../api/v1alpha1/index.js';
import { DEFAULT_CONTEXT, brokerGroupObjects, nameServerAddresses } from '../builders/index.js';
import { nameServer } from '../../test/fixtures.js';
import { R } from '../runtime/kube.js';
import { RESTART_ANNOTATION, type RawResource } from './common.js';

const ADDRS = ['rmq-ns-0.rmq-ns-headless.mq.svc.cluster.local:9876', 'rmq-ns-1.rmq-ns-headless.mq.svc.cluster.local:9876'];
const T0 = '2026-01-01T00:00:00Z';
const cond = (type: string, status: string, reason: string, message?: string, at = T0) => ({ type, status, reason, ...(message ? { message } : {}), lastTransitionTime: at, observedGeneration: 1 });

function group(bed: ReturnType<typeof testBed>, name = 'broker-a'): RawResource {
  return bed.kube.peek<RawResource>(R.brokerGroup, NAMESPACE, name)!;
}

function podUids(bed: ReturnType<typeof testBed>): Record<string, string> {
  return Object.fromEntries(bed.kube.all<V1Pod>(R.pod).filter((p) => p.metadata!.name!.startsWith('broker-a')).map((p) => [p.metadata!.name!, p.metadata!.uid!]));
}

/** Runs passes like the work queue would (time jumps to each requeue), letting the controllers act in between. */
async function roll(bed: ReturnType<typeof testBed>, passes = 40): Promise<void> {
  for (let i = 0; i < passes; i++) {
    const r = await bed.brokerGroup('broker-a');
    bed.cluster.sync();
    const g = group(bed);
    const progressing = (g.status?.conditions as Array<{ type: string; status: string }>).find((c) => c.type === 'Progressing');
    if (progressing?.status === 'False') return;
    bed.clock.now += r.requeueAfterMs ?? 1000;
  }
  throw new Error('the roll did not finish');
}

describe('BrokerGroup reconciler', () => {
  it('applies the builder objects (ConfigMap, Services, PDB, one StatefulSet per member) owned by the group', async () => {
    const bed = testBed();
    await bed.bringUp({ 'broker-a': { replicas: 2, replication: 'SYNC' } });
    const raw = group(bed);
    const v = validateBrokerGroup(raw);
    if (!v.ok) throw new Error(v.errors.join());
    const ns = nameServer({ replicas: 2 });
    for (const want of brokerGroupObjects(v.value, nameServerAddresses(ns, DEFAULT_CONTEXT), DEFAULT_CONTEXT)) {
      const r = Object.values(R).find((x) => x.kind === want.kind)!;
      const got = bed.kube.peek<V1StatefulSet>(r, NAMESPACE, want.metadata!.name!)!;
      const { uid: _u, resourceVersion: _r, generation: _g, creationTimestamp: _c, ...meta } = got.metadata!;
      expect({ ...got, metadata: meta, status: undefined }).toEqual({ ...want, status: undefined });
      expect(got.metadata!.ownerReferences).toEqual([{ apiVersion: 'rocketmq.rmq-ts.io/v1alpha1', kind: 'BrokerGroup', name: 'broker-a', uid: raw.metadata!.uid, controller: true, blockOwnerDeletion: true }]);
    }
  });

  it('reports each member as the broker reports itself, and Ready once all are', async () => {
    const bed = testBed();
    await bed.bringUp({ 'broker-a': { replicas: 2, replication: 'SYNC' } });
    const ips = Object.fromEntries(bed.kube.all<V1Pod>(R.pod).map((p) => [p.metadata!.name!, p.status!.podIP!]));
    expect(group(bed).status).toEqual({
      observedGeneration: 1,
      conditions: [
        cond('Ready', 'True', 'AllMembersReady', '2/2 members ready'),
        cond('Progressing', 'False', 'UpToDate'),
        cond('Degraded', 'False', 'Healthy'),
      ],
      members: [
        { pod: 'broker-a-0-0', ready: true, brokerId: 0, role: 'ASYNC_MASTER', address: `${ips['broker-a-0-0']!}:10911`, registeredWith: ADDRS, version: '0.1.0' },
        { pod: 'broker-a-1-0', ready: true, brokerId: 1, role: 'SLAVE', address: `${ips['broker-a-1-0']!}:10911`, registeredWith: ADDRS, replicationLagBytes: 0, version: '0.1.0' },
      ],
      readyMembers: 2,
      nameServers: ADDRS,
      master: 'broker-a-0-0',
      currentImage: 'rocketmq-ts:0.1.0',
      version: '0.1.0',
    });
    expect(bed.events.reasons()).toContain('AllMembersReady');
  });

  it('a slave that lags is reported: Ready=False, Degraded=True ReplicationLagging with the broker\'s words', async () => {
    const bed = testBed();
    await bed.bringUp({ 'broker-a': { replicas: 2 } });
    bed.cluster.unready.add('broker-a-1-0');
    bed.cluster.sync();
    bed.clock.now += 1000;
    await bed.brokerGroup('broker-a');
    const conditions = group(bed).status!.conditions as unknown[];
    expect(conditions).toEqual([
      cond('Ready', 'False', 'MembersNotReady', '1/2 members ready', '2026-01-01T00:00:01Z'),
      cond('Progressing', 'False', 'UpToDate'),
      cond('Degraded', 'True', 'ReplicationLagging', 'broker-a-1-0: replication lag 1000 bytes exceeds readyMaxReplicationLagBytes=10', '2026-01-01T00:00:01Z'),
    ]);
    expect(bed.events.events.at(-1)).toEqual({ object: 'BrokerGroup/broker-a', type: 'Warning', reason: 'MembersNotReady', message: '1/2 members ready' });
  });

  it('rolls an image change: slaves first, then drains, restarts and restores the master; each pod once', async () => {
    const bed = testBed();
    await bed.bringUp({ 'broker-a': { replicas: 3, replication: 'SYNC' } });
    const before = podUids(bed);
    bed.events.events.length = 0;
    bed.kube.edit<RawResource>(R.brokerGroup, NAMESPACE, 'broker-a', (g) => {
      (g.spec as Record<string, unknown>).image = 'rocketmq-ts:0.2.0';
    });
    await roll(bed);
    const after = podUids(bed);
    for (const pod of Object.keys(before)) expect(after[pod]).not.toBe(before[pod]);
    expect(bed.events.events.filter((e) => e.reason !== 'MembersNotReady' && e.reason !== 'AllMembersReady').map((e) => `${e.reason}: ${e.message}`)).toEqual([
      'RestartingMember: restarting slave broker-a-2-0 (config or image changed)',
      'RestartingMember: restarting slave broker-a-1-0 (config or image changed)',
      'DrainingMaster: draining master broker-a-0-0: write permission off on every name server',
      'RestartingMember: restarting master broker-a-0-0 after the drain',
      'WritesRestored: master broker-a-0-0 is back: ready, registered with every name server, slaves connected',
    ]);
    const nsPods = bed.kube.all<V1Pod>(R.pod).filter((p) => p.metadata!.name!.startsWith('rmq-ns')).map((p) => `${p.status!.podIP!}:9876`).sort().join(';');
    expect(bed.admin.calls).toEqual([`wipeWritePerm ${nsPods} broker-a`, `addWritePerm ${nsPods} broker-a`]);
    // Every pod deleted exactly once, with a uid precondition.
    expect(bed.kube.writes.filter((w) => w.startsWith('DELETE'))).toEqual(['DELETE Pod/mq/broker-a-2-0', 'DELETE Pod/mq/broker-a-1-0', 'DELETE Pod/mq/broker-a-0-0']);
    const status = group(bed).status!;
    expect(status.currentImage).toBe('rocketmq-ts:0.2.0');
    expect(status.rollout).toBeUndefined();
    expect(status.blockedBy).toBeUndefined();
  });

  it('SYNC with one slave: the group is drained around the slave\'s restart too', async () => {
    const bed = testBed();
    await bed.bringUp({ 'broker-a': { replicas: 2, replication: 'SYNC' } });
    bed.kube.edit<RawResource>(R.brokerGroup, NAMESPACE, 'broker-a', (g) => {
      (g.spec as Record<string, unknown>).image = 'rocketmq-ts:0.2.0';
    });
    await roll(bed);
    expect(bed.admin.calls.map((c) => c.split(' ')[0])).toEqual(['wipeWritePerm', 'addWritePerm', 'wipeWritePerm', 'addWritePerm']);
    expect(bed.kube.writes.filter((w) => w.startsWith('DELETE'))).toEqual(['DELETE Pod/mq/broker-a-1-0', 'DELETE Pod/mq/broker-a-0-0']);
    expect(bed.events.events.filter((e) => ['DrainingGroup', 'DrainingMaster', 'RestartingMember', 'WritesRestored'].includes(e.reason)).map((e) => e.message)).toEqual([
      'draining the group: broker-a-1-0 is the only in-sync slave of a SYNC master (sends would fail while it restarts)',
      'restarting slave broker-a-1-0 after the drain',
      'slave broker-a-1-0 is back and caught up: group writes restored',
      'draining master broker-a-0-0: write permission off on every name server',
      'restarting master broker-a-0-0 after the drain',
      'master broker-a-0-0 is back: ready, registered with every name server, slaves connected',
    ]);
  });

  it('the master waits in DrainingMaster for the drain period and says so in status', async () => {
    const bed = testBed();
    await bed.bringUp({ 'broker-a': { replicas: 1 } });
    bed.kube.edit<RawResource>(R.brokerGroup, NAMESPACE, 'broker-a', (g) => {
      (g.spec as Record<string, unknown>).config = { maxMessageSize: 1024 * 1024 };
    });
    expect(await bed.brokerGroup('broker-a')).toEqual({ requeueAfterMs: 1000 });
    bed.clock.now += 10_000;
    expect(await bed.brokerGroup('broker-a')).toEqual({ requeueAfterMs: 20_000 });
    const status = group(bed).status!;
    expect(status.rollout).toEqual({ phase: 'DrainingMaster', member: 0, since: '2026-01-01T00:00:00.000Z' });
    expect(status.blockedBy).toBe('draining master broker-a-0-0: write permission off, waiting 20s for in-flight sends');
    expect((status.conditions as Array<{ type: string }>).find((c) => c.type === 'Progressing')).toMatchObject({ status: 'True', reason: 'RollingUpdateBlocked' });
    expect(bed.kube.writes.filter((w) => w.startsWith('DELETE'))).toEqual([]);
  });

  it('waits for the NameServer roll before restarting brokers', async () => {
    const bed = testBed();
    await bed.bringUp({ 'broker-a': { replicas: 2 } });
    bed.kube.edit<RawResource>(R.nameServer, NAMESPACE, 'rmq-ns', (n) => {
      (n.spec as Record<string, unknown>).image = 'rocketmq-ts:0.2.0';
    });
    bed.kube.edit<RawResource>(R.brokerGroup, NAMESPACE, 'broker-a', (g) => {
      (g.spec as Record<string, unknown>).image = 'rocketmq-ts:0.2.0';
    });
    await bed.nameServer('rmq-ns'); // new template; its pods not rolled yet (no sync)
    await bed.brokerGroup('broker-a');
    expect(group(bed).status!.blockedBy).toBe('waiting for the NameServer rollout to finish (name servers restart before brokers)');
    expect(bed.kube.writes.filter((w) => w.startsWith('DELETE'))).toEqual([]);
  });

  it('scaling the NameServer pushes namesrvAddr at runtime and restarts no broker', async () => {
    const bed = testBed();
    await bed.bringUp({ 'broker-a': { replicas: 2 } });
    bed.frozenBrokers = true;
    bed.kube.edit<RawResource>(R.nameServer, NAMESPACE, 'rmq-ns', (n) => {
      (n.spec as Record<string, unknown>).replicas = 3;
    });
    await bed.settle(['broker-a']);
    const want = [...ADDRS, 'rmq-ns-2.rmq-ns-headless.mq.svc.cluster.local:9876'].join(';');
    const ips = Object.fromEntries(bed.kube.all<V1Pod>(R.pod).map((p) => [p.metadata!.name!, p.status!.podIP!]));
    expect(bed.admin.calls.slice(0, 2)).toEqual([
      `updateBrokerConfig ${ips['broker-a-0-0']!}:10911 namesrvAddr=${want}`,
      `updateBrokerConfig ${ips['broker-a-1-0']!}:10911 namesrvAddr=${want}`,
    ]);
    expect(bed.kube.writes.filter((w) => w.startsWith('DELETE'))).toEqual([]);
    expect(bed.events.reasons()).toContain('NameServersUpdated');
  });

  it('a runtime-updatable config key is pushed to every member without a restart', async () => {
    const bed = testBed();
    await bed.bringUp({ 'broker-a': { replicas: 2 } });
    bed.kube.edit<RawResource>(R.brokerGroup, NAMESPACE, 'broker-a', (g) => {
      (g.spec as Record<string, unknown>).config = { slaveReadEnable: true, maxMessageSize: 4194304 };
    });
    const ips = Object.fromEntries(bed.kube.all<V1Pod>(R.pod).map((p) => [p.metadata!.name!, p.status!.podIP!]));
    await bed.brokerGroup('broker-a');
    // maxMessageSize needs a restart (the roll begins with the slave); slaveReadEnable does not.
    expect(bed.admin.calls).toEqual([`updateBrokerConfig ${ips['broker-a-0-0']!}:10911 slaveReadEnable=true`, `updateBrokerConfig ${ips['broker-a-1-0']!}:10911 slaveReadEnable=true`]);
    expect(bed.events.reasons()).toContain('ConfigUpdated');
    expect(bed.kube.writes.filter((w) => w.startsWith('DELETE'))).toEqual(['DELETE Pod/mq/broker-a-1-0']);
    await bed.brokerGroup('broker-a');
    expect(bed.admin.calls).toHaveLength(2);
  });

  it('removes members beyond spec.replicas', async () => {
    const bed = testBed();
    await bed.bringUp({ 'broker-a': { replicas: 3 } });
    bed.kube.edit<RawResource>(R.brokerGroup, NAMESPACE, 'broker-a', (g) => {
      (g.spec as Record<string, unknown>).replicas = 2;
    });
    await bed.brokerGroup('broker-a');
    expect(bed.kube.peek(R.statefulSet, NAMESPACE, 'broker-a-2')).toBeUndefined();
    expect(bed.kube.peek(R.statefulSet, NAMESPACE, 'broker-a-1')).toBeDefined();
    expect(bed.events.events.at(-1)?.reason === 'MemberRemoved' || bed.events.reasons().includes('MemberRemoved')).toBe(true);
  });

  it('the restart annotation rolls every member in order; pause stops everything', async () => {
    const bed = testBed();
    await bed.bringUp({ 'broker-a': { replicas: 2 } });
    bed.kube.edit<RawResource>(R.brokerGroup, NAMESPACE, 'broker-a', (g) => {
      g.metadata!.annotations = { 'rocketmq.rmq-ts.io/pause-reconciliation': 'true', [RESTART_ANNOTATION]: 'now' };
    });
    const writes = bed.kube.writes.length;
    await bed.brokerGroup('broker-a');
    expect(bed.kube.writes.slice(writes)).toEqual(['STATUS BrokerGroup/mq/broker-a']);
    bed.kube.edit<RawResource>(R.brokerGroup, NAMESPACE, 'broker-a', (g) => {
      g.metadata!.annotations = { [RESTART_ANNOTATION]: 'now' };
    });
    await bed.brokerGroup('broker-a');
    expect(bed.kube.writes.filter((w) => w.startsWith('DELETE'))).toEqual(['DELETE Pod/mq/broker-a-1-0']);
  });

  it('a missing NameServer is a condition, not a crash; an invalid spec names the field', async () => {
    const bed = testBed();
    bed.seedBrokerGroup('broker-a', { replicas: 1 });
    await bed.brokerGroup('broker-a');
    expect(group(bed).status!.conditions).toEqual([cond('Ready', 'False', 'NameServerNotFound', 'NameServer mq/rmq-ns (spec.nameServerRef) does not exist')]);
    bed.seedBrokerGroup('broker-b', { replicas: 1, replication: 'SYNC', config: { brokerRole: 'SLAVE' } });
    await bed.brokerGroup('broker-b');
    expect((group(bed, 'broker-b').status!.conditions as Array<{ message: string }>)[0]!.message).toBe(
      'spec.replication: SYNC needs a slave to acknowledge sends: set spec.replicas >= 2 or use ASYNC; spec.config.brokerRole: is set by the operator (set spec.replication; member 0 is the master, the others are slaves); remove it',
    );
  });
});
