import { describe, expect, it } from 'vitest';
import { validateBrokerGroup, validateNameServer, validateTopic, brokerNameOf, topicNameOf, topicPermValue, BROKER_KNOWN_KEYS } from './index.js';

const meta = (name: string) => ({ name, namespace: 'mq' });
const bg = (spec: Record<string, unknown>, name = 'broker-a') => ({ apiVersion: 'rocketmq.rmq-ts.io/v1alpha1', kind: 'BrokerGroup', metadata: meta(name), spec: { nameServerRef: { name: 'ns' }, ...spec } });
const ns = (spec: Record<string, unknown>, name = 'rmq-ns') => ({ apiVersion: 'rocketmq.rmq-ts.io/v1alpha1', kind: 'NameServer', metadata: meta(name), spec });
const topic = (spec: Record<string, unknown>, name = 'orders') => ({ apiVersion: 'rocketmq.rmq-ts.io/v1alpha1', kind: 'Topic', metadata: meta(name), spec });

function errors(r: { ok: true } | { ok: false; errors: string[] }): string[] {
  return r.ok ? [] : r.errors;
}

describe('NameServer', () => {
  it('applies defaults', () => {
    const r = validateNameServer(ns({}));
    expect(r.ok && r.value.spec).toEqual({ replicas: 2 });
  });

  it('names the field of each problem', () => {
    expect(errors(validateNameServer(ns({ replicas: 0 })))).toEqual(['spec.replicas: must be >= 1']);
    expect(errors(validateNameServer(ns({ replicas: 2, extra: 1 })))).toEqual(['spec: Unrecognized key: "extra"']);
    expect(errors(validateNameServer(ns({ resources: { limits: { memory: '2 GB' } } })))).toEqual([
      'spec.resources.limits.memory: must be a Kubernetes quantity such as 512Mi, 2Gi or 500m',
    ]);
    expect(errors(validateNameServer(ns({}, 'Bad_Name')))).toEqual(['metadata.name: must be a lower-case DNS label starting with a letter']);
  });

  it('checks config keys and values with the name server loader', () => {
    expect(errors(validateNameServer(ns({ config: { listenPort: 9000, nope: 'x', kvConfigPath: '/x' } })))).toEqual([
      'spec.config.listenPort: is set by the operator (the name server port is fixed at 9876 so Services and broker addresses agree); remove it',
      'spec.config.nope: is not a name server config key',
      'spec.config.kvConfigPath: is a Java name server key that has no effect in rocketmq-ts; remove it',
    ]);
    expect(errors(validateNameServer(ns({ config: { scanNotActiveBrokerInterval: 10 } })))[0]).toMatch(/^spec\.config\.scanNotActiveBrokerInterval: /);
    expect(errors(validateNameServer(ns({ config: { orderMessageEnable: true, scanNotActiveBrokerInterval: '3000' } })))).toEqual([]);
  });
});

describe('BrokerGroup', () => {
  it('applies defaults, brokerName from metadata.name', () => {
    const r = validateBrokerGroup(bg({}));
    expect(r.ok && r.value.spec).toEqual({
      clusterName: 'DefaultCluster',
      nameServerRef: { name: 'ns' },
      replicas: 1,
      replication: 'ASYNC',
      flush: 'ASYNC',
      storage: { size: '20Gi', retentionHours: 72 },
    });
    expect(r.ok && brokerNameOf(r.value)).toBe('broker-a');
    const named = validateBrokerGroup(bg({ brokerName: 'broker_A' }));
    expect(named.ok && brokerNameOf(named.value)).toBe('broker_A');
  });

  it('names the field of each problem', () => {
    expect(errors(validateBrokerGroup(bg({ replicas: 0 })))).toEqual(['spec.replicas: must be >= 1']);
    expect(errors(validateBrokerGroup(bg({ replicas: 1.5 })))).toEqual(['spec.replicas: Invalid input: expected int, received number']);
    expect(errors(validateBrokerGroup(bg({ nameServerRef: undefined })))).toEqual(['spec.nameServerRef: is required']);
    expect(errors(validateBrokerGroup(bg({ replication: 'QUORUM' })))).toEqual(['spec.replication: Invalid option: expected one of "SYNC"|"ASYNC"']);
    expect(errors(validateBrokerGroup(bg({ storage: { retentionHours: 0 } })))).toEqual(['spec.storage.retentionHours: must be >= 1']);
    expect(errors(validateBrokerGroup(bg({ clusterName: 'my cluster' })))[0]).toMatch(/^spec\.clusterName: must be 1-63 letters/);
    expect(errors(validateBrokerGroup(bg({}, 'a'.repeat(46))))).toEqual(['metadata.name: must be at most 45 characters (it prefixes StatefulSet, Service and pod names)']);
  });

  it('refuses SYNC replication without a slave', () => {
    expect(errors(validateBrokerGroup(bg({ replication: 'SYNC' })))).toEqual(['spec.replication: SYNC needs a slave to acknowledge sends: set spec.replicas >= 2 or use ASYNC']);
    expect(errors(validateBrokerGroup(bg({ replication: 'SYNC', replicas: 2 })))).toEqual([]);
  });

  it('refuses config keys the operator owns, naming the field to use', () => {
    expect(errors(validateBrokerGroup(bg({ config: { brokerRole: 'SLAVE', brokerId: 1, listenPort: 10000, namesrvAddr: 'x:9876', flushDiskType: 'SYNC_FLUSH' } })))).toEqual([
      'spec.config.brokerRole: is set by the operator (set spec.replication; member 0 is the master, the others are slaves); remove it',
      'spec.config.brokerId: is set by the operator (each member gets its index: 0 for the master, 1.. for slaves); remove it',
      'spec.config.listenPort: is set by the operator (the ports are fixed (10911, fast channel 10909, HA 10912, health 10910) so probes and Services agree); remove it',
      "spec.config.namesrvAddr: is set by the operator (set spec.nameServerRef; the operator writes the name servers' DNS names); remove it",
      'spec.config.flushDiskType: is set by the operator (set spec.flush); remove it',
    ]);
  });

  it('checks other config keys and values against the broker config schema', () => {
    expect(errors(validateBrokerGroup(bg({ config: { noSuchKey: 1, mapedFileSizeCommitLog: 1073741824, sendMessageThreadPoolNums: 4 } })))).toEqual([
      'spec.config.noSuchKey: is not a broker config key',
      'spec.config.mapedFileSizeCommitLog: is the old spelling; write mappedFileSizeCommitLog',
      'spec.config.sendMessageThreadPoolNums: is a Java broker key that has no effect in rocketmq-ts; remove it',
    ]);
    expect(errors(validateBrokerGroup(bg({ config: { maxMessageSize: 'big', autoCreateTopicEnable: 'yes', diskMaxUsedSpaceRatio: 99 } })))).toEqual([
      'spec.config.maxMessageSize: expected an integer, got "big"',
      'spec.config.autoCreateTopicEnable: expected true or false, got "yes"',
      'spec.config.diskMaxUsedSpaceRatio: must be at most 95',
    ]);
    expect(errors(validateBrokerGroup(bg({ config: { aclEnable: true } })))).toEqual([
      'spec.config.aclEnable: aclEnable=true: ACL is not supported by this broker yet; remove the key or set it to false',
    ]);
    expect(errors(validateBrokerGroup(bg({ config: { autoCreateTopicEnable: false, deleteWhen: '04;16', maxMessageSize: 1048576 } })))).toEqual([]);
  });

  it('knows the broker keys from the broker itself', () => {
    expect(BROKER_KNOWN_KEYS).toContain('slaveReadEnable');
    expect(BROKER_KNOWN_KEYS).toContain('readyMaxReplicationLagBytes');
  });
});

describe('Topic', () => {
  it('applies defaults; topicName from metadata.name', () => {
    const r = validateTopic(topic({ clusterName: 'DefaultCluster' }));
    expect(r.ok && r.value.spec).toEqual({ clusterName: 'DefaultCluster', readQueueNums: 8, writeQueueNums: 8, perm: 'RW', ordered: false, messageType: 'NORMAL', allowQueueShrink: false });
    expect(r.ok && topicNameOf(r.value)).toBe('orders');
    expect(topicPermValue('RW')).toBe(6);
  });

  it('needs exactly one of clusterName and brokerGroups', () => {
    expect(errors(validateTopic(topic({})))).toEqual(['spec.clusterName: set clusterName or brokerGroups (one is required)']);
    expect(errors(validateTopic(topic({ clusterName: 'c', brokerGroups: ['a'] })))).toEqual(['spec.brokerGroups: set clusterName or brokerGroups, not both']);
    expect(errors(validateTopic(topic({ brokerGroups: [] })))).toEqual(['spec.brokerGroups: must name at least one BrokerGroup']);
    expect(errors(validateTopic(topic({ brokerGroups: ['a', 'a'] })))).toEqual(['spec.brokerGroups: names a BrokerGroup more than once']);
  });

  it('names the field of each problem', () => {
    expect(errors(validateTopic(topic({ clusterName: 'c', writeQueueNums: 0, messageType: 'BULK' })))).toEqual([
      'spec.writeQueueNums: must be >= 1',
      'spec.messageType: Invalid option: expected one of "NORMAL"|"FIFO"|"DELAY"|"TRANSACTION"',
    ]);
    expect(errors(validateTopic(topic({ clusterName: 'c', topicName: 'a b' })))).toEqual(["spec.topicName: may contain only letters, digits, '%', '|', '-' and '_'"]);
    expect(errors(validateTopic(topic({ clusterName: 'c', ordered: true, messageType: 'DELAY' })))).toEqual(['spec.ordered: an ordered topic cannot have messageType DELAY']);
  });

  it('needs spec.topicName when metadata.name is not a topic name', () => {
    expect(errors(validateTopic(topic({ clusterName: 'c' }, 'orders.v1')))).toEqual(['spec.topicName: is required: metadata.name "orders.v1" is not a valid RocketMQ topic name']);
    const r = validateTopic(topic({ clusterName: 'c', topicName: 'Orders_V1' }, 'orders.v1'));
    expect(r.ok && topicNameOf(r.value)).toBe('Orders_V1');
  });
});
