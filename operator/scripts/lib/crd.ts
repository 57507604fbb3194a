// CustomResourceDefinitions of the v1alpha1 kinds, from the zod schemas.
import { GROUP, VERSION, type KindInfo } from '../../src/api/v1alpha1/index.js';
import { structuralSchemaOf, type SchemaDocs, type StructuralSchema } from './structural.js';

export interface Crd {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string; labels: Record<string, string> };
  spec: {
    group: string;
    names: { kind: string; listKind: string; plural: string; singular: string; shortNames: string[]; categories: string[] };
    scope: 'Namespaced';
    versions: Array<{
      name: string;
      served: true;
      storage: true;
      schema: { openAPIV3Schema: StructuralSchema };
      subresources: { status: Record<string, never> };
      additionalPrinterColumns: KindInfo['printerColumns'];
    }>;
  };
}

/** The CRD of one kind; `names` maps schema instances to their export names for `docs`. */
export function buildCrd(info: KindInfo, docs: SchemaDocs, names: ReadonlyMap<unknown, string>): Crd {
  const spec = structuralSchemaOf(info.spec, docs, names, info.specExport);
  const status = structuralSchemaOf(info.status, docs, names);
  const openAPIV3Schema: StructuralSchema = {
    type: 'object',
    ...(docs[`${info.kind}Schema`]?.doc !== undefined ? { description: docs[`${info.kind}Schema`]!.doc } : {}),
    properties: {
      apiVersion: { type: 'string', description: `${GROUP}/${VERSION}` },
      kind: { type: 'string', description: info.kind },
      metadata: { type: 'object' },
      spec,
      status,
    },
    required: ['spec'],
  };
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${info.plural}.${GROUP}`,
      labels: { 'app.kubernetes.io/name': 'rocketmq-ts', 'app.kubernetes.io/part-of': 'rocketmq-ts' },
    },
    spec: {
      group: GROUP,
      names: { kind: info.kind, listKind: `${info.kind}List`, plural: info.plural, singular: info.singular, shortNames: info.shortNames, categories: ['rocketmq'] },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          schema: { openAPIV3Schema },
          subresources: { status: {} },
          additionalPrinterColumns: info.printerColumns,
        },
      ],
    },
  };
}
