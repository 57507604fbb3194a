// The operator's permissions: exactly the verbs its code uses, per resource. `npm run generate`
// writes them into the chart's RBAC template (charts/rocketmq-ts/templates/rbac.yaml), so the
// chart grants what the code needs and nothing more.
import { GROUP } from '../api/v1alpha1/common.js';

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  /** Why the operator needs it (a comment in the template). */
  why: string;
}

/** Cluster-wide (ClusterRole): the operator watches any namespace. */
export const CLUSTER_RULES: readonly PolicyRule[] = [
  { apiGroups: [GROUP], resources: ['nameservers', 'brokergroups', 'topics'], verbs: ['get', 'list', 'watch'], why: 'informers and reconcilers read the custom resources' },
  { apiGroups: [GROUP], resources: ['topics'], verbs: ['patch'], why: 'JSON patch adds and removes the topic-cleanup finalizer' },
  { apiGroups: [GROUP], resources: ['nameservers/status', 'brokergroups/status', 'topics/status'], verbs: ['update'], why: 'status is written through the status subresource (PUT with resourceVersion)' },
  // blockOwnerDeletion on owned objects needs update on the owner's finalizers (OwnerReferencesPermissionEnforcement).
  { apiGroups: [GROUP], resources: ['nameservers/finalizers', 'brokergroups/finalizers'], verbs: ['update'], why: 'owner references with blockOwnerDeletion' },
  { apiGroups: ['apps'], resources: ['statefulsets'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'], why: 'server-side apply of members; removal of scaled-in members' },
  { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'delete'], why: 'pod IPs and readiness; deleting a pod is how a member restarts (OnDelete)' },
  { apiGroups: [''], resources: ['services', 'configmaps'], verbs: ['create', 'patch'], why: 'server-side apply' },
  { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: ['create', 'patch'], why: 'server-side apply' },
  { apiGroups: [''], resources: ['events'], verbs: ['create'], why: 'Events on the custom resources' },
];

/** In the operator's own namespace (Role): leader election. */
export const LEADER_ELECTION_RULES: readonly PolicyRule[] = [
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'], why: 'leader election Lease' },
];
