// Master side of classic RocketMQ HA (DefaultHAService + DefaultHAConnection + GroupTransferService
// of apache/rocketmq store/.../ha/): accepts slave connections, streams commit-log bytes to each,
// tracks what each slave acknowledged, and answers SYNC_MASTER waits.
//
// Per connection:
//   slave reports offset R (first report)  →  transfer position = R, or for R = 0 (empty slave) the
//   start of the master's last commit-log segment; later reports only move the ack.
//   pump: while the slave is behind and fewer than maxPendingWriteBytes wait in user space, send
//   [offset][size][≤ haTransferBatchSize bytes]; otherwise wait for 'drain' (or the next tick).
//   idle for haSendHeartbeatInterval → send [offset][0] (heartbeat).
//   nothing read for haHousekeepingInterval → close.
// The pump wakes on store dispatch (coalesced per event-loop turn), on waitForReplication, on
// notifyDataAppended(), on the slave's drain, and on a short poll tick as a fallback for appends
// that dispatch nothing (transaction half messages).
import type { Logger } from 'pino';
import { RmqError } from '../common/errors.js';
import { silentLogger } from '../common/logger.js';
import type { ReplicableStore } from '../store/message-store.js';
import { encodeFrameHeader, initialTransferOffset, ReportReader } from './ha-protocol.js';
import { tcpTransport, type HAChannel, type HAListener, type HATransport } from './ha-transport.js';

/** What the master side needs from the store. DefaultMessageStore (ReplicableStore) satisfies it. */
export type HAMasterStore = Pick<ReplicableStore, 'getCommitLogData' | 'getMaxPhyOffset' | 'onDispatch'>;

export type ReplicationResult = 'OK' | 'SLAVE_NOT_AVAILABLE' | 'FLUSH_SLAVE_TIMEOUT';

export interface HAServiceOptions {
  /** TCP port for slaves (Java default: listenPort + 1 = 10912); 0 picks a free one (see `port`). */
  haListenPort: number;
  /** Bind address; default 0.0.0.0 like Java's DefaultHAService (tests use 127.0.0.1). */
  bindAddress?: string;
  /** Commit-log segment size (mappedFileSizeCommitLog): an empty slave starts at the last segment. Default 1 GiB. */
  mappedFileSizeCommitLog?: number;
  /** Idle time after which an empty heartbeat frame is sent, ms. Default 5000. */
  haSendHeartbeatInterval?: number;
  /** A slave silent this long is disconnected, ms. Default 20000. */
  haHousekeepingInterval?: number;
  /** Largest frame body, bytes. Default 32 KiB. */
  haTransferBatchSize?: number;
  /** SYNC_MASTER: a best slave this many bytes behind counts as not available. Default 256 MiB. */
  haMaxGapNotInSync?: number;
  /** SYNC_MASTER: how long a put waits for a slave ack, ms. Default 3000. */
  slaveTimeout?: number;
  /** Fallback poll of the store and heartbeat/housekeeping check period, ms. Default 100. */
  pollIntervalMs?: number;
  /** Stop producing frames for a slave while this many bytes wait in user space. Default 256 KiB. */
  maxPendingWriteBytes?: number;
  logger?: Logger;
  transport?: HATransport;
  /** Clock (tests). */
  now?: () => number;
}

export interface HAConnectionInfo {
  /** Slave "ip:port" as seen by the master. */
  remote: string;
  /** Last offset the slave reported (its commit-log max offset); -1 before its first report. */
  ackedOffset: number;
  /** Master max offset minus ackedOffset (the whole log before the first report). */
  lagBytes: number;
  /** Epoch ms. */
  connectedAt: number;
  /** Next offset to send; -1 before the slave's first report. */
  transferOffset: number;
  /** Bytes written to the connection that the slave has not taken yet (bounded by maxPendingWriteBytes + one frame). */
  pendingWriteBytes: number;
}

interface Waiter {
  endOffset: number;
  deadline: number;
  resolve: (r: ReplicationResult) => void;
  done: boolean;
}

const DEFAULTS = {
  bindAddress: '0.0.0.0',
  mappedFileSizeCommitLog: 1024 * 1024 * 1024,
  haSendHeartbeatInterval: 5000,
  haHousekeepingInterval: 20_000,
  haTransferBatchSize: 32 * 1024,
  haMaxGapNotInSync: 256 * 1024 * 1024,
  slaveTimeout: 3000,
  pollIntervalMs: 100,
  maxPendingWriteBytes: 256 * 1024,
} as const;

/** Frames written per pump call before yielding to the event loop (fairness across slaves). */
const MAX_FRAMES_PER_PUMP = 64;

type Resolved = Required<Omit<HAServiceOptions, 'logger' | 'transport' | 'now'>>;

class HAConnection {
  readonly remote: string;
  readonly connectedAt: number;
  ackedOffset = -1;
  transferOffset = -1;
  lastReadAt: number;
  lastWriteAt: number;
  readonly #service: HAService;
  readonly #channel: HAChannel;
  readonly #reports = new ReportReader();
  #waitingDrain = false;
  #pumpScheduled = false;
  #closed = false;

  constructor(service: HAService, channel: HAChannel, now: number) {
    this.#service = service;
    this.#channel = channel;
    this.remote = channel.remote;
    this.connectedAt = now;
    this.lastReadAt = now;
    this.lastWriteAt = now;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get pendingWriteBytes(): number {
    return this.#channel.pendingWriteBytes;
  }

  start(): void {
    this.#channel.attach({
      data: (chunk) => this.#onData(chunk),
      drain: () => {
        this.#waitingDrain = false;
        this.pump();
      },
      close: (err) => this.#onClosed(err),
    });
  }

  close(reason: string, level: 'info' | 'warn' | 'error' = 'info'): void {
    if (this.#closed) return;
    this.#service.log[level]({ remote: this.remote, ackedOffset: this.ackedOffset, transferOffset: this.transferOffset }, `HA connection closed: ${reason}`);
    this.#closed = true;
    this.#channel.close();
    this.#service.removeConnection(this);
  }

  #onClosed(err?: Error): void {
    if (this.#closed) return;
    this.close(err ? `slave connection error: ${err.message}` : 'slave disconnected');
  }

  #onData(chunk: Buffer): void {
    if (this.#closed) return;
    this.lastReadAt = this.#service.now();
    let reported: number | undefined;
    try {
      reported = this.#reports.push(chunk);
    } catch (err) {
      this.close(`malformed report from slave: ${err instanceof Error ? err.message : String(err)}`, 'error');
      return;
    }
    if (reported === undefined) return;
    let masterMax: number;
    try {
      masterMax = this.#service.store.getMaxPhyOffset();
    } catch (err) {
      this.close(`store unavailable: ${err instanceof Error ? err.message : String(err)}`, 'error');
      return;
    }
    if (reported > masterMax) {
      // The slave holds bytes this master never had (it followed another master, or this master lost
      // a tail in a crash). Streaming on would silently fork the logs, and its ack would confirm
      // SYNC_MASTER puts it never received.
      this.close(`slave reports offset ${reported} beyond master max offset ${masterMax}: logs diverged, the slave needs truncation`, 'error');
      return;
    }
    if (this.transferOffset < 0) {
      this.transferOffset = initialTransferOffset(reported, masterMax, this.#service.options.mappedFileSizeCommitLog);
      this.#service.log.info({ remote: this.remote, slaveRequestOffset: reported, transferFrom: this.transferOffset }, 'HA slave connected, transfer starts');
    }
    this.ackedOffset = reported;
    this.#service.onAck(reported);
    this.pump();
  }

  /** Sends what the slave lacks, as long as it keeps up. */
  pump(): void {
    if (this.#closed || this.transferOffset < 0 || this.#waitingDrain) return;
    let more: boolean;
    try {
      more = this.#sendFrames();
    } catch (err) {
      // Runs from socket, timer and immediate callbacks: a store error must not escape.
      this.close(`reading the commit log at ${this.transferOffset} failed: ${err instanceof Error ? err.message : String(err)}`, 'error');
      return;
    }
    if (!more || this.#pumpScheduled) return;
    // More to send: continue after other connections and I/O had a turn.
    this.#pumpScheduled = true;
    setImmediate(() => {
      this.#pumpScheduled = false;
      this.pump();
    });
  }

  /** Writes up to MAX_FRAMES_PER_PUMP frames; true when it stopped only because of that cap. */
  #sendFrames(): boolean {
    const o = this.#service.options;
    const store = this.#service.store;
    for (let frames = 0; frames < MAX_FRAMES_PER_PUMP; frames++) {
      if (this.#channel.pendingWriteBytes >= o.maxPendingWriteBytes) {
        this.#waitingDrain = true;
        return false;
      }
      if (store.getMaxPhyOffset() <= this.transferOffset) return false;
      let data = store.getCommitLogData(this.transferOffset, o.haTransferBatchSize);
      if (!data || data.length === 0) {
        this.#service.warnNoData(this);
        return false;
      }
      if (data.length > o.haTransferBatchSize) data = data.subarray(0, o.haTransferBatchSize);
      this.#channel.write([encodeFrameHeader(this.transferOffset, data.length), data]);
      this.transferOffset += data.length;
      this.lastWriteAt = this.#service.now();
    }
    return true;
  }

  /** Heartbeat and housekeeping, from the service tick. */
  tick(now: number): void {
    if (this.#closed) return;
    const o = this.#service.options;
    if (now - this.lastReadAt > o.haHousekeepingInterval) {
      this.close(`no report from slave for ${now - this.lastReadAt} ms (haHousekeepingInterval ${o.haHousekeepingInterval})`, 'warn');
      return;
    }
    if (this.#waitingDrain && this.#channel.pendingWriteBytes < o.maxPendingWriteBytes) this.#waitingDrain = false;
    this.pump();
    if (this.transferOffset >= 0 && !this.#waitingDrain && now - this.lastWriteAt > o.haSendHeartbeatInterval) {
      // Java sends [nextTransferFromWhere][0]; the slave checks that offset against its own max.
      this.#channel.write([encodeFrameHeader(this.transferOffset, 0)]);
      this.lastWriteAt = now;
    }
  }

  info(masterMax: number): HAConnectionInfo {
    return {
      remote: this.remote,
      ackedOffset: this.ackedOffset,
      lagBytes: Math.max(0, masterMax - Math.max(0, this.ackedOffset)),
      connectedAt: this.connectedAt,
      transferOffset: this.transferOffset,
      pendingWriteBytes: this.#channel.pendingWriteBytes,
    };
  }
}

export class HAService {
  readonly store: HAMasterStore;
  readonly options: Resolved;
  readonly log: Logger;
  readonly now: () => number;
  readonly #transport: HATransport;
  readonly #connections = new Set<HAConnection>();
  /** SYNC_MASTER waiters sorted by endOffset; resolved ones are dropped lazily. */
  #byOffset: Waiter[] = [];
  /** The same waiters sorted by deadline (equal timeouts arrive in deadline order: appends are O(1)). */
  #byDeadline: Waiter[] = [];
  #pendingWaiters = 0;
  #deadlineTimer: NodeJS.Timeout | undefined;
  #deadlineTimerAt = Infinity;
  #listener: HAListener | undefined;
  #tick: NodeJS.Timeout | undefined;
  #wakeScheduled = false;
  #unhookDispatch: (() => void) | undefined;
  #state: 'new' | 'running' | 'stopped' = 'new';
  #lastNoDataWarnAt = 0;

  constructor(store: HAMasterStore, options: HAServiceOptions) {
    this.store = store;
    const o = { ...DEFAULTS, ...stripUndefined(options) } as Resolved & HAServiceOptions;
    for (const key of [
      'mappedFileSizeCommitLog',
      'haSendHeartbeatInterval',
      'haHousekeepingInterval',
      'haTransferBatchSize',
      'haMaxGapNotInSync',
      'slaveTimeout',
      'pollIntervalMs',
      'maxPendingWriteBytes',
    ] as const) {
      if (!Number.isSafeInteger(o[key]) || o[key] <= 0) throw new RmqError('RMQ_CONFIG_INVALID', `HA option ${key}=${o[key]} must be a positive integer`);
    }
    if (!Number.isInteger(o.haListenPort) || o.haListenPort < 0 || o.haListenPort > 65535) {
      throw new RmqError('RMQ_CONFIG_INVALID', `haListenPort=${o.haListenPort} is not a port`);
    }
    this.options = {
      haListenPort: o.haListenPort,
      bindAddress: o.bindAddress,
      mappedFileSizeCommitLog: o.mappedFileSizeCommitLog,
      haSendHeartbeatInterval: o.haSendHeartbeatInterval,
      haHousekeepingInterval: o.haHousekeepingInterval,
      haTransferBatchSize: o.haTransferBatchSize,
      haMaxGapNotInSync: o.haMaxGapNotInSync,
      slaveTimeout: o.slaveTimeout,
      pollIntervalMs: o.pollIntervalMs,
      maxPendingWriteBytes: o.maxPendingWriteBytes,
    };
    this.log = options.logger ?? silentLogger();
    this.#transport = options.transport ?? tcpTransport;
    this.now = options.now ?? Date.now;
  }

  /** The bound HA port (after start). */
  get port(): number {
    return this.#listener?.port ?? 0;
  }

  /** Listens for slaves; resolves with the bound port. */
  async start(): Promise<number> {
    if (this.#state !== 'new') throw new RmqError('RMQ_CONFIG_INVALID', `HAService cannot start: it is ${this.#state}`);
    this.#state = 'running';
    this.#unhookDispatch = this.store.onDispatch(() => this.notifyDataAppended());
    try {
      this.#listener = await this.#transport.listen(this.options.haListenPort, this.options.bindAddress, (ch) => this.#accept(ch));
    } catch (err) {
      this.#state = 'stopped';
      throw new RmqError('RMQ_CONFIG_INVALID', `HA port ${this.options.bindAddress}:${this.options.haListenPort} unavailable: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    const tickMs = Math.max(5, Math.min(this.options.pollIntervalMs, Math.floor(this.options.haSendHeartbeatInterval / 2)));
    this.#tick = setInterval(() => this.#onTick(), tickMs);
    this.#tick.unref();
    this.log.info({ port: this.#listener.port, bindAddress: this.options.bindAddress }, 'HA service listening');
    return this.#listener.port;
  }

  /** Closes the listener and every slave connection; pending waits resolve FLUSH_SLAVE_TIMEOUT. Idempotent. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    this.#unhookDispatch?.();
    this.#unhookDispatch = undefined;
    if (this.#tick) clearInterval(this.#tick);
    for (const c of [...this.#connections]) c.close('HA service stopping');
    this.#connections.clear();
    for (const w of this.#byOffset) this.#finish(w, 'FLUSH_SLAVE_TIMEOUT');
    this.#byOffset = [];
    this.#byDeadline = [];
    this.#pendingWaiters = 0;
    if (this.#deadlineTimer) clearTimeout(this.#deadlineTimer);
    this.#deadlineTimer = undefined;
    await this.#listener?.close();
    this.#listener = undefined;
  }

  connections(): HAConnectionInfo[] {
    let masterMax: number;
    try {
      masterMax = this.store.getMaxPhyOffset();
    } catch {
      masterMax = 0; // store closed (shutdown in progress): report no lag rather than throw
    }
    return [...this.#connections].map((c) => c.info(masterMax));
  }

  /** Highest offset any connected slave acknowledged; -1 when none reported. */
  bestAckedOffset(): number {
    let best = -1;
    for (const c of this.#connections) if (c.ackedOffset > best) best = c.ackedOffset;
    return best;
  }

  /**
   * 4.x isSlaveOK: a slave is connected and the best one is less than haMaxGapNotInSync behind
   * `endOffset`.
   */
  isSlaveOk(endOffset: number): boolean {
    if (this.#connections.size === 0) return false;
    return endOffset - Math.max(0, this.bestAckedOffset()) < this.options.haMaxGapNotInSync;
  }

  /** Wakes the senders now (call after appends that dispatch nothing, if latency matters). */
  notifyDataAppended(): void {
    if (this.#wakeScheduled || this.#state !== 'running' || this.#connections.size === 0) return;
    this.#wakeScheduled = true;
    // Coalesce a burst of dispatches (one per message) into one pump per event-loop turn.
    setImmediate(() => {
      this.#wakeScheduled = false;
      for (const c of this.#connections) c.pump();
    });
  }

  /**
   * SYNC_MASTER acknowledgement (4.x CommitLog.handleHA + GroupTransferService): resolves 'OK' once
   * a slave acknowledged `endOffset` (the put's wroteOffset + wroteBytes), SLAVE_NOT_AVAILABLE at
   * once when no slave is connected or the best is haMaxGapNotInSync or more behind, and
   * FLUSH_SLAVE_TIMEOUT after `timeoutMs` (default slaveTimeout). Waiters are kept sorted by offset
   * and released together by each ack, with one timer for the earliest deadline.
   */
  waitForReplication(endOffset: number, timeoutMs = this.options.slaveTimeout): Promise<ReplicationResult> {
    if (this.#state !== 'running' || !this.isSlaveOk(endOffset)) return Promise.resolve('SLAVE_NOT_AVAILABLE');
    if (this.bestAckedOffset() >= endOffset) return Promise.resolve('OK');
    return new Promise<ReplicationResult>((resolve) => {
      const w: Waiter = { endOffset, deadline: this.now() + timeoutMs, resolve, done: false };
      insertSorted(this.#byOffset, w, (x) => x.endOffset);
      insertSorted(this.#byDeadline, w, (x) => x.deadline);
      this.#pendingWaiters++;
      this.#armDeadlineTimer();
      // The bytes exist now: push them without waiting for the next dispatch or tick.
      this.notifyDataAppended();
    });
  }

  // -- internals used by HAConnection --------------------------------------------------------

  onAck(offset: number): void {
    if (this.#byOffset.length === 0) return;
    let n = 0;
    while (n < this.#byOffset.length && this.#byOffset[n]!.endOffset <= offset) {
      this.#finish(this.#byOffset[n]!, 'OK');
      n++;
    }
    if (n > 0) this.#byOffset.splice(0, n);
    this.#compact();
  }

  removeConnection(c: HAConnection): void {
    this.#connections.delete(c);
  }

  warnNoData(c: HAConnection): void {
    const now = this.now();
    if (now - this.#lastNoDataWarnAt < 10_000) return;
    this.#lastNoDataWarnAt = now;
    this.log.warn(
      { remote: c.remote, transferOffset: c.transferOffset, masterMaxOffset: this.store.getMaxPhyOffset() },
      'HA: no commit-log data at the transfer offset (below the min offset, or not a readable position); the slave is stalled',
    );
  }

  // -- private -------------------------------------------------------------------------------

  #accept(channel: HAChannel): void {
    if (this.#state !== 'running') {
      channel.close();
      return;
    }
    const c = new HAConnection(this, channel, this.now());
    this.#connections.add(c);
    this.log.info({ remote: c.remote }, 'HA slave connection accepted');
    c.start();
  }

  #onTick(): void {
    const now = this.now();
    for (const c of [...this.#connections]) c.tick(now);
  }

  #finish(w: Waiter, r: ReplicationResult): void {
    if (w.done) return;
    w.done = true;
    this.#pendingWaiters--;
    w.resolve(r);
  }

  #armDeadlineTimer(): void {
    const first = this.#byDeadline.find((w) => !w.done);
    if (!first) {
      if (this.#deadlineTimer) clearTimeout(this.#deadlineTimer);
      this.#deadlineTimer = undefined;
      this.#deadlineTimerAt = Infinity;
      return;
    }
    if (this.#deadlineTimer && this.#deadlineTimerAt <= first.deadline) return;
    if (this.#deadlineTimer) clearTimeout(this.#deadlineTimer);
    this.#deadlineTimerAt = first.deadline;
    this.#deadlineTimer = setTimeout(() => this.#onDeadline(), Math.max(0, first.deadline - this.now()));
  }

  #onDeadline(): void {
    this.#deadlineTimer = undefined;
    this.#deadlineTimerAt = Infinity;
    const now = this.now();
    let n = 0;
    while (n < this.#byDeadline.length && (this.#byDeadline[n]!.done || this.#byDeadline[n]!.deadline <= now)) {
      this.#finish(this.#byDeadline[n]!, 'FLUSH_SLAVE_TIMEOUT');
      n++;
    }
    if (n > 0) this.#byDeadline.splice(0, n);
    this.#compact();
    this.#armDeadlineTimer();
  }

  /** Drops resolved waiters from both lists once they are the majority (keeps every op amortized O(1)). */
  #compact(): void {
    const live = this.#pendingWaiters;
    if (this.#byOffset.length > 64 && this.#byOffset.length > 2 * live) this.#byOffset = this.#byOffset.filter((w) => !w.done);
    if (this.#byDeadline.length > 64 && this.#byDeadline.length > 2 * live) this.#byDeadline = this.#byDeadline.filter((w) => !w.done);
    let lead = 0;
    while (lead < this.#byDeadline.length && this.#byDeadline[lead]!.done) lead++;
    if (lead > 0) this.#byDeadline.splice(0, lead);
  }
}

/** Inserts keeping `list` sorted by key; O(1) when the key is the largest (the common case). */
function insertSorted<T>(list: T[], item: T, key: (x: T) => number): void {
  const k = key(item);
  if (list.length === 0 || key(list[list.length - 1]!) <= k) {
    list.push(item);
    return;
  }
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (key(list[mid]!) <= k) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, 0, item);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
