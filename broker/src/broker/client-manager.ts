// Producers and consumers known to this broker, per group, keyed by their connection.
// Consumers of a group are told (NOTIFY_CONSUMER_IDS_CHANGED) when members come and go so they
// rebalance at once instead of waiting for their 20 s timer.
import type { Logger } from 'pino';
import { RequestCode } from '../protocol/codes.js';
import { createRequest } from '../protocol/remoting.js';
import type { RemotingConnection } from '../transport/connection.js';

export interface SubscriptionData {
  topic: string;
  subString: string;
  tagsSet: string[];
  codeSet: number[];
  expressionType: string;
  subVersion: number;
  classFilterMode: boolean;
}

export interface ClientChannel {
  conn: RemotingConnection;
  clientId: string;
  language: string;
  version: number;
  lastUpdateTimestamp: number;
}

export interface ConsumerGroupInfo {
  groupName: string;
  consumeType: string;
  messageModel: string;
  consumeFromWhere: string;
  channels: Map<number, ClientChannel>; // by connection id
  subscriptions: Map<string, SubscriptionData>;
  lastUpdateTimestamp: number;
}

export const CHANNEL_EXPIRED_MS = 120_000;

export class ClientManager {
  readonly producers = new Map<string, Map<number, ClientChannel>>();
  readonly consumers = new Map<string, ConsumerGroupInfo>();
  readonly #log: Logger;
  readonly #watched = new Set<number>();

  constructor(log: Logger) {
    this.#log = log;
  }

  registerProducer(group: string, channel: ClientChannel): void {
    let m = this.producers.get(group);
    if (!m) this.producers.set(group, (m = new Map<number, ClientChannel>()));
    const isNew = !m.has(channel.conn.id);
    m.set(channel.conn.id, channel);
    this.#watch(channel.conn);
    if (isNew) this.#log.info({ group, clientId: channel.clientId, remote: channel.conn.remoteAddress }, 'producer registered');
  }

  /**
   * Registers or refreshes a consumer. Returns true when the group's membership changed, in
   * which case the caller should notify the group.
   */
  registerConsumer(
    group: string,
    channel: ClientChannel,
    info: { consumeType: string; messageModel: string; consumeFromWhere: string },
    subscriptions: readonly SubscriptionData[] | undefined,
  ): boolean {
    let g = this.consumers.get(group);
    if (!g) {
      g = { groupName: group, ...info, channels: new Map(), subscriptions: new Map(), lastUpdateTimestamp: Date.now() };
      this.consumers.set(group, g);
    }
    g.consumeType = info.consumeType;
    g.messageModel = info.messageModel;
    g.consumeFromWhere = info.consumeFromWhere;
    g.lastUpdateTimestamp = Date.now();
    const isNew = !g.channels.has(channel.conn.id);
    g.channels.set(channel.conn.id, channel);
    this.#watch(channel.conn);
    if (subscriptions) {
      // Java keeps subscriptions whose subVersion did not go backwards and drops topics no
      // longer subscribed (ConsumerGroupInfo.updateSubscription).
      const next = new Map<string, SubscriptionData>();
      for (const s of subscriptions) {
        const old = g.subscriptions.get(s.topic);
        next.set(s.topic, old && old.subVersion > s.subVersion ? old : s);
      }
      g.subscriptions = next;
    }
    if (isNew) this.#log.info({ group, clientId: channel.clientId, remote: channel.conn.remoteAddress }, 'consumer registered');
    return isNew;
  }

  unregisterProducer(group: string, conn: RemotingConnection): void {
    const m = this.producers.get(group);
    if (m?.delete(conn.id) && m.size === 0) this.producers.delete(group);
  }

  /** Returns true when the group's membership changed. */
  unregisterConsumer(group: string, conn: RemotingConnection): boolean {
    const g = this.consumers.get(group);
    if (!g || !g.channels.delete(conn.id)) return false;
    this.#log.info({ group, remote: conn.remoteAddress }, 'consumer unregistered');
    if (g.channels.size === 0) this.consumers.delete(group);
    return true;
  }

  /**
   * The connection of the producer with this clientId (ProducerManager.findChannel, used to push
   * replies to a requester): the most recently heartbeated open one.
   */
  findProducerChannel(clientId: string): ClientChannel | undefined {
    let best: ClientChannel | undefined;
    for (const m of this.producers.values()) {
      for (const c of m.values()) {
        if (c.clientId === clientId && !c.conn.closed && (!best || c.lastUpdateTimestamp > best.lastUpdateTimestamp)) best = c;
      }
    }
    return best;
  }

  /**
   * A live connection of a producer of `group` (ProducerManager.getAvailableChannel, used for
   * transaction check-back): a random open one, so checks spread over the group's producers.
   */
  availableProducerChannel(group: string): ClientChannel | undefined {
    const open = [...(this.producers.get(group)?.values() ?? [])].filter((c) => !c.conn.closed);
    return open.length > 0 ? open[Math.floor(Math.random() * open.length)] : undefined;
  }

  consumerIds(group: string): string[] {
    const g = this.consumers.get(group);
    return g ? [...g.channels.values()].map((c) => c.clientId) : [];
  }

  /** Tells every remaining member of the group to rebalance now. */
  notifyConsumerIdsChanged(group: string): void {
    const g = this.consumers.get(group);
    if (!g) return;
    for (const c of g.channels.values()) {
      c.conn.invokeOneway(createRequest(RequestCode.NOTIFY_CONSUMER_IDS_CHANGED, { consumerGroup: group }));
    }
  }

  /** Drops channels that have not heartbeated for CHANNEL_EXPIRED_MS and closes them. */
  scanExpired(now = Date.now()): void {
    const expired = new Set<RemotingConnection>();
    for (const m of this.producers.values()) for (const c of m.values()) if (now - c.lastUpdateTimestamp > CHANNEL_EXPIRED_MS) expired.add(c.conn);
    for (const g of this.consumers.values()) for (const c of g.channels.values()) if (now - c.lastUpdateTimestamp > CHANNEL_EXPIRED_MS) expired.add(c.conn);
    for (const conn of expired) {
      this.#log.warn({ remote: conn.remoteAddress }, 'client channel expired without heartbeat, closing');
      this.#onClosed(conn);
      conn.close();
    }
  }

  #watch(conn: RemotingConnection): void {
    if (this.#watched.has(conn.id)) return;
    this.#watched.add(conn.id);
    conn.onClose(() => {
      this.#watched.delete(conn.id);
      this.#onClosed(conn);
    });
  }

  #onClosed(conn: RemotingConnection): void {
    for (const [group, m] of this.producers) if (m.delete(conn.id) && m.size === 0) this.producers.delete(group);
    for (const group of [...this.consumers.keys()]) {
      if (this.unregisterConsumer(group, conn)) this.notifyConsumerIdsChanged(group);
    }
  }
}
