// What the three reconcilers share: their dependencies, conditions, status writes, the
// annotations users set, and the handling of invalid specs and paused resources.
import type { KubernetesObject, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { GROUP, type Condition, type Validation } from '../api/v1alpha1/common.js';
import type { BuildContext } from '../builders/common.js';
import type { EventRecorder } from '../runtime/events.js';
import type { KubeApi } from '../runtime/kube.js';
import type { BrokerAdmin, BrokerProbe } from './broker-admin.js';

/** `"true"` on a NameServer, BrokerGroup or Topic: the operator changes nothing until removed. */
export const PAUSE_ANNOTATION = `${GROUP}/pause-reconciliation`;
/**
 * Set or change it (any value, e.g. a date) on a BrokerGroup or NameServer to restart every member
 * in the safe order; it is copied onto the pod templates, so a new value makes every pod outdated.
 */
export const RESTART_ANNOTATION = `${GROUP}/restart`;
/** The Topic finalizer: the topic is deleted from every broker before the resource goes away. */
export const TOPIC_FINALIZER = `${GROUP}/topic-cleanup`;

export interface ReconcilerSettings {
  /** Master drain: how long write permission stays off before the master restarts. */
  drainMs: number;
  /** How soon to look again while something is in progress (pods starting, rolls). */
  pollMs: number;
  /** Topics are compared with the brokers this often (out-of-band changes are reverted). */
  topicResyncMs: number;
  /** Settled BrokerGroups refresh their reported status (lag, registration) this often. */
  statusRefreshMs: number;
}

export const DEFAULT_SETTINGS: ReconcilerSettings = { drainMs: 35_000, pollMs: 5_000, topicResyncMs: 60_000, statusRefreshMs: 60_000 };

export interface ReconcileDeps {
  api: KubeApi;
  probe: BrokerProbe;
  admin: BrokerAdmin;
  events: EventRecorder;
  log: Logger;
  build: BuildContext;
  settings: ReconcilerSettings;
  now(): number;
}

export type ConditionInput = Pick<Condition, 'type' | 'status' | 'reason'> & { message?: string };

/** Sets one condition; lastTransitionTime changes only when the status does. */
export function setCondition(conditions: readonly Condition[] | undefined, c: ConditionInput, nowIso: string, generation: number | undefined): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((x) => x.type === c.type);
  const old = i >= 0 ? list[i] : undefined;
  const next: Condition = {
    type: c.type,
    status: c.status,
    reason: c.reason,
    ...(c.message !== undefined && c.message !== '' ? { message: c.message.slice(0, 32768) } : {}),
    lastTransitionTime: old && old.status === c.status ? old.lastTransitionTime : nowIso,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  };
  if (i >= 0) list[i] = next;
  else list.push(next);
  return list;
}

export function setConditions(conditions: readonly Condition[] | undefined, cs: readonly ConditionInput[], nowIso: string, generation: number | undefined): Condition[] {
  let out = [...(conditions ?? [])];
  for (const c of cs) out = setCondition(out, c, nowIso, generation);
  return out;
}

export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** RFC 3339 without fractions (metav1.Time). */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A custom resource as read from the API server (unvalidated; keeps resourceVersion for writes). */
export interface RawResource extends KubernetesObject {
  spec?: unknown;
  status?: Record<string, unknown>;
}

/** JSON with sorted keys, so equal statuses compare equal whatever the key order. */
export function stableJson(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) =>
    val && typeof val === 'object' && !Array.isArray(val) ? Object.fromEntries(Object.entries(val as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1))) : val,
  );
}

/**
 * Writes the status subresource when it changed (PUT with the read resourceVersion: a 409 means
 * the object changed meanwhile and the key is requeued). Emits an Event for each condition whose
 * status flipped. Returns whether it wrote.
 */
export async function writeStatus(deps: ReconcileDeps, raw: RawResource, status: Record<string, unknown>): Promise<boolean> {
  const clean = JSON.parse(JSON.stringify(status)) as Record<string, unknown>;
  if (stableJson(raw.status ?? {}) === stableJson(clean)) return false;
  const before = (raw.status?.conditions ?? []) as Condition[];
  await deps.api.replaceStatus({ ...raw, status: clean });
  for (const c of (clean.conditions ?? []) as Condition[]) {
    const old = before.find((b) => b.type === c.type);
    // Flips of Ready only; not the first "not ready yet" of a new resource, nor InvalidSpec (recorded by its reporter).
    if (c.type !== 'Ready' || old?.status === c.status || c.reason === 'InvalidSpec' || (old === undefined && c.status !== 'True')) continue;
    deps.events.record(raw, c.status === 'True' ? 'Normal' : 'Warning', c.reason, c.message ?? `${c.type} is ${c.status}`);
  }
  return true;
}

/**
 * Sets conditions on the resource's current status and writes it (writeStatus), every other field
 * kept; with `observe`, status.observedGeneration becomes metadata.generation as well.
 */
export async function writeConditions(deps: ReconcileDeps, raw: RawResource, cs: readonly ConditionInput[], opts: { observe: boolean }): Promise<boolean> {
  const generation = raw.metadata?.generation;
  const conditions = setConditions(raw.status?.conditions as Condition[] | undefined, cs, isoSeconds(deps.now()), generation);
  return writeStatus(deps, raw, {
    ...(raw.status ?? {}),
    ...(opts.observe && generation !== undefined ? { observedGeneration: generation } : {}),
    conditions,
  });
}

/** An invalid spec: Ready=False InvalidSpec naming the fields, one Warning Event; never a crash. */
export async function reportInvalidSpec(deps: ReconcileDeps, raw: RawResource, errors: readonly string[]): Promise<void> {
  const message = errors.join('; ');
  deps.events.record(raw, 'Warning', 'InvalidSpec', message);
  await writeConditions(
    deps,
    raw,
    [
      { type: 'Ready', status: 'False', reason: 'InvalidSpec', message },
      { type: 'Progressing', status: 'False', reason: 'InvalidSpec', message: 'nothing is changed until the spec is fixed' },
    ],
    { observe: true },
  );
}

export function isPaused(raw: KubernetesObject): boolean {
  return raw.metadata?.annotations?.[PAUSE_ANNOTATION] === 'true';
}

/** Paused: only a condition saying so (Progressing=True ReconciliationPaused). */
export async function reportPaused(deps: ReconcileDeps, raw: RawResource): Promise<void> {
  const message = `annotation ${PAUSE_ANNOTATION}=true: the operator changes nothing until it is removed`;
  await writeConditions(deps, raw, [{ type: 'Progressing', status: 'True', reason: 'ReconciliationPaused', message }], { observe: false });
}

/**
 * What every reconcile does once it has read its resource: an invalid spec is reported
 * (reportInvalidSpec), a paused resource only says so (reportPaused); either way there is nothing
 * more to do and the result is undefined. Otherwise the validated resource, to reconcile.
 */
export async function toReconcile<T>(deps: ReconcileDeps, raw: RawResource, v: Validation<T>): Promise<T | undefined> {
  if (!v.ok) {
    await reportInvalidSpec(deps, raw, v.errors);
    return undefined;
  }
  if (isPaused(raw)) {
    await reportPaused(deps, raw);
    return undefined;
  }
  return v.value;
}

export function podReady(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
}

/** A pod that runs (not terminating, has an IP). */
export function livePod(pod: V1Pod | undefined): pod is V1Pod {
  return pod !== undefined && pod.metadata?.deletionTimestamp === undefined && pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed';
}

/** The StatefulSet controller has observed its spec and every pod runs the current template, ready. */
export function statefulSetSettled(sts: V1StatefulSet | undefined): boolean {
  if (!sts) return false;
  const s = sts.status;
  const want = sts.spec?.replicas ?? 1;
  if (!s || (s.observedGeneration ?? 0) < (sts.metadata?.generation ?? 0)) return false;
  if ((s.readyReplicas ?? 0) < want || (s.replicas ?? 0) !== want) return false;
  if (s.updateRevision !== undefined && s.currentRevision !== undefined && s.updateRevision !== s.currentRevision) return false;
  return (s.updatedReplicas ?? want) >= want;
}

export function labelSelector(labels: Record<string, string>): string {
  return Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',');
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
