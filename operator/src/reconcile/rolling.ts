// The rolling upgrade of a broker group as pure decisions: given what the pods and the brokers
// report now (and the roll phase kept in status), which single step comes next. The reconciler
// carries the step out and asks again on its next pass, so the roll survives operator restarts
// and reacts to whatever changed in between (level-based).
//
// Order (issue 5, operator-anchors.md §2.4):
// - nothing while the NameServer itself is rolling (name servers before brokers);
// - slaves first, unready ones before ready ones (a crash-looping member with bad config is
//   replaced at once instead of blocking the roll, as Strimzi's KafkaRoller does); a ready slave
//   is restarted only when every other slave reports itself ready, i.e. caught up with the
//   master (the broker's /readyz includes readyMaxReplicationLagBytes);
// - then the master: write permission off on every name server, wait `drainMs` for producers to
//   refresh their routes and in-flight sends to finish, delete the pod (StatefulSets are
//   OnDelete), wait until the new broker is ready, registered with every name server and its
//   slaves reconnected, then write permission back on;
// - a master that is not ready is not serving: it is restarted without a drain;
// - SYNC replication: a SYNC_MASTER acknowledges a send only once a slave has it, so restarting
//   its last ready slave would fail sends (SLAVE_NOT_AVAILABLE). The group's writes are drained
//   around that slave's restart the same way, and restored once the slave is back and caught up.
import type { MemberReport } from './broker-admin.js';

/** One member (pod) of the group as the reconciler sees it now. */
export interface MemberView {
  /** Member index: StatefulSet `<group>-<index>`, configured brokerId. */
  index: number;
  pod: string;
  /** UID of the live pod; undefined when there is none (not created yet, or terminating). */
  podUid?: string;
  /** The pod runs an older template than the desired one (config hash, image, restart token). */
  outdated: boolean;
  /** Kubernetes readiness (the readiness probe is the broker's /readyz). */
  podReady: boolean;
  /** The broker's own report; undefined when it did not answer. */
  report?: MemberReport;
}

/** Roll phase kept in BrokerGroup status between passes (only the master's steps need memory). */
export interface RolloutState {
  phase: 'DrainingMaster' | 'RestartingMaster' | 'DrainingSlave' | 'RestartingSlave';
  member: number;
  /** When the phase began (RFC 3339). */
  since: string;
  /** RestartingMaster: the UID of the pod that was deleted (its replacement has another). */
  podUid?: string;
}

export interface RollInput {
  members: readonly MemberView[];
  /** The name-server addresses (DNS names) every broker must be registered with. */
  namesrvAddresses: readonly string[];
  /** The NameServer's own rollout has finished. */
  nameServerSettled: boolean;
  rollout?: RolloutState | undefined;
  nowMs: number;
  /** How long the master's writes are drained before it is restarted. */
  drainMs: number;
  /** How soon to look again while waiting on brokers. */
  pollMs: number;
  /** SYNC replication (SYNC_MASTER): sends need a ready slave. */
  syncReplication?: boolean;
  /**
   * Another broker group of the same cluster that is restarting members (one group of a cluster
   * at a time, so producers always have a writable group); this group then waits to start.
   */
  clusterBusyWith?: string | undefined;
}

export type RollStep =
  | { action: 'none' }
  | { action: 'wait'; reason: string; requeueMs: number }
  | { action: 'restart'; member: number; pod: string; podUid: string; reason: string }
  | { action: 'wipeWrite'; member: number; reason: string }
  | { action: 'restoreWrite'; member: number; reason: string };

export interface RollDecision {
  step: RollStep;
  /** Roll phase to keep in status after the step (undefined: none). */
  rollout: RolloutState | undefined;
}

/** Master by the broker's own report, else by configuration (member 0). */
export function isMaster(m: MemberView): boolean {
  return m.report ? m.report.role !== 'SLAVE' : m.index === 0;
}

/** Ready by Kubernetes and by the broker's own report. */
export function isReady(m: MemberView): boolean {
  return m.podUid !== undefined && m.podReady && m.report?.ready === true;
}

/** Name servers of `want` the broker is not registered with. */
export function missingRegistrations(m: MemberView, want: readonly string[]): string[] {
  const have = new Set(m.report?.registeredWith ?? []);
  return want.filter((a) => !have.has(a));
}

function notReadyWhy(m: MemberView): string {
  if (m.podUid === undefined) return `pod ${m.pod} does not exist yet`;
  if (!m.report) return `broker in ${m.pod} does not answer`;
  if (!m.report.ready) return `broker in ${m.pod} is not ready: ${m.report.unmet.join('; ') || 'no reason given'}`;
  return `pod ${m.pod} is not ready`;
}

const wait = (reason: string, requeueMs: number, rollout: RolloutState | undefined): RollDecision => ({ step: { action: 'wait', reason, requeueMs }, rollout });

function restart(m: MemberView, reason: string, rollout: RolloutState | undefined): RollDecision {
  return { step: { action: 'restart', member: m.index, pod: m.pod, podUid: m.podUid!, reason }, rollout };
}

function continueMasterRestart(input: RollInput, r: RolloutState, m: MemberView): RollDecision {
  if (m.podUid !== undefined && m.podUid === r.podUid) return restart(m, `master ${m.pod} still runs the old pod: deleting it again`, r);
  if (!isReady(m)) return wait(`master ${m.pod} restarting: ${notReadyWhy(m)}`, input.pollMs, r);
  const missing = missingRegistrations(m, input.namesrvAddresses);
  if (missing.length > 0) return wait(`master ${m.pod} is not registered with ${missing.join(', ')} yet`, input.pollMs, r);
  const detached = input.members.filter((s) => s.index !== m.index && s.podUid !== undefined && s.report?.role === 'SLAVE' && s.report.replication?.connected !== true);
  if (detached.length > 0) return wait(`slave ${detached.map((s) => s.pod).join(', ')} has not reconnected to the master yet`, input.pollMs, r);
  return { step: { action: 'restoreWrite', member: m.index, reason: `master ${m.pod} is back: ready, registered with every name server, slaves connected` }, rollout: undefined };
}

function continueDrain(input: RollInput, r: RolloutState, m: MemberView): RollDecision {
  const who = r.phase === 'DrainingSlave' ? 'slave' : 'master';
  const next = r.phase === 'DrainingSlave' ? 'RestartingSlave' : 'RestartingMaster';
  if (m.podUid === undefined) {
    // The pod went away during the drain (deleted by someone, evicted): treat it as restarted.
    return wait(`${who} ${m.pod} is gone; waiting for its replacement`, input.pollMs, { phase: next, member: m.index, since: new Date(input.nowMs).toISOString(), ...(r.podUid !== undefined ? { podUid: r.podUid } : {}) });
  }
  if (!m.outdated) {
    return { step: { action: 'restoreWrite', member: m.index, reason: `${who} ${m.pod} no longer needs a restart` }, rollout: undefined };
  }
  const remaining = Date.parse(r.since) + input.drainMs - input.nowMs;
  if (remaining > 0) {
    const what = who === 'master' ? `draining master ${m.pod}` : `draining the group before its last in-sync slave ${m.pod} restarts`;
    return wait(`${what}: write permission off, waiting ${Math.ceil(remaining / 1000)}s for in-flight sends`, remaining, r);
  }
  return restart(m, `restarting ${who} ${m.pod} after the drain`, { phase: next, member: m.index, since: new Date(input.nowMs).toISOString(), podUid: m.podUid });
}

function continueSlaveRestart(input: RollInput, r: RolloutState, m: MemberView): RollDecision {
  if (m.podUid !== undefined && m.podUid === r.podUid) return restart(m, `slave ${m.pod} still runs the old pod: deleting it again`, r);
  if (!isReady(m)) return wait(`slave ${m.pod} restarting (group writes drained): ${notReadyWhy(m)}`, input.pollMs, r);
  return { step: { action: 'restoreWrite', member: m.index, reason: `slave ${m.pod} is back and caught up: group writes restored` }, rollout: undefined };
}

/** The next step of the group's roll. */
export function decideRoll(input: RollInput): RollDecision {
  const { members, rollout } = input;
  if (rollout) {
    const m = members.find((x) => x.index === rollout.member);
    if (!m) return { step: { action: 'restoreWrite', member: rollout.member, reason: `member ${rollout.member} was removed` }, rollout: undefined };
    if (rollout.phase === 'RestartingMaster') return continueMasterRestart(input, rollout, m);
    if (rollout.phase === 'RestartingSlave') return continueSlaveRestart(input, rollout, m);
    return continueDrain(input, rollout, m);
  }
  const outdated = members.filter((m) => m.outdated && m.podUid !== undefined);
  if (outdated.length === 0) return { step: { action: 'none' }, rollout: undefined };
  if (!input.nameServerSettled) return wait('waiting for the NameServer rollout to finish (name servers restart before brokers)', input.pollMs, undefined);
  if (input.clusterBusyWith !== undefined) {
    return wait(`waiting for broker group ${input.clusterBusyWith} of the same cluster to finish its restarts (one group of a cluster at a time)`, input.pollMs, undefined);
  }
  const absent = members.filter((m) => m.podUid === undefined);
  if (absent.length > 0) return wait(`waiting for pod ${absent.map((m) => m.pod).join(', ')} to be created`, input.pollMs, undefined);

  const slaves = outdated.filter((m) => !isMaster(m));
  if (slaves.length > 0) {
    // Unready first (restarting them costs nothing), then from the highest member down.
    const candidate = [...slaves].sort((a, b) => Number(isReady(a)) - Number(isReady(b)) || b.index - a.index)[0]!;
    if (!isReady(candidate)) return restart(candidate, `restarting slave ${candidate.pod} (not ready, outdated)`, undefined);
    const behind = members.filter((m) => m !== candidate && !isMaster(m) && !isReady(m));
    if (behind.length > 0) return wait(`slave ${behind[0]!.pod} must be ready and caught up first: ${notReadyWhy(behind[0]!)}`, input.pollMs, undefined);
    const otherReadySlaves = members.filter((m) => m !== candidate && !isMaster(m) && isReady(m));
    if (input.syncReplication === true && otherReadySlaves.length === 0) {
      return {
        step: { action: 'wipeWrite', member: candidate.index, reason: `draining the group: ${candidate.pod} is the only in-sync slave of a SYNC master (sends would fail while it restarts)` },
        rollout: { phase: 'DrainingSlave', member: candidate.index, since: new Date(input.nowMs).toISOString() },
      };
    }
    return restart(candidate, `restarting slave ${candidate.pod} (config or image changed)`, undefined);
  }

  const master = outdated[0]!;
  const behind = members.filter((m) => m !== master && !isMaster(m) && !isReady(m));
  if (!isReady(master)) return restart(master, `restarting master ${master.pod} (not ready, nothing to drain)`, { phase: 'RestartingMaster', member: master.index, since: new Date(input.nowMs).toISOString(), podUid: master.podUid! });
  if (behind.length > 0) return wait(`slave ${behind[0]!.pod} must be ready and caught up before the master restarts: ${notReadyWhy(behind[0]!)}`, input.pollMs, undefined);
  return {
    step: { action: 'wipeWrite', member: master.index, reason: `draining master ${master.pod}: write permission off on every name server` },
    rollout: { phase: 'DrainingMaster', member: master.index, since: new Date(input.nowMs).toISOString() },
  };
}

/** What this operator knows of a sibling group (same namespace and cluster) for the roll gate. */
export interface SiblingGroup {
  name: string;
  /** status.rollout is set: the group is between a drain and its restore. */
  midRollout: boolean;
  /** Its Progressing condition says it is rolling (members to restart). */
  rolling: boolean;
}

/**
 * The sibling this group must wait for before it starts restarting members, or undefined.
 * A sibling in the middle of a drain always wins (also after an operator restart); otherwise the
 * group holding the cluster's roll slot in this operator, while it is still rolling.
 */
export function clusterRollBlocker(self: string, siblings: readonly SiblingGroup[], slotHolder: string | undefined): string | undefined {
  const draining = siblings.find((s) => s.name !== self && s.midRollout);
  if (draining) return draining.name;
  if (slotHolder !== undefined && slotHolder !== self && siblings.some((s) => s.name === slotHolder && s.rolling)) return slotHolder;
  return undefined;
}
