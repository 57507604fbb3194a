// BrokerGroup: one RocketMQ broker group (one brokerName): a master and its slaves.
import { z } from 'zod';
import { ACCEPTED_WITHOUT_EFFECT, BrokerConfigSchema, loadBrokerConfig } from '../../../../broker/src/config/broker-config.js';
import {
  ConditionSchema,
  ConfigValueSchema,
  ImagePullPolicySchema,
  QuantitySchema,
  ResourceRequirementsSchema,
  SchedulingSchema,
  configValueText,
  prefixNameMetaSchema,
  resourceSchema,
  validateWith,
  type Validation,
} from './common.js';

/**
 * broker.conf keys the operator writes itself, each with the field that controls it instead.
 * A BrokerGroup's `spec.config` may set any other key the broker knows.
 */
export const BROKER_OWNED_KEYS: Readonly<Record<string, string>> = {
  brokerClusterName: 'set spec.clusterName',
  brokerName: 'set spec.brokerName (default: metadata.name)',
  brokerId: 'each member gets its index: 0 for the master, 1.. for slaves',
  brokerRole: 'set spec.replication; member 0 is the master, the others are slaves',
  namesrvAddr: 'set spec.nameServerRef; the operator writes the name servers\' DNS names',
  brokerIP1: 'the broker advertises its pod IP',
  brokerIP2: 'the broker advertises its pod IP',
  listenPort: 'the ports are fixed (10911, fast channel 10909, HA 10912, health 10910) so probes and Services agree',
  haListenPort: 'the ports are fixed (10911, fast channel 10909, HA 10912, health 10910) so probes and Services agree',
  healthPort: 'the ports are fixed (10911, fast channel 10909, HA 10912, health 10910) so probes and Services agree',
  bindAddress: 'the broker must listen on the pod IP (0.0.0.0)',
  healthBindAddress: 'the probes reach the health server on the pod IP (0.0.0.0)',
  storePathRootDir: 'the store lives on the member\'s volume (spec.storage)',
  storePathCommitLog: 'the store lives on the member\'s volume (spec.storage)',
  flushDiskType: 'set spec.flush',
  fileReservedTime: 'set spec.storage.retentionHours',
  haMasterAddress: 'slaves learn their master from the name servers, which follows role changes',
};

/** Old spellings the broker reads under their new name. */
const RENAMED_KEYS: Readonly<Record<string, string>> = {
  mapedFileSizeCommitLog: 'mappedFileSizeCommitLog',
  mapedFileSizeConsumeQueue: 'mappedFileSizeConsumeQueue',
};

/** Every broker.conf key the broker reads (from the broker's own schema). */
export const BROKER_KNOWN_KEYS: readonly string[] = Object.keys(BrokerConfigSchema.shape);

/** Which NameServer the group registers with. */
export const NameServerRefSchema = z.strictObject({
  /** Name of the NameServer resource. */
  name: z.string().min(1, 'is required'),
  /** Its namespace. Default: the BrokerGroup's namespace. */
  namespace: z.string().min(1).optional(),
});

/** Persistent storage of each member (one PersistentVolumeClaim per member). */
export const BrokerStorageSchema = z.strictObject({
  /** Size of each member's volume (commit log, consume queues, metadata). Growing it later needs a storage class that allows expansion. */
  size: QuantitySchema.default('20Gi'),
  /** Storage class of the claims. Default: the cluster's default class. */
  storageClassName: z.string().min(1).optional(),
  /** How long commit-log files are kept, in hours (broker.conf `fileReservedTime`); older files are deleted at the `deleteWhen` hour. */
  retentionHours: z.number().int().min(1, 'must be >= 1').max(24 * 365 * 10, 'must be <= 87600').default(72),
});

/** A RocketMQ name: letters, digits, `-`, `_` and `.`, usable as a label value. */
const ROCKETMQ_NAME = /^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$/;
const rocketmqName = (what: string) =>
  z.string().regex(ROCKETMQ_NAME, `must be 1-63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit (${what})`);

/** Desired state of a broker group. */
export const BrokerGroupSpecSchema = z.strictObject({
  /** RocketMQ cluster the group belongs to (`brokerClusterName`). Topics can target a whole cluster. */
  clusterName: rocketmqName('the RocketMQ cluster name').default('DefaultCluster'),
  /** RocketMQ broker name of the group (`brokerName`), shared by the master and its slaves. Default: metadata.name. */
  brokerName: rocketmqName('the RocketMQ broker name').optional(),
  /** The NameServer the members register with. */
  nameServerRef: NameServerRefSchema,
  /** Members of the group: 1 master plus `replicas - 1` slaves. */
  replicas: z.number().int().min(1, 'must be >= 1').max(16, 'must be <= 16').default(1),
  /**
   * Master-to-slave replication: `ASYNC` (ASYNC_MASTER: a send is acknowledged once the master
   * has it) or `SYNC` (SYNC_MASTER: only once a slave has it too; needs `replicas >= 2`).
   */
  replication: z.enum(['SYNC', 'ASYNC']).default('ASYNC'),
  /** Disk flush of the commit log: `ASYNC` (ASYNC_FLUSH, every `flushIntervalCommitLog` ms) or `SYNC` (SYNC_FLUSH: before a send is acknowledged). */
  flush: z.enum(['SYNC', 'ASYNC']).default('ASYNC'),
  /** Each member's persistent volume. */
  storage: BrokerStorageSchema.prefault({}),
  /** Container image (the rocketmq-ts image, which runs `rmq broker`). Default: the operator's own version of it. */
  image: z.string().min(1).optional(),
  /** Image pull policy. */
  imagePullPolicy: ImagePullPolicySchema.optional(),
  /** CPU and memory for each member. */
  resources: ResourceRequirementsSchema.optional(),
  /** Affinity, tolerations and node selection; members of a group avoid sharing a node by default. */
  scheduling: SchedulingSchema.optional(),
  /**
   * Extra broker.conf keys for every member, e.g. `autoCreateTopicEnable: false`,
   * `deleteWhen: "04"`. Checked against the keys and values the broker accepts; keys the operator
   * writes itself (brokerRole, brokerId, listenPort, namesrvAddr, …) are refused with the field to
   * use instead.
   */
  config: z.record(z.string(), ConfigValueSchema).optional(),
});

/** One member (pod) of the group as the broker reports itself. */
export const BrokerMemberStatusSchema = z.strictObject({
  /** Pod name. */
  pod: z.string(),
  /** brokerId the broker reports (0 = master). */
  brokerId: z.number().int().min(0).optional(),
  /** Role the broker reports (`/status`): may differ from its config after a runtime promotion or demotion. */
  role: z.enum(['SYNC_MASTER', 'ASYNC_MASTER', 'SLAVE']).optional(),
  /** Address the broker registered (`ip:port`). */
  address: z.string().optional(),
  /** Whether the broker's `/readyz` answered ready. */
  ready: z.boolean().optional(),
  /** Name servers that accepted the broker's registration. */
  registeredWith: z.array(z.string()).optional(),
  /** Slave: bytes behind its master. */
  replicationLagBytes: z.number().int().min(0).optional(),
  /** Version the broker reports. */
  version: z.string().optional(),
});

/** A drained step of a rolling restart, kept between reconciliations. */
export const BrokerRolloutStatusSchema = z.strictObject({
  /**
   * `DrainingMaster` (write permission off, waiting for in-flight sends), `RestartingMaster` (pod
   * deleted, waiting for it to be back, registered and its slaves reconnected); for a SYNC group's
   * only in-sync slave `DrainingSlave` and `RestartingSlave` (the group's writes are off meanwhile).
   */
  phase: z.enum(['DrainingMaster', 'RestartingMaster', 'DrainingSlave', 'RestartingSlave']),
  /** Member index of the member being rolled. */
  member: z.number().int().min(0),
  /** When the phase began (RFC 3339). */
  since: z.string(),
  /** UID of the pod that was deleted. */
  podUid: z.string().optional(),
});

/** Observed state of a broker group. */
export const BrokerGroupStatusSchema = z.strictObject({
  /** The metadata.generation this status describes. */
  observedGeneration: z.number().int().min(0).optional(),
  /** `Ready`, `Progressing` and `Degraded` conditions (reasons in BrokerGroupReason). */
  conditions: z.array(ConditionSchema).optional(),
  /** Each member as the broker reports it. */
  members: z.array(BrokerMemberStatusSchema).optional(),
  /** Members whose broker is ready. */
  readyMembers: z.number().int().min(0).optional(),
  /** Pod of the member that reports itself master. */
  master: z.string().optional(),
  /** Image every member runs once a rollout finished. */
  currentImage: z.string().optional(),
  /** Broker version every member reports once a rollout finished. */
  version: z.string().optional(),
  /** The name-server addresses the members are configured with. */
  nameServers: z.array(z.string()).optional(),
  /** The drained rolling-restart step in progress (the master, or a SYNC group's last in-sync slave). */
  rollout: BrokerRolloutStatusSchema.optional(),
  /** What the rolling restart waits for or what blocks it, in words (empty when nothing does). */
  blockedBy: z.string().optional(),
});

/** Reasons of the BrokerGroup conditions, so reconcilers and alerts share one vocabulary. */
export const BrokerGroupReason = {
  /** Ready=True: every member ready, the master registered with every name server. */
  AllMembersReady: 'AllMembersReady',
  /** Ready=False: some member not ready. */
  MembersNotReady: 'MembersNotReady',
  /** Ready=False: no member reports itself master. */
  NoMaster: 'NoMaster',
  /** Ready=False: the spec failed validation (message names the field). */
  InvalidSpec: 'InvalidSpec',
  /** Progressing=True: members are being created. */
  Creating: 'Creating',
  /** Progressing=True: members are restarting for a new image or config, slaves first. */
  RollingUpdate: 'RollingUpdate',
  /** Progressing=True: members are being added or removed. */
  Scaling: 'Scaling',
  /** Progressing=False: the spec is applied. */
  UpToDate: 'UpToDate',
  /** Degraded=True: a slave is further behind its master than readyMaxReplicationLagBytes. */
  ReplicationLagging: 'ReplicationLagging',
  /** Degraded=True: a member is not registered with every name server. */
  NotRegistered: 'NotRegistered',
  /** Degraded=False. */
  Healthy: 'Healthy',
  /** Ready=False: the NameServer of spec.nameServerRef does not exist or is invalid. */
  NameServerNotFound: 'NameServerNotFound',
  /** Progressing=True: the pause annotation is set; nothing is changed. */
  ReconciliationPaused: 'ReconciliationPaused',
  /** Progressing=True: a roll waits for something (status.blockedBy says what). */
  RollingUpdateBlocked: 'RollingUpdateBlocked',
} as const;

function checkConfig(config: Record<string, string | number | boolean> | undefined, ctx: z.RefinementCtx): void {
  if (!config) return;
  const shape = BrokerConfigSchema.shape as Record<string, z.ZodType>;
  const entries = new Map<string, string>();
  for (const [key, value] of Object.entries(config)) {
    const path = ['config', key];
    const owned = BROKER_OWNED_KEYS[key];
    const renamed = RENAMED_KEYS[key];
    const field = shape[key];
    if (owned !== undefined) ctx.addIssue({ code: 'custom', path, message: `is set by the operator (${owned}); remove it` });
    else if (renamed !== undefined) ctx.addIssue({ code: 'custom', path, message: `is the old spelling; write ${renamed}` });
    else if (ACCEPTED_WITHOUT_EFFECT.has(key)) ctx.addIssue({ code: 'custom', path, message: 'is a Java broker key that has no effect in rocketmq-ts; remove it' });
    else if (field === undefined) ctx.addIssue({ code: 'custom', path, message: 'is not a broker config key' });
    else {
      const text = configValueText(value);
      const r = field.safeParse(text);
      if (r.success) entries.set(key, text);
      else for (const issue of r.error.issues) ctx.addIssue({ code: 'custom', path, message: issue.message });
    }
  }
  if (entries.size !== Object.keys(config).length) return;
  // Checks across keys and refused features (aclEnable=true, …) come from the broker's loader.
  try {
    loadBrokerConfig(entries, 'spec.config');
  } catch (err) {
    for (const line of (err as Error).message.split('\n')) {
      const text = line.replace(/^spec\.config: /, '');
      const key = /^(\w+)[=:]/.exec(text)?.[1];
      ctx.addIssue({ code: 'custom', path: key !== undefined && key in config ? ['config', key] : ['config'], message: text });
    }
  }
}

/** BrokerGroup spec with the cross-field checks. */
export const BrokerGroupSpecCheckedSchema = BrokerGroupSpecSchema.superRefine((spec, ctx) => {
  if (spec.replication === 'SYNC' && spec.replicas < 2) {
    ctx.addIssue({ code: 'custom', path: ['replication'], message: 'SYNC needs a slave to acknowledge sends: set spec.replicas >= 2 or use ASYNC' });
  }
  checkConfig(spec.config, ctx);
});

/**
 * One RocketMQ broker group (one `brokerName`): a master (member 0, brokerId 0) and
 * `replicas - 1` slaves replicating from it, each member a pod with its own volume, registered
 * with the name servers of `nameServerRef`.
 */
export const BrokerGroupSchema = resourceSchema('BrokerGroup', {
  // Pods are <name>-<member>-0 of StatefulSet <name>-<member>; StatefulSet names over 52
  // characters break the controller-revision-hash label, and Service names are DNS-1035.
  metadata: prefixNameMetaSchema(45),
  spec: BrokerGroupSpecCheckedSchema,
  status: BrokerGroupStatusSchema,
});

export type BrokerGroupSpec = z.output<typeof BrokerGroupSpecSchema>;
export type BrokerGroupStatus = z.output<typeof BrokerGroupStatusSchema>;
export type BrokerMemberStatus = z.output<typeof BrokerMemberStatusSchema>;
export type BrokerGroup = z.output<typeof BrokerGroupSchema>;
export type BrokerGroupInput = z.input<typeof BrokerGroupSchema>;

/** Validates a BrokerGroup (from the API server or a file) and applies defaults. */
export function validateBrokerGroup(input: unknown): Validation<BrokerGroup> {
  return validateWith(BrokerGroupSchema, input);
}

/** The RocketMQ brokerName of a group: spec.brokerName, else metadata.name. */
export function brokerNameOf(group: Pick<BrokerGroup, 'metadata' | 'spec'>): string {
  return group.spec.brokerName ?? group.metadata.name;
}
