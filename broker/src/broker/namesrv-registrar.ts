// Keeps this broker registered with every NameServer it was given (BrokerOuterAPI): at start,
// every registerNameServerPeriod, right after topic changes, and unregisters at shutdown. While a
// NameServer has not accepted us (e.g. it was not up yet when the broker started), the round is
// retried sooner, from 1 s doubling up to the period, so a broker is not left out of routes for a
// whole period.
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

const RETRY_MIN_MS = 1000;

export class NamesrvRegistrar {
  readonly state: RegistrationState = { registeredWith: new Set(), lastError: new Map() };
  readonly #client: RemotingClient;
  readonly #log: Logger;
  readonly #id: () => RegistrarIdentity;
  readonly #topics: TopicConfigManager;
  readonly #permission: () => number;
  readonly #onAnswer: (masterAddr: string | undefined, haServerAddr: string | undefined) => void;
  readonly #timeoutMs: number;
  #namesrvs: string[];
  #timer: NodeJS.Timeout | undefined;
  #periodMs = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #retryDelayMs = RETRY_MIN_MS;
  #stopped = false;
  #scheduled = false;
  #running: Promise<void> | undefined;

  constructor(
    client: RemotingClient,
    id: () => RegistrarIdentity,
    namesrvs: string[],
    topics: TopicConfigManager,
    log: Logger,
    timeoutMs: number,
    permission: () => number,
    onAnswer: (masterAddr: string | undefined, haServerAddr: string | undefined) => void,
  ) {
    this.#client = client;
    this.#id = id;
    this.#permission = permission;
    this.#onAnswer = onAnswer;
    this.#namesrvs = namesrvs;
    this.#topics = topics;
    this.#log = log;
    this.#timeoutMs = timeoutMs;
  }

  get namesrvs(): readonly string[] {
    return this.#namesrvs;
  }

  /** Changes the NameServer list at runtime (e.g. NameServers scaled); registers with new ones at once. */
  setNamesrvs(list: string[]): void {
    this.#namesrvs = list;
    for (const addr of [...this.state.registeredWith]) if (!list.includes(addr)) this.state.registeredWith.delete(addr);
  }

  start(periodMs: number): Promise<void> {
    this.#periodMs = periodMs;
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
    const wrapper = this.#topics.wrapper();
    const perm = this.#permission();
    // A broker-wide permission without READ or WRITE (e.g. drained with brokerPermission=4) is
    // applied to every topic it reports, as Java's registerBrokerAll does.
    if ((perm & 6) !== 6) {
      wrapper.topicConfigTable = Object.fromEntries(Object.entries(wrapper.topicConfigTable).map(([k, tc]) => [k, { ...tc, perm: tc.perm & perm }]));
    }
    const body = Buffer.from(JSON.stringify({ topicConfigSerializeWrapper: wrapper, filterServerList: [] }), 'utf8');
    const id = this.#id();
    const ext = {
      brokerAddr: id.brokerAddr,
      brokerId: String(id.brokerId),
      brokerName: id.brokerName,
      clusterName: id.clusterName,
      haServerAddr: id.haServerAddr,
      compressed: 'false',
      enableActingMaster: 'false',
      // UtilAll.crc32: java.util.zip.CRC32 masked to a positive int, which Java NameServers compare.
      bodyCrc32: String(crc32(body) & 0x7fffffff),
    };
    await Promise.all(
      this.#namesrvs.map(async (addr) => {
        try {
          const answer = await this.#client.invokeOk(addr, createRequest(RequestCode.REGISTER_BROKER, ext, body), this.#timeoutMs);
          this.#onAnswer(answer.extFields.masterAddr || undefined, answer.extFields.haServerAddr || undefined);
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
    this.#scheduleRetry();
  }

  /** A sooner round while some NameServer has not accepted the registration (backing off). */
  #scheduleRetry(): void {
    const missing = this.#namesrvs.some((addr) => !this.state.registeredWith.has(addr));
    if (!missing) {
      this.#retryDelayMs = RETRY_MIN_MS;
      return;
    }
    if (this.#stopped || this.#retryTimer || this.#periodMs <= this.#retryDelayMs) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      void this.registerAll();
    }, this.#retryDelayMs);
    this.#retryTimer.unref();
    this.#retryDelayMs = Math.min(this.#retryDelayMs * 2, this.#periodMs);
  }

  /** Leaves every NameServer under `identity` (default: the current one); stops the timer when `final`. */
  async unregisterAll(final = true, identity: RegistrarIdentity = this.#id()): Promise<void> {
    if (final) {
      this.#stopped = true;
      if (this.#timer) clearInterval(this.#timer);
      if (this.#retryTimer) clearTimeout(this.#retryTimer);
      this.#retryTimer = undefined;
    }
    const ext = {
      brokerAddr: identity.brokerAddr,
      brokerId: String(identity.brokerId),
      brokerName: identity.brokerName,
      clusterName: identity.clusterName,
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
