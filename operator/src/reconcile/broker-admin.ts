// What the reconcilers need from running brokers and name servers, as two narrow interfaces:
// BrokerProbe (the broker's own health report: role, readiness, registration, replication) and
// BrokerAdmin (topics, write permission, runtime config). Decision code and tests depend only on
// these; the implementations below use the broker's health HTTP (/status) and the AdminClient
// (broker/src/admin), i.e. the same requests mqadmin sends.
import { AdminClient, type TopicConfig } from '../../../broker/src/admin/admin-client.js';
import { PORTS } from '../builders/common.js';

/** A broker's report about itself (GET /status on its health port). */
export interface MemberReport {
  role: string;
  brokerId: number;
  brokerName: string;
  brokerAddr: string;
  version: string;
  /** /readyz: store recovered, registered with a name server and, for a slave, caught up. */
  ready: boolean;
  unmet: string[];
  /** Name servers (as configured, DNS names) that accepted the latest registration. */
  registeredWith: string[];
  /** namesrvAddr the broker uses now. */
  nameServers: string[];
  writable: boolean;
  /** Slave: its link to the master. */
  replication?: { connected: boolean; lagBytes: number | null };
  /** Master: connected slaves. */
  haConnections?: Array<{ remote: string; lagBytes: number }>;
}

export interface BrokerProbe {
  /** The report of the broker in the pod with this IP; throws when it does not answer. */
  report(podIP: string): Promise<MemberReport>;
}

/** A topic as a broker holds it. */
export interface TopicSettings {
  topicName: string;
  readQueueNums: number;
  writeQueueNums: number;
  /** PermName bits: 6 RW, 4 R, 2 W. */
  perm: number;
  order: boolean;
  attributes: Record<string, string>;
}

export interface BrokerAdmin {
  /** The topic on the broker at `brokerAddr` (ip:port), undefined when it has none. */
  getTopic(brokerAddr: string, topic: string): Promise<TopicSettings | undefined>;
  applyTopic(brokerAddr: string, topic: TopicSettings): Promise<void>;
  deleteTopic(brokerAddr: string, topic: string): Promise<void>;
  /** Removes the topic's routes from these name servers (ip:port). */
  deleteTopicInNameServers(namesrvAddrs: readonly string[], topic: string): Promise<void>;
  /** Write permission of a broker group off on every name server (producers move to other groups). */
  wipeWritePerm(namesrvAddrs: readonly string[], brokerName: string): Promise<void>;
  /** An ordered topic's queue order configuration on the name servers (`brokerName:queues;…`), undefined when none. */
  getOrderConf(namesrvAddrs: readonly string[], topic: string): Promise<string | undefined>;
  putOrderConf(namesrvAddrs: readonly string[], topic: string, conf: string): Promise<void>;
  deleteOrderConf(namesrvAddrs: readonly string[], topic: string): Promise<void>;
  addWritePerm(namesrvAddrs: readonly string[], brokerName: string): Promise<void>;
  /** The broker's configuration as it runs now (GET_BROKER_CONFIG). */
  getBrokerConfig(brokerAddr: string): Promise<Record<string, string>>;
  /** updateBrokerConfig with keys the broker applies at runtime (namesrvAddr, …). */
  updateBrokerConfig(brokerAddr: string, entries: Record<string, string>): Promise<void>;
  close(): Promise<void>;
}

/** The name servers' KV namespace of ordered topics' queue order (NamesrvUtil.NAMESPACE_ORDER_TOPIC_CONFIG). */
export const ORDER_TOPIC_CONFIG = 'ORDER_TOPIC_CONFIG';

/** The broker's remoting address from its pod IP (fixed port). */
export const brokerAddrOf = (podIP: string): string => `${podIP}:${PORTS.broker}`;
/** A name server's address from its pod IP. */
export const namesrvAddrOf = (podIP: string): string => `${podIP}:${PORTS.namesrv}`;

function hostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** BrokerProbe over the broker's health HTTP (port 10910, `GET /status`). */
export class HttpBrokerProbe implements BrokerProbe {
  readonly #timeoutMs: number;
  readonly #port: number;

  constructor(opts: { timeoutMs?: number; port?: number } = {}) {
    this.#timeoutMs = opts.timeoutMs ?? 3_000;
    this.#port = opts.port ?? PORTS.brokerHealth;
  }

  async report(podIP: string): Promise<MemberReport> {
    const res = await fetch(`http://${hostPort(podIP, this.#port)}/status`, { signal: AbortSignal.timeout(this.#timeoutMs) });
    // /status answers 200 or 503 (not ready) with the same JSON body.
    const s = (await res.json()) as Partial<MemberReport> & { replication?: { connected: boolean; lagBytes: number | null } };
    if (typeof s.role !== 'string') throw new Error(`broker ${podIP}: /status has no role (HTTP ${res.status})`);
    const report: MemberReport = {
      role: s.role,
      brokerId: s.brokerId ?? -1,
      brokerName: s.brokerName ?? '',
      brokerAddr: s.brokerAddr ?? '',
      version: s.version ?? '',
      ready: s.ready === true,
      unmet: s.unmet ?? [],
      registeredWith: s.registeredWith ?? [],
      nameServers: s.nameServers ?? [],
      writable: s.writable !== false,
    };
    if (s.replication) report.replication = { connected: s.replication.connected, lagBytes: s.replication.lagBytes };
    if (s.haConnections) report.haConnections = s.haConnections.map((c) => ({ remote: c.remote, lagBytes: c.lagBytes }));
    return report;
  }
}

function toSettings(tc: TopicConfig): TopicSettings {
  return { topicName: tc.topicName, readQueueNums: tc.readQueueNums, writeQueueNums: tc.writeQueueNums, perm: tc.perm, order: tc.order, attributes: { ...tc.attributes } };
}

function failures(results: ReadonlyArray<{ namesrvAddr: string; ok: boolean; error?: Error }>): void {
  const failed = results.filter((r) => !r.ok);
  if (failed.length > 0) throw new Error(failed.map((r) => `${r.namesrvAddr}: ${r.error?.message ?? 'failed'}`).join('; '));
}

/** BrokerAdmin with the AdminClient (remoting requests, as mqadmin). */
export class AdminClientBrokerAdmin implements BrokerAdmin {
  readonly #opts: { timeoutMs: number; connectTimeoutMs: number };
  /** Broker requests need no name server. */
  readonly #brokers: AdminClient;
  /** One client per name-server set (AdminClient writes to all of its name servers). */
  readonly #namesrvs = new Map<string, AdminClient>();

  constructor(opts: { timeoutMs?: number; connectTimeoutMs?: number } = {}) {
    this.#opts = { timeoutMs: opts.timeoutMs ?? 5_000, connectTimeoutMs: opts.connectTimeoutMs ?? 3_000 };
    this.#brokers = new AdminClient(this.#opts);
  }

  #forNameServers(addrs: readonly string[]): AdminClient {
    const key = [...addrs].sort().join(';');
    let c = this.#namesrvs.get(key);
    if (!c) {
      // Pod IPs change when pods move: drop clients of sets no longer used (bounded map).
      if (this.#namesrvs.size >= 64) {
        const [oldKey, old] = this.#namesrvs.entries().next().value as [string, AdminClient];
        this.#namesrvs.delete(oldKey);
        void old.close();
      }
      c = new AdminClient({ ...this.#opts, namesrvAddr: addrs });
      this.#namesrvs.set(key, c);
    }
    return c;
  }

  async getTopic(brokerAddr: string, topic: string): Promise<TopicSettings | undefined> {
    const tc = (await this.#brokers.getAllTopicConfig(brokerAddr)).get(topic);
    return tc ? toSettings(tc) : undefined;
  }

  async applyTopic(brokerAddr: string, t: TopicSettings): Promise<void> {
    await this.#brokers.createOrUpdateTopic(brokerAddr, { topicName: t.topicName, readQueueNums: t.readQueueNums, writeQueueNums: t.writeQueueNums, perm: t.perm, order: t.order, attributes: t.attributes });
  }

  async deleteTopic(brokerAddr: string, topic: string): Promise<void> {
    await this.#brokers.deleteTopicInBroker(brokerAddr, topic);
  }

  async deleteTopicInNameServers(namesrvAddrs: readonly string[], topic: string): Promise<void> {
    if (namesrvAddrs.length === 0) return;
    failures(await this.#forNameServers(namesrvAddrs).deleteTopicInNameServer(topic));
  }

  getOrderConf(namesrvAddrs: readonly string[], topic: string): Promise<string | undefined> {
    return this.#forNameServers(namesrvAddrs).getKvConfig(ORDER_TOPIC_CONFIG, topic);
  }

  async putOrderConf(namesrvAddrs: readonly string[], topic: string, conf: string): Promise<void> {
    failures(await this.#forNameServers(namesrvAddrs).putKvConfig(ORDER_TOPIC_CONFIG, topic, conf));
  }

  async deleteOrderConf(namesrvAddrs: readonly string[], topic: string): Promise<void> {
    failures(await this.#forNameServers(namesrvAddrs).deleteKvConfig(ORDER_TOPIC_CONFIG, topic));
  }

  async wipeWritePerm(namesrvAddrs: readonly string[], brokerName: string): Promise<void> {
    failures(await this.#forNameServers(namesrvAddrs).wipeWritePermOfBroker(brokerName));
  }

  async addWritePerm(namesrvAddrs: readonly string[], brokerName: string): Promise<void> {
    failures(await this.#forNameServers(namesrvAddrs).addWritePermOfBroker(brokerName));
  }

  getBrokerConfig(brokerAddr: string): Promise<Record<string, string>> {
    return this.#brokers.getBrokerConfig(brokerAddr);
  }

  async updateBrokerConfig(brokerAddr: string, entries: Record<string, string>): Promise<void> {
    await this.#brokers.updateBrokerConfig(brokerAddr, entries);
  }

  async close(): Promise<void> {
    await this.#brokers.close();
    for (const c of this.#namesrvs.values()) await c.close();
    this.#namesrvs.clear();
  }
}
