import { describe, expect, it } from 'vitest';
import type { MemberReport } from './broker-admin.js';
import { clusterRollBlocker, decideRoll, type MemberView, type RollDecision, type RollInput, type RolloutState } from './rolling.js';

const NS = ['ns-0:9876', 'ns-1:9876'];
const NOW = Date.parse('2026-01-01T00:10:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

type Spec = string;
/**
 * A member in one token: `M`/`S` master/slave by report, then flags:
 * `o` outdated, `u` unready (pod and broker), `-` no pod, `?` no report, `r` registered with one
 * name server only, `d` slave disconnected. Index = position.
 */
function member(spec: Spec, index: number): MemberView {
  const role = spec[0] === 'M' ? 'ASYNC_MASTER' : 'SLAVE';
  const f = spec.slice(1);
  const pod = `g-${index}-0`;
  const view: MemberView = { index, pod, outdated: f.includes('o'), podReady: !f.includes('u') };
  if (f.includes('-')) return { ...view, podReady: false };
  view.podUid = `uid-${index}`;
  if (f.includes('?')) return view;
  const report: MemberReport = {
    role,
    brokerId: index,
    brokerName: 'g',
    brokerAddr: `10.0.0.${index}:10911`,
    version: '0.1.0',
    ready: !f.includes('u'),
    unmet: f.includes('u') ? ['replication lag 5000 bytes exceeds readyMaxReplicationLagBytes=100'] : [],
    registeredWith: f.includes('r') ? [NS[0]!] : [...NS],
    nameServers: [...NS],
    writable: true,
    ...(role === 'SLAVE' ? { replication: { connected: !f.includes('d'), lagBytes: 0 } } : {}),
  };
  view.report = report;
  return view;
}

function input(members: Spec, extra: Partial<RollInput> = {}): RollInput {
  return {
    members: members.split(' ').map(member),
    namesrvAddresses: NS,
    nameServerSettled: true,
    nowMs: NOW,
    drainMs: 30_000,
    pollMs: 5_000,
    ...extra,
  };
}

/** The step in one line, for the tables. */
function summary(d: RollDecision): string {
  const s = d.step;
  const phase = d.rollout ? ` [${d.rollout.phase} ${d.rollout.member}]` : '';
  switch (s.action) {
    case 'none':
      return `none${phase}`;
    case 'wait':
      return `wait: ${s.reason}${phase}`;
    default:
      return `${s.action} ${s.member}${phase}`;
  }
}

const draining = (sinceMs: number, member = 0): RolloutState => ({ phase: 'DrainingMaster', member, since: iso(sinceMs) });
const restarting = (member = 0, podUid = 'uid-old'): RolloutState => ({ phase: 'RestartingMaster', member, since: iso(NOW - 1000), podUid });

describe('decideRoll: which member next', () => {
  const table: Array<[string, RollInput, string]> = [
    ['nothing outdated', input('M S S'), 'none'],
    ['one member, up to date', input('M'), 'none'],
    ['slaves before the master, highest first', input('Mo So So'), 'restart 2'],
    ['an unready slave before a ready one', input('Mo Sou So'), 'restart 1'],
    ['a ready slave waits for another slave to catch up', input('M So Su'), 'wait: slave g-2-0 must be ready and caught up first: broker in g-2-0 is not ready: replication lag 5000 bytes exceeds readyMaxReplicationLagBytes=100'],
    ['a slave whose broker does not answer counts as not ready', input('M So S?'), 'wait: slave g-2-0 must be ready and caught up first: broker in g-2-0 does not answer'],
    ['the master once every slave is up to date and ready: drain first', input('Mo S S'), `wipeWrite 0 [DrainingMaster 0]`],
    ['the master waits for a slave to catch up', input('Mo S Su'), 'wait: slave g-2-0 must be ready and caught up before the master restarts: broker in g-2-0 is not ready: replication lag 5000 bytes exceeds readyMaxReplicationLagBytes=100'],
    ['a single master is drained too (producers move to other groups)', input('Mo'), 'wipeWrite 0 [DrainingMaster 0]'],
    ['an unready master is restarted without a drain', input('Mou S'), 'restart 0 [RestartingMaster 0]'],
    ['name servers roll before brokers', input('Mo So', { nameServerSettled: false }), 'wait: waiting for the NameServer rollout to finish (name servers restart before brokers)'],
    ['a missing pod is awaited', input('Mo S-'), 'wait: waiting for pod g-1-0 to be created'],
    ['the role the broker reports decides, not the index (member 1 was promoted)', input('So Mo'), 'restart 0'],
    ['a member without a report is a master only as member 0', input('M? So'), 'restart 1'],
    ['SYNC: the only in-sync slave restarts inside a drain of the group', input('M So', { syncReplication: true }), 'wipeWrite 1 [DrainingSlave 1]'],
    ['SYNC: with another ready slave no drain is needed', input('M So S', { syncReplication: true }), 'restart 1'],
    ['SYNC: an unready slave gives no acknowledgements anyway: no drain', input('M Sou', { syncReplication: true }), 'restart 1'],
    ['ASYNC: no drain for slaves', input('M So'), 'restart 1'],
  ];
  it.each(table)('%s', (_name, inp, want) => {
    expect(summary(decideRoll(inp))).toBe(want);
  });
});

describe('decideRoll: the master drain and restart', () => {
  const table: Array<[string, RollInput, string]> = [
    ['draining: waits the rest of the drain', input('Mo S', { rollout: draining(NOW - 10_000) }), 'wait: draining master g-0-0: write permission off, waiting 20s for in-flight sends [DrainingMaster 0]'],
    ['drain over: deletes the master pod', input('Mo S', { rollout: draining(NOW - 30_000) }), 'restart 0 [RestartingMaster 0]'],
    ['drain no longer needed (spec reverted): writes back on', input('M S', { rollout: draining(NOW - 1000) }), 'restoreWrite 0'],
    ['pod vanished during the drain: wait for the replacement', input('M- S', { rollout: draining(NOW - 1000) }), 'wait: master g-0-0 is gone; waiting for its replacement [RestartingMaster 0]'],
    ['restarting: old pod still there (delete failed): delete again', input('Mo S', { rollout: restarting(0, 'uid-0') }), 'restart 0 [RestartingMaster 0]'],
    ['restarting: new pod not created yet', input('M- S', { rollout: restarting() }), 'wait: master g-0-0 restarting: pod g-0-0 does not exist yet [RestartingMaster 0]'],
    ['restarting: new broker not ready', input('Mu S', { rollout: restarting() }), 'wait: master g-0-0 restarting: broker in g-0-0 is not ready: replication lag 5000 bytes exceeds readyMaxReplicationLagBytes=100 [RestartingMaster 0]'],
    ['restarting: not registered with every name server', input('Mr S', { rollout: restarting() }), 'wait: master g-0-0 is not registered with ns-1:9876 yet [RestartingMaster 0]'],
    ['restarting: a slave has not reconnected', input('M Sd', { rollout: restarting() }), 'wait: slave g-1-0 has not reconnected to the master yet [RestartingMaster 0]'],
    ['restarting: back, registered, slaves connected: writes back on', input('M S S', { rollout: restarting() }), 'restoreWrite 0'],
    ['the rolled member was removed from the group', input('M', { rollout: restarting(3) }), 'restoreWrite 3'],
    ['SYNC slave drain: waits, then restarts the slave', input('M So', { syncReplication: true, rollout: { phase: 'DrainingSlave', member: 1, since: iso(NOW - 30_000) } }), 'restart 1 [RestartingSlave 1]'],
    ['SYNC slave drain: still draining', input('M So', { syncReplication: true, rollout: { phase: 'DrainingSlave', member: 1, since: iso(NOW - 25_000) } }), 'wait: draining the group before its last in-sync slave g-1-0 restarts: write permission off, waiting 5s for in-flight sends [DrainingSlave 1]'],
    ['SYNC slave restarting: waits until it is ready (caught up)', input('M Su', { syncReplication: true, rollout: { phase: 'RestartingSlave', member: 1, since: iso(NOW), podUid: 'uid-old' } }), 'wait: slave g-1-0 restarting (group writes drained): broker in g-1-0 is not ready: replication lag 5000 bytes exceeds readyMaxReplicationLagBytes=100 [RestartingSlave 1]'],
    ['SYNC slave back and caught up: writes restored', input('M S', { syncReplication: true, rollout: { phase: 'RestartingSlave', member: 1, since: iso(NOW), podUid: 'uid-old' } }), 'restoreWrite 1'],
  ];
  it.each(table)('%s', (_name, inp, want) => {
    expect(summary(decideRoll(inp))).toBe(want);
  });

  it('restart steps carry the pod and its uid (deleted with a uid precondition)', () => {
    expect(decideRoll(input('Mo S', { rollout: draining(NOW - 30_000) }))).toEqual({
      step: { action: 'restart', member: 0, pod: 'g-0-0', podUid: 'uid-0', reason: 'restarting master g-0-0 after the drain' },
      rollout: { phase: 'RestartingMaster', member: 0, since: iso(NOW), podUid: 'uid-0' },
    });
  });

  it('the wait of a drain asks to look again exactly when it ends', () => {
    const d = decideRoll(input('Mo S', { rollout: draining(NOW - 12_500) }));
    expect(d.step).toMatchObject({ action: 'wait', requeueMs: 17_500 });
  });

  function replay(spec: string, syncReplication: boolean): string[] {
    // Simulate: each restart replaces the pod with an up-to-date one (new uid) that is ready.
    const members = spec.split(' ').map(member);
    let rollout: RolloutState | undefined;
    let now = NOW;
    const steps: string[] = [];
    for (let pass = 0; pass < 20; pass++) {
      const d = decideRoll({ members, namesrvAddresses: NS, nameServerSettled: true, rollout, nowMs: now, drainMs: 30_000, pollMs: 5_000, syncReplication });
      steps.push(summary(d).replace(/^wait: (draining).*/, 'wait: $1'));
      rollout = d.rollout;
      if (d.step.action === 'none') break;
      if (d.step.action === 'restart') {
        const i = d.step.member;
        members[i] = { ...members[i]!, outdated: false, podUid: `uid-${i}-new` };
      }
      if (d.step.action === 'wait') now += d.step.requeueMs;
    }
    return steps;
  }

  it('a whole roll of master + 2 slaves, replayed pass by pass, restarts slaves first and the master once', () => {
    expect(replay('Mo So So', true)).toEqual([
      'restart 2',
      'restart 1',
      'wipeWrite 0 [DrainingMaster 0]',
      'wait: draining',
      'restart 0 [RestartingMaster 0]',
      'restoreWrite 0',
      'none',
    ]);
  });

  it('a SYNC master with one slave: the slave restarts inside a drain, then the master', () => {
    expect(replay('Mo So', true)).toEqual([
      'wipeWrite 1 [DrainingSlave 1]',
      'wait: draining',
      'restart 1 [RestartingSlave 1]',
      'restoreWrite 1',
      'wipeWrite 0 [DrainingMaster 0]',
      'wait: draining',
      'restart 0 [RestartingMaster 0]',
      'restoreWrite 0',
      'none',
    ]);
  });
});

describe('one broker group of a cluster at a time', () => {
  it('a group does not start while another group of its cluster restarts, but finishes its own drain', () => {
    expect(summary(decideRoll(input('Mo So', { clusterBusyWith: 'g2' })))).toBe(
      'wait: waiting for broker group g2 of the same cluster to finish its restarts (one group of a cluster at a time)',
    );
    // Mid-drain (status.rollout) the group goes on regardless: its writes are already off.
    const draining: RolloutState = { phase: 'DrainingMaster', member: 0, since: iso(NOW - 40_000) };
    expect(summary(decideRoll(input('Mo S', { rollout: draining, clusterBusyWith: 'g2' })))).toMatch(/^restart/);
    expect(summary(decideRoll(input('M S', { clusterBusyWith: 'g2' })))).toBe('none');
  });

  it.each([
    ['nobody else', [], undefined, undefined],
    ['a sibling mid-drain wins over the slot holder', [{ name: 'g2', midRollout: true, rolling: true }], 'g1', 'g2'],
    ['the slot holder while it is rolling', [{ name: 'g2', midRollout: false, rolling: true }], 'g2', 'g2'],
    ['a slot holder that finished', [{ name: 'g2', midRollout: false, rolling: false }], 'g2', undefined],
    ['a slot holder that was deleted', [{ name: 'g3', midRollout: false, rolling: true }], 'g2', undefined],
    ['our own slot', [{ name: 'g2', midRollout: false, rolling: true }], 'g1', undefined],
  ] as const)('clusterRollBlocker: %s', (_name, siblings, holder, want) => {
    expect(clusterRollBlocker('g1', siblings, holder)).toBe(want);
  });
});
