import { describe, expect, it } from 'vitest';
import { silentLogger } from '../common/logger.js';
import { NameServer } from '../namesrv/namesrv.js';
import { randomTestPort, useBrokerTestBed, waitFor } from './broker.testbed.js';

describe('NamesrvRegistrar', () => {
  const bed = useBrokerTestBed('registrar-test-');

  it('registers with a name server that comes up after the broker, well before the next period', async () => {
    const latePort = randomTestPort();
    const late = `127.0.0.1:${latePort}`;
    // registerNameServerPeriod 60 s: only the retry while unregistered can register within the wait
    const b = await bed.startBroker('a', { namesrvAddr: `127.0.0.1:${bed.namesrv.port};${late}`, registerNameServerPeriod: '60000' });
    expect(b.registrar.state.registeredWith.has(`127.0.0.1:${bed.namesrv.port}`)).toBe(true);
    expect(b.registrar.state.registeredWith.has(late)).toBe(false);
    const namesrv = new NameServer({ listenPort: latePort, bindAddress: '127.0.0.1' }, silentLogger());
    await namesrv.start();
    try {
      await waitFor(() => namesrv.routes.clusterInfo().brokerAddrTable.has('broker-t'), 'registration with the late name server', 15_000);
      expect(b.registrar.state.registeredWith.has(late)).toBe(true);
    } finally {
      await namesrv.shutdown();
    }
  }, 30_000);
});
