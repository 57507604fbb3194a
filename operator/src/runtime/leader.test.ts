import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../broker/src/common/logger.js';
import { FakeKube } from '../../test/fake-kube.js';
import { R } from './kube.js';
import { LeaderElector, decideLease, microTime, type Lease } from './leader.js';

const NOW = Date.parse('2026-01-01T00:00:30Z');
const lease = (spec: Lease['spec']): Lease => ({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'l', namespace: 'ops' }, spec });

describe('decideLease', () => {
  it.each([
    ['no lease: create it', undefined, { action: 'create' }],
    ['held by us: renew', lease({ holderIdentity: 'me', renewTime: microTime(NOW - 60_000), leaseDurationSeconds: 15 }), { action: 'renew' }],
    ['released (empty holder): take over', lease({ holderIdentity: '', renewTime: microTime(NOW) }), { action: 'takeOver' }],
    ['held by another, live: wait', lease({ holderIdentity: 'other', renewTime: microTime(NOW - 5_000), leaseDurationSeconds: 15 }), { action: 'wait', holder: 'other', expiresInMs: 10_000 }],
    ['held by another, expired: take over', lease({ holderIdentity: 'other', renewTime: microTime(NOW - 15_000), leaseDurationSeconds: 15 }), { action: 'takeOver' }],
    ['no renew time: take over', lease({ holderIdentity: 'other' }), { action: 'takeOver' }],
  ] as const)('%s', (_n, l, want) => {
    expect(decideLease(l, 'me', NOW)).toEqual(want);
  });

  it('writes Lease times as MicroTime', () => {
    expect(microTime(Date.parse('2026-01-01T00:00:30.123Z'))).toBe('2026-01-01T00:00:30.123000Z');
  });
});

describe('LeaderElector', () => {
  it('one of two candidates leads; the other takes over once the lease is released', async () => {
    const kube = new FakeKube();
    const opts = { namespace: 'ops', name: 'rmq-ts-operator', retryPeriodMs: 20, leaseDurationSeconds: 15 };
    const a = new LeaderElector(kube, { ...opts, identity: 'a' }, silentLogger());
    const b = new LeaderElector(kube, { ...opts, identity: 'b' }, silentLogger());
    await a.acquire(() => undefined);
    expect(a.leading).toBe(true);
    let bLeads = false;
    const bDone = b.acquire(() => undefined).then(() => (bLeads = true));
    await new Promise((r) => setTimeout(r, 100));
    expect(bLeads).toBe(false);
    expect(kube.peek<Lease>(R.lease, 'ops', 'rmq-ts-operator')!.spec!.holderIdentity).toBe('a');
    await a.release();
    await bDone;
    expect(b.leading).toBe(true);
    const l = kube.peek<Lease>(R.lease, 'ops', 'rmq-ts-operator')!;
    expect(l.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1, leaseDurationSeconds: 15 });
    await b.release();
  });
});
