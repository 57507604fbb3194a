// A slave copies its master's topics, subscription groups and consumer offsets periodically
// (Java's SlaveSynchronize), so that it can serve consumers, and take over, with the same view.
import type { Logger } from 'pino';
import { sameDataVersion, toDataVersion } from '../common/data-version.js';
import { parseJsonBody } from '../common/json.js';
import { RequestCode } from '../protocol/codes.js';
import { createRequest } from '../protocol/remoting.js';
import type { RemotingClient } from '../transport/client.js';
import type { ConsumerOffsetManager, SubscriptionGroupManager, TopicConfigManager } from './metadata.js';
import { decodeTimerCheckpoint } from './timer-message-service.js';

export interface SlaveSyncTargets {
  topics: TopicConfigManager;
  groups: SubscriptionGroupManager;
  offsets: ConsumerOffsetManager;
  /** Delay-level progress (GET_ALL_DELAY_OFFSET), so a promoted slave resumes delivery there. */
  delayOffsets?: { replaceAll(offsetTable: Record<string, unknown>): void };
  /** Timer-message progress (GET_TIMER_CHECK_POINT), so a promoted slave does not deliver again. */
  timerCheckpoint?: { replaceCheckpoint(cp: { readTimeMs: number; enqueuedTo: number }): void };
}

export class SlaveSynchronizer {
  readonly #client: RemotingClient;
  readonly #targets: SlaveSyncTargets;
  readonly #log: Logger;
  #masterAddr: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #first: NodeJS.Timeout | undefined;
  #lastError: string | undefined;
  lastSyncAt = 0;

  constructor(client: RemotingClient, targets: SlaveSyncTargets, log: Logger) {
    this.#client = client;
    this.#targets = targets;
    this.#log = log;
  }

  get masterAddr(): string | undefined {
    return this.#masterAddr;
  }

  setMasterAddr(addr: string | undefined): void {
    const changed = addr !== this.#masterAddr;
    this.#masterAddr = addr;
    if (changed && addr) {
      this.#log.info({ master: addr }, 'slave will sync metadata from master');
      void this.syncAll();
    }
  }

  start(periodMs: number): void {
    this.#first = setTimeout(() => void this.syncAll(), Math.min(3000, periodMs));
    this.#timer = setInterval(() => void this.syncAll(), periodMs);
    this.#first.unref();
    this.#timer.unref();
  }

  stop(): void {
    clearTimeout(this.#first);
    clearInterval(this.#timer);
  }

  /** One round: topics, groups, offsets. Failures are logged (once per distinct error). */
  async syncAll(): Promise<void> {
    const master = this.#masterAddr;
    if (!master) return;
    try {
      const topics = parseJsonBody((await this.#client.invokeOk(master, createRequest(RequestCode.GET_ALL_TOPIC_CONFIG), 5000)).body) as {
        dataVersion?: unknown;
        topicConfigTable?: Record<string, unknown>;
      };
      const tv = toDataVersion(topics.dataVersion);
      if (tv && !sameDataVersion(tv, this.#targets.topics.dataVersion)) this.#targets.topics.replaceAll(topics.topicConfigTable ?? {}, tv);

      const groups = parseJsonBody((await this.#client.invokeOk(master, createRequest(RequestCode.GET_ALL_SUBSCRIPTIONGROUP_CONFIG), 5000)).body) as {
        dataVersion?: unknown;
        subscriptionGroupTable?: Record<string, unknown>;
      };
      const gv = toDataVersion(groups.dataVersion);
      if (gv && !sameDataVersion(gv, this.#targets.groups.dataVersion)) this.#targets.groups.replaceAll(groups.subscriptionGroupTable ?? {}, gv);

      const offsets = parseJsonBody((await this.#client.invokeOk(master, createRequest(RequestCode.GET_ALL_CONSUMER_OFFSET), 5000)).body) as {
        offsetTable?: Record<string, Record<string, unknown>>;
      };
      this.#targets.offsets.replaceAll(offsets.offsetTable ?? {});

      if (this.#targets.delayOffsets) {
        const delay = parseJsonBody((await this.#client.invokeOk(master, createRequest(RequestCode.GET_ALL_DELAY_OFFSET), 5000)).body) as { offsetTable?: Record<string, unknown> };
        this.#targets.delayOffsets.replaceAll(delay.offsetTable ?? {});
      }
      if (this.#targets.timerCheckpoint) {
        // Optional: a master without timer messages (or an older one) does not answer it.
        const r = await this.#client.invoke(master, createRequest(RequestCode.GET_TIMER_CHECK_POINT), 5000);
        if (r.code === 0 && r.body && r.body.length >= 32) this.#targets.timerCheckpoint.replaceCheckpoint(decodeTimerCheckpoint(r.body));
      }
      this.lastSyncAt = Date.now();
      if (this.#lastError) this.#log.info({ master }, 'metadata sync from master works again');
      this.#lastError = undefined;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (message !== this.#lastError) this.#log.warn({ master, err: message }, 'metadata sync from master failed');
      this.#lastError = message;
    }
  }
}
