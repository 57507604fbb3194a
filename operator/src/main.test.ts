import { describe, expect, it } from 'vitest';
import { parseOperatorOptions } from './main.js';

describe('rmq operator options', () => {
  it('defaults', () => {
    const o = parseOperatorOptions([], {});
    expect(o).toMatchObject({
      namespaces: [],
      kubeconfig: undefined,
      httpPort: 8080,
      httpBind: '0.0.0.0',
      leaderElect: true,
      leaseNamespace: 'default',
      leaseName: 'rmq-ts-operator',
      build: { clusterDomain: 'cluster.local' },
      settings: { drainMs: 35_000, pollMs: 5_000, topicResyncMs: 60_000 },
      manager: { concurrency: 4, resyncMs: 300_000, watchdogMs: 300_000 },
    });
    expect(o.build.defaultImage).toMatch(/^rocketmq-ts:/);
  });

  it('flags win over the environment', () => {
    const o = parseOperatorOptions(
      ['--namespaces', 'a, b', '--no-leader-elect', '--http-port', '0', '--drain-seconds', '0', '--default-image', 'reg/rmq:1', '--kubeconfig', '/k'],
      { WATCH_NAMESPACES: 'x', POD_NAMESPACE: 'ops', KUBECONFIG: '/env', OPERATOR_HTTP_PORT: '9000' },
    );
    expect(o).toMatchObject({ namespaces: ['a', 'b'], leaderElect: false, httpPort: 0, leaseNamespace: 'ops', kubeconfig: '/k', settings: { drainMs: 0 }, build: { defaultImage: 'reg/rmq:1' } });
    expect(o.manager.namespaces).toEqual(['a', 'b']);
  });

  it('the environment when no flag is given', () => {
    expect(parseOperatorOptions([], { WATCH_NAMESPACES: 'x,y', OPERATOR_HTTP_PORT: '9000', OPERATOR_DEFAULT_IMAGE: 'i:2' })).toMatchObject({ namespaces: ['x', 'y'], httpPort: 9000, build: { defaultImage: 'i:2' } });
  });

  it('refuses bad values and unknown flags with their name', () => {
    expect(() => parseOperatorOptions(['--poll-seconds', '0'], {})).toThrow('--poll-seconds must be an integer >= 1, got "0"');
    expect(() => parseOperatorOptions(['--bogus'], {})).toThrow(/bogus/);
  });
});
