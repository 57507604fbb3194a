// Every custom resource in examples/*.yaml is valid, and the builders accept it.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadAll } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONTEXT, buildBrokerConfigMap, buildBrokerGroupStatefulSets, buildNameServerStatefulSet, nameServerAddresses } from '../../builders/index.js';
import { validateBrokerGroup, validateNameServer, validateTopic, type BrokerGroup, type NameServer, type Topic, type Validation } from './index.js';

const DIR = join(import.meta.dirname, '..', '..', '..', '..', 'examples');
const FILES = readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort();

type Parsed = { kind: 'NameServer'; value: NameServer } | { kind: 'BrokerGroup'; value: BrokerGroup } | { kind: 'Topic'; value: Topic };

function parseFile(file: string): Parsed[] {
  return loadAll(readFileSync(join(DIR, file), 'utf8')).map((doc, i) => {
    const kind = (doc as { kind?: string }).kind;
    const r: Validation<unknown> =
      kind === 'NameServer' ? validateNameServer(doc) : kind === 'BrokerGroup' ? validateBrokerGroup(doc) : kind === 'Topic' ? validateTopic(doc) : { ok: false, errors: [`unknown kind ${kind}`] };
    if (!r.ok) throw new Error(`${file} document ${i + 1} (${kind}):\n${r.errors.join('\n')}`);
    return { kind, value: r.value } as Parsed;
  });
}

describe('examples', () => {
  it('has the examples the README lists', () => {
    expect(FILES).toEqual(['master-slave-async.yaml', 'master-slave-sync.yaml', 'single-master.yaml', 'topics.yaml', 'two-masters.yaml']);
  });

  it.each(FILES)('%s is valid against the API schemas', (file) => {
    expect(parseFile(file).length).toBeGreaterThan(0);
  });

  it.each(FILES.filter((f) => f !== 'topics.yaml'))('%s: every BrokerGroup names a NameServer of the same file and builds', (file) => {
    const docs = parseFile(file);
    const servers = new Map(docs.filter((d) => d.kind === 'NameServer').map((d) => [d.value.metadata.name, d.value]));
    for (const d of docs) {
      if (d.kind !== 'BrokerGroup') continue;
      const ns = servers.get(d.value.spec.nameServerRef.name);
      expect(ns, `${d.value.metadata.name} → ${d.value.spec.nameServerRef.name}`).toBeDefined();
      const place = <T extends { metadata: object }>(o: T): T => ({ ...o, metadata: { ...o.metadata, namespace: 'mq', uid: 'uid' } });
      const addrs = nameServerAddresses(place(ns!), DEFAULT_CONTEXT);
      expect(buildBrokerGroupStatefulSets(place(d.value), addrs, DEFAULT_CONTEXT)).toHaveLength(d.value.spec.replicas);
      expect(Object.keys(buildBrokerConfigMap(place(d.value), addrs).data!)).toHaveLength(d.value.spec.replicas);
      expect(buildNameServerStatefulSet(place(ns!), DEFAULT_CONTEXT).spec!.replicas).toBe(ns!.spec.replicas);
    }
  });

  it('topics.yaml targets the groups of two-masters.yaml', () => {
    const groups = new Set(parseFile('two-masters.yaml').flatMap((d) => (d.kind === 'BrokerGroup' ? [d.value.metadata.name] : [])));
    const clusters = new Set(parseFile('two-masters.yaml').flatMap((d) => (d.kind === 'BrokerGroup' ? [d.value.spec.clusterName] : [])));
    for (const d of parseFile('topics.yaml')) {
      if (d.kind !== 'Topic') continue;
      for (const g of d.value.spec.brokerGroups ?? []) expect(groups).toContain(g);
      if (d.value.spec.clusterName !== undefined) expect(clusters).toContain(d.value.spec.clusterName);
    }
  });
});
