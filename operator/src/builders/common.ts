// What every builder shares: the label set, owner references, fixed ports and paths, hashing,
// and the translation of the CRs' scheduling fields. Builders are pure: a CR (validated, with
// defaults applied) and a context in, Kubernetes objects out; no client calls, no clocks.
import { createHash } from 'node:crypto';
import type {
  V1Affinity,
  V1ObjectMeta,
  V1OwnerReference,
  V1PodAffinityTerm,
  V1PodSpec,
  V1Probe,
  V1ResourceRequirements,
  V1SecurityContext,
  V1Service,
  V1Toleration,
  V1WeightedPodAffinityTerm,
} from '@kubernetes/client-node';
import { API_VERSION, GROUP, type ImagePullPolicy, type ResourceRequirements, type Scheduling } from '../api/v1alpha1/common.js';

/** What builders need besides the CR: operator-wide settings. */
export interface BuildContext {
  /** Image for CRs that set none: the operator's own version of the rocketmq-ts image. */
  defaultImage: string;
  /** The cluster's DNS domain (kubelet --cluster-domain), for fully qualified pod names. */
  clusterDomain: string;
}

export const DEFAULT_CONTEXT: BuildContext = { defaultImage: 'rocketmq-ts:0.1.0', clusterDomain: 'cluster.local' };

/** Fixed ports: each pod has its own IP, so the defaults never clash and probes/Services can rely on them. */
export const PORTS = {
  namesrv: 9876,
  /** namesrv healthPort default: listenPort + 1. */
  namesrvHealth: 9877,
  broker: 10911,
  /** The "VIP channel" older clients use: listenPort - 2. */
  brokerFast: 10909,
  /** broker healthPort default: listenPort - 1. */
  brokerHealth: 10910,
  /** haListenPort default: listenPort + 1. */
  brokerHa: 10912,
} as const;

/** The image's entry point (Dockerfile ENTRYPOINT): `rmq namesrv|broker …`. */
export const RMQ_COMMAND = ['node', '/app/dist/broker/src/cli/rmq.js'];
/** Where config files are mounted (and, for brokers, completed at start). */
export const CONFIG_DIR = '/etc/rocketmq';
/** The broker store: the image's HOME/store, on the member's volume. */
export const STORE_DIR = '/home/rocketmq/store';
/** The image's user (node, uid/gid 1000): volumes must be writable by it. */
export const IMAGE_UID = 1000;

export const LABEL = {
  name: 'app.kubernetes.io/name',
  instance: 'app.kubernetes.io/instance',
  component: 'app.kubernetes.io/component',
  partOf: 'app.kubernetes.io/part-of',
  managedBy: 'app.kubernetes.io/managed-by',
  cluster: `${GROUP}/cluster`,
  brokerGroup: `${GROUP}/broker-group`,
  brokerId: `${GROUP}/broker-id`,
} as const;

/** Pod-template annotation: hash of the config that needs a restart to take effect. */
export const CONFIG_HASH_ANNOTATION = `${GROUP}/config-hash`;

export type Component = 'nameserver' | 'broker';

/** The labels a StatefulSet selects on: never change for the life of the object (selectors are immutable). */
export function selectorLabels(instance: string, component: Component, extra: Record<string, string> = {}): Record<string, string> {
  return { [LABEL.name]: 'rocketmq', [LABEL.instance]: instance, [LABEL.component]: component, ...extra };
}

/** The full label set on every object: selector labels plus part-of and managed-by. */
export function commonLabels(instance: string, component: Component, extra: Record<string, string> = {}): Record<string, string> {
  return { ...selectorLabels(instance, component), [LABEL.partOf]: 'rocketmq-ts', [LABEL.managedBy]: 'rocketmq-ts-operator', ...extra };
}

interface OwnerLike {
  kind: string;
  metadata: { name: string; namespace?: string | undefined; uid?: string | undefined };
}

/** The CR as the controlling owner: deleting the CR garbage-collects what it owns. */
export function ownerReference(owner: OwnerLike): V1OwnerReference {
  if (owner.metadata.uid === undefined) throw new Error(`${owner.kind} ${owner.metadata.name} has no metadata.uid: build from the object the API server returned`);
  return { apiVersion: API_VERSION, kind: owner.kind, name: owner.metadata.name, uid: owner.metadata.uid, controller: true, blockOwnerDeletion: true };
}

export function namespaceOf(owner: OwnerLike): string {
  if (owner.metadata.namespace === undefined) throw new Error(`${owner.kind} ${owner.metadata.name} has no metadata.namespace`);
  return owner.metadata.namespace;
}

/** Metadata of an object the CR owns: in the CR's namespace, with the CR as its controlling owner. */
export function ownedMeta(owner: OwnerLike, name: string, labels: Record<string, string>): V1ObjectMeta {
  return { name, namespace: namespaceOf(owner), labels, ownerReferences: [ownerReference(owner)] };
}

export interface OwnedServiceOptions {
  name: string;
  labels: Record<string, string>;
  selector: Record<string, string>;
  /**
   * Headless: no virtual IP, a DNS name per pod, not-ready pods published too (so a peer can
   * resolve a server that is still starting). Otherwise one ClusterIP over the ready pods.
   */
  headless: boolean;
  /** Port name → port; each targets the container port of the same name (TCP). */
  ports: Record<string, number>;
}

/** A Service over the CR's pods, owned by the CR. */
export function ownedService(owner: OwnerLike, o: OwnedServiceOptions): V1Service {
  const ports = Object.entries(o.ports).map(([name, port]) => ({ name, port, targetPort: name, protocol: 'TCP' }));
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: ownedMeta(owner, o.name, o.labels),
    spec: o.headless ? { clusterIP: 'None', publishNotReadyAddresses: true, selector: o.selector, ports } : { type: 'ClusterIP', selector: o.selector, ports },
  };
}

/** Short, stable content hash (sha256, first 16 hex digits). */
export function contentHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

export function toResources(r: ResourceRequirements | undefined): V1ResourceRequirements | undefined {
  if (!r) return undefined;
  const q = (m: Record<string, string | number> | undefined) => (m ? Object.fromEntries(Object.entries(m).map(([k, v]) => [k, String(v)])) : undefined);
  const out: V1ResourceRequirements = {};
  const limits = q(r.limits);
  const requests = q(r.requests);
  if (limits) out.limits = limits;
  if (requests) out.requests = requests;
  return out;
}

export function toTolerations(s: Scheduling | undefined): V1Toleration[] | undefined {
  return s?.tolerations?.map((t) => ({ ...t }));
}

/**
 * The user's affinity with the operator's anti-affinity between this resource's pods added
 * (by node). The user's own podAntiAffinity terms are kept and ours appended.
 */
export function podAffinity(s: Scheduling | undefined, selector: Record<string, string>, fallback: 'Required' | 'Preferred'): V1Affinity | undefined {
  const user = (s?.affinity ?? {}) as V1Affinity;
  const mode = s?.podAntiAffinity ?? fallback;
  if (mode === 'None') return s?.affinity ? user : undefined;
  const term: V1PodAffinityTerm = { labelSelector: { matchLabels: selector }, topologyKey: 'kubernetes.io/hostname' };
  const anti = { ...(user.podAntiAffinity ?? {}) };
  if (mode === 'Required') {
    anti.requiredDuringSchedulingIgnoredDuringExecution = [...(anti.requiredDuringSchedulingIgnoredDuringExecution ?? []), term];
  } else {
    const weighted: V1WeightedPodAffinityTerm = { weight: 100, podAffinityTerm: term };
    anti.preferredDuringSchedulingIgnoredDuringExecution = [...(anti.preferredDuringSchedulingIgnoredDuringExecution ?? []), weighted];
  }
  return { ...user, podAntiAffinity: anti };
}

/** The pod-spec fields of a CR's `scheduling`: affinity (with the operator's anti-affinity), tolerations, node selector. */
export function podScheduling(s: Scheduling | undefined, selector: Record<string, string>, fallback: 'Required' | 'Preferred'): Pick<V1PodSpec, 'affinity' | 'tolerations' | 'nodeSelector'> {
  return { affinity: podAffinity(s, selector, fallback), tolerations: toTolerations(s), nodeSelector: s?.nodeSelector };
}

/** The container image of a CR (its own, else the operator's default) and its pull policy. */
export function containerImage(
  spec: { image?: string | undefined; imagePullPolicy?: ImagePullPolicy | undefined },
  ctx: BuildContext,
): { image: string; imagePullPolicy: ImagePullPolicy | undefined } {
  return { image: spec.image ?? ctx.defaultImage, imagePullPolicy: spec.imagePullPolicy };
}

/** Every container runs without privilege escalation and without Linux capabilities. */
export const RESTRICTED_CONTAINER_SECURITY: V1SecurityContext = { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } };

/**
 * Probes of the health server both servers run on their `health` port: ready once `/readyz` says
 * so, restarted after six missed `/healthz` answers in a row.
 */
export const READINESS_PROBE: V1Probe = { httpGet: { path: '/readyz', port: 'health' }, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 3 };
export const LIVENESS_PROBE: V1Probe = { httpGet: { path: '/healthz', port: 'health' }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 6 };

/** A sorted copy, so generated text never depends on the order keys were written in. */
export function sortedEntries<T>(record: Record<string, T> | undefined): Array<[string, T]> {
  return Object.entries(record ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
