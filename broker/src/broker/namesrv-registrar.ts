// Keeps this broker registered with every NameServer it was given (BrokerOuterAPI): at start,
// every registerNameServerPeriod, right after topic changes, and unregisters at shutdown.
import { crc32 } from 'node:zlib';
import type { Logger } from 'pino';
import { RequestCode } from '../protocol/codes.js';
import { createRequest } from '../protocol/remoting.js';
import type { RemotingClient } from '../transport/client.js';
import type { TopicConfigManager } from './metadata.js';

export interface RegistrarIdentity {
  clusterName: string;
  brokerName: string;
  brokerId: number;
  brokerAddr: string;
  haServerAddr: string;
}

export interface RegistrationState {
  /** NameServers that accepted the latest registration. */
  registeredWith: Set<string>;
  lastError: Map<string, string>;
}

export class NamesrvRegistrar {
  readonly state: RegistrationState = { registeredWith: new Set(), lastError: new Map() };
  readonly #client: RemotingClient;
  readonly #log: Logger;
  readonly #id: RegistrarIdentity;
  readonly #topics: TopicConfigManager;
  readonly #timeoutMs: number;
  #namesrvs: string[];
  #timer: NodeJS.Timeout | undefined;
  #scheduled = false;
  #running: Promise<void> | undefined;

  constructor(client: RemotingClient, id: RegistrarIdentity, namesrvs: string[], topics: TopicConfigManager, log: Logger, timeoutMs: number) {
    this.#client = client;
    this.#id = id;
    this.#namesrvs = namesrvs;
    this.#topics = topics;
    this.#log = log;
    this.#timeoutMs = timeoutMs;
  }

  get namesrvs(): readonly string[] {
    return this.#namesrvs;
  }

  start(periodMs: number): Promise<void> {
    this.#timer = setInterval(() => void this.registerAll(), periodMs);
    this.#timer.unref();
    return this.registerAll();
  }

  /** Coalesces bursts of changes (many topics created at once) into one registration. */
  registerSoon(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.registerAll();
    });
  }

  /** Registers with every NameServer in parallel; failures are logged, never thrown. */
  registerAll(): Promise<void> {
    // One registration round at a time; a request during a round runs after it.
    const run = (this.#running ?? Promise.resolve()).then(() => this.#registerRound());
    this.#running = run;
    return run;
  }

  async #registerRound(): Promise<void> {
    const body = Buffer.from(JSON.stringify({ topicConfigSerializeWrapper: this.#topics.wrapper(), filterServerList: [] }), 'utf8');
    const ext = {
      brokerAddr: this.#id.brokerAddr,
      brokerId: String(this.#id.brokerId),
      brokerName: this.#id.brokerName,
      clusterName: this.#id.clusterName,
      haServerAddr: this.#id.haServerAddr,
      compressed: 'false',
      enableActingMaster: 'false',
      bodyCrc32: String(crc32(body) | 0),
    };
    await Promise.all(
      this.#namesrvs.map(async (addr) => {
        try {
          await this.#client.invokeOk(addr, createRequest(RequestCode.REGISTER_BROKER, ext, body), this.#timeoutMs);
          if (!this.state.registeredWith.has(addr)) this.#log.info({ namesrv: addr }, 'registered with name server');
          this.state.registeredWith.add(addr);
          this.state.lastError.delete(addr);
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          if (this.state.lastError.get(addr) !== message) this.#log.warn({ namesrv: addr, err: message }, 'registration with name server failed');
          this.state.registeredWith.delete(addr);
          this.state.lastError.set(addr, message);
        }
      }),
    );
  }

  async unregisterAll(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    const ext = {
      brokerAddr: this.#id.brokerAddr,
      brokerId: String(this.#id.brokerId),
      brokerName: this.#id.brokerName,
      clusterName: this.#id.clusterName,
    };
    await Promise.all(
      this.#namesrvs.map(async (addr) => {
        try {
          await this.#client.invokeOk(addr, createRequest(RequestCode.UNREGISTER_BROKER, ext), 3000);
          this.#log.info({ namesrv: addr }, 'unregistered from name server');
        } catch (err) {
          this.#log.warn({ namesrv: addr, err: err instanceof Error ? err.message : String(err) }, 'unregister from name server failed');
        }
        this.state.registeredWith.delete(addr);
      }),
    );
  }
}
