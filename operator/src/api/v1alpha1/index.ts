// The v1alpha1 API: schemas, validators, and what the CRD generator needs per kind.
import type { z } from 'zod';
import { BrokerGroupSpecCheckedSchema, BrokerGroupStatusSchema } from './brokergroup.js';
import { GROUP, VERSION } from './common.js';
import { NameServerSpecCheckedSchema, NameServerStatusSchema } from './nameserver.js';
import { TopicSpecCheckedSchema, TopicStatusSchema } from './topic.js';

export * from './common.js';
export * from './nameserver.js';
export * from './brokergroup.js';
export * from './topic.js';

/** A column of `kubectl get` (CRD additionalPrinterColumns). */
export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description: string;
  /** 1 = only with `-o wide`. */
  priority?: number;
}

/** Everything the CRD generator needs about one kind. */
export interface KindInfo {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  /** Name of the exported spec schema in the source (its doc comment describes the kind). */
  specExport: string;
  spec: z.ZodType;
  status: z.ZodType;
  printerColumns: PrinterColumn[];
}

const READY_CONDITION = '.status.conditions[?(@.type=="Ready")].status';
const AGE: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Time since creation' };

export const KINDS: readonly KindInfo[] = [
  {
    kind: 'NameServer',
    plural: 'nameservers',
    singular: 'nameserver',
    shortNames: ['rmqns'],
    specExport: 'NameServerSpecSchema',
    spec: NameServerSpecCheckedSchema,
    status: NameServerStatusSchema,
    printerColumns: [
      { name: 'Replicas', type: 'integer', jsonPath: '.spec.replicas', description: 'Name servers wanted' },
      { name: 'Ready', type: 'integer', jsonPath: '.status.readyReplicas', description: 'Name servers ready' },
      { name: 'Addresses', type: 'string', jsonPath: '.status.namesrvAddr', description: 'namesrvAddr for brokers and clients' },
      AGE,
    ],
  },
  {
    kind: 'BrokerGroup',
    plural: 'brokergroups',
    singular: 'brokergroup',
    shortNames: ['rmqbg'],
    specExport: 'BrokerGroupSpecSchema',
    spec: BrokerGroupSpecCheckedSchema,
    status: BrokerGroupStatusSchema,
    printerColumns: [
      { name: 'Cluster', type: 'string', jsonPath: '.spec.clusterName', description: 'RocketMQ cluster' },
      { name: 'Replicas', type: 'integer', jsonPath: '.spec.replicas', description: 'Members: 1 master + slaves' },
      { name: 'Ready', type: 'integer', jsonPath: '.status.readyMembers', description: 'Members whose broker is ready' },
      { name: 'Replication', type: 'string', jsonPath: '.spec.replication', description: 'SYNC or ASYNC master' },
      { name: 'Master', type: 'string', jsonPath: '.status.master', description: 'Pod that reports itself master', priority: 1 },
      { name: 'Flush', type: 'string', jsonPath: '.spec.flush', description: 'SYNC or ASYNC disk flush', priority: 1 },
      { name: 'Status', type: 'string', jsonPath: READY_CONDITION, description: 'Ready condition', priority: 1 },
      AGE,
    ],
  },
  {
    kind: 'Topic',
    plural: 'topics',
    singular: 'topic',
    shortNames: ['rmqtopic'],
    specExport: 'TopicSpecSchema',
    spec: TopicSpecCheckedSchema,
    status: TopicStatusSchema,
    printerColumns: [
      { name: 'Topic', type: 'string', jsonPath: '.status.topicName', description: 'RocketMQ topic name', priority: 1 },
      { name: 'Queues', type: 'integer', jsonPath: '.spec.writeQueueNums', description: 'Write queues per broker group' },
      { name: 'Type', type: 'string', jsonPath: '.spec.messageType', description: 'Message type', priority: 1 },
      { name: 'Applied', type: 'string', jsonPath: '.status.applied', description: 'Broker groups applied / targeted' },
      { name: 'Ready', type: 'string', jsonPath: READY_CONDITION, description: 'Ready condition' },
      AGE,
    ],
  },
];

export const API = { group: GROUP, version: VERSION } as const;
