// zod schema → Kubernetes structural OpenAPI v3 schema (the subset apiextensions.k8s.io/v1
// accepts): z.toJSONSchema does the translation, this file removes or rewrites what Kubernetes
// refuses and adds the descriptions from the schema source's doc comments.
//
// Kubernetes' rules (https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#specifying-a-structural-schema):
// every node has a type, except int-or-string and preserve-unknown-fields nodes; no $ref; anyOf /
// allOf / oneOf / not only as value validations without types (we use none, except the
// int-or-string form); additionalProperties never next to properties, never `false`; no
// uniqueItems; no JSON Schema keywords OpenAPI v3.0 lacks (const, propertyNames, …).
import { z } from 'zod';

/** The part of JSONSchemaProps we emit (the Kubernetes field names). */
export interface StructuralSchema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  format?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  properties?: Record<string, StructuralSchema>;
  required?: string[];
  additionalProperties?: StructuralSchema;
  items?: StructuralSchema;
  anyOf?: StructuralSchema[];
  'x-kubernetes-int-or-string'?: true;
  'x-kubernetes-preserve-unknown-fields'?: true;
}

/** Doc comments of one exported schema: of the const itself and of each property of its object. */
export interface SchemaDoc {
  doc?: string;
  props: Record<string, string>;
}
export type SchemaDocs = Record<string, SchemaDoc>;

type Json = Record<string, unknown>;

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** Keywords of z.toJSONSchema output that we translate or pass through; anything else is an error. */
const KNOWN = new Set([
  'type', 'format', 'description', 'default', 'enum', 'const', 'minimum', 'maximum', 'minLength', 'maxLength', 'pattern',
  'minItems', 'maxItems', 'properties', 'required', 'additionalProperties', 'items', 'anyOf', 'propertyNames', '$schema',
  'x-kubernetes-int-or-string', 'x-kubernetes-preserve-unknown-fields',
]);

export class StructuralSchemaError extends Error {
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = 'StructuralSchemaError';
  }
}

/** Converts one z.toJSONSchema node (and its children) to the structural subset. */
export function toStructural(node: Json, path = '(root)'): StructuralSchema {
  for (const key of Object.keys(node)) if (!KNOWN.has(key)) throw new StructuralSchemaError(path, `keyword "${key}" has no Kubernetes equivalent`);
  const out: StructuralSchema = {};
  if (typeof node.description === 'string') out.description = node.description;
  if (node['x-kubernetes-preserve-unknown-fields'] === true) {
    // Any value (affinity objects, scalar config values): the operator validates it with zod.
    if (node.type === 'object') out.type = 'object';
    out['x-kubernetes-preserve-unknown-fields'] = true;
    return out;
  }
  if (node['x-kubernetes-int-or-string'] === true) return intOrString(node, out, path);
  if (node.anyOf !== undefined) throw new StructuralSchemaError(path, 'unions are not structural; mark int-or-string or preserve-unknown-fields');

  const type = node.type;
  if (typeof type !== 'string') throw new StructuralSchemaError(path, 'has no type');
  out.type = type as StructuralSchema['type'];
  if (node.default !== undefined) out.default = node.default;
  if (node.const !== undefined) out.enum = [node.const];
  if (Array.isArray(node.enum)) out.enum = node.enum as unknown[];
  switch (type) {
    case 'integer':
      return integer(node, out);
    case 'number':
      copy(node, out, ['minimum', 'maximum']);
      return out;
    case 'string':
      // zod spells date-time as a long pattern too; the format says it for Kubernetes.
      copy(node, out, node.format === 'date-time' ? ['format', 'minLength', 'maxLength'] : ['format', 'pattern', 'minLength', 'maxLength']);
      return out;
    case 'boolean':
      return out;
    case 'array':
      copy(node, out, ['minItems', 'maxItems']);
      if (typeof node.items !== 'object' || node.items === null) throw new StructuralSchemaError(path, 'array without items');
      out.items = toStructural(node.items as Json, `${path}[]`);
      return out;
    case 'object':
      return object(node, out, path);
    default:
      throw new StructuralSchemaError(path, `type "${type}" is not supported`);
  }
}

function copy(node: Json, out: StructuralSchema, keys: ReadonlyArray<keyof StructuralSchema>): void {
  for (const k of keys) if (node[k] !== undefined) (out as Record<string, unknown>)[k] = node[k];
}

/** The one anyOf Kubernetes allows: [{type: integer}, {type: string}] with the flag. */
function intOrString(node: Json, out: StructuralSchema, path: string): StructuralSchema {
  const branches = (node.anyOf ?? []) as Json[];
  const str = branches.find((b) => b.type === 'string');
  if (branches.length !== 2 || !str || !branches.some((b) => b.type === 'integer')) {
    throw new StructuralSchemaError(path, 'int-or-string must be a union of an integer and a string');
  }
  out['x-kubernetes-int-or-string'] = true;
  out.anyOf = [{ type: 'integer' }, { type: 'string' }];
  if (typeof str.pattern === 'string') out.pattern = str.pattern;
  if (node.default !== undefined) out.default = node.default;
  return out;
}

/** zod bounds every integer by ±MAX_SAFE_INTEGER: drop those, and say int32 when it fits. */
function integer(node: Json, out: StructuralSchema): StructuralSchema {
  const min = typeof node.minimum === 'number' && node.minimum > Number.MIN_SAFE_INTEGER ? node.minimum : undefined;
  const max = typeof node.maximum === 'number' && node.maximum < Number.MAX_SAFE_INTEGER ? node.maximum : undefined;
  out.format = min !== undefined && max !== undefined && min >= INT32_MIN && max <= INT32_MAX ? 'int32' : 'int64';
  if (min !== undefined) out.minimum = min;
  if (max !== undefined) out.maximum = max;
  return out;
}

/** A map (record: additionalProperties only) or a struct (properties; `additionalProperties: false` dropped). */
function object(node: Json, out: StructuralSchema, path: string): StructuralSchema {
  const props = (node.properties ?? {}) as Record<string, Json>;
  const additional = node.additionalProperties;
  if (typeof additional === 'object' && additional !== null && Object.keys(props).length === 0) {
    out.additionalProperties = toStructural(additional as Json, `${path}.*`);
    return out;
  }
  out.properties = {};
  for (const [k, v] of Object.entries(props)) out.properties[k] = toStructural(v, path === '(root)' ? k : `${path}.${k}`);
  if (Array.isArray(node.required) && node.required.length > 0) out.required = node.required as string[];
  return out;
}

/** Walks zod and the converted schema side by side, writing each property's doc comment. */
export function describe(json: StructuralSchema, schema: z.ZodType, docs: SchemaDocs, names: ReadonlyMap<unknown, string>, nameHint?: string): void {
  let s: z.ZodType = schema;
  let name = nameHint ?? names.get(s);
  for (;;) {
    const def = (s as unknown as { _zod: { def: { type: string; innerType?: z.ZodType; in?: z.ZodType } } })._zod.def;
    if ((def.type === 'optional' || def.type === 'default' || def.type === 'prefault' || def.type === 'nullable' || def.type === 'readonly') && def.innerType) s = def.innerType;
    else if (def.type === 'pipe' && def.in) s = def.in;
    else break;
    name ??= names.get(s);
  }
  const doc = name !== undefined ? docs[name] : undefined;
  if (json.description === undefined && doc?.doc !== undefined) json.description = doc.doc;
  const def = (s as unknown as { _zod: { def: { type: string; shape?: Record<string, z.ZodType>; element?: z.ZodType; valueType?: z.ZodType } } })._zod.def;
  if (def.type === 'object' && def.shape && json.properties) {
    for (const [k, child] of Object.entries(def.shape)) {
      const childJson = json.properties[k];
      if (!childJson) continue;
      const propDoc = doc?.props[k];
      if (propDoc !== undefined) childJson.description = propDoc;
      describe(childJson, child, docs, names);
    }
  } else if (def.type === 'array' && def.element && json.items) {
    describe(json.items, def.element, docs, names);
  } else if (def.type === 'record' && def.valueType && json.additionalProperties) {
    describe(json.additionalProperties, def.valueType, docs, names);
  }
}

/** The structural schema of a zod schema, with descriptions from `docs`. */
export function structuralSchemaOf(schema: z.ZodType, docs: SchemaDocs, names: ReadonlyMap<unknown, string>, nameHint?: string): StructuralSchema {
  const json = z.toJSONSchema(schema, { io: 'input', target: 'openapi-3.0', unrepresentable: 'throw', cycles: 'throw', reused: 'inline' }) as Json;
  const out = toStructural(json);
  describe(out, schema, docs, names, nameHint);
  return out;
}

const ALLOWED = new Set(['type', 'format', 'description', 'default', 'enum', 'minimum', 'maximum', 'minLength', 'maxLength', 'pattern', 'minItems', 'maxItems', 'properties', 'required', 'additionalProperties', 'items', 'anyOf', 'x-kubernetes-int-or-string', 'x-kubernetes-preserve-unknown-fields']);

/** Problems of one node, not looking at its children. */
function nodeProblems(n: Json, path: string): string[] {
  const problems: string[] = [];
  for (const key of Object.keys(n)) if (!ALLOWED.has(key)) problems.push(`${path}: forbidden keyword "${key}"`);
  const intOrStr = n['x-kubernetes-int-or-string'] === true;
  const preserve = n['x-kubernetes-preserve-unknown-fields'] === true;
  if (n.type === undefined && !intOrStr && !preserve) problems.push(`${path}: no type`);
  if (n.anyOf !== undefined && !(intOrStr && JSON.stringify(n.anyOf) === JSON.stringify([{ type: 'integer' }, { type: 'string' }]))) problems.push(`${path}: anyOf other than the int-or-string form`);
  if (intOrStr && n.type !== undefined) problems.push(`${path}: int-or-string with a type`);
  if (n.additionalProperties !== undefined && n.properties !== undefined) problems.push(`${path}: additionalProperties next to properties`);
  if (n.additionalProperties !== undefined && (typeof n.additionalProperties !== 'object' || n.additionalProperties === null)) problems.push(`${path}: additionalProperties must be a schema`);
  if (n.type === 'integer' && n.format !== 'int32' && n.format !== 'int64') problems.push(`${path}: integer without int32/int64 format`);
  return [...problems, ...containerProblems(n, path, preserve)];
}

/** Problems of objects and arrays. */
function containerProblems(n: Json, path: string, preserve: boolean): string[] {
  const problems: string[] = [];
  if (n.type === 'array' && n.items === undefined) problems.push(`${path}: array without items`);
  if (n.properties !== undefined && n.type !== 'object') problems.push(`${path}: properties on a non-object`);
  for (const r of Array.isArray(n.required) ? (n.required as string[]) : []) if (!(n.properties && r in (n.properties as Json))) problems.push(`${path}: required "${r}" is not a property`);
  // metadata is the one object Kubernetes lets us leave open ({type: object}).
  if (n.type === 'object' && n.properties === undefined && n.additionalProperties === undefined && !preserve && path !== '(root).metadata') problems.push(`${path}: object with neither properties nor additionalProperties`);
  return problems;
}

/**
 * Problems that make a schema non-structural or that Kubernetes would refuse, found by walking it
 * (used by the tests on the generated CRDs; empty when fine).
 */
export function structuralProblems(node: unknown, path = '(root)'): string[] {
  if (typeof node !== 'object' || node === null || Array.isArray(node)) return [`${path}: not a schema object`];
  const n = node as Json;
  const problems = nodeProblems(n, path);
  if (typeof n.additionalProperties === 'object' && n.additionalProperties !== null) problems.push(...structuralProblems(n.additionalProperties, `${path}.*`));
  if (n.type === 'array' && n.items !== undefined) problems.push(...structuralProblems(n.items, `${path}[]`));
  for (const [k, v] of Object.entries((n.properties ?? {}) as Json)) problems.push(...structuralProblems(v, `${path}.${k}`));
  return problems;
}

function typeProblem(s: StructuralSchema, v: unknown, path: string): string | undefined {
  if (s['x-kubernetes-int-or-string']) return Number.isInteger(v) || typeof v === 'string' ? undefined : `${path}: must be an integer or a string`;
  const ok =
    s.type === 'object' ? typeof v === 'object' && v !== null && !Array.isArray(v)
    : s.type === 'array' ? Array.isArray(v)
    : s.type === 'integer' ? Number.isInteger(v)
    : s.type === 'number' ? typeof v === 'number'
    : s.type === 'string' ? typeof v === 'string'
    : s.type === 'boolean' ? typeof v === 'boolean'
    : true;
  return ok ? undefined : `${path}: must be of type ${s.type}`;
}

function valueProblems(s: StructuralSchema, v: unknown, path: string): string[] {
  const out: string[] = [];
  if (s.enum && !s.enum.includes(v)) out.push(`${path}: must be one of ${s.enum.join(', ')}`);
  if (typeof v === 'number' && s.minimum !== undefined && v < s.minimum) out.push(`${path}: must be >= ${s.minimum}`);
  if (typeof v === 'number' && s.maximum !== undefined && v > s.maximum) out.push(`${path}: must be <= ${s.maximum}`);
  if (typeof v === 'string' && s.pattern !== undefined && !new RegExp(s.pattern).test(v)) out.push(`${path}: must match ${s.pattern}`);
  if (typeof v === 'string' && s.minLength !== undefined && v.length < s.minLength) out.push(`${path}: too short`);
  if (typeof v === 'string' && s.maxLength !== undefined && v.length > s.maxLength) out.push(`${path}: too long`);
  if (Array.isArray(v) && s.minItems !== undefined && v.length < s.minItems) out.push(`${path}: too few items`);
  if (Array.isArray(v) && s.maxItems !== undefined && v.length > s.maxItems) out.push(`${path}: too many items`);
  return out;
}

/**
 * What the API server would say about `value` under `schema` (types, enums, bounds, patterns,
 * required fields; unknown fields, which it would prune, reported as with
 * `kubectl --validate=strict`). Enough to check that examples and zod agree with the CRDs.
 */
export function crdValidate(s: StructuralSchema, v: unknown, path: string): string[] {
  if (s['x-kubernetes-preserve-unknown-fields']) return s.type === 'object' ? [typeProblem(s, v, path)].filter((p) => p !== undefined) : [];
  const bad = typeProblem(s, v, path);
  if (bad) return [bad];
  const out = valueProblems(s, v, path);
  if (Array.isArray(v) && s.items) v.forEach((item, i) => out.push(...crdValidate(s.items!, item, `${path}[${i}]`)));
  // metadata ({type: object}) is the API server's own business.
  if (s.type === 'object' && !s.properties && !s.additionalProperties) return out;
  if (s.type === 'object' && typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    for (const r of s.required ?? []) if (o[r] === undefined) out.push(`${path}.${r}: Required value`);
    for (const [k, child] of Object.entries(o)) {
      const cs = s.properties ? s.properties[k] : s.additionalProperties;
      if (!cs) out.push(`${path}.${k}: unknown field`);
      else out.push(...crdValidate(cs, child, `${path}.${k}`));
    }
  }
  return out;
}
