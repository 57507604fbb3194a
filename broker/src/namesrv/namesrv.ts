// The NameServer: brokers register here, clients ask it for routes.
import { inflateSync } from 'node:zlib';
import type { Logger } from 'pino';
import { toDataVersion } from '../common/data-version.js';
import { RequestError } from '../common/errors.js';
import { bareKeyMap, jsonBody, parseJsonBody } from '../common/json.js';
import { toTopicConfig, type TopicConfig } from '../common/topic-config.js';
import { RequestCode, ResponseCode, VERSION_4_9_4 } from '../protocol/codes.js';
import { header, optionalHeader } from '../protocol/headers.js';
import { createResponse, type RemotingCommand } from '../protocol/remoting.js';
import { RemotingServer } from '../transport/server.js';
import type { RemotingConnection } from '../transport/connection.js';
import { crc32 } from 'node:zlib';
import { RouteInfoManager, type BrokerData, type TopicRouteData } from './route-info-manager.js';
import { NamesrvObservability } from '../observability/namesrv-observability.js';
import { PRODUCT_VERSION } from '../observability/version.js';

export interface NameServerConfig {
  listenPort: number;
  /** Address to bind; RocketMQ binds all interfaces, tests use 127.0.0.1. */
  bindAddress: string;
  /** Interval of the scan that expires silent brokers. */
  scanNotActiveBrokerIntervalMs: number;
  /** Return orderTopicConf in routes (namesrv `orderMessageEnable`). */
  orderMessageEnable: boolean;
  /** HTTP port of /healthz /readyz /status /metrics; 0 = any free port; undefined or -1 = none. */
  healthPort?: number | undefined;
  /** Interface of the health server (default bindAddress). */
  healthBindAddress?: string | undefined;
}

export const DEFAULT_NAMESRV_CONFIG: NameServerConfig = {
  listenPort: 9876,
  bindAddress: '0.0.0.0',
  scanNotActiveBrokerIntervalMs: 5_000,
  orderMessageEnable: false,
};

const ORDER_TOPIC_CONFIG = 'ORDER_TOPIC_CONFIG';

export function encodeBrokerData(bd: BrokerData, standardJson: boolean): string {
  const addrs = standardJson
    ? JSON.stringify(Object.fromEntries([...bd.brokerAddrs].map(([k, v]) => [String(k), v])))
    : bareKeyMap(bd.brokerAddrs);
  const zone = bd.zoneName ? `,"zoneName":${JSON.stringify(bd.zoneName)}` : '';
  return `{"brokerAddrs":${addrs},"brokerName":${JSON.stringify(bd.brokerName)},"cluster":${JSON.stringify(bd.cluster)},"enableActingMaster":${bd.enableActingMaster}${zone}}`;
}

/**
 * TopicRouteData as compact JSON. Clients ≥ 4.9.4 (or asking for it) get quoted map keys;
 * older ones get fastjson's bare keys, exactly like the Java NameServer sends them.
 */
export function encodeTopicRoute(route: TopicRouteData, standardJson: boolean): string {
  const brokers = route.brokerDatas.map((b) => encodeBrokerData(b, standardJson)).join(',');
  const queues = route.queueDatas
    .map((q) => `{"brokerName":${JSON.stringify(q.brokerName)},"perm":${q.perm},"readQueueNums":${q.readQueueNums},"topicSysFlag":${q.topicSysFlag},"writeQueueNums":${q.writeQueueNums}}`)
    .join(',');
  const order = route.orderTopicConf ? `,"orderTopicConf":${JSON.stringify(route.orderTopicConf)}` : '';
  return `{"brokerDatas":[${brokers}],"filterServerTable":{}${order},"queueDatas":[${queues}]}`;
}

/** Decodes the compressed RegisterBrokerBody some Java brokers send (`compressedRegister`). */
function decodeCompressedRegisterBody(body: Buffer): { dataVersion: unknown; topics: Map<string, TopicConfig> } {
  const raw = inflateSync(body);
  let p = 0;
  const readInt = (): number => {
    const v = raw.readInt32BE(p);
    p += 4;
    return v;
  };
  const readStr = (): string => {
    const n = readInt();
    const s = raw.toString('utf8', p, p + n);
    p += n;
    return s;
  };
  const dataVersion: unknown = JSON.parse(readStr());
  const count = readInt();
  const topics = new Map<string, TopicConfig>();
  for (let i = 0; i < count; i++) {
    // TopicConfig.encode(): "name readQ writeQ perm filterType [sysFlag order attributes]"
    const parts = readStr().split(' ');
    const name = parts[0] ?? '';
    topics.set(name, toTopicConfig(name, {
      topicName: name,
      readQueueNums: Number(parts[1]),
      writeQueueNums: Number(parts[2]),
      perm: Number(parts[3]),
      topicFilterType: parts[4],
      topicSysFlag: parts[5] !== undefined ? Number(parts[5]) : 0,
      order: parts[6] === 'true',
    }));
  }
  return { dataVersion, topics };
}

export class NameServer {
  readonly routes = new RouteInfoManager();
  readonly #config: NameServerConfig;
  readonly #log: Logger;
  readonly #server: RemotingServer;
  readonly #kv = new Map<string, Map<string, string>>();
  #scanTimer: NodeJS.Timeout | undefined;
  #port = 0;
  #listening = false;
  #stopping = false;
  readonly observability: NamesrvObservability;

  constructor(config: Partial<NameServerConfig>, log: Logger) {
    this.#config = { ...DEFAULT_NAMESRV_CONFIG, ...config };
    this.#log = log;
    this.#server = new RemotingServer(log, { idleTimeoutMs: 120_000 });
    this.observability = this.#createObservability(Date.now());
    this.#registerProcessors();
    this.#server.onConnection((conn) =>
      conn.onClose(() => {
        const gone = this.routes.onConnectionClosed(conn.id);
        if (gone.length > 0) this.#log.info({ brokers: gone }, 'broker connection closed, brokers removed');
      }),
    );
  }

  get port(): number {
    return this.#port;
  }

  /** Port of the health endpoints, once started (undefined when there is no health server). */
  get healthPort(): number | undefined {
    return this.observability.port;
  }

  async start(): Promise<void> {
    await this.observability.start();
    try {
      this.#port = await this.#server.listen(this.#config.listenPort, this.#config.bindAddress);
    } catch (err) {
      await this.observability.stop();
      throw err;
    }
    this.#listening = true;
    this.#scanTimer = setInterval(() => {
      const gone = this.routes.scanNotActiveBrokers();
      if (gone.length > 0) this.#log.warn({ brokers: gone }, 'brokers expired after missing registrations');
    }, this.#config.scanNotActiveBrokerIntervalMs);
    this.#scanTimer.unref();
  }

  async shutdown(): Promise<void> {
    this.#stopping = true;
    if (this.#scanTimer) clearInterval(this.#scanTimer);
    await this.#server.close();
    this.#listening = false;
    await this.observability.stop();
  }

  #createObservability(startedAt: number): NamesrvObservability {
    const brokerTable = () => this.routes.clusterInfo().brokerAddrTable;
    return new NamesrvObservability(
      {
        listening: () => this.#listening,
        stopping: () => this.#stopping,
        listenAddress: () => `${this.#config.bindAddress}:${this.#port}`,
        startedAt: () => startedAt,
        brokers: () => [...brokerTable().values()].reduce((n, bd) => n + bd.brokerAddrs.size, 0),
        brokerGroups: () => brokerTable().size,
        clusters: () => this.routes.clusterInfo().clusterAddrTable.size,
        topics: () => this.routes.allTopics().length,
        openConnections: () => this.#server.connections.size,
      },
      { healthPort: this.#config.healthPort ?? -1, healthBindAddress: this.#config.healthBindAddress ?? this.#config.bindAddress, version: PRODUCT_VERSION },
      this.#log,
    );
  }

  #registerProcessors(): void {
    const s = this.#server;
    s.register(RequestCode.REGISTER_BROKER, (req, conn) => this.#registerBroker(req, conn));
    s.register(RequestCode.UNREGISTER_BROKER, (req) => {
      const removed = this.routes.unregisterBroker(header(req, 'clusterName'), header(req, 'brokerAddr'), header(req, 'brokerName'), Number(header(req, 'brokerId')));
      if (removed) this.#log.info({ brokerAddr: header(req, 'brokerAddr') }, 'broker unregistered');
      return createResponse(req, ResponseCode.SUCCESS);
    });
    s.register(RequestCode.BROKER_HEARTBEAT, (req) => {
      this.routes.heartbeat(header(req, 'brokerAddr'));
      return createResponse(req, ResponseCode.SUCCESS);
    });
    s.register(RequestCode.QUERY_DATA_VERSION, (req) => {
      const brokerAddr = header(req, 'brokerAddr');
      const theirs = toDataVersion(parseJsonBody(req.body));
      const ours = this.routes.dataVersionOf(brokerAddr);
      const changed = !ours || !theirs || ours.counter !== theirs.counter || ours.timestamp !== theirs.timestamp;
      this.routes.heartbeat(brokerAddr);
      return createResponse(req, ResponseCode.SUCCESS, undefined, { changed: String(changed) }, ours ? jsonBody(ours) : undefined);
    });
    s.register(RequestCode.GET_ROUTEINFO_BY_TOPIC, (req) => this.#getRoute(req));
    s.register(RequestCode.GET_BROKER_CLUSTER_INFO, (req) => {
      const { brokerAddrTable, clusterAddrTable } = this.routes.clusterInfo();
      const brokers = [...brokerAddrTable].map(([name, bd]) => `${JSON.stringify(name)}:${encodeBrokerData(bd, true)}`).join(',');
      const clusters = JSON.stringify(Object.fromEntries([...clusterAddrTable].map(([c, names]) => [c, [...names]])));
      return createResponse(req, ResponseCode.SUCCESS, undefined, {}, Buffer.from(`{"brokerAddrTable":{${brokers}},"clusterAddrTable":${clusters}}`));
    });
    s.register(RequestCode.GET_ALL_TOPIC_LIST_FROM_NAMESERVER, (req) =>
      createResponse(req, ResponseCode.SUCCESS, undefined, {}, jsonBody({ topicList: this.routes.allTopics() })),
    );
    s.register(RequestCode.GET_TOPICS_BY_CLUSTER, (req) =>
      createResponse(req, ResponseCode.SUCCESS, undefined, {}, jsonBody({ topicList: this.routes.topicsOfCluster(header(req, 'cluster')) })),
    );
    s.register(RequestCode.GET_SYSTEM_TOPIC_LIST_FROM_NS, (req) => {
      const { topics, brokerAddr } = this.routes.systemTopics();
      return createResponse(req, ResponseCode.SUCCESS, undefined, {}, jsonBody(brokerAddr ? { topicList: topics, brokerAddr } : { topicList: topics }));
    });
    s.register(RequestCode.DELETE_TOPIC_IN_NAMESRV, (req) => {
      this.routes.deleteTopic(header(req, 'topic'), optionalHeader(req, 'clusterName'));
      return createResponse(req, ResponseCode.SUCCESS);
    });
    s.register(RequestCode.REGISTER_TOPIC_IN_NAMESRV, (req) => {
      const body = parseJsonBody(req.body) as { queueDatas?: unknown };
      const qds = Array.isArray(body.queueDatas) ? (body.queueDatas as Array<Record<string, unknown>>) : [];
      this.routes.registerTopic(
        header(req, 'topic'),
        qds.map((q) => ({
          brokerName: String(q.brokerName),
          readQueueNums: Number(q.readQueueNums),
          writeQueueNums: Number(q.writeQueueNums),
          perm: Number(q.perm),
          topicSysFlag: Number(q.topicSysFlag ?? 0),
        })),
      );
      return createResponse(req, ResponseCode.SUCCESS);
    });
    s.register(RequestCode.WIPE_WRITE_PERM_OF_BROKER, (req) => {
      const count = this.routes.setWritePerm(header(req, 'brokerName'), false);
      this.#log.info({ brokerName: header(req, 'brokerName'), topics: count }, 'write permission wiped');
      return createResponse(req, ResponseCode.SUCCESS, undefined, { wipeTopicCount: String(count) });
    });
    s.register(RequestCode.ADD_WRITE_PERM_OF_BROKER, (req) => {
      const count = this.routes.setWritePerm(header(req, 'brokerName'), true);
      this.#log.info({ brokerName: header(req, 'brokerName'), topics: count }, 'write permission added');
      return createResponse(req, ResponseCode.SUCCESS, undefined, { addTopicCount: String(count) });
    });
    s.register(RequestCode.PUT_KV_CONFIG, (req) => {
      const ns = header(req, 'namespace');
      let table = this.#kv.get(ns);
      if (!table) this.#kv.set(ns, (table = new Map<string, string>()));
      table.set(header(req, 'key'), header(req, 'value'));
      return createResponse(req, ResponseCode.SUCCESS);
    });
    s.register(RequestCode.GET_KV_CONFIG, (req) => {
      const value = this.#kv.get(header(req, 'namespace'))?.get(header(req, 'key'));
      if (value === undefined) {
        return createResponse(req, ResponseCode.QUERY_NOT_FOUND, `No config item, Namespace: ${header(req, 'namespace')} Key: ${header(req, 'key')}`);
      }
      return createResponse(req, ResponseCode.SUCCESS, undefined, { value });
    });
    s.register(RequestCode.DELETE_KV_CONFIG, (req) => {
      this.#kv.get(header(req, 'namespace'))?.delete(header(req, 'key'));
      return createResponse(req, ResponseCode.SUCCESS);
    });
    s.register(RequestCode.GET_KVLIST_BY_NAMESPACE, (req) => {
      const table = this.#kv.get(header(req, 'namespace'));
      if (!table) return createResponse(req, ResponseCode.QUERY_NOT_FOUND, `No config item, Namespace: ${header(req, 'namespace')}`);
      return createResponse(req, ResponseCode.SUCCESS, undefined, {}, jsonBody({ table: Object.fromEntries(table) }));
    });
  }

  #registerBroker(req: RemotingCommand, conn: RemotingConnection): RemotingCommand {
    const bodyCrc = Number(optionalHeader(req, 'bodyCrc32') ?? '0');
    const body = req.body ?? Buffer.alloc(0);
    // Brokers send UtilAll.crc32 (CRC32 masked to 31 bits); 0 means "not computed".
    if (bodyCrc !== 0 && (crc32(body) & 0x7fffffff) !== bodyCrc) {
      throw new RequestError(ResponseCode.SYSTEM_ERROR, 'crc32 not match');
    }
    let dataVersion: unknown;
    const topics = new Map<string, TopicConfig>();
    if (body.length > 0) {
      if (optionalHeader(req, 'compressed') === 'true') {
        const decoded = decodeCompressedRegisterBody(body);
        dataVersion = decoded.dataVersion;
        for (const [k, v] of decoded.topics) topics.set(k, v);
      } else {
        const parsed = parseJsonBody(body) as { topicConfigSerializeWrapper?: { dataVersion?: unknown; topicConfigTable?: Record<string, unknown> } };
        const wrapper = parsed.topicConfigSerializeWrapper ?? {};
        dataVersion = wrapper.dataVersion;
        for (const [name, tc] of Object.entries(wrapper.topicConfigTable ?? {})) topics.set(name, toTopicConfig(name, tc));
      }
    }
    const brokerAddr = header(req, 'brokerAddr');
    const isNew = this.routes.dataVersionOf(brokerAddr) === undefined;
    const result = this.routes.registerBroker({
      clusterName: header(req, 'clusterName'),
      brokerAddr,
      brokerName: header(req, 'brokerName'),
      brokerId: Number(header(req, 'brokerId')),
      haServerAddr: optionalHeader(req, 'haServerAddr') ?? '',
      dataVersion: toDataVersion(dataVersion) ?? { counter: 0, stateVersion: 0, timestamp: 0 },
      topicConfigs: topics,
      timeoutMs: Number(optionalHeader(req, 'heartbeatTimeoutMillis') ?? '0') || undefined,
      enableActingMaster: optionalHeader(req, 'enableActingMaster') === 'true',
      zoneName: optionalHeader(req, '__ZONE_NAME'),
      connectionId: conn.id,
    });
    if (result.rejected) {
      this.#log.warn({ brokerAddr, brokerName: header(req, 'brokerName') }, result.rejected);
      throw new RequestError(ResponseCode.SYSTEM_ERROR, result.rejected);
    }
    this.observability.metrics.brokerRegistrations++;
    if (isNew) {
      this.#log.info({ brokerAddr, brokerName: header(req, 'brokerName'), brokerId: header(req, 'brokerId'), topics: topics.size }, 'broker registered');
    }
    const ext: Record<string, string> = {};
    if (result.masterAddr) ext.masterAddr = result.masterAddr;
    if (result.haServerAddr) ext.haServerAddr = result.haServerAddr;
    const order = this.#kv.get(ORDER_TOPIC_CONFIG);
    const table = order ? Object.fromEntries(order) : {};
    return createResponse(req, ResponseCode.SUCCESS, undefined, ext, jsonBody({ table }));
  }

  #getRoute(req: RemotingCommand): RemotingCommand {
    const topic = header(req, 'topic');
    const route = this.routes.getRoute(topic);
    if (!route) {
      this.observability.metrics.routesNotFound++;
      return createResponse(req, ResponseCode.TOPIC_NOT_EXIST, `No topic route info in name server for the topic: ${topic}`);
    }
    if (this.#config.orderMessageEnable) route.orderTopicConf = this.#kv.get(ORDER_TOPIC_CONFIG)?.get(topic);
    this.observability.metrics.routesFound++;
    const standard = req.version >= VERSION_4_9_4 || optionalHeader(req, 'acceptStandardJsonOnly') === 'true';
    return createResponse(req, ResponseCode.SUCCESS, undefined, {}, Buffer.from(encodeTopicRoute(route, standard)));
  }
}
