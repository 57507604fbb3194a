// The NameServer's tables: clusters, broker groups, per-topic queue data and live brokers.
// Pure state; the NameServer wires it to requests, timers and connection close events.
import { sameDataVersion, type DataVersion } from '../common/data-version.js';
import type { TopicConfig } from '../common/topic-config.js';
import { Perm } from '../protocol/codes.js';

export const MASTER_ID = 0;
export const DEFAULT_BROKER_EXPIRY_MS = 120_000;

export interface QueueData {
  brokerName: string;
  readQueueNums: number;
  writeQueueNums: number;
  perm: number;
  topicSysFlag: number;
}

export interface BrokerData {
  cluster: string;
  brokerName: string;
  /** brokerId → "ip:port" */
  brokerAddrs: Map<number, string>;
  enableActingMaster: boolean;
  zoneName?: string | undefined;
}

interface BrokerLiveInfo {
  clusterName: string;
  brokerName: string;
  brokerAddr: string;
  brokerId: number;
  lastUpdateTimestamp: number;
  timeoutMs: number;
  dataVersion: DataVersion;
  haServerAddr: string;
  /** Connection the registration came on; its close removes the broker at once. */
  connectionId: number | undefined;
}

export interface RegisterBrokerInput {
  clusterName: string;
  brokerAddr: string;
  brokerName: string;
  brokerId: number;
  haServerAddr: string;
  dataVersion: DataVersion;
  topicConfigs: Map<string, TopicConfig>;
  timeoutMs?: number | undefined;
  enableActingMaster?: boolean | undefined;
  zoneName?: string | undefined;
  connectionId?: number | undefined;
}

export interface RegisterBrokerResult {
  masterAddr?: string | undefined;
  haServerAddr?: string | undefined;
  /** Set when the registration was refused (a second live master for the broker name). */
  rejected?: string | undefined;
}

export interface TopicRouteData {
  brokerDatas: BrokerData[];
  queueDatas: QueueData[];
  orderTopicConf?: string | undefined;
}

export class RouteInfoManager {
  readonly #clusterAddrTable = new Map<string, Set<string>>();
  readonly #brokerAddrTable = new Map<string, BrokerData>();
  readonly #topicQueueTable = new Map<string, Map<string, QueueData>>();
  readonly #brokerLiveTable = new Map<string, BrokerLiveInfo>(); // key: brokerAddr

  registerBroker(input: RegisterBrokerInput, now = Date.now()): RegisterBrokerResult {
    const { clusterName, brokerName, brokerAddr, brokerId } = input;
    // Two masters for one broker name would split the group's writes: while the current master
    // is alive (registered within its timeout), another address cannot take id 0.
    const currentMaster = this.#brokerAddrTable.get(brokerName)?.brokerAddrs.get(MASTER_ID);
    if (brokerId === MASTER_ID && currentMaster !== undefined && currentMaster !== brokerAddr) {
      const live = this.#brokerLiveTable.get(currentMaster);
      if (live && now - live.lastUpdateTimestamp <= live.timeoutMs) {
        return { rejected: `broker ${brokerName} already has a live master at ${currentMaster}; ${brokerAddr} cannot register as master (brokerId 0)` };
      }
    }
    let names = this.#clusterAddrTable.get(clusterName);
    if (!names) this.#clusterAddrTable.set(clusterName, (names = new Set()));
    names.add(brokerName);

    let brokerData = this.#brokerAddrTable.get(brokerName);
    const isNewGroup = !brokerData;
    if (!brokerData) {
      brokerData = { cluster: clusterName, brokerName, brokerAddrs: new Map(), enableActingMaster: !!input.enableActingMaster, zoneName: input.zoneName };
      this.#brokerAddrTable.set(brokerName, brokerData);
    }
    brokerData.enableActingMaster = !!input.enableActingMaster;
    // An address re-registering under another id (e.g. a promoted slave) drops its old entry.
    for (const [id, addr] of brokerData.brokerAddrs) {
      if (addr === brokerAddr && id !== brokerId) brokerData.brokerAddrs.delete(id);
    }
    const previous = brokerData.brokerAddrs.get(brokerId);
    const isNewAddr = previous !== brokerAddr;
    brokerData.brokerAddrs.set(brokerId, brokerAddr);

    const live = this.#brokerLiveTable.get(brokerAddr);
    const changed = isNewGroup || isNewAddr || !live || !sameDataVersion(live.dataVersion, input.dataVersion);
    if (brokerId === MASTER_ID && changed) {
      const registered = new Set(input.topicConfigs.keys());
      for (const tc of input.topicConfigs.values()) this.#putQueueData(brokerName, tc);
      // Topics the master no longer has are dropped for this broker name.
      for (const [topic, byBroker] of this.#topicQueueTable) {
        if (!registered.has(topic) && byBroker.has(brokerName)) {
          byBroker.delete(brokerName);
          if (byBroker.size === 0) this.#topicQueueTable.delete(topic);
        }
      }
    }

    this.#brokerLiveTable.set(brokerAddr, {
      clusterName,
      brokerName,
      brokerAddr,
      brokerId,
      lastUpdateTimestamp: now,
      timeoutMs: input.timeoutMs && input.timeoutMs > 0 ? input.timeoutMs : DEFAULT_BROKER_EXPIRY_MS,
      dataVersion: input.dataVersion,
      haServerAddr: input.haServerAddr,
      connectionId: input.connectionId,
    });

    if (brokerId !== MASTER_ID) {
      const masterAddr = brokerData.brokerAddrs.get(MASTER_ID);
      if (masterAddr) {
        return { masterAddr, haServerAddr: this.#brokerLiveTable.get(masterAddr)?.haServerAddr };
      }
    }
    return {};
  }

  /** Refreshes liveness only (BROKER_HEARTBEAT). */
  heartbeat(brokerAddr: string, now = Date.now()): void {
    const live = this.#brokerLiveTable.get(brokerAddr);
    if (live) live.lastUpdateTimestamp = now;
  }

  dataVersionOf(brokerAddr: string): DataVersion | undefined {
    return this.#brokerLiveTable.get(brokerAddr)?.dataVersion;
  }

  unregisterBroker(clusterName: string, brokerAddr: string, brokerName: string, brokerId: number): boolean {
    const live = this.#brokerLiveTable.get(brokerAddr);
    if (live && live.brokerName === brokerName) this.#brokerLiveTable.delete(brokerAddr);
    const brokerData = this.#brokerAddrTable.get(brokerName);
    if (!brokerData || brokerData.brokerAddrs.get(brokerId) !== brokerAddr) return false;
    brokerData.brokerAddrs.delete(brokerId);
    if (brokerData.brokerAddrs.size === 0) {
      this.#brokerAddrTable.delete(brokerName);
      const names = this.#clusterAddrTable.get(clusterName);
      names?.delete(brokerName);
      if (names && names.size === 0) this.#clusterAddrTable.delete(clusterName);
    }
    // Queue data stays while any member of the group is left: with the master gone, consumers
    // keep reading from the slaves (producers skip the group, it has no brokerId 0).
    if (!this.#brokerAddrTable.has(brokerName)) this.#removeQueueDataOf(brokerName);
    return true;
  }

  /** Removes brokers whose registration is older than their timeout; returns their addresses. */
  scanNotActiveBrokers(now = Date.now()): string[] {
    const expired: BrokerLiveInfo[] = [];
    for (const live of this.#brokerLiveTable.values()) {
      if (now - live.lastUpdateTimestamp > live.timeoutMs) expired.push(live);
    }
    for (const e of expired) this.unregisterBroker(e.clusterName, e.brokerAddr, e.brokerName, e.brokerId);
    return expired.map((e) => e.brokerAddr);
  }

  /** Removes every broker that registered over this connection; returns their addresses. */
  onConnectionClosed(connectionId: number): string[] {
    const gone = [...this.#brokerLiveTable.values()].filter((l) => l.connectionId === connectionId);
    for (const e of gone) this.unregisterBroker(e.clusterName, e.brokerAddr, e.brokerName, e.brokerId);
    return gone.map((e) => e.brokerAddr);
  }

  getRoute(topic: string): TopicRouteData | undefined {
    const byBroker = this.#topicQueueTable.get(topic);
    if (!byBroker || byBroker.size === 0) return undefined;
    const queueDatas = [...byBroker.values()].sort((a, b) => a.brokerName.localeCompare(b.brokerName));
    const brokerDatas: BrokerData[] = [];
    for (const q of queueDatas) {
      const bd = this.#brokerAddrTable.get(q.brokerName);
      if (bd) brokerDatas.push({ ...bd, brokerAddrs: new Map([...bd.brokerAddrs].sort((a, b) => a[0] - b[0])) });
    }
    if (brokerDatas.length === 0) return undefined;
    return { brokerDatas, queueDatas: queueDatas.map((q) => ({ ...q })) };
  }

  clusterInfo(): { brokerAddrTable: Map<string, BrokerData>; clusterAddrTable: Map<string, Set<string>> } {
    return { brokerAddrTable: this.#brokerAddrTable, clusterAddrTable: this.#clusterAddrTable };
  }

  allTopics(): string[] {
    return [...this.#topicQueueTable.keys()];
  }

  topicsOfCluster(cluster: string): string[] {
    const names = this.#clusterAddrTable.get(cluster);
    if (!names) return [];
    const out: string[] = [];
    for (const [topic, byBroker] of this.#topicQueueTable) {
      for (const name of byBroker.keys()) {
        if (names.has(name)) {
          out.push(topic);
          break;
        }
      }
    }
    return out;
  }

  /** Cluster names and broker names: RocketMQ lists them as "system topics". */
  systemTopics(): { topics: string[]; brokerAddr?: string } {
    const topics = new Set<string>();
    let brokerAddr: string | undefined;
    for (const [cluster, names] of this.#clusterAddrTable) {
      topics.add(cluster);
      for (const n of names) {
        topics.add(n);
        brokerAddr ??= this.#brokerAddrTable.get(n)?.brokerAddrs.get(MASTER_ID);
      }
    }
    return { topics: [...topics], brokerAddr };
  }

  deleteTopic(topic: string, clusterName?: string): void {
    if (!clusterName) {
      this.#topicQueueTable.delete(topic);
      return;
    }
    const byBroker = this.#topicQueueTable.get(topic);
    const names = this.#clusterAddrTable.get(clusterName);
    if (!byBroker || !names) return;
    for (const n of names) byBroker.delete(n);
    if (byBroker.size === 0) this.#topicQueueTable.delete(topic);
  }

  /** Adds queue data for a topic on brokers (REGISTER_TOPIC_IN_NAMESRV). */
  registerTopic(topic: string, queueDatas: readonly QueueData[]): void {
    for (const q of queueDatas) {
      if (!this.#brokerAddrTable.has(q.brokerName)) continue;
      let byBroker = this.#topicQueueTable.get(topic);
      if (!byBroker) this.#topicQueueTable.set(topic, (byBroker = new Map<string, QueueData>()));
      byBroker.set(q.brokerName, { ...q });
    }
  }

  /** Clears (wipe) or restores (add) the WRITE bit of every topic of a broker; returns the count. */
  setWritePerm(brokerName: string, writable: boolean): number {
    let count = 0;
    for (const byBroker of this.#topicQueueTable.values()) {
      const q = byBroker.get(brokerName);
      if (!q) continue;
      q.perm = writable ? q.perm | Perm.WRITE : q.perm & ~Perm.WRITE;
      count++;
    }
    return count;
  }

  #putQueueData(brokerName: string, tc: TopicConfig): void {
    let byBroker = this.#topicQueueTable.get(tc.topicName);
    if (!byBroker) this.#topicQueueTable.set(tc.topicName, (byBroker = new Map<string, QueueData>()));
    byBroker.set(brokerName, {
      brokerName,
      readQueueNums: tc.readQueueNums,
      writeQueueNums: tc.writeQueueNums,
      perm: tc.perm,
      topicSysFlag: tc.topicSysFlag,
    });
  }

  #removeQueueDataOf(brokerName: string): void {
    for (const [topic, byBroker] of this.#topicQueueTable) {
      if (byBroker.delete(brokerName) && byBroker.size === 0) this.#topicQueueTable.delete(topic);
    }
  }
}
