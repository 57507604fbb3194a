// BrokerGroup reconciler: validate; find the NameServer; apply ConfigMap, Services, PDB and one
// StatefulSet per member (server-side apply); remove members beyond spec.replicas; ask every
// broker for its own report; push a changed namesrvAddr at runtime (no restart); take one step of
// the rolling restart (rolling.ts decides which); write status and Events.
import type { V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import {
  BrokerGroupReason,
  brokerNameOf,
  validateBrokerGroup,
  validateNameServer,
  type BrokerGroup,
  type BrokerMemberStatus,
  type Condition,
  type NameServer,
} from '../api/v1alpha1/index.js';
import { CONFIG_HASH_ANNOTATION, LABEL, brokerGroupNames, brokerMemberConf, brokerGroupObjects, groupSelector, nameServerAddresses, nameServerNames, selectorLabels } from '../builders/index.js';
import { R, splitKey } from '../runtime/kube.js';
import type { ReconcileResult } from '../runtime/workqueue.js';
import { brokerAddrOf, namesrvAddrOf, type MemberReport } from './broker-admin.js';
import {
  RESTART_ANNOTATION,
  errorText,
  isoSeconds,
  labelSelector,
  livePod,
  podReady,
  setConditions,
  statefulSetSettled,
  toReconcile,
  writeConditions,
  writeStatus,
  type ConditionInput,
  type RawResource,
  type ReconcileDeps,
} from './common.js';
import { withRestartToken } from './nameserver.js';
import { clusterRollBlocker, decideRoll, isMaster, isReady, missingRegistrations, type MemberView, type RollDecision, type RolloutState, type SiblingGroup } from './rolling.js';

const CONTAINER = 'broker';

/** Whether the pod runs an older template than `desired` (pure). */
export function podOutdated(pod: V1Pod, desired: V1StatefulSet, current: V1StatefulSet | undefined): boolean {
  const want = desired.spec!.template;
  const ann = pod.metadata?.annotations ?? {};
  const wantAnn = want.metadata?.annotations ?? {};
  if (ann[CONFIG_HASH_ANNOTATION] !== wantAnn[CONFIG_HASH_ANNOTATION]) return true;
  if (ann[RESTART_ANNOTATION] !== wantAnn[RESTART_ANNOTATION]) return true;
  const image = (p: { containers?: Array<{ name: string; image?: string }> } | undefined) => p?.containers?.find((c) => c.name === CONTAINER)?.image;
  if (image(pod.spec) !== image(want.spec)) return true;
  // Anything else in the template (resources, scheduling): the StatefulSet controller's revision.
  const s = current?.status;
  const podRevision = pod.metadata?.labels?.['controller-revision-hash'];
  const observed = s !== undefined && (s.observedGeneration ?? 0) >= (current?.metadata?.generation ?? 0);
  return observed && s.updateRevision !== undefined && podRevision !== undefined && podRevision !== s.updateRevision;
}

export interface GroupObservation {
  group: BrokerGroup;
  members: MemberView[];
  namesrvAddresses: string[];
  image: string;
}

/** Status of the group from what was observed and decided (pure). */
export function brokerGroupStatus(raw: RawResource, o: GroupObservation, decision: RollDecision, nowIso: string): Record<string, unknown> {
  const generation = raw.metadata?.generation;
  const { members } = o;
  const memberStatus: BrokerMemberStatus[] = members.map((m) => {
    const r = m.report;
    const s: BrokerMemberStatus = { pod: m.pod, ready: isReady(m) };
    if (r) {
      s.brokerId = r.brokerId >= 0 ? r.brokerId : m.index;
      if (r.role === 'SLAVE' || r.role === 'SYNC_MASTER' || r.role === 'ASYNC_MASTER') s.role = r.role;
      if (r.brokerAddr) s.address = r.brokerAddr;
      s.registeredWith = [...r.registeredWith];
      if (r.replication?.lagBytes !== undefined && r.replication.lagBytes !== null) s.replicationLagBytes = r.replication.lagBytes;
      if (r.version) s.version = r.version;
    }
    return s;
  });
  const readyMembers = members.filter(isReady).length;
  const masters = members.filter((m) => m.report && m.report.role !== 'SLAVE');
  const master = masters[0];
  const outdated = members.filter((m) => m.outdated);
  const absent = members.filter((m) => m.podUid === undefined);
  const rolling = outdated.length > 0 || decision.rollout !== undefined;
  const waitReason = decision.step.action === 'wait' ? decision.step.reason : undefined;

  const ready: ConditionInput =
    masters.length === 0
      ? { type: 'Ready', status: 'False', reason: BrokerGroupReason.NoMaster, message: absent.length === members.length ? 'no member is running yet' : 'no member reports itself master' }
      : readyMembers < members.length
        ? { type: 'Ready', status: 'False', reason: BrokerGroupReason.MembersNotReady, message: `${readyMembers}/${members.length} members ready` }
        : { type: 'Ready', status: 'True', reason: BrokerGroupReason.AllMembersReady, message: `${readyMembers}/${members.length} members ready` };
  const progressing: ConditionInput = rolling
    ? waitReason !== undefined
      ? { type: 'Progressing', status: 'True', reason: BrokerGroupReason.RollingUpdateBlocked, message: waitReason }
      : { type: 'Progressing', status: 'True', reason: BrokerGroupReason.RollingUpdate, message: `${outdated.length} member(s) to restart, slaves first` }
    : absent.length > 0
      ? { type: 'Progressing', status: 'True', reason: BrokerGroupReason.Creating, message: `${members.length - absent.length}/${members.length} member pods exist` }
      : { type: 'Progressing', status: 'False', reason: BrokerGroupReason.UpToDate };
  const unregistered = members.filter((m) => m.report && missingRegistrations(m, o.namesrvAddresses).length > 0);
  const lagging = members.filter((m) => m.report?.role === 'SLAVE' && m.podUid !== undefined && !isReady(m));
  const degraded: ConditionInput =
    unregistered.length > 0
      ? { type: 'Degraded', status: 'True', reason: BrokerGroupReason.NotRegistered, message: unregistered.map((m) => `${m.pod} not registered with ${missingRegistrations(m, o.namesrvAddresses).join(', ')}`).join('; ') }
      : lagging.length > 0
        ? { type: 'Degraded', status: 'True', reason: BrokerGroupReason.ReplicationLagging, message: lagging.map((m) => `${m.pod}: ${m.report?.unmet.join('; ') ?? ''}`).join('; ') }
        : { type: 'Degraded', status: 'False', reason: BrokerGroupReason.Healthy };

  const versions = new Set(members.map((m) => m.report?.version).filter((v): v is string => v !== undefined && v !== ''));
  const prevImage = raw.status?.currentImage as string | undefined;
  const status: Record<string, unknown> = {
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    conditions: setConditions(raw.status?.conditions as Condition[] | undefined, [ready, progressing, degraded], nowIso, generation),
    members: memberStatus,
    readyMembers,
    nameServers: o.namesrvAddresses,
  };
  if (master) status.master = master.pod;
  const currentImage = outdated.length === 0 && absent.length === 0 ? o.image : prevImage;
  if (currentImage !== undefined) status.currentImage = currentImage;
  if (versions.size === 1 && outdated.length === 0) status.version = [...versions][0];
  else if (raw.status?.version !== undefined) status.version = raw.status.version;
  if (decision.rollout) status.rollout = decision.rollout;
  if (waitReason !== undefined && rolling) status.blockedBy = waitReason;
  return status;
}

interface NameServerLookup {
  ns?: NameServer;
  error?: string;
  sts?: V1StatefulSet | undefined;
  /** ip:port of the running name-server pods (for admin requests from the operator). */
  podAddrs: string[];
}

async function lookupNameServer(deps: ReconcileDeps, group: BrokerGroup): Promise<NameServerLookup> {
  const ref = group.spec.nameServerRef;
  const namespace = ref.namespace ?? group.metadata.namespace;
  const raw = await deps.api.get<RawResource>(R.nameServer, namespace, ref.name);
  if (!raw) return { error: `NameServer ${namespace ?? ''}/${ref.name} (spec.nameServerRef) does not exist`, podAddrs: [] };
  const v = validateNameServer(raw);
  if (!v.ok) return { error: `NameServer ${namespace ?? ''}/${ref.name} has an invalid spec: ${v.errors.join('; ')}`, podAddrs: [] };
  const sts = await deps.api.get<V1StatefulSet>(R.statefulSet, namespace, nameServerNames(ref.name).statefulSet);
  const pods = await deps.api.list<V1Pod>(R.pod, namespace, { labelSelector: labelSelector(selectorLabels(ref.name, 'nameserver')) });
  const podAddrs = pods.items.filter((p) => livePod(p) && p.status?.podIP).map((p) => namesrvAddrOf(p.status!.podIP!)).sort();
  return { ns: v.value, sts, podAddrs };
}

async function report(deps: ReconcileDeps, pod: V1Pod | undefined): Promise<MemberReport | undefined> {
  const ip = pod?.status?.podIP;
  if (!livePod(pod) || !ip || pod.status?.phase !== 'Running') return undefined;
  try {
    return await deps.probe.report(ip);
  } catch (err) {
    deps.log.debug({ pod: pod.metadata?.name, err: errorText(err) }, 'broker did not report');
    return undefined;
  }
}

/** Removes the StatefulSets of members at or beyond spec.replicas (slaves of a scaled-in group). */
async function scaleIn(deps: ReconcileDeps, raw: RawResource, group: BrokerGroup): Promise<void> {
  const namespace = group.metadata.namespace;
  const list = await deps.api.list<V1StatefulSet>(R.statefulSet, namespace, { labelSelector: labelSelector(groupSelector(group)) });
  for (const sts of list.items) {
    const member = Number(sts.metadata?.labels?.[LABEL.brokerId]);
    if (!Number.isInteger(member) || member < group.spec.replicas) continue;
    await deps.api.delete(R.statefulSet, namespace, sts.metadata!.name!, sts.metadata?.uid !== undefined ? { uid: sts.metadata.uid } : {});
    deps.events.record(raw, 'Normal', 'MemberRemoved', `removed member ${member} (StatefulSet ${sts.metadata!.name!}): spec.replicas is ${group.spec.replicas}; its volume claim is kept`);
  }
}

/**
 * Keys the broker applies at runtime are pushed with updateBrokerConfig instead of restarting it:
 * namesrvAddr when the broker reports another list (a NameServer scaled), and the group's
 * runtime-updatable spec.config keys (slaveReadEnable, …) when the running config differs.
 */
async function pushRuntimeConfig(deps: ReconcileDeps, raw: RawResource, group: BrokerGroup, members: readonly MemberView[], pods: Map<string, V1Pod>, addresses: readonly string[]): Promise<void> {
  const want = addresses.join(';');
  for (const m of members) {
    const ip = pods.get(m.pod)?.status?.podIP;
    if (!m.report || !ip) continue;
    const addr = brokerAddrOf(ip);
    try {
      const changes: Record<string, string> = {};
      if (m.report.nameServers.join(';') !== want) changes.namesrvAddr = want;
      const runtime = brokerMemberConf(group, m.index, addresses).runtimeKeys.filter(([k]) => k !== 'namesrvAddr');
      if (runtime.length > 0) {
        const running = await deps.admin.getBrokerConfig(addr);
        for (const [k, v] of runtime) if (running[k] !== v) changes[k] = v;
      }
      const keys = Object.keys(changes);
      if (keys.length === 0) continue;
      await deps.admin.updateBrokerConfig(addr, changes);
      const what = keys.map((k) => `${k}=${changes[k]!}`).join(', ');
      deps.events.record(raw, 'Normal', keys.includes('namesrvAddr') ? 'NameServersUpdated' : 'ConfigUpdated', `${m.pod}: ${what} applied at runtime (no restart)`);
    } catch (err) {
      deps.events.record(raw, 'Warning', 'ConfigUpdateFailed', `${m.pod}: updateBrokerConfig failed: ${errorText(err)}`);
    }
  }
}

async function carryOut(deps: ReconcileDeps, raw: RawResource, group: BrokerGroup, d: RollDecision, nsAddrs: readonly string[]): Promise<void> {
  const step = d.step;
  const namespace = group.metadata.namespace;
  const brokerName = brokerNameOf(group);
  switch (step.action) {
    case 'restart':
      await deps.api.delete(R.pod, namespace, step.pod, { uid: step.podUid });
      deps.events.record(raw, 'Normal', 'RestartingMember', step.reason);
      return;
    case 'wipeWrite':
      if (nsAddrs.length === 0) throw new Error('no name-server pod is running: cannot drain the master');
      await deps.admin.wipeWritePerm(nsAddrs, brokerName);
      deps.events.record(raw, 'Normal', d.rollout?.phase === 'DrainingSlave' ? 'DrainingGroup' : 'DrainingMaster', step.reason);
      return;
    case 'restoreWrite':
      if (nsAddrs.length > 0) await deps.admin.addWritePerm(nsAddrs, brokerName);
      deps.events.record(raw, 'Normal', 'WritesRestored', step.reason);
      return;
    case 'wait':
      // Once per new reason (status.blockedBy carries it between passes).
      if (raw.status?.blockedBy !== step.reason) deps.log.info({ group: `${namespace ?? ''}/${group.metadata.name}`, reason: step.reason }, 'rolling restart waits');
      return;
    case 'none':
      return;
  }
}

async function reportNameServerProblem(deps: ReconcileDeps, raw: RawResource, message: string): Promise<ReconcileResult> {
  await writeConditions(deps, raw, [{ type: 'Ready', status: 'False', reason: BrokerGroupReason.NameServerNotFound, message }], { observe: true });
  return { requeueAfterMs: deps.settings.statusRefreshMs };
}

/** Cluster (namespace/clusterName) → the group holding its roll slot in this operator. */
const clusterRollSlots = new Map<string, string>();

/** The other BrokerGroups of this group's cluster in its namespace, as their status shows them. */
async function clusterSiblings(deps: ReconcileDeps, namespace: string | undefined, group: BrokerGroup): Promise<SiblingGroup[]> {
  const list = await deps.api.list<RawResource>(R.brokerGroup, namespace);
  const out: SiblingGroup[] = [];
  for (const g of list.items) {
    const name = g.metadata?.name;
    if (name === undefined || name === group.metadata.name) continue;
    const clusterName = (g.spec as { clusterName?: string } | undefined)?.clusterName ?? 'DefaultCluster';
    if (clusterName !== group.spec.clusterName) continue;
    const conditions = (g.status?.conditions as Condition[] | undefined) ?? [];
    const progressing = conditions.find((c) => c.type === 'Progressing');
    out.push({
      name,
      midRollout: g.status?.rollout !== undefined,
      rolling: progressing?.status === 'True' && (progressing.reason === BrokerGroupReason.RollingUpdate || progressing.reason === BrokerGroupReason.RollingUpdateBlocked),
    });
  }
  return out;
}

export async function reconcileBrokerGroup(deps: ReconcileDeps, key: string): Promise<ReconcileResult> {
  const { namespace, name } = splitKey(key);
  const raw = await deps.api.get<RawResource>(R.brokerGroup, namespace, name);
  if (!raw || raw.metadata?.deletionTimestamp) return {};
  const group = await toReconcile(deps, raw, validateBrokerGroup(raw));
  if (!group) return {};
  const nsl = await lookupNameServer(deps, group);
  if (!nsl.ns) return reportNameServerProblem(deps, raw, nsl.error ?? 'NameServer not found');
  const addresses = nameServerAddresses(nsl.ns, deps.build);

  const token = raw.metadata?.annotations?.[RESTART_ANNOTATION];
  const desired = new Map<string, V1StatefulSet>();
  const current = new Map<string, V1StatefulSet>();
  for (const obj of brokerGroupObjects(group, addresses, deps.build)) {
    const o = withRestartToken(obj, token);
    const applied = await deps.api.apply(o);
    if (o.kind === 'StatefulSet') {
      desired.set(o.metadata!.name!, o);
      current.set(o.metadata!.name!, applied);
    }
  }
  await scaleIn(deps, raw, group);

  const names = brokerGroupNames(group.metadata.name);
  const podList = await deps.api.list<V1Pod>(R.pod, namespace, { labelSelector: labelSelector(groupSelector(group)) });
  const pods = new Map(podList.items.map((p) => [p.metadata!.name!, p]));
  const members: MemberView[] = [];
  for (let i = 0; i < group.spec.replicas; i++) {
    const podName = names.pod(i);
    const pod = pods.get(podName);
    const live = livePod(pod) ? pod : undefined;
    const view: MemberView = {
      index: i,
      pod: podName,
      outdated: live !== undefined && podOutdated(live, desired.get(names.statefulSet(i))!, current.get(names.statefulSet(i))),
      podReady: live !== undefined && podReady(live),
    };
    if (live?.metadata?.uid !== undefined) view.podUid = live.metadata.uid;
    const r = await report(deps, live);
    if (r) view.report = r;
    members.push(view);
  }
  await pushRuntimeConfig(deps, raw, group, members, pods, addresses);

  // One group of a cluster restarts at a time: the slot is taken in this (leader) process without
  // an await between check and take, and siblings' status covers a restart of the operator.
  const slotKey = `${namespace ?? ''}/${group.spec.clusterName}`;
  const wantsRoll = members.some((m) => m.outdated) || raw.status?.rollout !== undefined;
  let clusterBusyWith: string | undefined;
  if (wantsRoll) {
    const siblings = await clusterSiblings(deps, namespace, group);
    clusterBusyWith = clusterRollBlocker(group.metadata.name, siblings, clusterRollSlots.get(slotKey));
    if (clusterBusyWith === undefined) clusterRollSlots.set(slotKey, group.metadata.name);
  }

  const nsSts = nsl.sts;
  const decision = decideRoll({
    members,
    namesrvAddresses: addresses,
    nameServerSettled: statefulSetSettled(nsSts),
    rollout: raw.status?.rollout as RolloutState | undefined,
    nowMs: deps.now(),
    drainMs: deps.settings.drainMs,
    pollMs: deps.settings.pollMs,
    syncReplication: group.spec.replication === 'SYNC',
    clusterBusyWith,
  });
  if (decision.step.action === 'none' && decision.rollout === undefined && clusterRollSlots.get(slotKey) === group.metadata.name) clusterRollSlots.delete(slotKey);
  await carryOut(deps, raw, group, decision, nsl.podAddrs);

  const image = group.spec.image ?? deps.build.defaultImage;
  const status = brokerGroupStatus(raw, { group, members, namesrvAddresses: addresses, image }, decision, isoSeconds(deps.now()));
  await writeStatus(deps, raw, status);

  const step = decision.step;
  if (step.action === 'wait') return { requeueAfterMs: step.requeueMs };
  if (step.action !== 'none') return { requeueAfterMs: Math.min(1_000, deps.settings.pollMs) };
  const settled = members.every(isReady) && members.some(isMaster);
  return { requeueAfterMs: settled ? deps.settings.statusRefreshMs : deps.settings.pollMs };
}
