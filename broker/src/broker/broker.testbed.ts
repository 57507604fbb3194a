// Test support (not built into dist): an in-process NameServer and brokers over real sockets on
// loopback, one temp dir and one client per test, everything stopped and removed afterwards.
//
//   const bed = useBrokerTestBed('timer-test-', { brokerName: 'broker-t' });
//   const b = await bed.startBroker('a', { flushDelayOffsetInterval: '200' });
//   await bed.client.invokeOk(b.brokerAddr, ...);
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { createLogger, silentLogger } from '../common/logger.js';
import { loadBrokerConfig } from '../config/broker-config.js';
import { NameServer } from '../namesrv/namesrv.js';
import { RemotingClient } from '../transport/client.js';
import { BrokerController } from './broker-controller.js';

/** A port pair (listen, listen+1 for HA) in the range tests use, outside the ephemeral range. */
export function randomTestPort(): number {
  return 20000 + Math.floor(Math.random() * 12000);
}

/**
 * A port nothing listens on right now (the OS's pick on 127.0.0.1), above 2 since a broker
 * listening on it also binds port - 2.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    if (port > 2) return port;
  }
}

export async function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 8000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Starts a broker on loopback at `port` (HA at port + 1, no health server) storing under
 * `storeDir`; `conf` adds to and overrides those settings. With DEBUG_BROKER set it logs at
 * debug level as `name`.
 */
export async function startTestBroker(name: string, storeDir: string, conf: Record<string, string> = {}, port = randomTestPort()): Promise<BrokerController> {
  const raw = new Map(Object.entries({
    brokerName: 'broker-t',
    brokerIP1: '127.0.0.1',
    bindAddress: '127.0.0.1',
    listenPort: String(port),
    haListenPort: String(port + 1),
    healthPort: '-1',
    storePathRootDir: storeDir,
    mappedFileSizeCommitLog: String(8 * 1024 * 1024),
    ...conf,
  }));
  const log = process.env.DEBUG_BROKER ? createLogger(name, 'debug') : silentLogger();
  const b = new BrokerController(loadBrokerConfig(raw).config, log, {}, raw);
  await b.start();
  return b;
}

export class BrokerTestBed {
  dir = '';
  namesrv!: NameServer;
  client!: RemotingClient;
  readonly brokers: BrokerController[] = [];

  constructor(
    readonly prefix: string,
    readonly defaults: Record<string, string> = {},
  ) {}

  async setUp(): Promise<void> {
    this.dir = mkdtempSync(join(tmpdir(), this.prefix));
    this.namesrv = new NameServer({ listenPort: 0, bindAddress: '127.0.0.1' }, silentLogger());
    await this.namesrv.start();
    this.client = new RemotingClient(silentLogger());
  }

  async tearDown(): Promise<void> {
    await this.client.close();
    for (const b of this.brokers.splice(0)) await b.shutdown();
    await this.namesrv.shutdown();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Starts a broker storing under <dir>/<name>; `extra` overrides the bed's defaults. */
  async startBroker(name: string, extra: Record<string, string> = {}, port = randomTestPort()): Promise<BrokerController> {
    const b = await startTestBroker(name, join(this.dir, name), { namesrvAddr: `127.0.0.1:${this.namesrv.port}`, ...this.defaults, ...extra }, port);
    this.brokers.push(b);
    return b;
  }

  /** Shuts a broker down before the test ends (restart tests). */
  async stopBroker(b: BrokerController): Promise<void> {
    const i = this.brokers.indexOf(b);
    if (i >= 0) this.brokers.splice(i, 1);
    await b.shutdown();
  }
}

/** A test bed set up before and torn down after every test of the calling file. */
export function useBrokerTestBed(prefix: string, defaults: Record<string, string> = {}): BrokerTestBed {
  const bed = new BrokerTestBed(prefix, defaults);
  beforeEach(() => bed.setUp());
  afterEach(() => bed.tearDown());
  return bed;
}
