// Wires store, metadata, processors, transport and NameServer registration into one broker,
// and runs its lifecycle: recover → listen → register; stop → unregister → drain → flush.
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { BrokerConfig } from '../config/broker-config.js';
import { RequestCode } from '../protocol/codes.js';
import { encodeHost } from '../protocol/message.js';
import { DefaultMessageStore } from '../store/default-message-store.js';
import type { MessageStore } from '../store/message-store.js';
import { RemotingClient } from '../transport/client.js';
import { RemotingServer } from '../transport/server.js';
import { AdminProcessor } from './admin-processor.js';
import { ClientManager } from './client-manager.js';
import { ClientProcessor } from './client-processor.js';
import type { BrokerContext, BrokerStats } from './context.js';
import { ConsumerOffsetManager, SubscriptionGroupManager, TopicConfigManager } from './metadata.js';
import { NamesrvRegistrar } from './namesrv-registrar.js';
import { PullMessageProcessor } from './pull-processor.js';
import { PullRequestHoldService } from './pull-hold-service.js';
import { SendMessageProcessor } from './send-processor.js';
import { initUniqIdPrefix } from './uniq-id.js';

const OFFSET_PERSIST_INTERVAL_MS = 5_000;
const CLIENT_SCAN_INTERVAL_MS = 10_000;

export interface BrokerControllerOptions {
  /** Use this store instead of the file store (tests). */
  store?: MessageStore;
}

export class BrokerController {
  readonly config: BrokerConfig;
  readonly log: Logger;
  readonly store: MessageStore;
  readonly topics: TopicConfigManager;
  readonly groups: SubscriptionGroupManager;
  readonly offsets: ConsumerOffsetManager;
  readonly clients: ClientManager;
  readonly pullHold = new PullRequestHoldService();
  readonly registrar: NamesrvRegistrar;
  readonly #server: RemotingServer;
  readonly #outbound: RemotingClient;
  readonly #ctx: BrokerContext;
  readonly #timers: NodeJS.Timeout[] = [];
  #permission: number;
  #port = 0;
  #started = false;
  #stopping: Promise<void> | undefined;

  constructor(config: BrokerConfig, log: Logger, options: BrokerControllerOptions = {}) {
    this.config = config;
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
        logger: log,
      });
    this.topics = new TopicConfigManager(configDir, log);
    this.groups = new SubscriptionGroupManager(configDir, config.autoCreateSubscriptionGroup, log);
    this.offsets = new ConsumerOffsetManager(configDir);
    this.clients = new ClientManager(log);
    this.#server = new RemotingServer(log, {
      limits: { maxBodyBytes: config.maxMessageSize },
      idleTimeoutMs: config.serverChannelMaxIdleTimeSeconds * 1000,
    });
    this.#outbound = new RemotingClient(log);
    const brokerAddr = `${config.brokerIP1}:${config.listenPort}`;
    this.registrar = new NamesrvRegistrar(
      this.#outbound,
      {
        clusterName: config.brokerClusterName,
        brokerName: config.brokerName,
        brokerId: config.brokerId,
        brokerAddr,
        haServerAddr: `${config.brokerIP2}:${config.haListenPort}`,
      },
      config.namesrvAddrList,
      this.topics,
      log,
      config.registerBrokerTimeoutMills,
    );
    const stats: BrokerStats = { startTime: Date.now(), putMessageTimes: 0, putMessageBytes: 0, getMessageTimes: 0, getMessageBytes: 0 };
    this.#ctx = {
      config,
      log,
      store: this.store,
      topics: this.topics,
      groups: this.groups,
      offsets: this.offsets,
      clients: this.clients,
      pullHold: this.pullHold,
      brokerAddr,
      storeHost: encodeHost(brokerAddr),
      stats,
      permission: () => this.#permission,
      registerNow: () => this.registrar.registerSoon(),
    };
    initUniqIdPrefix(config.brokerIP1);
    this.#registerProcessors();
  }

  get port(): number {
    return this.#port;
  }

  get brokerAddr(): string {
    return this.#ctx.brokerAddr;
  }

  async start(): Promise<void> {
    const c = this.config;
    await this.store.start();
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
    this.store.onDispatch((m) => this.pullHold.onDispatch(m));
    this.#port = await this.#server.listen(c.listenPort, c.bindAddress);
    // Clients before 4.7 default to the "VIP channel" on listenPort - 2; serve it too.
    if (c.listenPort > 2) {
      await this.#server.listen(c.listenPort - 2, c.bindAddress).catch((err: unknown) => {
        this.log.warn({ port: c.listenPort - 2, err: err instanceof Error ? err.message : String(err) }, 'fast channel port unavailable, serving listenPort only');
      });
    }
    this.#every(OFFSET_PERSIST_INTERVAL_MS, () => this.offsets.persist());
    this.#every(CLIENT_SCAN_INTERVAL_MS, () => this.clients.scanExpired());
    this.#started = true;
    if (c.namesrvAddrList.length > 0) await this.registrar.start(c.registerNameServerPeriod);
    else this.log.warn('no namesrvAddr configured: clients cannot discover this broker');
  }

  /** Graceful stop: leave the NameServers first so clients move away, then drain and flush. */
  shutdown(): Promise<void> {
    this.#stopping ??= this.#shutdown();
    return this.#stopping;
  }

  async #shutdown(): Promise<void> {
    for (const t of this.#timers) clearInterval(t);
    if (this.#started && this.config.namesrvAddrList.length > 0) await this.registrar.unregisterAll();
    this.pullHold.releaseAll();
    await this.#server.close();
    await this.#outbound.close();
    if (this.#started) this.offsets.persist(true);
    await this.store.shutdown();
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
    const R = RequestCode;
    for (const code of [R.SEND_MESSAGE, R.SEND_MESSAGE_V2, R.SEND_BATCH_MESSAGE]) s.register(code, (req, conn) => send.process(req, conn));
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
    s.register(R.GET_MAX_OFFSET, (req) => admin.maxOffset(req));
    s.register(R.GET_MIN_OFFSET, (req) => admin.minOffset(req));
    s.register(R.SEARCH_OFFSET_BY_TIMESTAMP, (req) => admin.searchOffset(req));
    s.register(R.GET_EARLIEST_MSG_STORETIME, (req) => admin.earliestMsgStoreTime(req));
    s.register(R.VIEW_MESSAGE_BY_ID, (req) => admin.viewMessageById(req));
    s.register(R.UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, (req) => admin.createSubscriptionGroup(req));
    s.register(R.GET_ALL_SUBSCRIPTIONGROUP_CONFIG, (req) => admin.allSubscriptionGroups(req));
    s.register(R.DELETE_SUBSCRIPTIONGROUP, (req) => admin.deleteSubscriptionGroup(req));
    s.register(R.GET_ALL_CONSUMER_OFFSET, (req) => admin.allConsumerOffsets(req));
    s.register(R.GET_TOPIC_STATS_INFO, (req) => admin.topicStats(req));
    s.register(R.GET_CONSUMER_CONNECTION_LIST, (req) => admin.consumerConnections(req));
    s.register(R.GET_PRODUCER_CONNECTION_LIST, (req) => admin.producerConnections(req));
  }
}
