// Slave side of classic RocketMQ HA (DefaultHAClient of apache/rocketmq store/.../ha/): connects to
// the master's HA port, reports its commit-log max offset, appends the raw bytes the master streams,
// and reconnects with a bounded backoff when the master goes away.
//
//   connect → report max offset → for each frame [offset][size][body]:
//       our max ≠ 0 and offset ≠ our max  → drop the connection, reconnect (the master restarts the
//                                           stream from what we report then)
//       size > 0                          → store.appendCommitLogData(offset, body) (an empty slave
//                                           takes any start offset), then report the new max
//   every haSendHeartbeatInterval → report again; nothing read for haHousekeepingInterval → reconnect.
// Frames are appended strictly one at a time; reading pauses while too many bytes wait.
import type { Logger } from 'pino';
import { RmqError } from '../common/errors.js';
import { silentLogger } from '../common/logger.js';
import type { ReplicableStore } from '../store/message-store.js';
import { DEFAULT_MAX_FRAME_BODY_BYTES, encodeReport, FrameReader } from './ha-protocol.js';
import { splitAddress, tcpTransport, type HAChannel, type HATransport } from './ha-transport.js';

/** What the slave side needs from the store. DefaultMessageStore (ReplicableStore) satisfies it. */
export type HASlaveStore = Pick<ReplicableStore, 'getMaxPhyOffset' | 'appendCommitLogData'>;

export interface HAClientOptions {
  /** Static master HA address "host:port" (haMasterAddress); otherwise call setMasterAddress(). */
  haMasterAddress?: string;
  /** Report the max offset at least this often, ms. Default 5000. */
  haSendHeartbeatInterval?: number;
  /** Nothing read from the master for this long → reconnect, ms. Default 20000. */
  haHousekeepingInterval?: number;
  /** First reconnect delay, doubled per failed attempt up to reconnectMaxMs. Default 1000. */
  reconnectMinMs?: number;
  /** Default 5000 (Java waits 5 s between attempts). */
  reconnectMaxMs?: number;
  /** Default 3000. */
  connectTimeoutMs?: number;
  /** Frames with a larger body are malformed. Default 4 MiB − 12 (Java's HAClient buffer). */
  maxFrameBodyBytes?: number;
  /** Pause reading while this many received bytes wait to be appended. Default 4 MiB. */
  maxBufferedBytes?: number;
  logger?: Logger;
  transport?: HATransport;
  /** Clock (tests). */
  now?: () => number;
}

export interface HAClientStatus {
  masterAddress?: string;
  connected: boolean;
  /** Our commit-log max offset (-1 while the store cannot answer, e.g. shut down). */
  replicatedOffset: number;
  /** Epoch ms of the last frame (data or heartbeat) from the master; 0 = never. */
  lastFrameAt: number;
  /**
   * Highest offset + size seen in master frames (the classic protocol never carries the master's max
   * offset, so this is what the master had sent, and lag = this − replicatedOffset).
   */
  masterMaxOffsetSeen: number;
}

const DEFAULTS = {
  haSendHeartbeatInterval: 5000,
  haHousekeepingInterval: 20_000,
  reconnectMinMs: 1000,
  reconnectMaxMs: 5000,
  connectTimeoutMs: 3000,
  maxFrameBodyBytes: DEFAULT_MAX_FRAME_BODY_BYTES,
  maxBufferedBytes: 4 * 1024 * 1024,
} as const;

type Resolved = { -readonly [K in keyof typeof DEFAULTS]: number };

/** Connection-failure warnings are logged at most this often (the rest at debug). */
const CONNECT_WARN_INTERVAL_MS = 30_000;

class Session {
  readonly channel: HAChannel;
  readonly reader: FrameReader;
  readonly address: string;
  lastReadAt: number;
  lastReportAt = 0;
  reportedOffset = -1;
  closed = false;
  receivedFrame = false;
  busy = false;
  /** Settles when the frame loop is idle (no append in flight). */
  idle: Promise<void> = Promise.resolve();

  constructor(channel: HAChannel, address: string, maxFrameBodyBytes: number, now: number) {
    this.channel = channel;
    this.address = address;
    this.reader = new FrameReader(maxFrameBodyBytes);
    this.lastReadAt = now;
  }
}

export class HAClient {
  readonly #store: HASlaveStore;
  readonly #o: Resolved;
  readonly #log: Logger;
  readonly #transport: HATransport;
  readonly #now: () => number;
  #address: string | undefined;
  #running = false;
  #session: Session | undefined;
  /** Bumped on every address change and on stop: a connect that finishes for an old one is dropped. */
  #generation = 0;
  #connecting = false;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #backoffMs: number;
  #tick: NodeJS.Timeout | undefined;
  #lastFrameAt = 0;
  #masterMaxOffsetSeen = 0;
  #lastConnectWarnAt = 0;
  /** The previous session's frame loop: a new session starts only after its last append. */
  #previousIdle: Promise<void> = Promise.resolve();

  constructor(store: HASlaveStore, options: HAClientOptions = {}) {
    this.#store = store;
    const o: Resolved = { ...DEFAULTS };
    for (const key of Object.keys(DEFAULTS) as (keyof Resolved)[]) {
      const v = options[key];
      if (v === undefined) continue;
      if (!Number.isSafeInteger(v) || v <= 0) throw new RmqError('RMQ_CONFIG_INVALID', `HA client option ${key}=${v} must be a positive integer`);
      o[key] = v;
    }
    if (o.reconnectMaxMs < o.reconnectMinMs) o.reconnectMaxMs = o.reconnectMinMs;
    this.#o = o;
    this.#backoffMs = o.reconnectMinMs;
    this.#log = options.logger ?? silentLogger();
    this.#transport = options.transport ?? tcpTransport;
    this.#now = options.now ?? Date.now;
    this.#address = normalizeAddress(options.haMasterAddress);
    if (this.#address !== undefined) splitAddress(this.#address); // throws RMQ_CONFIG_INVALID on garbage
  }

  /** Starts following the master (now, if its address is known). */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    const tickMs = Math.max(5, Math.min(1000, Math.floor(Math.min(this.#o.haSendHeartbeatInterval, this.#o.haHousekeepingInterval) / 4)));
    this.#tick = setInterval(() => this.#onTick(), tickMs);
    this.#tick.unref();
    this.#connectSoon(0);
  }

  /**
   * The master's HA address (from the NameServer registration response's haServerAddr, or
   * static config); undefined disconnects and waits. A change drops the current connection.
   */
  setMasterAddress(address: string | undefined): void {
    const next = normalizeAddress(address);
    if (next === this.#address) return;
    if (next !== undefined) splitAddress(next); // throws on garbage before anything changes
    this.#log.info({ old: this.#address, new: next }, 'HA master address changed');
    this.#address = next;
    this.#generation++;
    this.#backoffMs = this.#o.reconnectMinMs;
    if (this.#session) this.#closeSession(this.#session, 'master address changed', 'info', false);
    this.#connectSoon(0);
  }

  get masterAddress(): string | undefined {
    return this.#address;
  }

  status(): HAClientStatus {
    const s = this.#session;
    return {
      masterAddress: this.#address,
      connected: s !== undefined && !s.closed,
      replicatedOffset: this.#maxOffsetForLog() ?? -1,
      lastFrameAt: this.#lastFrameAt,
      masterMaxOffsetSeen: this.#masterMaxOffsetSeen,
    };
  }

  /** Disconnects and waits for an append in flight, so the store can be shut down after. Idempotent. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#generation++;
    if (this.#tick) clearInterval(this.#tick);
    this.#tick = undefined;
    if (this.#reconnectTimer) clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    const s = this.#session;
    if (s) this.#closeSession(s, 'HA client stopping', 'info', false);
    await this.#previousIdle;
  }

  // -- connecting ----------------------------------------------------------------------------

  #connectSoon(delayMs: number): void {
    if (!this.#running || this.#address === undefined || this.#session || this.#connecting) return;
    if (this.#reconnectTimer) clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      void this.#connect();
    }, delayMs);
  }

  async #connect(): Promise<void> {
    const address = this.#address;
    if (!this.#running || address === undefined || this.#session || this.#connecting) return;
    const generation = this.#generation;
    this.#connecting = true;
    let channel: HAChannel | undefined;
    let failure: unknown;
    try {
      await this.#previousIdle;
      if (generation === this.#generation) channel = await this.#transport.connect(address, this.#o.connectTimeoutMs);
    } catch (err) {
      failure = err;
    } finally {
      this.#connecting = false;
    }
    if (generation !== this.#generation || !this.#running) {
      // The address changed (or we stopped) meanwhile: this attempt is stale.
      channel?.close();
      this.#connectSoon(0);
      return;
    }
    if (!channel) {
      this.#connectFailed(address, failure);
      return;
    }
    this.#startSession(channel, address);
  }

  #connectFailed(address: string, err: unknown): void {
    const now = this.#now();
    const fields = { master: address, retryInMs: this.#backoffMs, err: err instanceof Error ? err.message : String(err) };
    if (now - this.#lastConnectWarnAt >= CONNECT_WARN_INTERVAL_MS) {
      this.#lastConnectWarnAt = now;
      this.#log.warn(fields, 'HA client cannot connect to master');
    } else {
      this.#log.debug(fields, 'HA client cannot connect to master');
    }
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    const delay = this.#backoffMs;
    this.#backoffMs = Math.min(this.#o.reconnectMaxMs, this.#backoffMs * 2);
    this.#connectSoon(delay);
  }

  #startSession(channel: HAChannel, address: string): void {
    const s = new Session(channel, address, this.#o.maxFrameBodyBytes, this.#now());
    this.#session = s;
    this.#log.info({ master: address, offset: this.#maxOffsetForLog() }, 'HA client connected to master');
    channel.attach({
      data: (chunk) => this.#onData(s, chunk),
      drain: () => undefined,
      close: (err) => this.#closeSession(s, err ? `connection error: ${err.message}` : 'master closed the connection', 'warn', true),
    });
    // Java's DefaultHAClient reports right after connecting: the master starts streaming from here.
    try {
      this.#report(s, this.#store.getMaxPhyOffset());
    } catch (err) {
      this.#closeSession(s, `store unavailable: ${err instanceof Error ? err.message : String(err)}`, 'error', true);
    }
  }

  #closeSession(s: Session, reason: string, level: 'info' | 'warn' | 'error', reconnect: boolean): void {
    if (s.closed) return;
    s.closed = true;
    s.channel.close();
    if (this.#session === s) this.#session = undefined;
    this.#previousIdle = s.idle;
    this.#log[level]({ master: s.address, offset: this.#maxOffsetForLog() }, `HA client disconnected: ${reason}`);
    if (s.receivedFrame) this.#backoffMs = this.#o.reconnectMinMs;
    if (reconnect) this.#scheduleReconnect();
  }

  /** The store's max offset for logs and status; undefined when the store throws (shut down). */
  #maxOffsetForLog(): number | undefined {
    try {
      return this.#store.getMaxPhyOffset();
    } catch {
      return undefined;
    }
  }

  // -- streaming -----------------------------------------------------------------------------

  #report(s: Session, offset: number): void {
    if (s.closed) return;
    s.channel.write([encodeReport(offset)]);
    s.reportedOffset = offset;
    s.lastReportAt = this.#now();
  }

  #onData(s: Session, chunk: Buffer): void {
    if (s.closed) return;
    s.lastReadAt = this.#now();
    s.reader.push(chunk);
    if (s.reader.bufferedBytes > this.#o.maxBufferedBytes) s.channel.pause();
    if (!s.busy) {
      s.idle = this.#drainFrames(s).catch((err: unknown) => {
        // Runs from a socket callback: nothing may escape (e.g. a store that was shut down).
        s.busy = false;
        this.#closeSession(s, `replication failed: ${err instanceof Error ? err.message : String(err)}`, 'error', true);
      });
    }
  }

  /** Applies complete frames one at a time until none is left. */
  async #drainFrames(s: Session): Promise<void> {
    s.busy = true;
    try {
      for (;;) {
        if (s.closed) return;
        let frame;
        try {
          frame = s.reader.next();
        } catch (err) {
          this.#closeSession(s, `malformed frame from master: ${err instanceof Error ? err.message : String(err)}`, 'error', true);
          return;
        }
        if (!frame) break;
        const ours = this.#store.getMaxPhyOffset();
        // DefaultHAClient.dispatchReadRequest: an empty slave takes whatever start the master picks.
        if (ours !== 0 && frame.offset !== ours) {
          this.#closeSession(s, `master sent offset ${frame.offset} but our max offset is ${ours}`, 'error', true);
          return;
        }
        s.receivedFrame = true;
        this.#lastFrameAt = this.#now();
        const end = frame.offset + frame.body.length;
        if (end > this.#masterMaxOffsetSeen) this.#masterMaxOffsetSeen = end;
        if (frame.body.length === 0) continue;
        try {
          await this.#store.appendCommitLogData(frame.offset, frame.body);
        } catch (err) {
          this.#closeSession(s, `appending ${frame.body.length} bytes at ${frame.offset} failed: ${err instanceof Error ? err.message : String(err)}`, 'error', true);
          return;
        }
        const max = this.#store.getMaxPhyOffset();
        if (max > s.reportedOffset) this.#report(s, max);
      }
      // No complete frame is left and no append is in flight: only more bytes can make progress
      // (what is held is below one frame, itself capped by maxFrameBodyBytes).
      if (!s.closed) s.channel.resume();
    } finally {
      s.busy = false;
    }
  }

  #onTick(): void {
    const s = this.#session;
    if (!s || s.closed) return;
    const now = this.#now();
    if (now - s.lastReadAt > this.#o.haHousekeepingInterval) {
      this.#closeSession(s, `nothing from master for ${now - s.lastReadAt} ms (haHousekeepingInterval ${this.#o.haHousekeepingInterval})`, 'warn', true);
      return;
    }
    if (now - s.lastReportAt < this.#o.haSendHeartbeatInterval) return;
    try {
      this.#report(s, Math.max(s.reportedOffset, this.#store.getMaxPhyOffset()));
    } catch (err) {
      this.#closeSession(s, `store unavailable: ${err instanceof Error ? err.message : String(err)}`, 'error', true);
    }
  }
}

function normalizeAddress(address: string | undefined): string | undefined {
  const a = address?.trim();
  return a ? a : undefined;
}
