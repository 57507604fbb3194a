// Representative custom resources for the builder and generator tests (validated, so defaults
// are applied exactly as the operator will see them).
import { validateBrokerGroup, validateNameServer, type BrokerGroup, type NameServer } from '../src/api/v1alpha1/index.js';

export function nameServer(spec: Record<string, unknown> = {}): NameServer {
  const r = validateNameServer({
    apiVersion: 'rocketmq.rmq-ts.io/v1alpha1',
    kind: 'NameServer',
    metadata: { name: 'rmq-ns', namespace: 'mq', uid: 'uid-ns', generation: 1 },
    spec,
  });
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.value;
}

export function brokerGroup(name: string, spec: Record<string, unknown>): BrokerGroup {
  const r = validateBrokerGroup({
    apiVersion: 'rocketmq.rmq-ts.io/v1alpha1',
    kind: 'BrokerGroup',
    metadata: { name, namespace: 'mq', uid: `uid-${name}`, generation: 1 },
    spec: { nameServerRef: { name: 'rmq-ns' }, ...spec },
  });
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.value;
}
