// Types shared by the v1alpha1 kinds: group/version, quantities, resources, scheduling,
// conditions, and the issue formatter that names the offending field.
//
// These zod schemas are the single source of the API: `npm run generate` turns them into the
// CRDs (crds/, charts/rocketmq-ts/crds/) and docs/api.md, taking each field's description from
// the doc comment written above it here. Every nested object schema is an exported const so the
// generator can find its doc comments.
import { z } from 'zod';

/** The API group of every kind the operator serves (also the prefix of its labels). */
export const GROUP = 'rocketmq.rmq-ts.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

/** Kubernetes resource quantity text, e.g. `500m`, `2Gi`, `1.5` (apimachinery's regular expression). */
export const QUANTITY_PATTERN = /^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$/;

/** A resource quantity: an integer or a quantity string such as `512Mi` or `500m`. */
export const QuantitySchema = z
  .union([z.number().int().min(0, 'must be >= 0'), z.string().regex(QUANTITY_PATTERN, 'must be a Kubernetes quantity such as 512Mi, 2Gi or 500m')])
  .meta({ 'x-kubernetes-int-or-string': true });

/** DNS-1035 label: what Service names require (lower-case letter first). */
export const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** The subset of ObjectMeta the operator reads; the API server owns the rest. */
export const ObjectMetaSchema = z.object({
  name: z.string().min(1, 'is required'),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  generation: z.number().int().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

/**
 * ObjectMeta of a kind whose name prefixes the names of its StatefulSets, Services and pods: a
 * DNS-1035 label (Service names require one) short enough that every derived name still fits.
 */
export function prefixNameMetaSchema(maxLength: number) {
  return ObjectMetaSchema.extend({
    name: z
      .string()
      .regex(DNS1035_LABEL, 'must be a lower-case DNS label starting with a letter')
      .max(maxLength, `must be at most ${maxLength} characters (it prefixes StatefulSet, Service and pod names)`),
  });
}

/** A whole custom resource of `kind`: apiVersion, kind, metadata, spec and the optional status. */
export function resourceSchema<K extends string, M extends z.ZodType, S extends z.ZodType, T extends z.ZodType>(kind: K, parts: { metadata: M; spec: S; status: T }) {
  return z.object({
    apiVersion: z.literal(API_VERSION),
    kind: z.literal(kind),
    metadata: parts.metadata,
    spec: parts.spec,
    status: parts.status.optional(),
  });
}

/** Compute resources of the container (requests and limits), as in a Pod spec. */
export const ResourceRequirementsSchema = z.strictObject({
  /** Guaranteed resources, e.g. `{cpu: 500m, memory: 1Gi}`. */
  requests: z.record(z.string(), QuantitySchema).optional(),
  /** Upper bounds, e.g. `{memory: 2Gi}`. */
  limits: z.record(z.string(), QuantitySchema).optional(),
});

/** A toleration, as in a Pod spec. */
export const TolerationSchema = z.strictObject({
  /** Taint key the toleration applies to; empty with operator Exists matches all taints. */
  key: z.string().optional(),
  /** `Exists` or `Equal` (default). */
  operator: z.enum(['Exists', 'Equal']).optional(),
  /** Taint value to match when the operator is `Equal`. */
  value: z.string().optional(),
  /** Taint effect to match: `NoSchedule`, `PreferNoSchedule` or `NoExecute`; empty matches all. */
  effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
  /** For `NoExecute`: how long the pod stays bound after the taint appears. */
  tolerationSeconds: z.number().int().optional(),
});

/** Where the pods may run. */
export const SchedulingSchema = z.strictObject({
  /**
   * Pod affinity rules, exactly as in a Pod spec (`nodeAffinity`, `podAffinity`, `podAntiAffinity`).
   * Merged with the operator's own anti-affinity (see `podAntiAffinity`).
   */
  affinity: z.record(z.string(), z.unknown()).meta({ 'x-kubernetes-preserve-unknown-fields': true }).optional(),
  /** Tolerations, as in a Pod spec. */
  tolerations: z.array(TolerationSchema).optional(),
  /** Node labels the pods require, as in a Pod spec. */
  nodeSelector: z.record(z.string(), z.string()).optional(),
  /**
   * Anti-affinity the operator adds between pods of this resource, by node (`kubernetes.io/hostname`):
   * `Required` (never two on one node), `Preferred` (spread when possible) or `None`.
   * Default: `Required` for a BrokerGroup (a master and its slave on one node defeats replication;
   * on a single-node cluster such as kind set `Preferred`), `Preferred` for a NameServer.
   */
  podAntiAffinity: z.enum(['Required', 'Preferred', 'None']).optional(),
});

/** How the container image is pulled, as in a Pod spec. */
export const ImagePullPolicySchema = z.enum(['Always', 'IfNotPresent', 'Never']);

/** A condition in the standard Kubernetes shape (metav1.Condition). */
export const ConditionSchema = z.strictObject({
  /** Condition type, e.g. `Ready`. */
  type: z.string().min(1).max(316),
  /** `True`, `False` or `Unknown`. */
  status: z.enum(['True', 'False', 'Unknown']),
  /** One CamelCase word saying why, e.g. `MembersNotReady`. */
  reason: z.string().min(1).max(1024).regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/),
  /** Human-readable details. */
  message: z.string().max(32768).optional(),
  /** When the status last changed (RFC 3339). */
  lastTransitionTime: z.string().meta({ format: 'date-time' }),
  /** The metadata.generation the condition was computed from. */
  observedGeneration: z.number().int().min(0).optional(),
});

export type Condition = z.infer<typeof ConditionSchema>;
export type ImagePullPolicy = z.infer<typeof ImagePullPolicySchema>;
export type ResourceRequirements = z.infer<typeof ResourceRequirementsSchema>;
export type Scheduling = z.infer<typeof SchedulingSchema>;
export type Toleration = z.infer<typeof TolerationSchema>;

/** Scalar config values: users write `autoCreateTopicEnable: false` or `fileReservedTime: 48` unquoted. */
export const ConfigValueSchema = z
  .union([z.string(), z.number(), z.boolean()], { error: 'must be a string, number or boolean' })
  .meta({ 'x-kubernetes-preserve-unknown-fields': true });

/** `true` → "true", 48 → "48": config values as they go into a properties file. */
export function configValueText(v: string | number | boolean): string {
  return typeof v === 'string' ? v.trim() : String(v);
}

/** An issue path as users write it: `spec.brokerGroups[0]`, `spec.config.brokerRole`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out === '' ? '(root)' : out;
}

/** One line per issue, `<field>: <message>`, with "is required" for missing fields. */
export function formatIssues(error: z.ZodError): string[] {
  return error.issues.map((i) => {
    const missing = i.code === 'invalid_type' && /received undefined/.test(i.message);
    return `${formatPath(i.path)}: ${missing ? 'is required' : i.message}`;
  });
}

/** Result of validating a custom resource: the parsed value with defaults, or field-named errors. */
export type Validation<T> = { ok: true; value: T } | { ok: false; errors: string[] };

export function validateWith<S extends z.ZodType>(schema: S, input: unknown): Validation<z.output<S>> {
  const r = schema.safeParse(input);
  return r.success ? { ok: true, value: r.data } : { ok: false, errors: formatIssues(r.error) };
}
