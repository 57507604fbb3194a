// NameServer reconciler: validate, apply the owned objects (server-side apply), report readiness
// and the stable addresses. Name servers share no state, so their StatefulSet rolls itself one
// pod at a time (RollingUpdate); BrokerGroups wait for that roll to finish before rolling brokers.
import type { KubernetesObject, V1StatefulSet } from '@kubernetes/client-node';
import { validateNameServer, type Condition, type NameServer } from '../api/v1alpha1/index.js';
import { nameServerAddresses, nameServerObjects } from '../builders/index.js';
import { R, splitKey } from '../runtime/kube.js';
import type { ReconcileResult } from '../runtime/workqueue.js';
import {
  RESTART_ANNOTATION,
  isoSeconds,
  setConditions,
  statefulSetSettled,
  toReconcile,
  writeStatus,
  type RawResource,
  type ReconcileDeps,
} from './common.js';

/** Copies the manual-restart annotation of the resource onto a StatefulSet's pod template. */
export function withRestartToken<T extends KubernetesObject>(obj: T, token: string | undefined): T {
  if (token === undefined || obj.kind !== 'StatefulSet') return obj;
  const sts = obj as unknown as V1StatefulSet;
  const template = sts.spec!.template;
  return { ...obj, spec: { ...sts.spec, template: { ...template, metadata: { ...template.metadata, annotations: { ...template.metadata?.annotations, [RESTART_ANNOTATION]: token } } } } };
}

/** Status of a NameServer from its StatefulSet (pure). */
export function nameServerStatus(ns: NameServer, raw: RawResource, sts: V1StatefulSet | undefined, addresses: string[], nowIso: string): Record<string, unknown> {
  const want = ns.spec.replicas;
  const ready = sts?.status?.readyReplicas ?? 0;
  const settled = statefulSetSettled(sts);
  const generation = raw.metadata?.generation;
  const s = sts?.status;
  const rolling = s?.updateRevision !== undefined && s.currentRevision !== undefined && s.updateRevision !== s.currentRevision;
  const progressing = settled
    ? { type: 'Progressing', status: 'False', reason: 'UpToDate' }
    : rolling
      ? { type: 'Progressing', status: 'True', reason: 'RollingUpdate', message: `${s?.updatedReplicas ?? 0}/${want} name servers run the new template` }
      : (s?.replicas ?? 0) !== want && (s?.replicas ?? 0) > 0
        ? { type: 'Progressing', status: 'True', reason: 'Scaling', message: `${s?.replicas ?? 0} → ${want} name servers` }
        : { type: 'Progressing', status: 'True', reason: 'Creating', message: `${ready}/${want} name servers ready` };
  const conditions = setConditions(
    raw.status?.conditions as Condition[] | undefined,
    [
      ready >= want
        ? { type: 'Ready', status: 'True', reason: 'AllReplicasReady', message: `${ready}/${want} name servers ready` }
        : { type: 'Ready', status: 'False', reason: 'ReplicasNotReady', message: `${ready}/${want} name servers ready` },
      progressing as Condition,
      ready > 0 && ready < want && !rolling
        ? { type: 'Degraded', status: 'True', reason: 'ReplicasNotReady', message: `${want - ready} of ${want} name servers not ready` }
        : { type: 'Degraded', status: 'False', reason: 'Healthy' },
    ],
    nowIso,
    generation,
  );
  return {
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    readyReplicas: ready,
    addresses,
    namesrvAddr: addresses.join(';'),
    conditions,
  };
}

export async function reconcileNameServer(deps: ReconcileDeps, key: string): Promise<ReconcileResult> {
  const { namespace, name } = splitKey(key);
  const raw = await deps.api.get<RawResource>(R.nameServer, namespace, name);
  // Gone or being deleted: owner references let the garbage collector remove what it owned.
  if (!raw || raw.metadata?.deletionTimestamp) return {};
  const ns = await toReconcile(deps, raw, validateNameServer(raw));
  if (!ns) return {};
  const token = raw.metadata?.annotations?.[RESTART_ANNOTATION];
  let sts: V1StatefulSet | undefined;
  for (const obj of nameServerObjects(ns, deps.build)) {
    const applied = await deps.api.apply(withRestartToken(obj, token));
    if (applied.kind === 'StatefulSet') sts = applied;
  }
  const addresses = nameServerAddresses(ns, deps.build);
  const status = nameServerStatus(ns, raw, sts, addresses, isoSeconds(deps.now()));
  await writeStatus(deps, raw, status);
  return statefulSetSettled(sts) ? {} : { requeueAfterMs: deps.settings.pollMs };
}
