// What every processor of the broker needs, wired once by BrokerController.
import type { Logger } from 'pino';
import type { BrokerConfig } from '../config/broker-config.js';
import type { MessageStore } from '../store/message-store.js';
import type { ClientManager } from './client-manager.js';
import type { ConsumerOffsetManager, SubscriptionGroupManager, TopicConfigManager } from './metadata.js';
import type { PullRequestHoldService } from './pull-hold-service.js';

export interface BrokerStats {
  startTime: number;
  putMessageTimes: number;
  putMessageBytes: number;
  getMessageTimes: number;
  getMessageBytes: number;
}

export interface BrokerContext {
  config: BrokerConfig;
  log: Logger;
  store: MessageStore;
  topics: TopicConfigManager;
  groups: SubscriptionGroupManager;
  offsets: ConsumerOffsetManager;
  clients: ClientManager;
  pullHold: PullRequestHoldService;
  /** "brokerIP1:listenPort": what clients and the NameServer know us by. */
  brokerAddr: string;
  /** Encoded brokerAddr, written into every record as the store host. */
  storeHost: Buffer;
  stats: BrokerStats;
  /** Broker-wide permission (brokerPermission): READ/WRITE bits apply on top of topic perms. */
  permission(): number;
  /** Re-registers with every NameServer now (after topic changes). */
  registerNow(): void;
}
