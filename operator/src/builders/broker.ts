// Desired objects of a BrokerGroup: one ConfigMap with each member's broker.conf, one
// StatefulSet per member, a headless and a client Service.
//
// Why one StatefulSet per member (each with replicas: 1) rather than one per group:
// - Members are not interchangeable: member 0 is the master (brokerId 0, SYNC_/ASYNC_MASTER),
//   the others slaves with their own brokerId. A StatefulSet gives every pod the same template,
//   so per-pod config would have to be picked at start from the ordinal; with one StatefulSet per
//   member each pod template carries its own config hash, and a change to one member's
//   broker.conf restarts only that member.
// - Restart order matters (slaves first, each caught up, then the master after a drain). A
//   group-wide StatefulSet rolls from the highest ordinal down with no knowledge of replication.
//   Per-member StatefulSets use `updateStrategy: OnDelete`: Kubernetes never restarts a broker
//   on its own; the reconciler deletes pods in the order the group's replication allows
//   (Strimzi made the same choice for the same reason; see operator-anchors.md §2.3, §2.4).
// - Members can be added or removed individually (scale-in of a slave is removing its
//   StatefulSet) and given per-member overrides later without touching the others.
// Unlike apache/rocketmq-operator, each StatefulSet selects only its own pod (group + broker-id
// labels), so no two controllers ever claim the same pods.
import type { V1ConfigMap, V1PersistentVolumeClaim, V1Service, V1StatefulSet } from '@kubernetes/client-node';
import { brokerNameOf, type BrokerGroup } from '../api/v1alpha1/brokergroup.js';
import { configValueText } from '../api/v1alpha1/common.js';
import {
  CONFIG_DIR,
  CONFIG_HASH_ANNOTATION,
  IMAGE_UID,
  LABEL,
  LIVENESS_PROBE,
  PORTS,
  READINESS_PROBE,
  RESTRICTED_CONTAINER_SECURITY,
  RMQ_COMMAND,
  STORE_DIR,
  commonLabels,
  containerImage,
  contentHash,
  namespaceOf,
  ownedMeta,
  ownedService,
  podScheduling,
  selectorLabels,
  sortedEntries,
  toResources,
  type BuildContext,
} from './common.js';
import { prune } from './prune.js';

/**
 * Keys the broker applies at runtime through UPDATE_BROKER_CONFIG (`mqadmin updateBrokerConfig`)
 * without a restart (broker README "Master/slave"; RUNTIME_KEYS in broker-controller.ts, less the
 * role keys the operator manages separately). They stay out of the config hash: changing them,
 * e.g. namesrvAddr when the NameServer scales, restarts no broker; the reconciler pushes them.
 */
export const RUNTIME_UPDATABLE_KEYS: ReadonlySet<string> = new Set([
  'namesrvAddr', 'brokerPermission', 'slaveReadEnable', 'longPollingEnable', 'shortPollingTimeMills',
  'autoCreateTopicEnable', 'autoCreateSubscriptionGroup', 'defaultTopicQueueNums',
]);

/** Where the init container finds the ConfigMap's broker.conf before adding brokerIP1. */
export const CONFIG_TEMPLATE_DIR = '/etc/rocketmq-template';
export const BROKER_CONF = 'broker.conf';
/**
 * Broker stop: unregister from every name server, refuse new sends, let accepted requests finish
 * (≤ 10 s), flush; the broker gives itself 60 s (stopOnSignals) before it exits anyway. The pod
 * gets a little more so the kubelet's SIGKILL never cuts a flush short.
 */
export const BROKER_TERMINATION_GRACE_SECONDS = 75;

export const brokerGroupNames = (name: string) => ({
  configMap: `${name}-config`,
  headlessService: `${name}-headless`,
  clientService: name,
  podDisruptionBudget: name,
  /** StatefulSet of member `i` (its pod is `<name>-<i>-0`). */
  statefulSet: (member: number) => `${name}-${member}`,
  pod: (member: number) => `${name}-${member}-0`,
  /** ConfigMap key of member `i`'s broker.conf. */
  confKey: (member: number) => `broker-${member}.conf`,
  /** The member's PersistentVolumeClaim (from the `store` claim template). */
  claim: (member: number) => `store-${name}-${member}-0`,
});

export type BrokerRole = 'SYNC_MASTER' | 'ASYNC_MASTER' | 'SLAVE';

/** Member 0 is the master (brokerId 0); members 1.. are slaves with brokerId = member index. */
export function memberRole(group: BrokerGroup, member: number): BrokerRole {
  if (member > 0) return 'SLAVE';
  return group.spec.replication === 'SYNC' ? 'SYNC_MASTER' : 'ASYNC_MASTER';
}

export interface MemberConf {
  /** The whole broker.conf as the ConfigMap holds it (brokerIP1 is added at start). */
  text: string;
  /** Keys that need a restart to change: what the config hash covers. */
  restartKeys: Array<[string, string]>;
  /** Keys the reconciler may apply at runtime with updateBrokerConfig. */
  runtimeKeys: Array<[string, string]>;
  /** Hash of `restartKeys`: the pod-template annotation. */
  hash: string;
}

/**
 * broker.conf of one member. `namesrvAddresses` are the NameServer's stable DNS addresses
 * (nameServerAddresses()): they never contain pod IPs.
 */
export function brokerMemberConf(group: BrokerGroup, member: number, namesrvAddresses: readonly string[]): MemberConf {
  const spec = group.spec;
  const owned: Array<[string, string]> = [
    ['brokerClusterName', spec.clusterName],
    ['brokerName', brokerNameOf(group)],
    ['brokerId', String(member)],
    ['brokerRole', memberRole(group, member)],
    ['flushDiskType', spec.flush === 'SYNC' ? 'SYNC_FLUSH' : 'ASYNC_FLUSH'],
    ['listenPort', String(PORTS.broker)],
    ['haListenPort', String(PORTS.brokerHa)],
    ['healthPort', String(PORTS.brokerHealth)],
    ['bindAddress', '0.0.0.0'],
    ['storePathRootDir', STORE_DIR],
    ['fileReservedTime', String(spec.storage.retentionHours)],
  ];
  const user = sortedEntries(spec.config).map(([k, v]): [string, string] => [k, configValueText(v)]);
  const restartKeys = [...owned, ...user.filter(([k]) => !RUNTIME_UPDATABLE_KEYS.has(k))];
  const runtimeKeys: Array<[string, string]> = [['namesrvAddr', namesrvAddresses.join(';')], ...user.filter(([k]) => RUNTIME_UPDATABLE_KEYS.has(k))];
  const line = ([k, v]: [string, string]) => `${k}=${v}`;
  const text = [
    `# Generated by the rocketmq-ts operator for BrokerGroup ${namespaceOf(group)}/${group.metadata.name}, member ${member}; do not edit.`,
    ...restartKeys.map(line),
    '# Applied at runtime with updateBrokerConfig when they change (no restart):',
    ...runtimeKeys.map(line),
    '# brokerIP1 (the pod IP) is appended when the pod starts.',
  ].join('\n') + '\n';
  return { text, restartKeys, runtimeKeys, hash: contentHash(restartKeys.map(line).join('\n')) };
}

export function buildBrokerConfigMap(group: BrokerGroup, namesrvAddresses: readonly string[]): V1ConfigMap {
  const name = group.metadata.name;
  const names = brokerGroupNames(name);
  const data: Record<string, string> = {};
  for (let m = 0; m < group.spec.replicas; m++) data[names.confKey(m)] = brokerMemberConf(group, m, namesrvAddresses).text;
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: ownedMeta(group, names.configMap, groupLabels(group)),
    data,
  };
}

/** The full label set of the group's objects: common labels plus cluster and group. */
export function groupLabels(group: BrokerGroup, extra: Record<string, string> = {}): Record<string, string> {
  return commonLabels(group.metadata.name, 'broker', { [LABEL.cluster]: group.spec.clusterName, [LABEL.brokerGroup]: group.metadata.name, ...extra });
}

/** Selects every member of the group (Services, PDB, anti-affinity). */
export function groupSelector(group: BrokerGroup): Record<string, string> {
  return selectorLabels(group.metadata.name, 'broker', { [LABEL.brokerGroup]: group.metadata.name });
}

/** Selects one member (its StatefulSet; immutable, so only labels that never change). */
export function memberSelector(group: BrokerGroup, member: number): Record<string, string> {
  return { ...groupSelector(group), [LABEL.brokerId]: String(member) };
}

/**
 * The broker advertises brokerIP1 to the name servers, and clients connect to that address, so it
 * must be the pod IP. The image's broker.conf has no variable substitution, so an init container
 * (same image, POSIX sh) copies the member's broker.conf from the ConfigMap into a pod-local
 * directory and appends `brokerIP1=$POD_IP` (downward API). The broker then starts with the
 * image's own command unchanged. Each start copies the current ConfigMap, so a restart always
 * picks up the latest namesrvAddr too.
 */
const INIT_SCRIPT = [
  'set -eu',
  ': "${POD_IP:?POD_IP is not set}"',
  `cp ${CONFIG_TEMPLATE_DIR}/${BROKER_CONF} ${CONFIG_DIR}/${BROKER_CONF}`,
  `printf 'brokerIP1=%s\\n' "$POD_IP" >> ${CONFIG_DIR}/${BROKER_CONF}`,
].join('\n');

export function buildBrokerGroupStatefulSet(group: BrokerGroup, member: number, namesrvAddresses: readonly string[], ctx: BuildContext): V1StatefulSet {
  const name = group.metadata.name;
  const names = brokerGroupNames(name);
  const spec = group.spec;
  const image = containerImage(spec, ctx);
  const labels = groupLabels(group, { [LABEL.brokerId]: String(member) });
  const conf = brokerMemberConf(group, member, namesrvAddresses);
  const claim: V1PersistentVolumeClaim = {
    metadata: { name: 'store', labels },
    spec: {
      accessModes: ['ReadWriteOnce'],
      storageClassName: spec.storage.storageClassName,
      resources: { requests: { storage: String(spec.storage.size) } },
    },
  };
  return prune({
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: ownedMeta(group, names.statefulSet(member), labels),
    spec: {
      serviceName: names.headlessService,
      replicas: 1,
      // The operator restarts brokers itself, in replication-safe order (see the top of this file).
      updateStrategy: { type: 'OnDelete' },
      selector: { matchLabels: memberSelector(group, member) },
      template: {
        metadata: { labels, annotations: { [CONFIG_HASH_ANNOTATION]: conf.hash } },
        spec: {
          ...podScheduling(spec.scheduling, groupSelector(group), 'Required'),
          // fsGroup: the image runs as node (1000); the claim must be writable by it.
          securityContext: { runAsNonRoot: true, runAsUser: IMAGE_UID, runAsGroup: IMAGE_UID, fsGroup: IMAGE_UID, fsGroupChangePolicy: 'OnRootMismatch' },
          terminationGracePeriodSeconds: BROKER_TERMINATION_GRACE_SECONDS,
          initContainers: [
            {
              name: 'config',
              ...image,
              command: ['/bin/sh', '-c', INIT_SCRIPT],
              env: [{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }],
              securityContext: RESTRICTED_CONTAINER_SECURITY,
              volumeMounts: [
                { name: 'config-template', mountPath: CONFIG_TEMPLATE_DIR, readOnly: true },
                { name: 'config', mountPath: CONFIG_DIR },
              ],
            },
          ],
          containers: [
            {
              name: 'broker',
              ...image,
              command: RMQ_COMMAND,
              args: ['broker', '-c', `${CONFIG_DIR}/${BROKER_CONF}`],
              ports: [
                { name: 'broker', containerPort: PORTS.broker, protocol: 'TCP' },
                { name: 'fast', containerPort: PORTS.brokerFast, protocol: 'TCP' },
                { name: 'ha', containerPort: PORTS.brokerHa, protocol: 'TCP' },
                { name: 'health', containerPort: PORTS.brokerHealth, protocol: 'TCP' },
              ],
              // Ready = store recovered, registered with a name server, and (slave) caught up.
              readinessProbe: READINESS_PROBE,
              // The health server starts before store recovery; the startup probe still allows
              // a slow recovery (a long commit log after kill -9) before liveness applies.
              startupProbe: { httpGet: { path: '/healthz', port: 'health' }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 60 },
              livenessProbe: LIVENESS_PROBE,
              resources: toResources(spec.resources),
              securityContext: RESTRICTED_CONTAINER_SECURITY,
              volumeMounts: [
                { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
                { name: 'store', mountPath: STORE_DIR },
              ],
            },
          ],
          volumes: [
            { name: 'config-template', configMap: { name: names.configMap, items: [{ key: names.confKey(member), path: BROKER_CONF }] } },
            { name: 'config', emptyDir: {} },
          ],
        },
      },
      volumeClaimTemplates: [claim],
    },
  });
}

/** One StatefulSet per member, master (member 0) first. */
export function buildBrokerGroupStatefulSets(group: BrokerGroup, namesrvAddresses: readonly string[], ctx: BuildContext): V1StatefulSet[] {
  return Array.from({ length: group.spec.replicas }, (_, m) => buildBrokerGroupStatefulSet(group, m, namesrvAddresses, ctx));
}

/**
 * The group's Services. Clients never use them for messaging (they get broker addresses from the
 * name servers); the headless Service gives members stable DNS names, the client Service is for
 * tools, health checks and Prometheus.
 */
export function buildBrokerServices(group: BrokerGroup): [headless: V1Service, client: V1Service] {
  const names = brokerGroupNames(group.metadata.name);
  const common = { labels: groupLabels(group), selector: groupSelector(group) };
  return [
    ownedService(group, { ...common, name: names.headlessService, headless: true, ports: { broker: PORTS.broker, ha: PORTS.brokerHa } }),
    ownedService(group, { ...common, name: names.clientService, headless: false, ports: { broker: PORTS.broker, health: PORTS.brokerHealth } }),
  ];
}
