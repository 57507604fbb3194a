// 5.x timer messages: TIMER_DELIVER_MS (absolute), TIMER_DELAY_MS or TIMER_DELAY_SEC (relative)
// ask for delivery at an arbitrary time. As in Java, such a message is stored under
// rmq_sys_wheel_timer queue 0 with REAL_TOPIC/REAL_QID and TIMER_OUT_MS (the delivery time, also
// its consume-queue tag code), and when due a copy goes to the real topic and queue with
// TIMER_ENQUEUE_MS/TIMER_DEQUEUE_MS added.
//
// Instead of Java's timer wheel and timer log, pending entries sit in a min-heap of
// (delivery time, queue offset), loaded from the timer queue at start and fed by dispatch; one
// timer waits for the earliest. Progress is a checkpoint in config/timercheck.json:
//   readTimeMs  every entry due at or before it, below enqueuedTo, has been delivered;
//   enqueuedTo  the next timer-queue offset not yet taken into the heap;
//   scanFrom    the lowest queue offset still pending (where a restart starts reading).
// readTimeMs never passes an entry still in the heap, so a crash can only repeat deliveries
// (at least once), never lose one. Slaves take readTimeMs/enqueuedTo from the master
// (GET_TIMER_CHECK_POINT, Java's layout) and rescan the whole queue when promoted.
import { join } from 'node:path';
import type { Logger } from 'pino';
import { newDataVersion, nextDataVersion, toDataVersion, type DataVersion } from '../common/data-version.js';
import { readJsonFile, writeJsonFile } from '../common/json-file.js';
import { decodeMessageRecord, decodeProperties, Prop, SysFlag, type DecodedRecord } from '../protocol/message.js';
import type { DispatchedMessage, MessageStore, PutMessageInput } from '../store/message-store.js';
import { TIMER_QUEUE_TOPIC } from './metadata.js';
import { storedCopy } from './stored-copy.js';

export const TIMER_TOPIC = TIMER_QUEUE_TOPIC;

export const TimerProp = {
  DELIVER_MS: 'TIMER_DELIVER_MS',
  DELAY_MS: 'TIMER_DELAY_MS',
  DELAY_SEC: 'TIMER_DELAY_SEC',
  OUT_MS: 'TIMER_OUT_MS',
  ENQUEUE_MS: 'TIMER_ENQUEUE_MS',
  DEQUEUE_MS: 'TIMER_DEQUEUE_MS',
  DEL_UNIQKEY: 'TIMER_DEL_UNIQKEY',
} as const;

/** Retry delay after a failed put of a due message. */
const RETRY_AFTER_FAILURE_MS = 10_000;
/** Deliveries per turn of the event loop. */
const MAX_PER_ROUND = 1024;
/** Longest single setTimeout (Node clamps larger values to 1 ms). */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface TimerPlacementSettings {
  timerWheelEnable: boolean;
  timerMaxDelaySec: number;
}

export type TimerPlacement =
  | { kind: 'none' }
  | { kind: 'timer'; topic: string; queueId: number; tagsCode: number; deliverMs: number }
  | { kind: 'refused'; code: 'ILLEGAL' | 'NOT_ENABLED'; remark: string };

/**
 * HookUtils.checkIfTimerMessage + transformTimerMessage: for a (non-transactional, non-delayed)
 * message with timer properties, rewrites `props` for rmq_sys_wheel_timer and says where to store
 * it; 'none' when it is not a timer message or already due (stored as an ordinary message).
 */
export function placeTimer(props: Map<string, string>, topic: string, queueId: number, s: TimerPlacementSettings, now = Date.now()): TimerPlacement {
  const deliverAt = props.get(TimerProp.DELIVER_MS);
  const delayMs = props.get(TimerProp.DELAY_MS);
  const delaySec = props.get(TimerProp.DELAY_SEC);
  if (deliverAt === undefined && delayMs === undefined && delaySec === undefined) return { kind: 'none' };
  // Already converted (a timer message stored again, e.g. sent back for retry): not re-timed.
  if (topic === TIMER_TOPIC || props.has(TimerProp.OUT_MS)) return { kind: 'none' };
  if (!s.timerWheelEnable) return { kind: 'refused', code: 'NOT_ENABLED', remark: 'accurate timer message is not enabled, timerWheelEnable is false' };
  const [name, raw] = delaySec !== undefined ? [TimerProp.DELAY_SEC, delaySec] : delayMs !== undefined ? [TimerProp.DELAY_MS, delayMs] : [TimerProp.DELIVER_MS, deliverAt!];
  if (!/^-?\d{1,16}$/.test(raw.trim())) return { kind: 'refused', code: 'ILLEGAL', remark: `timer message illegal: ${name}="${raw}" is not an integer` };
  const value = Number(raw.trim());
  const deliverMs = name === TimerProp.DELAY_SEC ? now + value * 1000 : name === TimerProp.DELAY_MS ? now + value : value;
  if (props.has(TimerProp.DEL_UNIQKEY)) {
    return { kind: 'refused', code: 'ILLEGAL', remark: 'timer message illegal: deleting timer messages (TIMER_DEL_UNIQKEY) is not supported by this broker' };
  }
  if (deliverMs <= now) return { kind: 'none' };
  const maxMs = s.timerMaxDelaySec * 1000;
  if (deliverMs - now > maxMs) {
    return { kind: 'refused', code: 'ILLEGAL', remark: `timer message illegal, the delay time should not be bigger than the max delay ${maxMs}ms (timerMaxDelaySec); asked for ${deliverMs - now}ms` };
  }
  props.set(TimerProp.OUT_MS, String(deliverMs));
  props.set(Prop.REAL_TOPIC, topic);
  props.set(Prop.REAL_QID, String(queueId));
  return { kind: 'timer', topic: TIMER_TOPIC, queueId: 0, tagsCode: deliverMs, deliverMs };
}

/** The delivery time a stored timer-queue record carries (TIMER_OUT_MS), or undefined. */
export function timerOutMsOf(properties: string): number | undefined {
  const v = Number(decodeProperties(properties).get(TimerProp.OUT_MS));
  return Number.isFinite(v) ? v : undefined;
}

export interface TimerCheckpoint {
  readTimeMs: number;
  enqueuedTo: number;
  scanFrom: number;
}

/** Java's TimerCheckpoint layout (GET_TIMER_CHECK_POINT body): 7 big-endian longs. */
export function encodeTimerCheckpoint(cp: TimerCheckpoint, dv: DataVersion): Buffer {
  const b = Buffer.alloc(56);
  b.writeBigInt64BE(BigInt(cp.readTimeMs), 0);
  // lastTimerLogFlushPos: Java's timer-log position; ours has no timer log.
  b.writeBigInt64BE(0n, 8);
  b.writeBigInt64BE(BigInt(cp.enqueuedTo), 16);
  b.writeBigInt64BE(BigInt(cp.enqueuedTo), 24);
  b.writeBigInt64BE(BigInt(dv.stateVersion), 32);
  b.writeBigInt64BE(BigInt(dv.timestamp), 40);
  b.writeBigInt64BE(BigInt(dv.counter), 48);
  return b;
}

/** Reads readTimeMs and masterTimerQueueOffset (what a slave takes) from a checkpoint body. */
export function decodeTimerCheckpoint(body: Buffer): { readTimeMs: number; enqueuedTo: number } {
  if (body.length < 32) throw new Error(`timer checkpoint body has ${body.length} bytes, expected at least 32`);
  return { readTimeMs: Number(body.readBigInt64BE(0)), enqueuedTo: Number(body.readBigInt64BE(24)) };
}

interface Pending {
  at: number;
  offset: number;
}

/** Binary min-heap by (at, offset). */
class PendingHeap {
  readonly #a: Pending[] = [];

  get size(): number {
    return this.#a.length;
  }

  peek(): Pending | undefined {
    return this.#a[0];
  }

  minOffset(): number | undefined {
    let min: number | undefined;
    for (const p of this.#a) if (min === undefined || p.offset < min) min = p.offset;
    return min;
  }

  clear(): void {
    this.#a.length = 0;
  }

  push(p: Pending): void {
    const a = this.#a;
    a.push(p);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!less(a[i]!, a[parent]!)) break;
      [a[i], a[parent]] = [a[parent]!, a[i]!];
      i = parent;
    }
  }

  pop(): Pending | undefined {
    const a = this.#a;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && less(a[l]!, a[m]!)) m = l;
        if (r < a.length && less(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

function less(x: Pending, y: Pending): boolean {
  return x.at < y.at || (x.at === y.at && x.offset < y.offset);
}

export interface TimerOptions {
  store: MessageStore;
  configDir: string;
  flushIntervalMs: number;
  /** MULTI_TAG topics get the MULTI_TAGS sysFlag bit on delivery. */
  isMultiTagTopic: (topic: string) => boolean;
  log: Logger;
  now?: () => number;
}

export class TimerMessageService {
  readonly #o: TimerOptions;
  readonly #path: string;
  readonly #now: () => number;
  readonly #heap = new PendingHeap();
  #cp: TimerCheckpoint = { readTimeMs: 0, enqueuedTo: 0, scanFrom: 0 };
  /** Highest delivery time delivered since start (readTimeMs advances towards it). */
  #deliveredMax = 0;
  #dataVersion: DataVersion = newDataVersion();
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;
  #flushTimer: NodeJS.Timeout | undefined;
  #active = false;
  #stopped = false;
  #busy = false;
  #dirty = false;
  /** Messages delivered since start (tests, runtime info). */
  delivered = 0;

  constructor(o: TimerOptions) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
    this.#path = join(o.configDir, 'timercheck.json');
  }

  get active(): boolean {
    return this.#active;
  }

  /** Timer messages waiting for their time (master only). */
  get pending(): number {
    return this.#heap.size;
  }

  load(): void {
    const saved = readJsonFile(this.#path) as Partial<Record<keyof TimerCheckpoint | 'dataVersion', unknown>> | undefined;
    const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0);
    this.#cp = { readTimeMs: num(saved?.readTimeMs), enqueuedTo: num(saved?.enqueuedTo), scanFrom: num(saved?.scanFrom) };
    this.#dataVersion = toDataVersion(saved?.dataVersion) ?? newDataVersion();
    this.#flushTimer = setInterval(() => this.persist(), this.#o.flushIntervalMs);
    this.#flushTimer.unref();
  }

  /** Master: loads pending entries from the timer queue and starts delivering. */
  start(): void {
    if (this.#active || this.#stopped) return;
    this.#active = true;
    this.#deliveredMax = this.#cp.readTimeMs;
    const loaded = this.#scan();
    this.#o.log.info({ pending: loaded, readTimeMs: this.#cp.readTimeMs, enqueuedTo: this.#cp.enqueuedTo }, 'timer message delivery started');
    this.#arm();
  }

  /** Demotion or shutdown: stop delivering; progress is kept (and persisted). */
  stop(): void {
    if (!this.#active) return;
    this.persist(true);
    this.#active = false;
    this.#clearTimer();
    this.#heap.clear();
    this.#o.log.info('timer message delivery stopped');
  }

  shutdown(): void {
    this.stop();
    this.#stopped = true;
    clearInterval(this.#flushTimer);
    this.persist(true);
  }

  /** Dispatch listener: takes new timer-queue entries into the heap. */
  onDispatch(msg: DispatchedMessage): void {
    if (msg.topic !== TIMER_TOPIC || !this.#active || msg.queueOffset < this.#cp.enqueuedTo) return;
    this.#heap.push({ at: msg.tagsCode, offset: msg.queueOffset });
    this.#cp.enqueuedTo = msg.queueOffset + 1;
    this.#dirty = true;
    if (msg.tagsCode < this.#timerAt) this.#arm();
  }

  /** The checkpoint a slave asks for (GET_TIMER_CHECK_POINT). */
  encodeCheckpoint(): Buffer {
    return encodeTimerCheckpoint(this.#checkpointNow(), this.#dataVersion);
  }

  /** Slave: takes the master's progress; a promotion then rescans the whole timer queue. */
  replaceCheckpoint(cp: { readTimeMs: number; enqueuedTo: number }): void {
    if (this.#active) return;
    if (cp.readTimeMs === this.#cp.readTimeMs && cp.enqueuedTo === this.#cp.enqueuedTo && this.#cp.scanFrom === 0) return;
    this.#cp = { readTimeMs: Math.max(0, cp.readTimeMs), enqueuedTo: Math.max(0, cp.enqueuedTo), scanFrom: 0 };
    this.#dirty = true;
    this.persist();
  }

  checkpoint(): TimerCheckpoint {
    return { ...this.#checkpointNow() };
  }

  persist(force = false): void {
    if (!this.#dirty && !force) return;
    this.#dirty = false;
    if (this.#active) this.#cp = this.#checkpointNow();
    this.#dataVersion = nextDataVersion(this.#dataVersion);
    try {
      writeJsonFile(this.#path, JSON.stringify({ ...this.#cp, dataVersion: this.#dataVersion }));
    } catch (err) {
      this.#dirty = true;
      this.#o.log.error({ err, path: this.#path }, 'writing timercheck.json failed');
    }
  }

  /** While active: readTimeMs stops just below the earliest entry still pending. */
  #checkpointNow(): TimerCheckpoint {
    if (!this.#active) return this.#cp;
    const top = this.#heap.peek();
    const readTimeMs = Math.max(0, top ? Math.min(this.#deliveredMax, top.at - 1) : this.#deliveredMax);
    return { readTimeMs, enqueuedTo: this.#cp.enqueuedTo, scanFrom: this.#heap.minOffset() ?? this.#cp.enqueuedTo };
  }

  /** Loads every undelivered entry of the timer queue into the heap; returns how many. */
  #scan(): number {
    const store = this.#o.store;
    const min = store.getMinOffsetInQueue(TIMER_TOPIC, 0);
    const max = store.getMaxOffsetInQueue(TIMER_TOPIC, 0);
    const { readTimeMs, enqueuedTo } = this.#cp;
    let offset = Math.max(min, Math.min(this.#cp.scanFrom, enqueuedTo));
    let loaded = 0;
    while (offset < max) {
      const res = store.getMessages(TIMER_TOPIC, 0, offset, { maxMsgNums: 256 });
      if (res.status !== 'FOUND') {
        if (res.nextBeginOffset > offset) {
          offset = res.nextBeginOffset;
          continue;
        }
        break;
      }
      for (let i = 0; i < res.messages.length; i++) {
        const queueOffset = res.queueOffsets[i]!;
        const rec = decodeMessageRecord(res.messages[i]!);
        const at = rec ? timerOutMsOf(rec.properties) : undefined;
        if (at === undefined) continue;
        if (queueOffset < enqueuedTo && at <= readTimeMs) continue; // delivered before
        this.#heap.push({ at, offset: queueOffset });
        loaded++;
      }
      offset = Math.max(offset + 1, res.nextBeginOffset);
    }
    this.#cp.enqueuedTo = max;
    this.#dirty = true;
    return loaded;
  }

  #clearTimer(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  #arm(delayMs?: number): void {
    if (!this.#active || this.#busy) return;
    const top = this.#heap.peek();
    this.#clearTimer();
    if (!top) return;
    const wait = Math.min(MAX_TIMER_MS, Math.max(0, delayMs ?? top.at - this.#now()));
    this.#timerAt = delayMs === undefined ? top.at : this.#now() + wait;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      void this.#deliverDue();
    }, wait);
    this.#timer.unref();
  }

  async #deliverDue(): Promise<void> {
    if (!this.#active || this.#busy) return;
    this.#busy = true;
    let retryIn: number | undefined;
    try {
      let n = 0;
      for (let top = this.#heap.peek(); top && top.at <= this.#now() && this.#active; top = this.#heap.peek()) {
        const outcome = await this.#deliverOne(top);
        if (outcome === 'retry') {
          retryIn = RETRY_AFTER_FAILURE_MS;
          break;
        }
        this.#heap.pop();
        if (top.at > this.#deliveredMax) this.#deliveredMax = top.at;
        this.#dirty = true;
        if (++n >= MAX_PER_ROUND) {
          retryIn = 0;
          break;
        }
      }
    } catch (err) {
      this.#o.log.error({ err }, 'timer message delivery failed; retrying later');
      retryIn = RETRY_AFTER_FAILURE_MS;
    } finally {
      this.#busy = false;
    }
    this.#arm(retryIn);
  }

  async #deliverOne(p: Pending): Promise<'done' | 'retry'> {
    const res = this.#o.store.getMessages(TIMER_TOPIC, 0, p.offset, { maxMsgNums: 1 });
    const buf = res.status === 'FOUND' && res.queueOffsets[0] === p.offset ? res.messages[0] : undefined;
    const rec = buf ? decodeMessageRecord(buf) : undefined;
    if (!rec) {
      // Removed by retention (or unreadable): nothing left to deliver.
      this.#o.log.warn({ offset: p.offset, status: res.status }, 'timer message no longer in the store; skipped');
      return 'done';
    }
    const input = this.#realMessage(rec);
    if (!input) {
      this.#o.log.error({ offset: p.offset, physicalOffset: rec.physicalOffset }, 'timer message without REAL_TOPIC/REAL_QID skipped');
      return 'done';
    }
    const result = await this.#o.store.putMessage(input);
    if (result.status === 'PUT_OK' || result.status === 'FLUSH_DISK_TIMEOUT') {
      this.delivered++;
      return 'done';
    }
    if (result.status === 'MESSAGE_ILLEGAL') {
      this.#o.log.error({ topic: input.topic, offset: p.offset, remark: result.remark }, 'timer message cannot be stored; skipped');
      return 'done';
    }
    this.#o.log.warn({ topic: input.topic, status: result.status, remark: result.remark }, 'delivering a timer message failed; retrying in 10 s');
    return 'retry';
  }

  /** TimerMessageStore.convertMessage: the message as stored under its real topic. */
  #realMessage(rec: DecodedRecord): PutMessageInput | undefined {
    const props = decodeProperties(rec.properties);
    const topic = props.get(Prop.REAL_TOPIC);
    const queueId = Number(props.get(Prop.REAL_QID));
    if (!topic || !Number.isInteger(queueId) || queueId < 0) return undefined;
    props.delete(Prop.REAL_TOPIC);
    props.delete(Prop.REAL_QID);
    props.set(TimerProp.ENQUEUE_MS, String(rec.storeTimestamp));
    props.set(TimerProp.DEQUEUE_MS, String(this.#now()));
    const sysFlag = this.#o.isMultiTagTopic(topic) ? rec.sysFlag | SysFlag.MULTI_TAGS : rec.sysFlag;
    return storedCopy(rec, topic, queueId, props, sysFlag);
  }
}
