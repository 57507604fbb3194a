// What every processor of the broker needs, wired once by BrokerController.
import type { Logger } from 'pino';
import type { BrokerConfig } from '../config/broker-config.js';
import type { BrokerMetrics } from '../observability/broker-metrics.js';
import type { BrokerStatus } from '../observability/broker-status.js';
import type { MessageStore } from '../store/message-store.js';
import type { ClientManager } from './client-manager.js';
import type { ConsumerOffsetManager, SubscriptionGroupManager, TopicConfigManager } from './metadata.js';
import type { PullRequestHoldService } from './pull-hold-service.js';
import type { RebalanceLockManager } from './rebalance-lock-manager.js';

export interface BrokerStats {
  startTime: number;
  putMessageTimes: number;
  putMessageBytes: number;
  getMessageTimes: number;
  getMessageBytes: number;
}

export type BrokerRole = 'ASYNC_MASTER' | 'SYNC_MASTER' | 'SLAVE';

/** SYNC_MASTER acknowledgement outcome (4.x semantics, see protocol notes §7.3). */
export type ReplicationWait = 'OK' | 'SLAVE_NOT_AVAILABLE' | 'FLUSH_SLAVE_TIMEOUT';

export interface BrokerContext {
  config: BrokerConfig;
  log: Logger;
  store: MessageStore;
  topics: TopicConfigManager;
  groups: SubscriptionGroupManager;
  offsets: ConsumerOffsetManager;
  clients: ClientManager;
  pullHold: PullRequestHoldService;
  /** Orderly consumption locks (Java's handleRetryAndDLQ asks isLockAllExpired); optional for test contexts. */
  locks?: RebalanceLockManager;
  /** "brokerIP1:listenPort": what clients and the NameServer know us by. */
  brokerAddr: string;
  /** Encoded brokerAddr, written into every record as the store host. */
  storeHost: Buffer;
  stats: BrokerStats;
  /** False once a graceful stop began: new sends are turned away so clients retry elsewhere. */
  acceptingSends(): boolean;
  /** Broker-wide permission (brokerPermission): READ/WRITE bits apply on top of topic perms. */
  permission(): number;
  /** Re-registers with every NameServer now (after topic changes). */
  registerNow(): void;
  /** Current role and brokerId: they change at runtime on promotion/demotion. */
  role(): BrokerRole;
  brokerId(): number;
  /** Slave: the master's remoting address, when known. */
  masterAddr(): string | undefined;
  /** SYNC_MASTER: resolves once a slave has the bytes up to `endOffset` (or why not). */
  waitForSlaves(endOffset: number): Promise<ReplicationWait>;
  /** UPDATE_BROKER_CONFIG: applies runtime-changeable keys (including role changes). */
  updateConfig(update: ReadonlyMap<string, string>): Promise<string>;
  /** Replication facts for GET_BROKER_RUNTIME_INFO (role, epoch, HA connections, lag). */
  replicationFacts(): Record<string, string>;
  /** Send/pull counters and latency histograms (/metrics); optional so test contexts can omit it. */
  metrics?: BrokerMetrics;
  /** Health snapshot (/status, /readyz) for GET_BROKER_RUNTIME_INFO. */
  status?(): BrokerStatus;
  /** delayOffset.json text (GET_ALL_DELAY_OFFSET); absent in test contexts without a scheduler. */
  delayOffsetTable?(): string;
  /** GET_TIMER_CHECK_POINT body (Java's TimerCheckpoint layout); absent without a timer service. */
  timerCheckpoint?(): Buffer;
}
