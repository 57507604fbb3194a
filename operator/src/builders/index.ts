// Pure builders: validated custom resources in, Kubernetes objects out (no client calls).
export * from './common.js';
export * from './nameserver.js';
export * from './broker.js';
export * from './pdb.js';
export { prune } from './prune.js';

import type { KubernetesObject } from '@kubernetes/client-node';
import type { BrokerGroup } from '../api/v1alpha1/brokergroup.js';
import type { NameServer } from '../api/v1alpha1/nameserver.js';
import { buildBrokerConfigMap, buildBrokerGroupStatefulSets, buildBrokerServices } from './broker.js';
import type { BuildContext } from './common.js';
import { buildNameServerClientService, buildNameServerConfigMap, buildNameServerHeadlessService, buildNameServerStatefulSet } from './nameserver.js';
import { buildPodDisruptionBudget } from './pdb.js';

/** Every object a NameServer owns, in the order to create them (config and Services before pods). */
export function nameServerObjects(ns: NameServer, ctx: BuildContext): KubernetesObject[] {
  return [buildNameServerConfigMap(ns), buildNameServerHeadlessService(ns), buildNameServerClientService(ns), buildPodDisruptionBudget(ns), buildNameServerStatefulSet(ns, ctx)];
}

/** Every object a BrokerGroup owns, in the order to create them (members master first). */
export function brokerGroupObjects(group: BrokerGroup, namesrvAddresses: readonly string[], ctx: BuildContext): KubernetesObject[] {
  return [buildBrokerConfigMap(group, namesrvAddresses), ...buildBrokerServices(group), buildPodDisruptionBudget(group), ...buildBrokerGroupStatefulSets(group, namesrvAddresses, ctx)];
}
