// The broker's replication role and its changes at runtime. A master runs the HA service that
// slaves follow; a slave runs the HA client (commit-log bytes) and the metadata sync (topics,
// groups, offsets) and refuses sends. Promotion and demotion switch between the two without a
// restart.
//
// Divergence: classic RocketMQ HA cannot tell when two logs parted. We keep a small epoch record
// (as 5.x controller mode does): each promotion starts a new epoch at the commit-log offset the
// new master had then. A broker that attaches to a master of an epoch it has not followed drops
// everything past that offset (it came from the previous master and the new one never had it),
// and reports how much.
import { join } from 'node:path';
import type { Logger } from 'pino';
import { readJsonFile, writeJsonFile } from '../common/json-file.js';
import { RequestError } from '../common/errors.js';
import { parseJsonBody } from '../common/json.js';
import { RequestCode, ResponseCode } from '../protocol/codes.js';
import { createRequest } from '../protocol/remoting.js';
import type { ReplicableStore } from '../store/message-store.js';
import type { RemotingClient } from '../transport/client.js';
import type { BrokerRole, ReplicationWait } from './context.js';
import type { SlaveSynchronizer } from './slave-sync.js';

export interface HAConnectionInfo {
  remote: string;
  ackedOffset: number;
  lagBytes: number;
}

/** Master side of HA (broker/src/ha). */
export interface MasterReplication {
  start(): Promise<void>;
  shutdown(): Promise<void>;
  waitForReplication(endOffset: number, timeoutMs?: number): Promise<ReplicationWait>;
  connections(): HAConnectionInfo[];
}

export interface SlaveReplicationStatus {
  masterAddress?: string | undefined;
  connected: boolean;
  replicatedOffset: number;
  masterMaxOffsetSeen: number;
}

/** Slave side of HA (broker/src/ha). */
export interface SlaveReplication {
  start(): void | Promise<void>;
  shutdown(): Promise<void>;
  setMasterAddress(addr: string | undefined): void;
  status(): SlaveReplicationStatus;
}

export interface ReplicationFactories {
  master(): MasterReplication;
  slave(): SlaveReplication;
}

export interface ReplicationManagerOptions {
  role: BrokerRole;
  brokerId: number;
  brokerName: string;
  /** Static master HA address (haMasterAddress); otherwise learned from NameServers. */
  haMasterAddress?: string | undefined;
  slaveSyncIntervalMs: number;
  store: ReplicableStore;
  client: RemotingClient;
  slaveSync: SlaveSynchronizer;
  factories: ReplicationFactories;
  log: Logger;
  /** NameServer addresses, to look for a live master before promoting. */
  namesrvs: () => readonly string[];
  /** Where the epoch record lives (<storePathRootDir>/config). */
  configDir: string;
}

/** Persisted in config/replication.json. */
export interface EpochRecord {
  /** Epoch of the master this broker is or last followed (0 = unknown / classic). */
  epoch: number;
  /** Commit-log offset at which `epoch` began (the promoted master's log end then). */
  epochStartOffset: number;
  /** True when `epoch` is this broker's own epoch as master. */
  asMaster: boolean;
}

export interface RoleChange {
  role: BrokerRole;
  brokerId: number;
  /** Bytes a demoted master dropped because the new master does not have them. */
  truncatedBytes?: number;
  message: string;
}

export class ReplicationManager {
  readonly #o: ReplicationManagerOptions;
  #role: BrokerRole;
  #brokerId: number;
  #master: MasterReplication | undefined;
  #slave: SlaveReplication | undefined;
  #masterAddr: string | undefined;
  #haMasterAddress: string | undefined;
  #changing: Promise<unknown> = Promise.resolve();
  #epoch: EpochRecord;
  /** Remoting address of the master we are attached to (epoch checked). */
  #attachedTo: string | undefined;
  #lastTruncatedBytes = 0;

  constructor(o: ReplicationManagerOptions) {
    this.#o = o;
    this.#role = o.role;
    this.#brokerId = o.brokerId;
    this.#haMasterAddress = o.haMasterAddress;
    const saved = readJsonFile(this.#epochPath) as Partial<EpochRecord> | undefined;
    this.#epoch = { epoch: Number(saved?.epoch ?? 0), epochStartOffset: Number(saved?.epochStartOffset ?? 0), asMaster: saved?.asMaster === true };
  }

  get #epochPath(): string {
    return join(this.#o.configDir, 'replication.json');
  }

  /** The epoch facts a slave needs from its master (exposed in GET_BROKER_RUNTIME_INFO). */
  get epoch(): EpochRecord {
    return { ...this.#epoch };
  }

  /** A slave that follows no master yet (it asks the NameServers often until it does). */
  get seekingMaster(): boolean {
    return this.#role === 'SLAVE' && this.#attachedTo === undefined;
  }

  /** Bytes dropped by the last divergence truncation (0 if none). */
  get lastTruncatedBytes(): number {
    return this.#lastTruncatedBytes;
  }

  get role(): BrokerRole {
    return this.#role;
  }
  get brokerId(): number {
    return this.#brokerId;
  }
  /** Slave: the master's remoting address as the NameServer reported it. */
  get masterAddr(): string | undefined {
    return this.#masterAddr;
  }
  get haConnections(): HAConnectionInfo[] {
    return this.#master?.connections() ?? [];
  }
  get slaveStatus(): SlaveReplicationStatus | undefined {
    return this.#slave?.status();
  }

  async start(): Promise<void> {
    if (this.#role === 'SLAVE') {
      await this.#becomeSlave();
    } else {
      // Starting as master after having been a slave (or never recorded) is a promotion.
      await this.#becomeMaster(!this.#epoch.asMaster);
    }
  }

  #newEpoch(): void {
    this.#epoch = { epoch: this.#epoch.epoch + 1, epochStartOffset: this.#o.store.getMaxPhyOffset(), asMaster: true };
    writeJsonFile(this.#epochPath, JSON.stringify(this.#epoch));
  }

  async shutdown(): Promise<void> {
    this.#o.slaveSync.stop();
    await this.#slave?.shutdown();
    await this.#master?.shutdown();
    this.#slave = undefined;
    this.#master = undefined;
  }

  waitForSlaves(endOffset: number): Promise<ReplicationWait> {
    return this.#master ? this.#master.waitForReplication(endOffset) : Promise.resolve('SLAVE_NOT_AVAILABLE');
  }

  /** Registration answers tell a slave where its master is (masterAddr, haServerAddr). */
  onRegistration(masterAddr: string | undefined, haServerAddr: string | undefined): void {
    if (this.#role !== 'SLAVE') return;
    this.#masterAddr = masterAddr;
    this.#o.slaveSync.setMasterAddr(masterAddr);
    const haAddr = this.#haMasterAddress ?? haServerAddr;
    if (!masterAddr || masterAddr === this.#attachedTo) return;
    const run = this.#changing.then(() => this.#attach(masterAddr, haAddr));
    this.#changing = run.catch((err: unknown) => {
      this.#o.log.warn({ master: masterAddr, err: err instanceof Error ? err.message : String(err) }, 'could not attach to master, will retry');
    });
  }

  /** Checks the master's epoch, drops a divergent tail, then follows the master's HA stream. */
  async #attach(masterAddr: string, haAddr: string | undefined): Promise<void> {
    if (this.#role !== 'SLAVE' || !this.#slave) return;
    const r = await this.#o.client.invokeOk(masterAddr, createRequest(RequestCode.GET_BROKER_RUNTIME_INFO), 5000);
    const table = (parseJsonBody(r.body) as { table?: Record<string, string> }).table ?? {};
    const epoch = Number(table.replicationEpoch ?? 0);
    const start = Number(table.replicationEpochStartOffset ?? NaN);
    this.#lastTruncatedBytes = 0;
    // Masters without epochs (Java, or unknown) are followed the classic way.
    if (epoch > 0 && Number.isFinite(start) && epoch !== this.#epoch.epoch) {
      const ours = this.#o.store.getMaxPhyOffset();
      if (ours > start) {
        this.#lastTruncatedBytes = await this.#o.store.truncateCommitLogTo(start);
        this.#o.log.warn({ master: masterAddr, epoch, from: ours, to: start, droppedBytes: this.#lastTruncatedBytes }, 'dropped commit-log tail the new master does not have');
      }
      this.#epoch = { epoch, epochStartOffset: start, asMaster: false };
      writeJsonFile(this.#epochPath, JSON.stringify(this.#epoch));
    }
    this.#attachedTo = masterAddr;
    this.#slave.setMasterAddress(haAddr);
    this.#o.log.info({ master: masterAddr, ha: haAddr, epoch }, 'following master');
  }

  /**
   * Changes role at runtime. Calls are serialised. `haMasterAddress` pins the master a slave
   * follows (else it comes from the NameServers).
   */
  changeRole(role: BrokerRole, brokerId: number, haMasterAddress?: string): Promise<RoleChange> {
    const run = this.#changing.then(() => this.#changeRole(role, brokerId, haMasterAddress));
    this.#changing = run.catch(() => undefined);
    return run;
  }

  async #changeRole(role: BrokerRole, brokerId: number, haMasterAddress: string | undefined): Promise<RoleChange> {
    const log = this.#o.log;
    const was = this.#role;
    if (haMasterAddress !== undefined) this.#haMasterAddress = haMasterAddress || undefined;
    if (role === 'SLAVE') {
      if (brokerId <= 0) throw new RequestError(ResponseCode.INVALID_PARAMETER, 'a SLAVE needs a brokerId greater than 0');
      if (was === 'SLAVE') {
        this.#brokerId = brokerId;
        if (haMasterAddress) this.#slave?.setMasterAddress(haMasterAddress);
        // brokerId changes re-register; the master is re-checked on the next answer.
        this.#attachedTo = undefined;
        return { role, brokerId, message: `already a slave; brokerId ${brokerId}` };
      }
      await this.#master?.shutdown();
      this.#master = undefined;
      this.#role = 'SLAVE';
      this.#brokerId = brokerId;
      this.#attachedTo = undefined;
      await this.#becomeSlave();
      const message = `demoted from ${was} to SLAVE (brokerId ${brokerId}); it follows the group's master once one registers, dropping any divergent tail first`;
      log.warn({ from: was, brokerId }, message);
      return { role, brokerId, message };
    }
    if (was !== 'SLAVE') {
      this.#role = role;
      return { role, brokerId: 0, message: `role ${was} → ${role}` };
    }
    const live = await this.#liveMasterElsewhere();
    if (live) {
      throw new RequestError(ResponseCode.SYSTEM_ERROR, `cannot promote: ${this.#o.brokerName} still has a live master at ${live}; stop or demote it first`);
    }
    this.#o.slaveSync.stop();
    await this.#slave?.shutdown();
    this.#slave = undefined;
    this.#masterAddr = undefined;
    this.#attachedTo = undefined;
    this.#role = role;
    this.#brokerId = 0;
    await this.#becomeMaster(true);
    const message = `promoted from SLAVE to ${role} (brokerId 0) at commit-log offset ${this.#o.store.getMaxPhyOffset()}`;
    log.warn({ role, offset: this.#o.store.getMaxPhyOffset() }, message);
    return { role, brokerId: 0, message };
  }

  async #becomeMaster(startEpoch: boolean): Promise<void> {
    // Writable first: that cuts a partially replicated record, so the epoch starts on a record
    // boundary that a demoted master can truncate to.
    this.#o.store.setWritable(true);
    if (startEpoch) this.#newEpoch();
    this.#master = this.#o.factories.master();
    await this.#master.start();
  }

  async #becomeSlave(): Promise<void> {
    this.#o.store.setWritable(false);
    this.#slave = this.#o.factories.slave();
    await this.#slave.start();
    // A static master address (Java's haMasterAddress) is followed at once, unless this broker
    // was a master itself: then the epoch check on the registration answer must come first.
    if (this.#haMasterAddress && !this.#epoch.asMaster) this.#slave.setMasterAddress(this.#haMasterAddress);
    this.#o.slaveSync.start(this.#o.slaveSyncIntervalMs);
  }

  /** The master address other brokers have registered for our name, if any is live. */
  async #liveMasterElsewhere(): Promise<string | undefined> {
    for (const ns of this.#o.namesrvs()) {
      try {
        const r = await this.#o.client.invoke(ns, createRequest(RequestCode.GET_BROKER_CLUSTER_INFO), 3000);
        if (r.code !== ResponseCode.SUCCESS) continue;
        const info = parseJsonBody(r.body) as { brokerAddrTable?: Record<string, { brokerAddrs?: Record<string, string> }> };
        const master = info.brokerAddrTable?.[this.#o.brokerName]?.brokerAddrs?.['0'];
        if (master) return master;
      } catch {
        // an unreachable NameServer cannot vouch for a master
      }
    }
    return undefined;
  }
}
