// Installing the operator into an e2e cluster and reading its custom resources.
import { join } from 'node:path';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { GROUP, VERSION } from '../../../operator/src/api/v1alpha1/common.js';
import { ROOT, type E2ECluster } from './cluster.js';

export const OPERATOR_NAMESPACE = 'rmq-system';
export const RELEASE = 'rmq-ts';
export const CHART = join(ROOT, 'charts/rocketmq-ts');
/** The image under test: any tag of rocketmq-ts runs this checkout's build through the node agent; kind loads this one. */
export const IMAGE = process.env.RMQ_E2E_IMAGE ?? 'rocketmq-ts:0.1.0';

/** Operator settings the scenarios need: short intervals so repairs and rolls happen within the tests' bounded waits. */
export const OPERATOR_VALUES = ['operator.pollSeconds=2', 'operator.topicResyncSeconds=5', 'operator.drainSeconds=5'];

function imageParts(): { repository: string; tag: string } {
  const i = IMAGE.lastIndexOf(':');
  return i > 0 && !IMAGE.slice(i).includes('/') ? { repository: IMAGE.slice(0, i), tag: IMAGE.slice(i + 1) } : { repository: IMAGE, tag: 'latest' };
}

/** `helm install` of the chart (CRDs, RBAC, the operator Deployment) with the image under test; waits for the Deployment. */
export async function installOperator(cluster: E2ECluster): Promise<void> {
  const img = imageParts();
  const sets = [`image.repository=${img.repository}`, `image.tag=${img.tag}`, 'image.pullPolicy=IfNotPresent', ...OPERATOR_VALUES].flatMap((v) => ['--set', v]);
  await cluster.helm(['install', RELEASE, CHART, '-n', OPERATOR_NAMESPACE, '--create-namespace', '--wait', '--timeout', '180s', ...sets], { timeoutMs: 240_000 });
}

export type Plural = 'nameservers' | 'brokergroups' | 'topics';

export interface CR {
  metadata: { name: string; namespace: string; generation?: number; uid?: string };
  spec: Record<string, unknown>;
  status?: { observedGeneration?: number; conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>; [k: string]: unknown };
}

export function customObjects(cluster: E2ECluster): CustomObjectsApi {
  return cluster.kc.makeApiClient(CustomObjectsApi);
}

export async function getCR(cluster: E2ECluster, plural: Plural, namespace: string, name: string): Promise<CR> {
  return (await customObjects(cluster).getNamespacedCustomObject({ group: GROUP, version: VERSION, plural, namespace, name })) as CR;
}

export function condition(cr: CR, type: string): { status: string; reason?: string; message?: string } | undefined {
  return cr.status?.conditions?.find((c) => c.type === type);
}

/** Waits until the CR's condition has `status` for its current generation. */
export async function waitCondition(cluster: E2ECluster, plural: Plural, namespace: string, name: string, type: string, status: string, timeoutMs = 180_000): Promise<CR> {
  let cr: CR | undefined;
  await cluster.waitFor(`${plural} ${namespace}/${name} condition ${type}=${status}`, namespace, timeoutMs, async () => {
    cr = await getCR(cluster, plural, namespace, name);
    const c = condition(cr, type);
    const current = (cr.status?.observedGeneration ?? -1) >= (cr.metadata.generation ?? 0);
    return (c?.status === status && current) || `status ${JSON.stringify(cr.status ?? {}).slice(0, 1500)}`;
  });
  return cr!;
}
