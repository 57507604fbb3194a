// The health keys of broker.conf and namesrv.conf: defaults and refusals.
import { describe, expect, it } from 'vitest';
import { brokerConfigEntries, loadBrokerConfig } from '../config/broker-config.js';
import { loadNamesrvConfig } from '../config/namesrv-config.js';

describe('health configuration', () => {
  it('broker: healthPort defaults to listenPort - 1 on bindAddress; lag threshold 64 MiB', () => {
    const { config } = loadBrokerConfig({ brokerName: 'b' });
    expect(config).toMatchObject({ listenPort: 10911, healthPort: 10910, healthBindAddress: '0.0.0.0', readyMaxReplicationLagBytes: 64 * 1024 * 1024 });
    const custom = loadBrokerConfig({ listenPort: '20911', bindAddress: '10.1.2.3', readyMaxReplicationLagBytes: '1048576' }).config;
    expect(custom).toMatchObject({ healthPort: 20910, healthBindAddress: '10.1.2.3', readyMaxReplicationLagBytes: 1048576 });
    expect(loadBrokerConfig({ healthPort: '8080', healthBindAddress: '127.0.0.1' }).config).toMatchObject({ healthPort: 8080, healthBindAddress: '127.0.0.1' });
    expect(loadBrokerConfig({ healthPort: '-1' }).config.healthPort).toBe(-1);
    expect(loadBrokerConfig({ healthPort: '0' }).config.healthPort).toBe(0);
    expect(new Map(brokerConfigEntries(config)).get('healthPort')).toBe('10910');
  });

  it('broker: refuses a healthPort that is one of its own ports, naming the key', () => {
    expect(() => loadBrokerConfig({ healthPort: '10911' }, 'b.conf')).toThrow("b.conf: healthPort: 10911 is the broker's listenPort");
    expect(() => loadBrokerConfig({ healthPort: '10909' }, 'b.conf')).toThrow("b.conf: healthPort: 10909 is the broker's listenPort - 2 (fast channel)");
    expect(() => loadBrokerConfig({ healthPort: '10912' }, 'b.conf')).toThrow("b.conf: healthPort: 10912 is the broker's haListenPort");
    expect(() => loadBrokerConfig({ healthPort: '10000', haListenPort: '10000' }, 'b.conf')).toThrow(/haListenPort/);
    expect(() => loadBrokerConfig({ healthPort: 'x' }, 'b.conf')).toThrow('b.conf: healthPort: expected an integer, got "x"');
    expect(() => loadBrokerConfig({ readyMaxReplicationLagBytes: '-5' }, 'b.conf')).toThrow(/readyMaxReplicationLagBytes: must be at least 0/);
  });

  it('namesrv: healthPort defaults to listenPort + 1 (9877) on bindAddress, any free port for listenPort 0', () => {
    expect(loadNamesrvConfig(new Map(), 'ns').config).toMatchObject({ listenPort: 9876, healthPort: 9877, healthBindAddress: '0.0.0.0' });
    expect(loadNamesrvConfig(new Map([['listenPort', '0'], ['bindAddress', '127.0.0.1']]), 'ns').config).toMatchObject({ healthPort: 0, healthBindAddress: '127.0.0.1' });
    expect(loadNamesrvConfig(new Map([['healthPort', '-1']]), 'ns').config.healthPort).toBe(-1);
    expect(() => loadNamesrvConfig(new Map([['healthPort', '9876']]), 'ns.conf')).toThrow("ns.conf: healthPort: 9876 is the name server's listenPort");
    expect(() => loadNamesrvConfig(new Map([['listenPort', '65535']]), 'ns.conf')).toThrow(/listenPort \+ 1 = 65536 is not a port; set healthPort/);
  });
});
