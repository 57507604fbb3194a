// The Helm chart: `helm lint`, and what `helm template` renders checked against the operator's own
// code: the sample cluster validates with the API schemas, the Deployment's args parse as
// `rmq operator` options, the ClusterRole is the generated rule table. Needs helm: HELM, PATH, or
// the copy the e2e set-up caches under ~/.cache/rocketmq-ts/k8s-*/bin.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { loadAll } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { validateBrokerGroup, validateNameServer, validateTopic } from '../src/api/v1alpha1/index.js';
import { parseOperatorOptions } from '../src/main.js';
import { CLUSTER_RULES, LEADER_ELECTION_RULES } from '../src/runtime/rbac.js';
import { ROOT } from './generate.js';

const CHART = join(ROOT, 'charts', 'rocketmq-ts');

function findHelm(): string | undefined {
  if (process.env.HELM && existsSync(process.env.HELM)) return process.env.HELM;
  try {
    return execFileSync('sh', ['-c', 'command -v helm'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    // not on PATH
  }
  const cache = join(homedir(), '.cache', 'rocketmq-ts');
  if (!existsSync(cache)) return undefined;
  for (const d of readdirSync(cache).filter((n) => n.startsWith('k8s-')).sort().reverse()) {
    const h = join(cache, d, 'bin', 'helm');
    if (existsSync(h)) return h;
  }
  return undefined;
}

const HELM = findHelm();
if (!HELM) process.stderr.write('chart.test.ts: helm not found (HELM, PATH, ~/.cache/rocketmq-ts/k8s-*/bin/helm): chart checks skipped\n');

interface Doc {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }>;
  spec?: { template?: { spec?: { containers?: Array<{ args?: string[]; env?: Array<{ name: string; value?: string }> }> } } };
}

function helm(args: string[]): string {
  return execFileSync(HELM!, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function render(...sets: string[]): Doc[] {
  return (loadAll(helm(['template', 'rel', CHART, '-n', 'ops', ...sets])) as Array<Doc | null>).filter((d): d is Doc => d !== null);
}

describe.skipIf(!HELM)('Helm chart', () => {
  it('passes helm lint (defaults, sample cluster, namespaced watch)', () => {
    expect(helm(['lint', CHART])).toMatch(/0 chart\(s\) failed/);
    expect(helm(['lint', CHART, '--set', 'sampleCluster.enabled=true', '--set', 'operator.watchNamespaces={a,b}'])).toMatch(/0 chart\(s\) failed/);
  });

  it('renders the operator objects and nothing else by default', () => {
    expect(render().map((d) => `${d.kind}/${d.metadata.name}`)).toEqual([
      'ServiceAccount/rel-rocketmq-ts',
      'ClusterRole/rel-rocketmq-ts',
      'ClusterRoleBinding/rel-rocketmq-ts',
      'Role/rel-rocketmq-ts-leader-election',
      'RoleBinding/rel-rocketmq-ts-leader-election',
      'Service/rel-rocketmq-ts-metrics',
      'Deployment/rel-rocketmq-ts',
    ]);
  });

  it('grants exactly the generated rules', () => {
    const docs = render();
    const strip = (rules: ReadonlyArray<{ apiGroups: string[]; resources: string[]; verbs: string[] }>) => rules.map(({ apiGroups, resources, verbs }) => ({ apiGroups, resources, verbs }));
    expect(docs.find((d) => d.kind === 'ClusterRole')!.rules).toEqual(strip(CLUSTER_RULES));
    expect(docs.find((d) => d.kind === 'Role')!.rules).toEqual(strip(LEADER_ELECTION_RULES));
  });

  it('the Deployment runs `rmq operator` with options the operator accepts', () => {
    const deploy = render('--set', 'operator.watchNamespaces={a,b}', '--set', 'operator.leaderElection=false', '--set-json', 'operator.extraArgs=["--poll-seconds","2"]').find((d) => d.kind === 'Deployment')!;
    const c = deploy.spec!.template!.spec!.containers![0]!;
    expect(c.args![0]).toBe('operator');
    const env = Object.fromEntries((c.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value]));
    const o = parseOperatorOptions(c.args!.slice(1), { ...env, POD_NAMESPACE: 'ops' });
    expect(o).toMatchObject({ namespaces: ['a', 'b'], leaderElect: false, leaseNamespace: 'ops', leaseName: 'rel-rocketmq-ts', settings: { pollMs: 2_000, drainMs: 35_000 }, build: { defaultImage: 'rocketmq-ts:0.1.0' } });
  });

  it('the sample cluster validates against the API schemas', () => {
    const docs = render('--set', 'sampleCluster.enabled=true').filter((d) => d.apiVersion === 'rocketmq.rmq-ts.io/v1alpha1');
    expect(docs.map((d) => d.kind).sort()).toEqual(['BrokerGroup', 'NameServer', 'Topic']);
    const of = (kind: string) => docs.find((d) => d.kind === kind);
    const results = [validateNameServer(of('NameServer')), validateBrokerGroup(of('BrokerGroup')), validateTopic(of('Topic'))];
    expect(results.map((r) => (r.ok ? 'ok' : r.errors.join('; ')))).toEqual(['ok', 'ok', 'ok']);
  });

  it('values.schema.json refuses unknown values', () => {
    expect(() => helm(['template', 'rel', CHART, '--set', 'operator.bogus=1'])).toThrow(/Additional property bogus is not allowed/);
  });
});
