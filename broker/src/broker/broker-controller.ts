// Wires store, metadata, processors, transport and NameServer registration into one broker,
// and runs its lifecycle: recover → listen → register; stop → unregister → drain → flush.
import { join } from 'node:path';
import type { Logger } from 'pino';
import { RequestError } from '../common/errors.js';
import { brokerConfigEntries, loadBrokerConfig, type BrokerConfig } from '../config/broker-config.js';
import { isWriteable, Perm, RequestCode, ResponseCode } from '../protocol/codes.js';
import { encodeHost } from '../protocol/message.js';
import { HAClient } from '../ha/ha-client.js';
import { HAService } from '../ha/ha-service.js';
import { DefaultMessageStore } from '../store/default-message-store.js';
import type { ReplicableStore } from '../store/message-store.js';
import { RemotingClient } from '../transport/client.js';
import { RemotingServer } from '../transport/server.js';
import { BrokerObservability } from '../observability/broker-observability.js';
import type { BrokerStatusSource } from '../observability/broker-status.js';
import { PRODUCT_VERSION, ROCKETMQ_VERSION } from '../observability/version.js';
import { AdminProcessor } from './admin-processor.js';
import { QueryMessageProcessor } from './processors/query-message-processor.js';
import { ResetOffsetProcessor } from './processors/reset-offset-processor.js';
import { ClientManager } from './client-manager.js';
import { ClientProcessor } from './client-processor.js';
import type { BrokerContext, BrokerStats } from './context.js';
import { ConsumerOffsetManager, SubscriptionGroupManager, TopicConfigManager } from './metadata.js';
import { NamesrvRegistrar } from './namesrv-registrar.js';
import { PullMessageProcessor } from './pull-processor.js';
import { ReplicationManager } from './replication-manager.js';
import { SlaveSynchronizer } from './slave-sync.js';
import { PullRequestHoldService } from './pull-hold-service.js';
import { ScheduleMessageService, delayLevelsOf, scheduleTagsCodeOf } from './schedule-message-service.js';
import { TimerMessageService } from './timer-message-service.js';
import { SendBackProcessor } from './send-back-processor.js';
import { LockBatchProcessor, RebalanceLockManager } from './rebalance-lock-manager.js';
import { ReplyMessageProcessor } from './reply-processor.js';
import { SendMessageProcessor } from './send-processor.js';
import { EndTransactionProcessor } from './transaction/end-transaction-processor.js';
import { TransactionalMessageService } from './transaction/transactional-message-service.js';
import { initUniqIdPrefix } from './uniq-id.js';

const OFFSET_PERSIST_INTERVAL_MS = 5_000;

/** Keys UPDATE_BROKER_CONFIG may change without a restart. */
const RUNTIME_KEYS = new Set([
  'brokerPermission', 'brokerRole', 'brokerId', 'haMasterAddress', 'namesrvAddr', 'slaveReadEnable', 'longPollingEnable',
  'shortPollingTimeMills', 'autoCreateTopicEnable', 'autoCreateSubscriptionGroup', 'defaultTopicQueueNums',
  'transactionTimeOut', 'transactionCheckMax', 'transactionCheckInterval', 'rejectTransactionMessage',
  'useServerSideResetOffset',
]);
const CLIENT_SCAN_INTERVAL_MS = 10_000;
const SEEK_MASTER_INTERVAL_MS = 2_000;
/** Longest a graceful stop waits for accepted requests to finish. */
const DRAIN_TIMEOUT_MS = 10_000;

export interface BrokerControllerOptions {
  /** Use this store instead of the file store (tests). */
  store?: ReplicableStore;
}

export class BrokerController {
  config: BrokerConfig;
  readonly log: Logger;
  readonly store: ReplicableStore;
  readonly topics: TopicConfigManager;
  readonly groups: SubscriptionGroupManager;
  readonly offsets: ConsumerOffsetManager;
  readonly clients: ClientManager;
  readonly pullHold = new PullRequestHoldService();
  readonly registrar: NamesrvRegistrar;
  readonly replication: ReplicationManager;
  /** Delayed messages: delivers SCHEDULE_TOPIC_XXXX entries when due (master only). */
  readonly schedule: ScheduleMessageService;
  /** 5.x timer messages: delivers rmq_sys_wheel_timer entries at their TIMER_OUT_MS (master only). */
  readonly timers: TimerMessageService;
  /** Transactional messages: END_TRANSACTION and the check-back service (master only). */
  readonly transactions: TransactionalMessageService;
  /** Orderly consumption: queue locks per consumer group (LOCK_BATCH_MQ / UNLOCK_BATCH_MQ). */
  readonly locks: RebalanceLockManager;
  /** /healthz /readyz /status /metrics, and the send/pull metrics. */
  readonly observability: BrokerObservability;
  readonly #server: RemotingServer;
  readonly #outbound: RemotingClient;
  readonly #ctx: BrokerContext;
  readonly #timers: NodeJS.Timeout[] = [];
  #permission: number;
  #rawConfig: Map<string, string>;
  #port = 0;
  #started = false;
  #stopping: Promise<void> | undefined;
  #storeRecovered = false;

  /**
   * @param rawConfig the key=value pairs the config came from: runtime updates are validated
   *   by re-reading them merged with the update.
   */
  constructor(config: BrokerConfig, log: Logger, options: BrokerControllerOptions = {}, rawConfig: ReadonlyMap<string, string> = new Map()) {
    this.config = config;
    // Built from a config object (tests, embedding): its entries stand in for the file's lines.
    this.#rawConfig = new Map(rawConfig.size > 0 ? rawConfig : brokerConfigEntries(config));
    this.log = log;
    this.#permission = config.brokerPermission;
    const configDir = join(config.storePathRootDir, 'config');
    this.store =
      options.store ??
      new DefaultMessageStore({
        storePathRootDir: config.storePathRootDir,
        storePathCommitLog: config.storePathCommitLog,
        mappedFileSizeCommitLog: config.mappedFileSizeCommitLog,
        mappedFileSizeConsumeQueue: config.mappedFileSizeConsumeQueue,
        flushDiskType: config.flushDiskType,
        flushIntervalCommitLog: config.flushIntervalCommitLog,
        syncFlushTimeout: config.syncFlushTimeout,
        maxMessageSize: config.maxMessageSize,
        fileReservedTime: config.fileReservedTime,
        deleteWhen: config.deleteWhen,
        diskMaxUsedSpaceRatio: config.diskMaxUsedSpaceRatio,
        diskSpaceCleanForciblyRatio: config.diskSpaceCleanForciblyRatio,
        diskSpaceWarningLevelRatio: config.diskSpaceWarningLevelRatio,
        cleanResourceInterval: config.cleanResourceInterval,
        tagsCodeOf: scheduleTagsCodeOf(delayLevelsOf(config.messageDelayLevel)),
        messageIndexEnable: config.messageIndexEnable,
        maxHashSlotNum: config.maxHashSlotNum,
        maxIndexNum: config.maxIndexNum,
        logger: log,
      });
    this.topics = new TopicConfigManager(configDir, log);
    this.groups = new SubscriptionGroupManager(configDir, config.autoCreateSubscriptionGroup, log);
    this.offsets = new ConsumerOffsetManager(configDir);
    this.clients = new ClientManager(log);
    this.locks = new RebalanceLockManager({ lockMaxLiveTimeMs: () => this.config.rebalanceLockMaxLiveTimeMs, log });
    this.schedule = new ScheduleMessageService({
      store: this.store,
      configDir,
      levelsMs: delayLevelsOf(config.messageDelayLevel),
      flushIntervalMs: config.flushDelayOffsetInterval,
      isMultiTagTopic: (topic) => this.topics.get(topic)?.topicFilterType === 'MULTI_TAG',
      log,
    });
    this.timers = new TimerMessageService({
      store: this.store,
      configDir,
      flushIntervalMs: config.flushDelayOffsetInterval,
      isMultiTagTopic: (topic) => this.topics.get(topic)?.topicFilterType === 'MULTI_TAG',
      log,
    });
    this.transactions = new TransactionalMessageService({
      store: this.store,
      offsets: this.offsets,
      producerChannel: (group) => this.clients.availableProducerChannel(group)?.conn,
      settings: () => this.config,
      brokerHost: encodeHost(`${config.brokerIP1}:${config.listenPort}`),
      ensureTopic: (topic) => {
        if (this.topics.createSystemTopicIfAbsent(topic, 1, Perm.READ | Perm.WRITE).created) this.registrar.registerSoon();
      },
      log,
    });
    this.#server = new RemotingServer(log, {
      limits: { maxBodyBytes: config.maxMessageSize },
      idleTimeoutMs: config.serverChannelMaxIdleTimeSeconds * 1000,
    });
    this.#outbound = new RemotingClient(log);
    const brokerAddr = `${config.brokerIP1}:${config.listenPort}`;
    const store = this.store;
    this.replication = new ReplicationManager({
      role: config.brokerRole,
      brokerId: config.brokerId,
      brokerName: config.brokerName,
      haMasterAddress: config.haMasterAddress,
      slaveSyncIntervalMs: config.slaveSyncIntervalMillis,
      store,
      client: this.#outbound,
      slaveSync: new SlaveSynchronizer(this.#outbound, { topics: this.topics, groups: this.groups, offsets: this.offsets, delayOffsets: this.schedule, timerCheckpoint: this.timers }, log),
      namesrvs: () => this.config.namesrvAddrList,
      configDir,
      log,
      factories: {
        master: () => {
          const c = this.config;
          const ha = new HAService(store, {
            haListenPort: c.haListenPort,
            bindAddress: c.bindAddress,
            mappedFileSizeCommitLog: c.mappedFileSizeCommitLog,
            haSendHeartbeatInterval: c.haSendHeartbeatInterval,
            haHousekeepingInterval: c.haHousekeepingInterval,
            haTransferBatchSize: c.haTransferBatchSize,
            haMaxGapNotInSync: c.haMaxGapNotInSync,
            slaveTimeout: c.slaveTimeout,
            logger: log,
          });
          return {
            start: async () => {
              await ha.start();
            },
            shutdown: () => ha.stop(),
            waitForReplication: (endOffset, timeoutMs) => ha.waitForReplication(endOffset, timeoutMs),
            connections: () => ha.connections(),
          };
        },
        slave: () => {
          const c = this.config;
          const client = new HAClient(store, {
            haSendHeartbeatInterval: c.haSendHeartbeatInterval,
            haHousekeepingInterval: c.haHousekeepingInterval,
            logger: log,
          });
          return {
            start: () => client.start(),
            shutdown: () => client.stop(),
            setMasterAddress: (addr) => client.setMasterAddress(addr),
            status: () => client.status(),
          };
        },
      },
    });
    this.registrar = new NamesrvRegistrar(
      this.#outbound,
      () => ({
        clusterName: this.config.brokerClusterName,
        brokerName: this.config.brokerName,
        brokerId: this.replication.brokerId,
        brokerAddr,
        haServerAddr: `${this.config.brokerIP2}:${this.config.haListenPort}`,
      }),
      config.namesrvAddrList,
      this.topics,
      log,
      config.registerBrokerTimeoutMills,
      () => this.#permission,
      (masterAddr, haServerAddr) => this.replication.onRegistration(masterAddr, haServerAddr),
    );
    const stats: BrokerStats = { startTime: Date.now(), putMessageTimes: 0, putMessageBytes: 0, getMessageTimes: 0, getMessageBytes: 0 };
    this.observability = new BrokerObservability(
      this.#statusSource(stats.startTime),
      {
        healthPort: config.healthPort,
        healthBindAddress: config.healthBindAddress,
        readyMaxReplicationLagBytes: config.readyMaxReplicationLagBytes,
        diskPath: config.storePathCommitLog,
      },
      log,
    );
    // Processors read the config through the context on every request: runtime updates apply.
    const currentConfig = (): BrokerConfig => this.config;
    this.#ctx = {
      get config() {
        return currentConfig();
      },
      log,
      store: this.store,
      topics: this.topics,
      groups: this.groups,
      offsets: this.offsets,
      clients: this.clients,
      pullHold: this.pullHold,
      locks: this.locks,
      brokerAddr,
      storeHost: encodeHost(brokerAddr),
      stats,
      permission: () => this.#permission,
      acceptingSends: () => this.#stopping === undefined,
      registerNow: () => this.registrar.registerSoon(),
      role: () => this.replication.role,
      brokerId: () => this.replication.brokerId,
      masterAddr: () => this.replication.masterAddr,
      waitForSlaves: (endOffset) => this.replication.waitForSlaves(endOffset),
      updateConfig: (update) => this.updateConfig(update),
      replicationFacts: () => this.#replicationFacts(),
      metrics: this.observability.metrics,
      status: () => this.observability.status(),
      delayOffsetTable: () => this.schedule.encode(),
      timerCheckpoint: () => this.timers.encodeCheckpoint(),
    };
    initUniqIdPrefix(config.brokerIP1);
    this.#registerProcessors();
  }

  get port(): number {
    return this.#port;
  }

  /** Port of the health endpoints once started (undefined when healthPort=-1). */
  get healthPort(): number | undefined {
    return this.observability.port;
  }

  get brokerAddr(): string {
    return this.#ctx.brokerAddr;
  }

  async start(): Promise<void> {
    const c = this.config;
    // Liveness answers during recovery; readiness waits for it (and for registration).
    await this.observability.start();
    await this.store.start();
    this.#storeRecovered = true;
    this.topics.load({
      clusterName: c.brokerClusterName,
      brokerName: c.brokerName,
      autoCreateTopicEnable: c.autoCreateTopicEnable,
      defaultTopicQueueNums: c.defaultTopicQueueNums,
      traceTopicEnable: c.traceTopicEnable,
      msgTraceTopicName: c.msgTraceTopicName,
    });
    this.groups.load();
    this.offsets.load();
    this.schedule.load();
    this.timers.load();
    this.store.onDispatch((m) => this.pullHold.onDispatch(m));
    this.store.onDispatch((m) => this.schedule.onDispatch(m));
    this.store.onDispatch((m) => this.timers.onDispatch(m));
    await this.replication.start();
    this.#syncScheduleWithRole();
    this.#port = await this.#server.listen(c.listenPort, c.bindAddress);
    // Clients before 4.7 default to the "VIP channel" on listenPort - 2; serve it too.
    if (c.listenPort > 2) {
      await this.#server.listen(c.listenPort - 2, c.bindAddress).catch((err: unknown) => {
        this.log.warn({ port: c.listenPort - 2, err: err instanceof Error ? err.message : String(err) }, 'fast channel port unavailable, serving listenPort only');
      });
    }
    this.#every(OFFSET_PERSIST_INTERVAL_MS, () => this.offsets.persist());
    this.#every(CLIENT_SCAN_INTERVAL_MS, () => this.clients.scanExpired());
    // A slave without a master (just started, or demoted) asks the NameServers every 2 s rather
    // than every registration period, so it follows a newly promoted master quickly.
    this.#every(SEEK_MASTER_INTERVAL_MS, () => {
      if (this.replication.seekingMaster && this.config.namesrvAddrList.length > 0) void this.registrar.registerAll();
    });
    this.#started = true;
    if (c.namesrvAddrList.length > 0) await this.registrar.start(c.registerNameServerPeriod);
    else this.log.warn('no namesrvAddr configured: clients cannot discover this broker');
  }

  /**
   * Applies runtime-changeable keys (UPDATE_BROKER_CONFIG / mqadmin updateBrokerConfig). Role
   * changes (brokerRole, brokerId, haMasterAddress) promote or demote without a restart; they
   * last until the broker restarts with its config file.
   */
  async updateConfig(update: ReadonlyMap<string, string>): Promise<string> {
    const merged = new Map([...this.#rawConfig, ...update]);
    let next: BrokerConfig;
    try {
      next = loadBrokerConfig(merged, 'updateBrokerConfig').config;
    } catch (err) {
      throw new RequestError(ResponseCode.INVALID_PARAMETER, err instanceof Error ? err.message : String(err));
    }
    const before = new Map(brokerConfigEntries(this.config));
    const changed = brokerConfigEntries(next).filter(([k, v]) => before.get(k) !== v).map(([k]) => k);
    const fixed = changed.filter((k) => !RUNTIME_KEYS.has(k));
    if (fixed.length > 0) {
      throw new RequestError(ResponseCode.INVALID_PARAMETER, `${fixed.join(', ')} cannot be changed at runtime; restart the broker with the new value`);
    }
    const notes: string[] = [];
    const roleChanged = changed.includes('brokerRole') || changed.includes('brokerId') || update.has('haMasterAddress');
    if (roleChanged) {
      const leaving = next.brokerRole === 'SLAVE' && this.replication.role !== 'SLAVE';
      // A demoted master frees brokerId 0 on every NameServer before anything else.
      if (leaving && this.config.namesrvAddrList.length > 0) await this.registrar.unregisterAll(false);
      const change = await this.replication.changeRole(next.brokerRole, next.brokerId, update.get('haMasterAddress'));
      notes.push(change.message);
      this.#syncScheduleWithRole();
    }
    this.config = next;
    this.#rawConfig = merged;
    if (changed.includes('brokerPermission')) {
      this.#permission = next.brokerPermission;
      this.topics.bumpDataVersion();
      notes.push(`brokerPermission=${next.brokerPermission}`);
    }
    if (changed.includes('namesrvAddr')) {
      this.registrar.setNamesrvs(next.namesrvAddrList);
      notes.push(`name servers: ${next.namesrvAddrList.join(';')}`);
    }
    this.log.info({ changed, role: this.replication.role, brokerId: this.replication.brokerId }, 'broker config updated at runtime');
    if (this.config.namesrvAddrList.length > 0) await this.registrar.registerAll();
    return notes.length > 0 ? notes.join('; ') : `updated: ${changed.join(', ') || 'nothing changed'}`;
  }

  /** Only a master delivers delayed messages; a promoted slave resumes at the synced offsets. */
  #syncScheduleWithRole(): void {
    if (this.replication.role === 'SLAVE') this.schedule.stop();
    else this.schedule.start();
    if (this.replication.role === 'SLAVE') this.timers.stop();
    else this.timers.start();
    // Only a master checks transactions back, from the (synced) CID_RMQ_SYS_TRANS progress.
    if (this.replication.role === 'SLAVE') this.transactions.stop();
    else this.transactions.start();
  }

  #replicationFacts(): Record<string, string> {
    const r = this.replication;
    const facts: Record<string, string> = {
      replicationEpoch: String(r.epoch.epoch),
      replicationEpochStartOffset: String(r.epoch.epochStartOffset),
      commitLogMaxPhyOffset: String(this.store.getMaxPhyOffset()),
    };
    if (r.role === 'SLAVE') {
      const st = r.slaveStatus;
      facts.masterAddr = r.masterAddr ?? '';
      facts.haMasterConnected = String(st?.connected ?? false);
      facts.slaveReplicatedOffset = String(st?.replicatedOffset ?? 0);
      facts.slaveLagBytes = String(Math.max(0, (st?.masterMaxOffsetSeen ?? 0) - (st?.replicatedOffset ?? 0)));
      facts.slaveDroppedDivergentBytes = String(r.lastTruncatedBytes);
    } else {
      const conns = r.haConnections;
      facts.haConnectionCount = String(conns.length);
      facts.haSlaveAckedOffsets = conns.map((c) => `${c.remote}=${c.ackedOffset}`).join(',');
      facts.haMaxLagBytes = String(conns.reduce((m, c) => Math.max(m, c.lagBytes), 0));
    }
    return facts;
  }

  /** What /status, /readyz and /metrics read (the current config and role: both change at runtime). */
  #statusSource(startedAt: number): BrokerStatusSource {
    return {
      identity: () => ({
        clusterName: this.config.brokerClusterName,
        brokerName: this.config.brokerName,
        brokerId: this.replication.brokerId,
        role: this.replication.role,
        brokerAddr: this.#ctx.brokerAddr,
        version: PRODUCT_VERSION,
        rocketmqVersion: ROCKETMQ_VERSION,
      }),
      startedAt: () => startedAt,
      storeRecovered: () => this.#storeRecovered,
      stopping: () => this.#stopping !== undefined,
      storeOffsets: () => this.store.stats(),
      writable: () => isWriteable(this.#permission) && this.replication.role !== 'SLAVE',
      nameServers: () => ({
        configured: this.config.namesrvAddrList,
        registered: [...this.registrar.state.registeredWith],
        errors: this.registrar.state.lastError,
      }),
      openConnections: () => this.#server.connections.size,
      heldPullRequests: () => this.pullHold.size,
      replication: () => ({
        connections: () => this.replication.haConnections,
        slave: () => this.replication.slaveStatus,
        masterAddr: () => this.replication.masterAddr,
      }),
    };
  }

  /** Graceful stop: leave the NameServers first so clients move away, then drain and flush. */
  shutdown(): Promise<void> {
    this.#stopping ??= this.#shutdown();
    return this.#stopping;
  }

  async #shutdown(): Promise<void> {
    for (const t of this.#timers) clearInterval(t);
    this.schedule.stop();
    this.timers.stop();
    await this.transactions.shutdown();
    if (this.#started && this.config.namesrvAddrList.length > 0) await this.registrar.unregisterAll();
    // New sends are refused from here on (clients retry on another broker); parked pulls answer
    // now; sends already accepted finish (including SYNC_MASTER waits) within a bound.
    this.pullHold.releaseAll();
    const drainUntil = Date.now() + DRAIN_TIMEOUT_MS;
    while (this.#server.inFlightRequests() > 0 && Date.now() < drainUntil) await new Promise((r) => setTimeout(r, 20));
    const left = this.#server.inFlightRequests();
    if (left > 0) this.log.warn({ requests: left }, 'requests still in flight at shutdown');
    await this.#server.close();
    await this.replication.shutdown();
    await this.#outbound.close();
    if (this.#started) this.offsets.persist(true);
    if (this.#started) this.schedule.shutdown();
    if (this.#started) this.timers.shutdown();
    await this.store.shutdown();
    await this.observability.stop();
  }

  #every(ms: number, fn: () => void): void {
    const t = setInterval(() => {
      try {
        fn();
      } catch (err) {
        this.log.error({ err }, 'periodic task failed');
      }
    }, ms);
    t.unref();
    this.#timers.push(t);
  }

  #registerProcessors(): void {
    const s = this.#server;
    const send = new SendMessageProcessor(this.#ctx);
    const pull = new PullMessageProcessor(this.#ctx);
    const client = new ClientProcessor(this.#ctx);
    const admin = new AdminProcessor(this.#ctx);
    const sendBack = new SendBackProcessor(this.#ctx);
    const R = RequestCode;
    for (const code of [R.SEND_MESSAGE, R.SEND_MESSAGE_V2, R.SEND_BATCH_MESSAGE]) s.register(code, (req, conn) => send.process(req, conn));
    s.register(R.CONSUMER_SEND_MSG_BACK, (req) => sendBack.process(req));
    const endTransaction = new EndTransactionProcessor(this.#ctx, this.transactions);
    s.register(R.END_TRANSACTION, (req, conn) => endTransaction.process(req, conn));
    const reply = new ReplyMessageProcessor(this.#ctx);
    for (const code of [R.SEND_REPLY_MESSAGE, R.SEND_REPLY_MESSAGE_V2]) s.register(code, (req, conn) => reply.process(req, conn));
    const lockBatch = new LockBatchProcessor(this.locks);
    s.register(R.LOCK_BATCH_MQ, (req) => lockBatch.lock(req));
    s.register(R.UNLOCK_BATCH_MQ, (req) => lockBatch.unlock(req));
    for (const code of [R.PULL_MESSAGE, R.LITE_PULL_MESSAGE]) s.register(code, (req, conn) => pull.process(req, conn));
    s.register(R.HEART_BEAT, (req, conn) => client.heartbeat(req, conn));
    s.register(R.UNREGISTER_CLIENT, (req, conn) => client.unregisterClient(req, conn));
    s.register(R.CHECK_CLIENT_CONFIG, (req) => client.checkClientConfig(req));
    s.register(R.GET_CONSUMER_LIST_BY_GROUP, (req) => client.consumerList(req));
    s.register(R.UPDATE_CONSUMER_OFFSET, (req) => client.updateOffset(req));
    s.register(R.QUERY_CONSUMER_OFFSET, (req) => client.queryOffset(req));
    s.register(R.UPDATE_AND_CREATE_TOPIC, (req) => admin.createTopic(req));
    s.register(R.DELETE_TOPIC_IN_BROKER, (req) => admin.deleteTopic(req));
    s.register(R.GET_ALL_TOPIC_CONFIG, (req) => admin.allTopicConfig(req));
    s.register(R.GET_BROKER_RUNTIME_INFO, (req) => admin.runtimeInfo(req));
    s.register(R.GET_BROKER_CONFIG, (req) => admin.brokerConfig(req));
    s.register(R.UPDATE_BROKER_CONFIG, (req) => admin.updateBrokerConfig(req));
    s.register(R.GET_ALL_DELAY_OFFSET, (req) => admin.allDelayOffsets(req));
    s.register(R.GET_TIMER_CHECK_POINT, (req) => admin.timerCheckpoint(req));
    s.register(R.GET_ALL_MESSAGE_REQUEST_MODE, (req) => admin.allMessageRequestModes(req));
    s.register(R.GET_MAX_OFFSET, (req) => admin.maxOffset(req));
    s.register(R.GET_MIN_OFFSET, (req) => admin.minOffset(req));
    s.register(R.SEARCH_OFFSET_BY_TIMESTAMP, (req) => admin.searchOffset(req));
    s.register(R.GET_EARLIEST_MSG_STORETIME, (req) => admin.earliestMsgStoreTime(req));
    s.register(R.VIEW_MESSAGE_BY_ID, (req) => admin.viewMessageById(req));
    const query = new QueryMessageProcessor(this.store);
    s.register(R.QUERY_MESSAGE, (req) => query.queryMessage(req));
    const reset = new ResetOffsetProcessor(this.#ctx);
    s.register(R.INVOKE_BROKER_TO_RESET_OFFSET, (req) => reset.resetOffset(req));
    s.register(R.INVOKE_BROKER_TO_GET_CONSUMER_STATUS, (req) => reset.consumerStatus(req));
    s.register(R.UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, (req) => admin.createSubscriptionGroup(req));
    s.register(R.GET_ALL_SUBSCRIPTIONGROUP_CONFIG, (req) => admin.allSubscriptionGroups(req));
    s.register(R.DELETE_SUBSCRIPTIONGROUP, (req) => admin.deleteSubscriptionGroup(req));
    s.register(R.GET_ALL_CONSUMER_OFFSET, (req) => admin.allConsumerOffsets(req));
    s.register(R.GET_TOPIC_STATS_INFO, (req) => admin.topicStats(req));
    s.register(R.GET_CONSUMER_CONNECTION_LIST, (req) => admin.consumerConnections(req));
    s.register(R.GET_PRODUCER_CONNECTION_LIST, (req) => admin.producerConnections(req));
    s.register(R.GET_CONSUME_STATS, (req) => admin.consumeStats(req));
    s.register(R.QUERY_TOPIC_CONSUME_BY_WHO, (req) => admin.topicConsumeByWho(req));
    s.register(R.GET_TOPIC_CONFIG, (req) => admin.topicConfig(req));
  }
}
