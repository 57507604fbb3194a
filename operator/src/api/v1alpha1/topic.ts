// Topic: a RocketMQ topic created (and kept) on every member of the broker groups it targets.
import { z } from 'zod';
import { ConditionSchema, ObjectMetaSchema, resourceSchema, validateWith, type Validation } from './common.js';

/** RocketMQ's topic name rule (TopicValidator): letters, digits, `%`, `|`, `-`, `_`; at most 127 characters. */
const TOPIC_NAME = /^[%|a-zA-Z0-9_-]+$/;

/** Desired state of a topic. Set exactly one of `clusterName` and `brokerGroups`. */
export const TopicSpecSchema = z.strictObject({
  /** RocketMQ topic name, for names Kubernetes does not allow (upper case, `_`, `%`). Default: metadata.name. */
  topicName: z.string().max(127, 'must be at most 127 characters').regex(TOPIC_NAME, "may contain only letters, digits, '%', '|', '-' and '_'").optional(),
  /** Create the topic on every BrokerGroup of this RocketMQ cluster (`spec.clusterName` of the groups), including groups added later. */
  clusterName: z.string().min(1).optional(),
  /** Create the topic on these BrokerGroups (names of BrokerGroup resources in the topic's namespace). */
  brokerGroups: z.array(z.string().min(1)).min(1, 'must name at least one BrokerGroup').optional(),
  /** Read queues per broker group. Normally equal to `writeQueueNums`. */
  readQueueNums: z.number().int().min(1, 'must be >= 1').max(1024, 'must be <= 1024').default(8),
  /** Write queues per broker group. */
  writeQueueNums: z.number().int().min(1, 'must be >= 1').max(1024, 'must be <= 1024').default(8),
  /** Permission: `RW` (6, read and write), `R` (4, read only: drains producers away) or `W` (2, write only). */
  perm: z.enum(['RW', 'R', 'W']).default('RW'),
  /** Ordered topic: the name servers keep its queue order configuration so orderly consumers see a stable queue set. */
  ordered: z.boolean().default(false),
  /** RocketMQ 5 message type of the topic: `NORMAL`, `FIFO`, `DELAY` or `TRANSACTION`. */
  messageType: z.enum(['NORMAL', 'FIFO', 'DELAY', 'TRANSACTION']).default('NORMAL'),
  /**
   * Allow lowering the queue counts of an existing topic. Messages in removed queues are no longer
   * read, so this is refused (condition `Ready=False`, reason `QueueShrinkRefused`) unless set.
   */
  allowQueueShrink: z.boolean().default(false),
});

/** Where the topic was applied, per broker group. */
export const TopicGroupStatusSchema = z.strictObject({
  /** BrokerGroup resource name. */
  brokerGroup: z.string(),
  /** Its RocketMQ brokerName. */
  brokerName: z.string().optional(),
  /** Whether every member of the group has the topic as specified. */
  applied: z.boolean(),
  /** Read queues the group has now. */
  readQueueNums: z.number().int().min(0).optional(),
  /** Write queues the group has now. */
  writeQueueNums: z.number().int().min(0).optional(),
  /** Why applying failed, if it did. */
  error: z.string().optional(),
});

/** Observed state of a topic. */
export const TopicStatusSchema = z.strictObject({
  /** The metadata.generation this status describes. */
  observedGeneration: z.number().int().min(0).optional(),
  /** The RocketMQ topic name in effect. */
  topicName: z.string().optional(),
  /** Each targeted broker group. */
  groups: z.array(TopicGroupStatusSchema).optional(),
  /** Groups applied out of groups targeted, e.g. `2/2`. */
  applied: z.string().optional(),
  /** `Ready` (and `Progressing`) conditions (reasons in TopicReason). */
  conditions: z.array(ConditionSchema).optional(),
});

/** Reasons of the Topic conditions. */
export const TopicReason = {
  Applied: 'Applied',
  Applying: 'Applying',
  NoBrokerGroups: 'NoBrokerGroups',
  ApplyFailed: 'ApplyFailed',
  QueueShrinkRefused: 'QueueShrinkRefused',
  /** Another Topic resource in the namespace claims the same topic name (the older one wins). */
  ResourceConflict: 'ResourceConflict',
  InvalidSpec: 'InvalidSpec',
} as const;

/** Topic spec with the cross-field checks. */
export const TopicSpecCheckedSchema = TopicSpecSchema.superRefine((spec, ctx) => {
  const hasCluster = spec.clusterName !== undefined;
  const hasGroups = spec.brokerGroups !== undefined;
  if (hasCluster === hasGroups) {
    ctx.addIssue({ code: 'custom', path: hasCluster ? ['brokerGroups'] : ['clusterName'], message: hasCluster ? 'set clusterName or brokerGroups, not both' : 'set clusterName or brokerGroups (one is required)' });
  }
  if (spec.brokerGroups && new Set(spec.brokerGroups).size !== spec.brokerGroups.length) {
    ctx.addIssue({ code: 'custom', path: ['brokerGroups'], message: 'names a BrokerGroup more than once' });
  }
  if (spec.ordered && (spec.messageType === 'DELAY' || spec.messageType === 'TRANSACTION')) {
    ctx.addIssue({ code: 'custom', path: ['ordered'], message: `an ordered topic cannot have messageType ${spec.messageType}` });
  }
});

/**
 * A RocketMQ topic, created on the master of every broker group it targets (slaves copy it from
 * their master) and kept as specified: Kubernetes is the source of truth.
 */
export const TopicSchema = resourceSchema('Topic', { metadata: ObjectMetaSchema, spec: TopicSpecCheckedSchema, status: TopicStatusSchema })
  .superRefine((topic, ctx) => {
    // Without spec.topicName the resource name is the topic name, so it must be a valid one.
    if (topic.spec.topicName === undefined && (!TOPIC_NAME.test(topic.metadata.name) || topic.metadata.name.length > 127)) {
      ctx.addIssue({ code: 'custom', path: ['spec', 'topicName'], message: `is required: metadata.name "${topic.metadata.name}" is not a valid RocketMQ topic name` });
    }
  });

export type TopicSpec = z.output<typeof TopicSpecSchema>;
export type TopicStatus = z.output<typeof TopicStatusSchema>;
export type Topic = z.output<typeof TopicSchema>;
export type TopicInput = z.input<typeof TopicSchema>;

/** Validates a Topic (from the API server or a file) and applies defaults. */
export function validateTopic(input: unknown): Validation<Topic> {
  return validateWith(TopicSchema, input);
}

/** The RocketMQ topic name: spec.topicName, else metadata.name. */
export function topicNameOf(topic: Pick<Topic, 'metadata' | 'spec'>): string {
  return topic.spec.topicName ?? topic.metadata.name;
}

/** RocketMQ's numeric permission (PermName) of a Topic's perm. */
export function topicPermValue(perm: TopicSpec['perm']): number {
  return perm === 'RW' ? 6 : perm === 'R' ? 4 : 2;
}
