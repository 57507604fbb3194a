// Delayed messages (Java's ScheduleMessageService). A send with DELAY level n > 0 is stored in
// SCHEDULE_TOPIC_XXXX queue n−1 with its real topic and queue in REAL_TOPIC/REAL_QID; its
// consume-queue tag code is the delivery time (store time + the level's delay). Per level, this
// service walks that queue in order and, once an entry is due, stores a copy under the real
// topic and queue (DELAY removed, body/flag/born host/properties kept). Progress per level is
// the next queue offset to deliver, kept in config/delayOffset.json (Java's format) and synced
// to slaves (GET_ALL_DELAY_OFFSET). Only a master delivers.
//
// Instead of Java's 100 ms re-check of every level, a level sleeps until its head entry is due
// (one timer) or, when its queue is drained, until a new entry is dispatched to it.
import { join } from 'node:path';
import type { Logger } from 'pino';
import { newDataVersion, nextDataVersion, toDataVersion, type DataVersion } from '../common/data-version.js';
import { readJsonFile, writeJsonFile } from '../common/json-file.js';
import { parseDelayLevels } from '../config/broker-config.js';
import { decodeMessageRecord, decodeProperties, getProperty, Prop, SysFlag, tagsCode, type DecodedRecord } from '../protocol/message.js';
import type { DispatchedMessage, MessageStore, PutMessageInput } from '../store/message-store.js';
import { SCHEDULE_TOPIC } from './metadata.js';
import { TIMER_TOPIC, TimerProp } from './timer-message-service.js';
import { storedCopy } from './stored-copy.js';

/** Retry delay after a failed put of a due message (Java DELAY_FOR_A_PERIOD). */
const RETRY_AFTER_FAILURE_MS = 10_000;
/** Entries read per store call; a level yields to the event loop after MAX_PER_ROUND deliveries. */
const BATCH = 32;
const MAX_PER_ROUND = 1024;

export interface ScheduleOptions {
  store: MessageStore;
  configDir: string;
  /** Delay of level i+1 in ms (parsed messageDelayLevel). */
  levelsMs: readonly number[];
  flushIntervalMs: number;
  /** MULTI_TAG topics get the MULTI_TAGS sysFlag bit on delivery. */
  isMultiTagTopic: (topic: string) => boolean;
  log: Logger;
}

/** Consume-queue tag code of a stored record, with the configured delay levels (store recovery); a timer entry's is its TIMER_OUT_MS. */
export function scheduleTagsCodeOf(levelsMs: readonly number[]): (topic: string, properties: string, storeTimestamp: number) => number {
  return (topic, properties, storeTimestamp) => {
    if (topic === SCHEDULE_TOPIC) {
      const level = Number(getProperty(properties, Prop.DELAY) ?? '0');
      if (Number.isInteger(level) && level > 0) return storeTimestamp + levelsMs[Math.min(level, levelsMs.length) - 1]!;
    }
    if (topic === TIMER_TOPIC) {
      const at = Number(getProperty(properties, TimerProp.OUT_MS));
      if (Number.isFinite(at)) return at;
    }
    return tagsCode(getProperty(properties, Prop.TAGS));
  };
}

export class ScheduleMessageService {
  readonly #o: ScheduleOptions;
  readonly #path: string;
  /** level → next SCHEDULE_TOPIC queue offset to deliver. */
  readonly #offsets = new Map<number, number>();
  readonly #timers = new Map<number, NodeJS.Timeout>();
  readonly #busy = new Set<number>();
  readonly #again = new Set<number>();
  #flushTimer: NodeJS.Timeout | undefined;
  #dataVersion: DataVersion = newDataVersion();
  #dirty = false;
  #active = false;
  #stopped = false;
  /** Messages delivered since start (tests, runtime info). */
  delivered = 0;

  constructor(o: ScheduleOptions) {
    this.#o = o;
    this.#path = join(o.configDir, 'delayOffset.json');
  }

  get maxDelayLevel(): number {
    return this.#o.levelsMs.length;
  }

  /** Delay of a level (clamped to the max level), ms. */
  delayMs(level: number): number {
    return this.#o.levelsMs[Math.min(level, this.#o.levelsMs.length) - 1]!;
  }

  get active(): boolean {
    return this.#active;
  }

  load(): void {
    const saved = readJsonFile(this.#path) as { offsetTable?: Record<string, unknown>; dataVersion?: unknown } | undefined;
    this.#setTable(saved?.offsetTable ?? {});
    this.#dataVersion = toDataVersion(saved?.dataVersion) ?? newDataVersion();
    this.#flushTimer = setInterval(() => this.persist(), this.#o.flushIntervalMs);
    this.#flushTimer.unref();
  }

  /** Wakes a level whose queue got a new entry (store dispatch listener). */
  onDispatch(msg: DispatchedMessage): void {
    if (msg.topic !== SCHEDULE_TOPIC || !this.#active) return;
    const level = msg.queueId + 1;
    // A level waiting on a timer waits for an earlier entry: the new one is due later still.
    if (this.#timers.has(level) && !this.#busy.has(level)) return;
    setImmediate(() => void this.#deliverLevel(level));
  }

  /** Master: start delivering every level from the stored (or synced) offsets. */
  start(): void {
    if (this.#active || this.#stopped) return;
    this.#active = true;
    this.#o.log.info({ levels: this.#o.levelsMs.length, offsets: Object.fromEntries(this.#offsets) }, 'delayed message delivery started');
    for (let level = 1; level <= this.#o.levelsMs.length; level++) void this.#deliverLevel(level);
  }

  /** Demotion or shutdown: stop delivering; offsets are kept (and persisted). */
  stop(): void {
    if (!this.#active) return;
    this.#active = false;
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    this.persist();
    this.#o.log.info('delayed message delivery stopped');
  }

  shutdown(): void {
    this.stop();
    this.#stopped = true;
    clearInterval(this.#flushTimer);
    this.persist(true);
  }

  /** Slave: takes the master's progress (GET_ALL_DELAY_OFFSET), so a promotion resumes there. */
  replaceAll(offsetTable: Record<string, unknown>): void {
    if (this.#active) return;
    this.#setTable(offsetTable);
    this.#dirty = true;
    this.persist();
  }

  offsetOf(level: number): number {
    return this.#offsets.get(level) ?? 0;
  }

  /** delayOffset.json text, fastjson style: `{"offsetTable":{1:0,2:5},"dataVersion":{…}}`. */
  encode(): string {
    const entries = [...this.#offsets].sort((a, b) => a[0] - b[0]).map(([l, off]) => `${l}:${off}`);
    return `{"offsetTable":{${entries.join(',')}},"dataVersion":${JSON.stringify(this.#dataVersion)}}`;
  }

  persist(force = false): void {
    if (!this.#dirty && !force) return;
    this.#dirty = false;
    this.#dataVersion = nextDataVersion(this.#dataVersion);
    try {
      writeJsonFile(this.#path, this.encode());
    } catch (err) {
      this.#dirty = true;
      this.#o.log.error({ err, path: this.#path }, 'writing delayOffset.json failed');
    }
  }

  #setTable(table: Record<string, unknown>): void {
    this.#offsets.clear();
    for (const [k, v] of Object.entries(table)) {
      const level = Number(k);
      const off = Number(v);
      if (Number.isInteger(level) && level > 0 && Number.isFinite(off) && off >= 0) this.#offsets.set(level, off);
    }
  }

  #setOffset(level: number, offset: number): void {
    if (this.#offsets.get(level) === offset) return;
    this.#offsets.set(level, offset);
    this.#dirty = true;
  }

  #schedule(level: number, inMs: number): void {
    clearTimeout(this.#timers.get(level));
    const t = setTimeout(() => {
      this.#timers.delete(level);
      void this.#deliverLevel(level);
    }, Math.max(0, inMs));
    t.unref();
    this.#timers.set(level, t);
  }

  /** Delivers the due head of one level's queue, then sleeps until the next entry is due. */
  async #deliverLevel(level: number): Promise<void> {
    if (!this.#active) return;
    if (this.#busy.has(level)) {
      this.#again.add(level);
      return;
    }
    this.#busy.add(level);
    clearTimeout(this.#timers.get(level));
    this.#timers.delete(level);
    try {
      await this.#deliverDue(level);
    } catch (err) {
      this.#o.log.error({ err, level }, 'delayed message delivery failed; retrying later');
      if (this.#active) this.#schedule(level, RETRY_AFTER_FAILURE_MS);
    } finally {
      this.#busy.delete(level);
    }
    if (this.#again.delete(level) && this.#active && !this.#timers.has(level)) setImmediate(() => void this.#deliverLevel(level));
  }

  async #deliverDue(level: number): Promise<void> {
    const store = this.#o.store;
    const queueId = level - 1;
    const delayMs = this.delayMs(level);
    let offset = Math.max(this.offsetOf(level), store.getMinOffsetInQueue(SCHEDULE_TOPIC, queueId));
    let delivered = 0;
    while (this.#active) {
      const res = store.getMessages(SCHEDULE_TOPIC, queueId, offset, { maxMsgNums: BATCH });
      if (res.status !== 'FOUND') {
        // Deleted by retention, or a hole: move on; otherwise drained (a dispatch wakes us).
        if (res.nextBeginOffset > offset && res.status !== 'OFFSET_OVERFLOW_ONE') {
          offset = res.nextBeginOffset;
          this.#setOffset(level, offset);
          continue;
        }
        this.#setOffset(level, offset);
        return;
      }
      for (let i = 0; i < res.messages.length; i++) {
        const rec = decodeMessageRecord(res.messages[i]!);
        const queueOffset = res.queueOffsets[i]!;
        if (!rec) {
          offset = queueOffset + 1;
          continue;
        }
        const now = Date.now();
        let deliverAt = rec.storeTimestamp + delayMs;
        // Java's correctDeliverTimestamp: a time further out than one full delay (clock moved
        // back) is delivered now rather than held longer than the level promises.
        if (deliverAt > now + delayMs) deliverAt = now;
        if (deliverAt > now) {
          this.#setOffset(level, offset);
          this.#schedule(level, deliverAt - now);
          return;
        }
        if (!(await this.#deliver(rec, level))) {
          this.#setOffset(level, offset);
          if (this.#active) this.#schedule(level, RETRY_AFTER_FAILURE_MS);
          return;
        }
        offset = queueOffset + 1;
        this.#setOffset(level, offset);
        if (++delivered >= MAX_PER_ROUND) {
          // Let other work run; continue right after.
          this.#schedule(level, 0);
          return;
        }
      }
      offset = Math.max(offset, res.nextBeginOffset);
      this.#setOffset(level, offset);
    }
  }

  /** Stores the real message; false when the put failed and should be retried. */
  async #deliver(rec: DecodedRecord, level: number): Promise<boolean> {
    const input = this.#realMessage(rec);
    if (!input) {
      this.#o.log.error({ level, physicalOffset: rec.physicalOffset }, 'delayed message without REAL_TOPIC/REAL_QID skipped');
      return true;
    }
    const result = await this.#o.store.putMessage(input);
    if (result.status === 'PUT_OK' || result.status === 'FLUSH_DISK_TIMEOUT') {
      this.delivered++;
      return true;
    }
    if (result.status === 'MESSAGE_ILLEGAL') {
      // It can never be stored: retrying would block the level forever.
      this.#o.log.error({ level, topic: input.topic, physicalOffset: rec.physicalOffset, remark: result.remark }, 'delayed message cannot be stored; skipped');
      return true;
    }
    this.#o.log.warn({ level, topic: input.topic, status: result.status, remark: result.remark }, 'delivering a delayed message failed; retrying in 10 s');
    return false;
  }

  /** ScheduleMessageService.messageTimeup: the message as it is stored under its real topic. */
  #realMessage(rec: DecodedRecord): PutMessageInput | undefined {
    const props = decodeProperties(rec.properties);
    const topic = props.get(Prop.REAL_TOPIC);
    const queueId = Number(props.get(Prop.REAL_QID));
    if (!topic || !Number.isInteger(queueId) || queueId < 0) return undefined;
    props.delete(Prop.DELAY);
    const sysFlag = this.#o.isMultiTagTopic(topic) ? rec.sysFlag | SysFlag.MULTI_TAGS : rec.sysFlag;
    return storedCopy(rec, topic, queueId, props, sysFlag);
  }
}

/** Properties of 5.x timer messages (arbitrary delivery time); a delay level wins over them. */
export const TIMER_PROPERTIES = ['TIMER_DELIVER_MS', 'TIMER_DELAY_MS', 'TIMER_DELAY_SEC'] as const;

export interface ScheduledPlacement {
  topic: string;
  queueId: number;
  /** Delivery time: the consume-queue tag code of the SCHEDULE_TOPIC entry. */
  tagsCode: number;
}

/**
 * HookUtils.transformDelayLevelMessage: rewrites `props` of a message with DELAY level > 0 for
 * SCHEDULE_TOPIC_XXXX (level clamped to the max, REAL_TOPIC/REAL_QID saved, timer properties
 * dropped since the level wins) and says where to store it; undefined when it is not delayed.
 */
export function placeDelayed(props: Map<string, string>, topic: string, queueId: number, levelsMs: readonly number[], now = Date.now()): ScheduledPlacement | undefined {
  const raw = Number(props.get(Prop.DELAY) ?? '0');
  if (!Number.isInteger(raw) || raw <= 0) return undefined;
  const level = Math.min(raw, levelsMs.length);
  for (const p of TIMER_PROPERTIES) props.delete(p);
  props.set(Prop.DELAY, String(level));
  props.set(Prop.REAL_TOPIC, topic);
  props.set(Prop.REAL_QID, String(queueId));
  return { topic: SCHEDULE_TOPIC, queueId: level - 1, tagsCode: now + levelsMs[level - 1]! };
}

const levelCache = { text: '', levels: [] as number[] };

/** The parsed messageDelayLevel of a (validated) config, cached by its text. */
export function delayLevelsOf(messageDelayLevel: string): readonly number[] {
  if (levelCache.text !== messageDelayLevel || levelCache.levels.length === 0) {
    const parsed = parseDelayLevels(messageDelayLevel);
    if (!parsed) throw new Error(`invalid messageDelayLevel "${messageDelayLevel}"`);
    levelCache.text = messageDelayLevel;
    levelCache.levels = parsed;
  }
  return levelCache.levels;
}
