// PodDisruptionBudgets: at most one pod of a NameServer, and at most one member of a broker
// group, voluntarily down at a time (node drains, cluster upgrades). Drains proceed in parallel
// across groups but never take a master and its slave together.
import type { V1PodDisruptionBudget } from '@kubernetes/client-node';
import type { BrokerGroup } from '../api/v1alpha1/brokergroup.js';
import type { NameServer } from '../api/v1alpha1/nameserver.js';
import { commonLabels, ownedMeta, selectorLabels } from './common.js';
import { brokerGroupNames, groupLabels, groupSelector } from './broker.js';
import { nameServerNames } from './nameserver.js';

/**
 * maxUnavailable 1 rather than minAvailable: with a single-member group (or one name server)
 * minAvailable would block every drain forever; maxUnavailable 1 still lets that one pod move.
 */
export function buildPodDisruptionBudget(owner: NameServer | BrokerGroup): V1PodDisruptionBudget {
  const name = owner.metadata.name;
  const isGroup = owner.kind === 'BrokerGroup';
  const labels = isGroup ? groupLabels(owner) : commonLabels(name, 'nameserver');
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: ownedMeta(owner, isGroup ? brokerGroupNames(name).podDisruptionBudget : nameServerNames(name).podDisruptionBudget, labels),
    spec: {
      maxUnavailable: 1,
      selector: { matchLabels: isGroup ? groupSelector(owner) : selectorLabels(name, 'nameserver') },
    },
  };
}
