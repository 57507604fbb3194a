import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { readdirSync } from 'node:fs';
import { load, loadAll } from 'js-yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { KINDS } from '../src/api/v1alpha1/index.js';
import { ROOT, generateAll, staleFiles } from './generate.js';
import { crdValidate, structuralProblems, toStructural, type StructuralSchema } from './lib/structural.js';

const generated = generateAll();
const crdFiles = [...generated.keys()].filter((p) => p.startsWith('crds/'));

interface CrdDoc {
  metadata: { name: string };
  spec: {
    names: { kind: string };
    versions: Array<{ schema: { openAPIV3Schema: StructuralSchema }; subresources: { status: object }; additionalPrinterColumns: Array<{ name: string; jsonPath: string }> }>;
  };
}
const parse = (path: string) => load(generated.get(path)!) as CrdDoc;

/** Every node of a schema with its path. */
function* nodes(s: StructuralSchema, path: string): Generator<[string, StructuralSchema]> {
  yield [path, s];
  for (const [k, v] of Object.entries(s.properties ?? {})) yield* nodes(v, `${path}.${k}`);
  if (s.items) yield* nodes(s.items, `${path}[]`);
  if (s.additionalProperties) yield* nodes(s.additionalProperties, `${path}.*`);
}

describe('generated CRDs', () => {
  it('one per kind, in crds/ and in the chart, identical', () => {
    expect(crdFiles.sort()).toEqual(['crds/brokergroups.rocketmq.rmq-ts.io.yaml', 'crds/nameservers.rocketmq.rmq-ts.io.yaml', 'crds/topics.rocketmq.rmq-ts.io.yaml']);
    for (const f of crdFiles) expect(generated.get(`charts/rocketmq-ts/${f}`)).toBe(generated.get(f));
  });

  it.each(crdFiles)('%s is a structural schema', (file) => {
    const schema = parse(file).spec.versions[0]!.schema.openAPIV3Schema;
    expect(structuralProblems(schema)).toEqual([]);
  });

  it.each(crdFiles)('%s: descriptions on every spec/status field, preserve-unknown-fields only where meant', (file) => {
    const schema = parse(file).spec.versions[0]!.schema.openAPIV3Schema;
    expect(schema.description).toBeTruthy();
    const undocumented: string[] = [];
    const preserved: string[] = [];
    for (const part of ['spec', 'status']) {
      for (const [path, node] of nodes(schema.properties![part]!, part)) {
        // Map values and array items inherit their parent's description.
        if (!path.endsWith('.*') && !path.endsWith('[]') && node.description === undefined) undocumented.push(path);
        if (node['x-kubernetes-preserve-unknown-fields']) preserved.push(path);
      }
    }
    expect(undocumented).toEqual([]);
    expect(preserved.every((p) => p.endsWith('.scheduling.affinity') || p.endsWith('.config.*'))).toBe(true);
  });

  it.each(crdFiles)('%s: status subresource and printer columns that point at real fields', (file) => {
    const crd = parse(file);
    const v = crd.spec.versions[0]!;
    expect(v.subresources).toEqual({ status: {} });
    const paths = new Set([...nodes(v.schema.openAPIV3Schema, '')].map(([p]) => p));
    for (const c of v.additionalPrinterColumns) {
      const field = c.jsonPath.replace(/\[\?.*\]/, '[]');
      const ok = field === '.metadata.creationTimestamp' || paths.has(field);
      expect(ok, `${crd.spec.names.kind} column ${c.name}: ${c.jsonPath}`).toBe(true);
    }
  });

  it('carries enums, defaults, required fields and integer formats from the zod schemas', () => {
    const bg = parse('crds/brokergroups.rocketmq.rmq-ts.io.yaml').spec.versions[0]!.schema.openAPIV3Schema;
    const spec = bg.properties!.spec!;
    expect(spec.required).toEqual(['nameServerRef']);
    expect(spec.properties!.replication).toMatchObject({ type: 'string', enum: ['SYNC', 'ASYNC'], default: 'ASYNC' });
    expect(spec.properties!.replicas).toMatchObject({ type: 'integer', format: 'int32', minimum: 1, maximum: 16, default: 1 });
    expect(spec.properties!.storage).toMatchObject({ type: 'object', default: {} });
    expect(spec.properties!.storage!.properties!.size).toMatchObject({ 'x-kubernetes-int-or-string': true, default: '20Gi', anyOf: [{ type: 'integer' }, { type: 'string' }] });
    expect(bg.properties!.status!.properties!.members!.items!.properties!.replicationLagBytes).toMatchObject({ type: 'integer', format: 'int64', minimum: 0 });
    expect(bg.required).toEqual(['spec']);
  });

  it('every kind of the API has a CRD', () => {
    expect(crdFiles.map((f) => parse(f).spec.names.kind).sort()).toEqual(KINDS.map((k) => k.kind).sort());
  });
});

describe('the CRDs and the zod schemas agree', () => {
  const schemaOf = (kind: string) => {
    const file = crdFiles.find((f) => parse(f).spec.names.kind === kind)!;
    return parse(file).spec.versions[0]!.schema.openAPIV3Schema;
  };
  const examples = readdirSync(join(ROOT, 'examples')).filter((f) => f.endsWith('.yaml'));

  it.each(examples)('examples/%s passes the CRD schema (as the API server would check it)', (file) => {
    for (const doc of loadAll(readFileSync(join(ROOT, 'examples', file), 'utf8')) as Array<{ kind: string }>) {
      expect(crdValidate(schemaOf(doc.kind), doc, '')).toEqual([]);
    }
  });

  it('rejects what zod rejects field by field', () => {
    const bg = { apiVersion: 'rocketmq.rmq-ts.io/v1alpha1', kind: 'BrokerGroup', metadata: { name: 'b' } };
    expect(crdValidate(schemaOf('BrokerGroup'), { ...bg, spec: { nameServerRef: { name: 'ns' }, replicas: 0, replication: 'QUORUM', storage: { size: '2 GB' }, config: { maxMessageSize: 1 } } }, '')).toEqual([
      '.spec.replicas: must be >= 1',
      '.spec.replication: must be one of SYNC, ASYNC',
      expect.stringMatching(/^\.spec\.storage\.size: must match/),
    ]);
    expect(crdValidate(schemaOf('BrokerGroup'), { ...bg, spec: {} }, '')).toEqual(['.spec.nameServerRef: Required value']);
  });
});

describe('structural conversion', () => {
  const convert = (s: z.ZodType) => toStructural(z.toJSONSchema(s, { io: 'input', target: 'openapi-3.0' }));

  it('refuses unions Kubernetes rejects', () => {
    expect(() => convert(z.object({ a: z.union([z.string(), z.object({ b: z.string() })]) }))).toThrow(/a: unions are not structural/);
  });

  it('drops what Kubernetes does not accept: additionalProperties false, propertyNames, const', () => {
    expect(convert(z.strictObject({ a: z.literal('x'), m: z.record(z.string(), z.number().int().min(0).max(10)) }))).toEqual({
      type: 'object',
      properties: { a: { type: 'string', enum: ['x'] }, m: { type: 'object', additionalProperties: { type: 'integer', format: 'int32', minimum: 0, maximum: 10 } } },
      required: ['a', 'm'],
    });
  });

  it('the problem walker finds forbidden constructs', () => {
    expect(structuralProblems({ type: 'object', properties: { a: { anyOf: [{ type: 'string' }, { type: 'object' }] }, b: { type: 'integer' }, c: { $ref: '#/x', type: 'string' } } })).toEqual([
      '(root).a: no type',
      '(root).a: anyOf other than the int-or-string form',
      '(root).b: integer without int32/int64 format',
      '(root).c: forbidden keyword "$ref"',
    ]);
  });
});

describe('--check', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'rmq-generate-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));
  for (const [path, text] of generated) {
    mkdirSync(dirname(join(scratch, path)), { recursive: true });
    writeFileSync(join(scratch, path), text);
  }
  cpSync(join(ROOT, 'package.json'), join(scratch, 'package.json'));
  cpSync(join(ROOT, 'operator', 'src', 'api', 'v1alpha1'), join(scratch, 'operator', 'src', 'api', 'v1alpha1'), { recursive: true });

  it('the committed files are up to date', () => {
    expect(staleFiles(ROOT, generated)).toEqual([]);
  });

  it('finds stale, missing and leftover files', () => {
    expect(staleFiles(scratch, generated)).toEqual([]);
    writeFileSync(join(scratch, 'docs/api.md'), readFileSync(join(scratch, 'docs/api.md'), 'utf8') + 'edited by hand\n');
    rmSync(join(scratch, 'charts/rocketmq-ts/crds/topics.rocketmq.rmq-ts.io.yaml'));
    writeFileSync(join(scratch, 'crds/consumergroups.rocketmq.rmq-ts.io.yaml'), 'kind: CustomResourceDefinition\n');
    expect(staleFiles(scratch, generated)).toEqual([
      'charts/rocketmq-ts/crds/topics.rocketmq.rmq-ts.io.yaml (missing)',
      'docs/api.md (differs)',
      'crds/consumergroups.rocketmq.rmq-ts.io.yaml (no longer generated)',
    ]);
  });

  it('the script exits non-zero on stale files and names them', () => {
    let status = 0;
    let stderr = '';
    try {
      execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'operator/scripts/generate.ts'), '--check', '--root', scratch], { cwd: ROOT, stdio: 'pipe' });
    } catch (err) {
      status = (err as { status: number }).status;
      stderr = String((err as { stderr: Buffer }).stderr);
    }
    expect(status).toBe(1);
    expect(stderr).toContain('docs/api.md (differs)');
  });
});
