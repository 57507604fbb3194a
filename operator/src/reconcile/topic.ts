// Topic reconciler: Kubernetes is the source of truth (Strimzi's unidirectional topic operator,
// operator-anchors.md §2.8). Each pass resolves the target BrokerGroups (a list, or every group of
// a RocketMQ cluster in the namespace, so groups created later are included), reads the topic
// from each group's master and creates or corrects it there; a periodic pass reverts changes
// made out of band. Lowering queue counts is refused unless spec.allowQueueShrink. A finalizer
// deletes the topic from every master and the name servers before the resource goes away; a
// failed cleanup keeps the finalizer (and says why) rather than leaving the topic behind.
import type { V1Pod } from '@kubernetes/client-node';
import {
  TopicReason,
  brokerNameOf,
  topicNameOf,
  topicPermValue,
  validateBrokerGroup,
  validateNameServer,
  validateTopic,
  type BrokerGroup,
  type Condition,
  type Topic,
} from '../api/v1alpha1/index.js';
import { brokerGroupNames, selectorLabels } from '../builders/index.js';
import { R, splitKey, type JsonPatchOp } from '../runtime/kube.js';
import type { ReconcileResult } from '../runtime/workqueue.js';
import { brokerAddrOf, namesrvAddrOf, type TopicSettings } from './broker-admin.js';
import {
  TOPIC_FINALIZER,
  errorText,
  isoSeconds,
  labelSelector,
  livePod,
  setConditions,
  toReconcile,
  writeConditions,
  writeStatus,
  type ConditionInput,
  type RawResource,
  type ReconcileDeps,
} from './common.js';

/** RocketMQ 5's topic attribute for the message type (TopicAttributes.TOPIC_MESSAGE_TYPE_ATTRIBUTE). */
export const MESSAGE_TYPE_ATTRIBUTE = 'message.type';

/** The topic as every master should hold it. */
export function desiredTopic(topic: Topic): TopicSettings {
  return {
    topicName: topicNameOf(topic),
    readQueueNums: topic.spec.readQueueNums,
    writeQueueNums: topic.spec.writeQueueNums,
    perm: topicPermValue(topic.spec.perm),
    order: topic.spec.ordered,
    attributes: { [MESSAGE_TYPE_ATTRIBUTE]: topic.spec.messageType },
  };
}

export type TopicComparison = { kind: 'equal' } | { kind: 'create' } | { kind: 'update'; what: string[] } | { kind: 'shrinkRefused'; what: string[] };

/** How a broker's topic differs from the desired one (pure). */
export function compareTopic(current: TopicSettings | undefined, want: TopicSettings, allowShrink: boolean): TopicComparison {
  if (!current) return { kind: 'create' };
  const shrink: string[] = [];
  if (want.readQueueNums < current.readQueueNums) shrink.push(`readQueueNums ${current.readQueueNums} → ${want.readQueueNums}`);
  if (want.writeQueueNums < current.writeQueueNums) shrink.push(`writeQueueNums ${current.writeQueueNums} → ${want.writeQueueNums}`);
  if (shrink.length > 0 && !allowShrink) return { kind: 'shrinkRefused', what: shrink };
  const what: string[] = [];
  if (want.readQueueNums !== current.readQueueNums) what.push(`readQueueNums ${current.readQueueNums} → ${want.readQueueNums}`);
  if (want.writeQueueNums !== current.writeQueueNums) what.push(`writeQueueNums ${current.writeQueueNums} → ${want.writeQueueNums}`);
  if (want.perm !== current.perm) what.push(`perm ${current.perm} → ${want.perm}`);
  if (want.order !== current.order) what.push(`order ${current.order} → ${want.order}`);
  // A broker that keeps no attributes treats every topic as NORMAL.
  const type = current.attributes[MESSAGE_TYPE_ATTRIBUTE] ?? 'NORMAL';
  const wantType = want.attributes[MESSAGE_TYPE_ATTRIBUTE] ?? 'NORMAL';
  if (type !== wantType) what.push(`message type ${type} → ${wantType}`);
  return what.length === 0 ? { kind: 'equal' } : { kind: 'update', what };
}

interface GroupTarget {
  name: string;
  group?: BrokerGroup;
  raw?: RawResource;
  error?: string;
}

async function targets(deps: ReconcileDeps, topic: Topic): Promise<GroupTarget[]> {
  const namespace = topic.metadata.namespace;
  const list = await deps.api.list<RawResource>(R.brokerGroup, namespace);
  const groups = new Map<string, { raw: RawResource; group?: BrokerGroup; error?: string }>();
  for (const raw of list.items) {
    if (raw.metadata?.deletionTimestamp) continue;
    const v = validateBrokerGroup(raw);
    groups.set(raw.metadata!.name!, v.ok ? { raw, group: v.value } : { raw, error: `BrokerGroup has an invalid spec: ${v.errors.join('; ')}` });
  }
  if (topic.spec.brokerGroups) {
    return topic.spec.brokerGroups.map((name) => {
      const g = groups.get(name);
      if (!g) return { name, error: `BrokerGroup ${name} does not exist in namespace ${namespace ?? ''}` };
      return { name, raw: g.raw, ...(g.group ? { group: g.group } : {}), ...(g.error !== undefined ? { error: g.error } : {}) };
    });
  }
  return [...groups.entries()]
    .filter(([, g]) => g.group?.spec.clusterName === topic.spec.clusterName)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([name, g]) => ({ name, raw: g.raw, group: g.group! }));
}

/** The master's broker address: the member its status names master, else member 0. */
async function masterAddr(deps: ReconcileDeps, t: GroupTarget): Promise<string> {
  const group = t.group!;
  const namesOf = brokerGroupNames(group.metadata.name);
  const pod = (t.raw?.status?.master as string | undefined) ?? namesOf.pod(0);
  const p = await deps.api.get<V1Pod>(R.pod, group.metadata.namespace, pod);
  if (!livePod(p) || !p.status?.podIP || p.status.phase !== 'Running') throw new Error(`master pod ${pod} is not running`);
  return brokerAddrOf(p.status.podIP);
}

async function nameServerPodAddrs(deps: ReconcileDeps, group: BrokerGroup): Promise<string[]> {
  const ref = group.spec.nameServerRef;
  const namespace = ref.namespace ?? group.metadata.namespace;
  const raw = await deps.api.get<RawResource>(R.nameServer, namespace, ref.name);
  if (!raw || !validateNameServer(raw).ok) return [];
  const pods = await deps.api.list<V1Pod>(R.pod, namespace, { labelSelector: labelSelector(selectorLabels(ref.name, 'nameserver')) });
  return pods.items.filter((p) => livePod(p) && p.status?.podIP).map((p) => namesrvAddrOf(p.status!.podIP!)).sort();
}

/**
 * Ordered topics: the name servers keep `brokerName:writeQueueNums` of every group that has the
 * topic (ORDER_TOPIC_CONFIG, as `mqadmin updateTopic -o true`), so orderly clients see a stable
 * queue set. Groups may use different NameServers: one configuration per name-server set.
 */
async function applyOrderConf(deps: ReconcileDeps, raw: RawResource, topic: Topic, ts: readonly GroupTarget[], results: readonly GroupResult[]): Promise<string | undefined> {
  if (!topic.spec.ordered) return undefined;
  const name = topicNameOf(topic);
  const sets = new Map<string, { addrs: string[]; entries: string[] }>();
  for (const t of ts) {
    if (!t.group || results.find((r) => r.brokerGroup === t.name)?.applied !== true) continue;
    const addrs = await nameServerPodAddrs(deps, t.group);
    if (addrs.length === 0) continue;
    const set = sets.get(addrs.join(';')) ?? { addrs, entries: [] };
    set.entries.push(`${brokerNameOf(t.group)}:${topic.spec.writeQueueNums}`);
    sets.set(addrs.join(';'), set);
  }
  const problems: string[] = [];
  for (const { addrs, entries } of sets.values()) {
    const conf = entries.sort().join(';');
    try {
      if ((await deps.admin.getOrderConf(addrs, name)) === conf) continue;
      await deps.admin.putOrderConf(addrs, name, conf);
      deps.events.record(raw, 'Normal', 'OrderConfApplied', `queue order ${conf} set on name servers ${addrs.join(', ')}`);
    } catch (err) {
      problems.push(`name servers ${addrs.join(', ')}: ${errorText(err)}`);
    }
  }
  return problems.length > 0 ? `queue order configuration failed: ${problems.join('; ')}` : undefined;
}

/** Another Topic in the namespace that claims the same RocketMQ topic and is older: it wins. */
async function conflictingOwner(deps: ReconcileDeps, topic: Topic, raw: RawResource): Promise<string | undefined> {
  const list = await deps.api.list<RawResource>(R.topic, topic.metadata.namespace);
  const name = topicNameOf(topic);
  const mine = [raw.metadata?.creationTimestamp ? new Date(raw.metadata.creationTimestamp).getTime() : 0, topic.metadata.name] as const;
  for (const other of list.items) {
    if (other.metadata?.name === topic.metadata.name || other.metadata?.deletionTimestamp) continue;
    const v = validateTopic(other);
    if (!v.ok || topicNameOf(v.value) !== name) continue;
    const theirs = [other.metadata?.creationTimestamp ? new Date(other.metadata.creationTimestamp).getTime() : 0, other.metadata!.name!] as const;
    if (theirs[0] < mine[0] || (theirs[0] === mine[0] && theirs[1] < mine[1])) return theirs[1];
  }
  return undefined;
}

interface GroupResult {
  brokerGroup: string;
  brokerName?: string;
  applied: boolean;
  readQueueNums?: number;
  writeQueueNums?: number;
  error?: string;
  shrinkRefused?: boolean;
}

async function applyToGroup(deps: ReconcileDeps, raw: RawResource, topic: Topic, t: GroupTarget): Promise<GroupResult> {
  if (!t.group) return { brokerGroup: t.name, applied: false, error: t.error ?? 'not found' };
  const base = { brokerGroup: t.name, brokerName: brokerNameOf(t.group) };
  const want = desiredTopic(topic);
  try {
    const addr = await masterAddr(deps, t);
    const current = await deps.admin.getTopic(addr, want.topicName);
    const c = compareTopic(current, want, topic.spec.allowQueueShrink);
    if (c.kind === 'shrinkRefused') {
      return { ...base, applied: false, readQueueNums: current!.readQueueNums, writeQueueNums: current!.writeQueueNums, shrinkRefused: true, error: `refusing to lower ${c.what.join(', ')}: set spec.allowQueueShrink to allow it` };
    }
    if (c.kind !== 'equal') {
      await deps.admin.applyTopic(addr, want);
      const outOfBand = c.kind === 'update' && raw.status?.observedGeneration === raw.metadata?.generation;
      deps.events.record(
        raw,
        'Normal',
        c.kind === 'create' ? 'TopicCreated' : outOfBand ? 'TopicReverted' : 'TopicUpdated',
        c.kind === 'create' ? `created topic ${want.topicName} on ${t.name} (${addr})` : `${outOfBand ? 'reverted out-of-band change' : 'updated'} on ${t.name} (${addr}): ${c.what.join(', ')}`,
      );
    }
    return { ...base, applied: true, readQueueNums: want.readQueueNums, writeQueueNums: want.writeQueueNums };
  } catch (err) {
    return { ...base, applied: false, error: errorText(err) };
  }
}

async function finalize(deps: ReconcileDeps, raw: RawResource, topic: Topic | undefined): Promise<ReconcileResult> {
  const finalizers = raw.metadata?.finalizers ?? [];
  const i = finalizers.indexOf(TOPIC_FINALIZER);
  if (i < 0) return {};
  if (topic && !(await conflictingOwner(deps, topic, raw))) {
    const name = topicNameOf(topic);
    const problems: string[] = [];
    for (const t of await targets(deps, topic)) {
      if (!t.group) continue; // the group is gone: so is the topic on it
      try {
        const addr = await masterAddr(deps, t);
        await deps.admin.deleteTopic(addr, name);
        const nsAddrs = await nameServerPodAddrs(deps, t.group);
        await deps.admin.deleteTopicInNameServers(nsAddrs, name);
        if (topic.spec.ordered && nsAddrs.length > 0) await deps.admin.deleteOrderConf(nsAddrs, name);
        deps.events.record(raw, 'Normal', 'TopicDeleted', `deleted topic ${name} from ${t.name} (${addr}) and its name servers`);
      } catch (err) {
        problems.push(`${t.name}: ${errorText(err)}`);
      }
    }
    if (problems.length > 0) {
      const message = `the topic could not be deleted everywhere, the finalizer stays until it is: ${problems.join('; ')}`;
      await writeConditions(deps, raw, [{ type: 'Ready', status: 'False', reason: 'DeletionFailed', message }], { observe: false });
      throw new Error(`topic cleanup failed: ${problems.join('; ')}`);
    }
  }
  // Remove exactly our entry, and only if it is still where we saw it.
  const ops: JsonPatchOp[] = [
    { op: 'test', path: `/metadata/finalizers/${i}`, value: TOPIC_FINALIZER },
    { op: 'remove', path: `/metadata/finalizers/${i}` },
  ];
  await deps.api.jsonPatch(R.topic, raw.metadata?.namespace, raw.metadata!.name!, ops);
  return {};
}

/** Topic status from the per-group results (pure). */
export function topicStatus(raw: RawResource, topic: Topic, results: readonly GroupResult[], conflict: string | undefined, nowIso: string, orderProblem?: string): Record<string, unknown> {
  const generation = raw.metadata?.generation;
  const applied = results.filter((r) => r.applied).length;
  const shrink = results.filter((r) => r.shrinkRefused);
  const failed = results.filter((r) => !r.applied);
  const ready: ConditionInput =
    conflict !== undefined
      ? { type: 'Ready', status: 'False', reason: TopicReason.ResourceConflict, message: `Topic ${conflict} in this namespace already manages topic ${topicNameOf(topic)}` }
      : results.length === 0
        ? { type: 'Ready', status: 'False', reason: TopicReason.NoBrokerGroups, message: topic.spec.clusterName !== undefined ? `no BrokerGroup of cluster ${topic.spec.clusterName} in this namespace` : 'no BrokerGroup to apply to' }
        : shrink.length > 0
          ? { type: 'Ready', status: 'False', reason: TopicReason.QueueShrinkRefused, message: shrink.map((r) => `${r.brokerGroup}: ${r.error ?? ''}`).join('; ') }
          : failed.length > 0
            ? { type: 'Ready', status: 'False', reason: TopicReason.ApplyFailed, message: failed.map((r) => `${r.brokerGroup}: ${r.error ?? ''}`).join('; ') }
            : orderProblem !== undefined
              ? { type: 'Ready', status: 'False', reason: TopicReason.ApplyFailed, message: orderProblem }
              : { type: 'Ready', status: 'True', reason: TopicReason.Applied, message: `applied on ${applied}/${results.length} broker groups` };
  return {
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    topicName: topicNameOf(topic),
    groups: results.map(({ shrinkRefused: _s, ...r }) => r),
    applied: `${applied}/${results.length}`,
    conditions: setConditions(raw.status?.conditions as Condition[] | undefined, [ready], nowIso, generation),
  };
}

export async function reconcileTopic(deps: ReconcileDeps, key: string): Promise<ReconcileResult> {
  const { namespace, name } = splitKey(key);
  const raw = await deps.api.get<RawResource>(R.topic, namespace, name);
  if (!raw) return {};
  const v = validateTopic(raw);
  if (raw.metadata?.deletionTimestamp) return finalize(deps, raw, v.ok ? v.value : undefined);
  const topic = await toReconcile(deps, raw, v);
  if (!topic) return {};
  if (!(raw.metadata?.finalizers ?? []).includes(TOPIC_FINALIZER)) {
    const ops: JsonPatchOp[] = raw.metadata?.finalizers
      ? [{ op: 'add', path: '/metadata/finalizers/-', value: TOPIC_FINALIZER }]
      : [{ op: 'add', path: '/metadata/finalizers', value: [TOPIC_FINALIZER] }];
    const patched = await deps.api.jsonPatch<RawResource>(R.topic, namespace, name, ops);
    raw.metadata = patched.metadata ?? raw.metadata;
  }
  const conflict = await conflictingOwner(deps, topic, raw);
  const results: GroupResult[] = [];
  let orderProblem: string | undefined;
  if (conflict === undefined) {
    const ts = await targets(deps, topic);
    for (const t of ts) results.push(await applyToGroup(deps, raw, topic, t));
    orderProblem = await applyOrderConf(deps, raw, topic, ts, results);
  }
  await writeStatus(deps, raw, topicStatus(raw, topic, results, conflict, isoSeconds(deps.now()), orderProblem));
  const failing = results.some((r) => !r.applied && !r.shrinkRefused) || orderProblem !== undefined;
  return { requeueAfterMs: failing ? deps.settings.pollMs * 2 : deps.settings.topicResyncMs };
}
