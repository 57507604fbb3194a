// NameServer: a set of RocketMQ name servers (a StatefulSet behind a headless Service, so each
// has a stable DNS name that brokers and clients use instead of pod IPs).
import { z } from 'zod';
import { loadNamesrvConfig } from '../../../../broker/src/config/namesrv-config.js';
import {
  ConditionSchema,
  ConfigValueSchema,
  ImagePullPolicySchema,
  ResourceRequirementsSchema,
  SchedulingSchema,
  configValueText,
  prefixNameMetaSchema,
  resourceSchema,
  validateWith,
  type Validation,
} from './common.js';

/**
 * namesrv.conf keys the operator sets itself: the ports are fixed so probes, Services and the
 * addresses brokers use agree, and the servers must listen on the pod's interfaces.
 */
export const NAMESRV_OWNED_KEYS: Readonly<Record<string, string>> = {
  listenPort: 'the name server port is fixed at 9876 so Services and broker addresses agree',
  healthPort: 'the health port is fixed at 9877 for the probes',
  bindAddress: 'the name server must listen on the pod IP (0.0.0.0)',
  healthBindAddress: 'the probes reach the health server on the pod IP (0.0.0.0)',
};

/** Desired state of a NameServer. */
export const NameServerSpecSchema = z.strictObject({
  /** Number of name servers. Each is independent (brokers register with all of them); 2 or more for availability. */
  replicas: z.number().int().min(1, 'must be >= 1').max(16, 'must be <= 16').default(2),
  /** Container image (the rocketmq-ts image, which runs `rmq namesrv`). Default: the operator's own version of it. */
  image: z.string().min(1).optional(),
  /** Image pull policy. */
  imagePullPolicy: ImagePullPolicySchema.optional(),
  /** CPU and memory for each name server. */
  resources: ResourceRequirementsSchema.optional(),
  /** Affinity, tolerations and node selection. */
  scheduling: SchedulingSchema.optional(),
  /**
   * Extra namesrv.conf keys, e.g. `scanNotActiveBrokerInterval: 5000`. Checked against the keys
   * the name server knows; the ports and bind addresses are the operator's.
   */
  config: z.record(z.string(), ConfigValueSchema).optional(),
});

/** Observed state of a NameServer. */
export const NameServerStatusSchema = z.strictObject({
  /** The metadata.generation this status describes. */
  observedGeneration: z.number().int().min(0).optional(),
  /** Name servers whose pods are ready. */
  readyReplicas: z.number().int().min(0).optional(),
  /** The name server addresses brokers and clients use: stable per-pod DNS names with port (`<pod>.<service>.<namespace>.svc.<domain>:9876`). */
  addresses: z.array(z.string()).optional(),
  /** The same addresses joined with `;`, the form RocketMQ clients take as `namesrvAddr`. */
  namesrvAddr: z.string().optional(),
  /** `Ready`, `Progressing` and `Degraded` conditions. */
  conditions: z.array(ConditionSchema).optional(),
});

function checkConfig(config: Record<string, string | number | boolean> | undefined, ctx: z.RefinementCtx): void {
  if (!config) return;
  const entries = new Map<string, string>();
  for (const [key, value] of Object.entries(config)) {
    const owned = NAMESRV_OWNED_KEYS[key];
    if (owned !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['config', key], message: `is set by the operator (${owned}); remove it` });
      continue;
    }
    entries.set(key, configValueText(value));
  }
  // The name server's own loader decides which keys exist and which values are valid.
  try {
    const { unknownKeys, ignoredKeys } = loadNamesrvConfig(entries, 'spec.config');
    for (const key of unknownKeys) ctx.addIssue({ code: 'custom', path: ['config', key], message: 'is not a name server config key' });
    for (const key of ignoredKeys) ctx.addIssue({ code: 'custom', path: ['config', key], message: 'is a Java name server key that has no effect in rocketmq-ts; remove it' });
  } catch (err) {
    // "spec.config: key: message" lines from the loader become issues on spec.config.key.
    for (const line of (err as Error).message.split('\n')) {
      const m = /^spec\.config: ([^:]+): (.*)$/.exec(line);
      ctx.addIssue({ code: 'custom', path: m ? ['config', m[1]!] : ['config'], message: m ? m[2]! : line });
    }
  }
}

/** NameServer spec with the cross-field checks. */
export const NameServerSpecCheckedSchema = NameServerSpecSchema.superRefine((spec, ctx) => checkConfig(spec.config, ctx));

/**
 * A set of RocketMQ name servers. Each runs in its own pod with a stable DNS name
 * (`<name>-<i>.<name>-headless.<namespace>.svc`), which is what brokers and clients are given,
 * so pods can move without anything being reconfigured.
 */
export const NameServerSchema = resourceSchema('NameServer', {
  // Pod DNS names are <name>-<i>.<name>-headless: the Service name must be a DNS-1035 label of at most 63.
  metadata: prefixNameMetaSchema(50),
  spec: NameServerSpecCheckedSchema,
  status: NameServerStatusSchema,
});

export type NameServerSpec = z.output<typeof NameServerSpecSchema>;
export type NameServerStatus = z.output<typeof NameServerStatusSchema>;
export type NameServer = z.output<typeof NameServerSchema>;
export type NameServerInput = z.input<typeof NameServerSchema>;

/** Validates a NameServer (from the API server or a file) and applies defaults. */
export function validateNameServer(input: unknown): Validation<NameServer> {
  return validateWith(NameServerSchema, input);
}
