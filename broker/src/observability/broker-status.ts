// What a broker's health endpoints, /status and GET_BROKER_RUNTIME_INFO report, computed from a
// small source interface (BrokerStatusSource) that BrokerController implements and tests fake.

/** Static identity of the broker. */
export interface BrokerIdentity {
  clusterName: string;
  brokerName: string;
  brokerId: number;
  /** ASYNC_MASTER, SYNC_MASTER or SLAVE (brokerRole). */
  role: string;
  /** brokerIP1:listenPort, as registered with the NameServers. */
  brokerAddr: string;
  /** This project's version (package.json). */
  version: string;
  /** The RocketMQ release whose protocol the broker speaks (e.g. "V5_3_3"). */
  rocketmqVersion: string;
}

/** Master side: one replicating slave (shape of HAService.connections() entries). */
export interface HAConnectionInfo {
  /** The slave's address as the master sees it (ip:port of its HA connection). */
  remote: string;
  /** Commit-log offset the slave reported having; -1 before its first report. */
  ackedOffset: number;
  /** Bytes the slave is behind, when the HA service computes it; else max offset - ackedOffset. */
  lagBytes?: number | undefined;
}

/** Slave side: the link to the master (shape of HAClient.status()). */
export interface SlaveReplicationInfo {
  /** The master's HA address, once known (from the NameServer or haMasterAddress). */
  masterAddress?: string | undefined;
  connected: boolean;
  /** Commit-log offset this slave holds (its max physical offset). */
  replicatedOffset: number;
  /** Lag in bytes, when the HA client knows it directly (takes precedence). */
  lagBytes?: number | undefined;
  /**
   * Highest master offset known to the slave. Classic HA frames never carry the master's max
   * offset, so this is what the master has sent so far; lag = this - replicatedOffset.
   */
  masterMaxOffsetSeen?: number | undefined;
}

/** Replication facts; every member is optional so a broker without HA (or a fake) can omit them. */
export interface ReplicationStatusSource {
  /** Master: connected slaves. */
  connections?(): readonly HAConnectionInfo[];
  /** Slave: the link to the master; undefined while the HA client is not running. */
  slave?(): SlaveReplicationInfo | undefined;
  /** Slave: the master's remoting address (brokerAddr), as the NameServer reported it. */
  masterAddr?(): string | undefined;
}

export interface NameServerRegistration {
  /** namesrvAddr list. */
  configured: readonly string[];
  /** NameServers that accepted the latest registration. */
  registered: readonly string[];
  /** Last registration error per NameServer, for those that failed. */
  errors?: ReadonlyMap<string, string>;
}

export interface StoreOffsets {
  commitLogMinOffset: number;
  commitLogMaxOffset: number;
  flushedOffset: number;
}

/** Everything the health endpoints read; all calls are cheap and synchronous. */
export interface BrokerStatusSource {
  identity(): BrokerIdentity;
  /** Epoch ms at which the broker process/controller started. */
  startedAt(): number;
  /** True once the store finished recovery (MessageStore.start resolved). */
  storeRecovered(): boolean;
  /** True once shutdown began. */
  stopping(): boolean;
  storeOffsets(): StoreOffsets;
  /** Broker permission allows writes (brokerPermission has PERM_WRITE). */
  writable(): boolean;
  nameServers(): NameServerRegistration;
  openConnections(): number;
  heldPullRequests(): number;
  /** Undefined when the broker runs no replication (single master). */
  replication(): ReplicationStatusSource | undefined;
}

export interface HAConnectionStatus {
  remote: string;
  ackedOffset: number;
  lagBytes: number;
}

export interface SlaveReplicationStatus {
  connected: boolean;
  replicatedOffset: number;
  /** Null while unknown (no data from the master yet). */
  lagBytes: number | null;
}

export interface BrokerStatus {
  role: string;
  brokerId: number;
  brokerName: string;
  clusterName: string;
  brokerAddr: string;
  version: string;
  rocketmqVersion: string;
  /** Slave: the master's broker (remoting) address, else its HA address; null while unknown. */
  masterAddress?: string | null;
  /** Slave: the master's HA address it replicates from; null while unknown. */
  masterHaAddress?: string | null;
  /** Master: one entry per connected slave. */
  haConnections?: HAConnectionStatus[];
  /** Slave: replication progress. */
  replication?: SlaveReplicationStatus;
  commitLogMaxOffset: number;
  commitLogMinOffset: number;
  flushedOffset: number;
  /** Used-space ratio (0..1) of the store's filesystem; null while unknown. */
  diskUsageRatio: number | null;
  writable: boolean;
  registeredWith: string[];
  nameServers: string[];
  openConnections: number;
  heldPullRequests: number;
  storeRecovered: boolean;
  uptimeMs: number;
  /** ISO-8601 start time. */
  startedAt: string;
  ready: boolean;
  /** Why the broker is not ready, in words (empty when ready). */
  unmet: string[];
}

export interface ReadinessOptions {
  /** A slave is ready only with a lag at or below this (readyMaxReplicationLagBytes). */
  maxReplicationLagBytes: number;
}

export function isSlaveRole(role: string): boolean {
  return role === 'SLAVE';
}

function slaveLag(info: SlaveReplicationInfo): number | null {
  if (info.lagBytes !== undefined) return Math.max(0, info.lagBytes);
  if (info.masterMaxOffsetSeen !== undefined) return Math.max(0, info.masterMaxOffsetSeen - info.replicatedOffset);
  return null;
}

function registrationProblem(ns: NameServerRegistration): string | undefined {
  if (ns.configured.length === 0) return 'no NameServer is configured (namesrvAddr is empty), so clients cannot discover this broker';
  if (ns.registered.length > 0) return undefined;
  const errors = [...(ns.errors ?? new Map<string, string>())].map(([addr, e]) => `${addr}: ${e}`);
  const list = ns.configured.join(', ');
  return `not registered with any NameServer (${list})${errors.length > 0 ? `; last errors: ${errors.join('; ')}` : ''}`;
}

function replicationProblems(role: string, slave: SlaveReplicationInfo | undefined, lag: number | null, opts: ReadinessOptions): string[] {
  if (!isSlaveRole(role)) return [];
  if (!slave) return ['replication from the master is not running (no HA client)'];
  if (!slave.connected) return [`not connected to the master${slave.masterAddress ? ` (HA ${slave.masterAddress})` : ' (master address not known yet)'}`];
  if (lag === null) return ['replication lag is not known yet (no data received from the master)'];
  if (lag > opts.maxReplicationLagBytes) return [`replication lag ${lag} bytes exceeds readyMaxReplicationLagBytes=${opts.maxReplicationLagBytes}`];
  return [];
}

/** Reads the source once and derives status and readiness from that one snapshot. */
export function collectBrokerStatus(source: BrokerStatusSource, diskUsageRatio: number | undefined, opts: ReadinessOptions, now = Date.now()): BrokerStatus {
  const id = source.identity();
  const offsets = source.storeOffsets();
  const ns = source.nameServers();
  const startedAt = source.startedAt();
  const storeRecovered = source.storeRecovered();
  const stopping = source.stopping();
  const repl = source.replication();
  const slave = isSlaveRole(id.role) ? repl?.slave?.() : undefined;
  const lag = slave ? slaveLag(slave) : null;

  const unmet: string[] = [];
  if (stopping) unmet.push('broker is shutting down');
  if (!storeRecovered) unmet.push('store has not finished recovery');
  const reg = registrationProblem(ns);
  if (reg) unmet.push(reg);
  unmet.push(...replicationProblems(id.role, slave, lag, opts));

  const status: BrokerStatus = {
    role: id.role,
    brokerId: id.brokerId,
    brokerName: id.brokerName,
    clusterName: id.clusterName,
    brokerAddr: id.brokerAddr,
    version: id.version,
    rocketmqVersion: id.rocketmqVersion,
    commitLogMaxOffset: offsets.commitLogMaxOffset,
    commitLogMinOffset: offsets.commitLogMinOffset,
    flushedOffset: offsets.flushedOffset,
    diskUsageRatio: diskUsageRatio ?? null,
    writable: source.writable(),
    registeredWith: [...ns.registered],
    nameServers: [...ns.configured],
    openConnections: source.openConnections(),
    heldPullRequests: source.heldPullRequests(),
    storeRecovered,
    uptimeMs: Math.max(0, now - startedAt),
    startedAt: new Date(startedAt).toISOString(),
    ready: unmet.length === 0,
    unmet,
  };
  if (isSlaveRole(id.role)) {
    status.masterAddress = repl?.masterAddr?.() ?? slave?.masterAddress ?? null;
    status.masterHaAddress = slave?.masterAddress ?? null;
    status.replication = { connected: slave?.connected ?? false, replicatedOffset: slave?.replicatedOffset ?? 0, lagBytes: lag };
  } else {
    status.haConnections = (repl?.connections?.() ?? []).map((c) => ({
      remote: c.remote,
      ackedOffset: c.ackedOffset,
      lagBytes: Math.max(0, c.lagBytes ?? offsets.commitLogMaxOffset - Math.max(0, c.ackedOffset)),
    }));
  }
  return status;
}

/** Replication lag in bytes: a slave's lag to its master, a master's largest lag among its slaves. */
export function replicationLagBytes(status: BrokerStatus): number | undefined {
  if (status.replication) return status.replication.lagBytes ?? undefined;
  if (status.haConnections && status.haConnections.length > 0) return Math.max(...status.haConnections.map((c) => c.lagBytes));
  return undefined;
}

/**
 * The status as GET_BROKER_RUNTIME_INFO table entries (string → string), to merge over the table
 * the AdminProcessor builds. Keys the table already has with the same value (commitLogMaxOffset,
 * pullHeldRequests, and the replication facts masterAddr, haMasterConnected,
 * slaveReplicatedOffset, haConnectionCount…) are not repeated; commitLogDiskRatio (Java's key)
 * gets the real ratio.
 */
export function runtimeInfoEntries(status: BrokerStatus): Record<string, string> {
  const out: Record<string, string> = {
    brokerClusterName: status.clusterName,
    productVersion: status.version,
    commitLogFlushedOffset: String(status.flushedOffset),
    commitLogDiskRatio: String(status.diskUsageRatio ?? 0),
    brokerWritable: String(status.writable),
    registeredNameServers: status.registeredWith.join(';'),
    openConnections: String(status.openConnections),
    storeRecovered: String(status.storeRecovered),
    uptimeMs: String(status.uptimeMs),
    startedAt: status.startedAt,
    ready: String(status.ready),
    readyUnmet: status.unmet.join('; '),
  };
  const lag = replicationLagBytes(status);
  if (lag !== undefined) out.replicationLagBytes = String(lag);
  if (status.replication) out.masterHaAddress = status.masterHaAddress ?? '';
  if (status.haConnections) out.haConnections = JSON.stringify(status.haConnections);
  return out;
}
