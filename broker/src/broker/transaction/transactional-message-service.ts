// Transactional messages on the broker side (Java's TransactionalMessageServiceImpl,
// TransactionalMessageCheckService and DefaultTransactionalMessageCheckListener in one place):
// ends transactions (commit → the real message under its topic, rollback → nothing; both write an
// op record) and, on a master, checks back halves nobody resolved.
//
// Check-back, every transactionCheckInterval: walk RMQ_SYS_TRANS_HALF_TOPIC from the progress
// offset, skipping halves an op record marks done. A half older than transactionTimeOut (or its
// CHECK_IMMUNITY_TIME_IN_SECONDS) is stored again at the queue's tail with TRANSACTION_CHECK_TIMES
// + 1 and CHECK_TRANSACTION_STATE (oneway) goes for that copy to a live producer of its PGROUP;
// the producer answers with END_TRANSACTION for the copy. After transactionCheckMax checks the
// half goes to TRANS_CHECK_MAX_TIME_TOPIC instead. The walk stops at the first half that is too
// young. Progress is the consumer offset of group CID_RMQ_SYS_TRANS on the half and op queues (as
// in Java), persisted with the other offsets and synced to slaves, so a restart or a promoted slave
// resumes where the master was.
//
// One deliberate difference: when no producer of the group is connected, Java still counts the
// check (and discards the half after transactionCheckMax rounds nobody could answer). Here the
// copy keeps its count, so an unresolved half waits for its producer to come back (bounded by
// fileReservedTime, after which Java and we drop it).
import type { Logger } from 'pino';
import { RequestCode, ResponseCode } from '../../protocol/codes.js';
import { decodeMessageRecord, decodeProperties, encodeMessageRecord, encodeProperties, getProperty, Prop, SysFlag, type DecodedRecord } from '../../protocol/message.js';
import { createRequest, type RemotingCommand } from '../../protocol/remoting.js';
import type { AppendedMessage, MessageStore, PutMessageInput } from '../../store/message-store.js';
import type { ConsumerOffsetManager } from '../metadata.js';
import { TRANS_CHECK_MAX_TIME_TOPIC, TRANS_HALF_TOPIC, TRANS_OP_HALF_TOPIC } from '../metadata.js';
import { placeTimer, type TimerPlacementSettings } from '../timer-message-service.js';
import { createUniqId } from '../uniq-id.js';
import {
  checkImmunityMs,
  checkStateHeader,
  committedMessage,
  discardedMessage,
  halfCopy,
  nextCheckTimes,
  nextOpOffset,
  OP_REMOVE_TAG,
  opMessage,
  parseOpBody,
  TRANS_CHECK_GROUP,
  TranProp,
  type EndTransactionHeader,
} from './transaction-util.js';

/** Java's MAX_PROCESS_TIME_LIMIT: one queue's walk yields after this long. */
const MAX_ROUND_MS = 60_000;
/** Op records read per store call (OP_MSG_PULL_NUMS). */
const OP_BATCH = 32;

/** Where a check request goes: a producer's connection. */
export interface CheckChannel {
  readonly remoteAddress: string;
  invokeOneway(request: RemotingCommand): void;
}

export interface TransactionSettings extends TimerPlacementSettings {
  transactionTimeOut: number;
  transactionCheckMax: number;
  transactionCheckInterval: number;
  /** Hours; halves born longer ago are dropped (Java's needSkip). 0 disables that here. */
  fileReservedTime: number;
  brokerName: string;
}

export interface TransactionServiceOptions {
  store: MessageStore;
  /** Progress of the check service (group CID_RMQ_SYS_TRANS). */
  offsets: ConsumerOffsetManager;
  /** A live connection of a producer of `group` (ProducerManager.getAvailableChannel). */
  producerChannel: (group: string) => CheckChannel | undefined;
  /** Read on every use: runtime config updates apply. */
  settings: () => TransactionSettings;
  /** The broker's encoded address: born and store host of op records. */
  brokerHost: Buffer;
  /** Creates a system topic (TRANS_CHECK_MAX_TIME_TOPIC) with one queue if it is missing. */
  ensureTopic: (topic: string) => void;
  log: Logger;
}

export interface EndTransactionOutcome {
  code: number;
  remark?: string;
}

/** What one check round did (tests, logs). */
export interface CheckRoundReport {
  /** Checks sent to a producer. */
  checked: number;
  /** Halves moved to TRANS_CHECK_MAX_TIME_TOPIC (or dropped as too old). */
  discarded: number;
  /** Halves an op record marked done. */
  resolved: number;
  /** Halves due for a check whose producer group had no live connection (kept for later). */
  waitingForProducer: number;
}

interface OpScan {
  /** Half queue offset → op queue offset of the record resolving it. */
  removeMap: Map<number, number>;
  /** Op queue offset → half offsets it resolves that the walk has not reached yet. */
  pending: Map<number, Set<number>>;
  done: number[];
  next: number;
  exhausted: boolean;
}

type PutOutcome = { ok: true; appended: AppendedMessage } | { ok: false; code: number; remark: string };

export class TransactionalMessageService {
  readonly #o: TransactionServiceOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #active = false;
  #stopped = false;
  /** Counters since start (runtime info, tests). */
  readonly stats = { committed: 0, rolledBack: 0, checksSent: 0, discarded: 0 };

  constructor(o: TransactionServiceOptions) {
    this.#o = o;
  }

  get active(): boolean {
    return this.#active;
  }

  // -------------------------------------------------------------------------------------------
  // END_TRANSACTION

  /** Commits or rolls back the half at header.commitLogOffset (EndTransactionProcessor). */
  async endTransaction(h: EndTransactionHeader, remote: string, remark?: string): Promise<EndTransactionOutcome> {
    const log = this.#o.log;
    if (h.commitOrRollback === SysFlag.TRANSACTION_NOT_TYPE) {
      // Java answers nothing; the half stays for the check service.
      log.warn({ remote, producerGroup: h.producerGroup, msgId: h.msgId, fromTransactionCheck: h.fromTransactionCheck, remark }, 'producer reported transaction state unknown');
      return { code: ResponseCode.SUCCESS, remark: 'transaction state unknown: the broker will check it back' };
    }
    const found = this.#findHalf(h.commitLogOffset);
    if (typeof found === 'string') return { code: ResponseCode.SYSTEM_ERROR, remark: found };
    const { rec, props } = found;
    const settings = this.#o.settings();
    const immunity = props.get(TranProp.CHECK_IMMUNITY_TIME_IN_SECONDS);
    if (!h.fromTransactionCheck && immunity !== undefined && immunity !== '' && Date.now() - rec.bornTimestamp > checkImmunityMs(immunity, settings.transactionTimeOut)) {
      // EndTransactionProcessor.rejectCommitOrRollback: past its immunity time the half waits for a check.
      return { code: ResponseCode.ILLEGAL_OPERATION, remark: `the transaction of message ${h.msgId} is past its CHECK_IMMUNITY_TIME_IN_SECONDS (${immunity} s): only an answer to a check may end it now` };
    }
    const pgroup = props.get(Prop.PGROUP);
    if (pgroup !== h.producerGroup) {
      return { code: ResponseCode.SYSTEM_ERROR, remark: `The producer group wrong: the half message at commitLogOffset ${h.commitLogOffset} belongs to producer group ${pgroup ?? '(none)'}, not ${h.producerGroup}` };
    }
    if (rec.queueOffset !== h.tranStateTableOffset) {
      return { code: ResponseCode.SYSTEM_ERROR, remark: `The transaction state table offset wrong: the half message at commitLogOffset ${h.commitLogOffset} has queue offset ${rec.queueOffset}, not ${h.tranStateTableOffset}` };
    }
    const commit = h.commitOrRollback === SysFlag.TRANSACTION_COMMIT;
    if (commit) {
      const committed = committedMessage(rec, h.commitLogOffset);
      if (!committed) return { code: ResponseCode.SYSTEM_ERROR, remark: `the half message at commitLogOffset ${h.commitLogOffset} has no valid REAL_TOPIC/REAL_QID` };
      const input = this.#timed(committed, settings);
      if ('code' in input) return input;
      const put = await this.#put(input);
      if (!put.ok) return { code: put.code, remark: put.remark };
      this.stats.committed++;
    } else {
      this.stats.rolledBack++;
    }
    await this.#writeOp(rec.queueId, [rec.queueOffset]);
    log.info(
      { action: commit ? 'commit' : 'rollback', topic: props.get(Prop.REAL_TOPIC), transactionId: props.get(Prop.UNIQ_KEY), commitLogOffset: h.commitLogOffset, fromTransactionCheck: h.fromTransactionCheck },
      'transaction ended',
    );
    return { code: ResponseCode.SUCCESS };
  }

  /**
   * A committed message with timer properties goes to the timer queue, as Java's put hook
   * (HookUtils.handleScheduleMessage) does for TRANSACTION_COMMIT_TYPE; the half itself never is.
   */
  #timed(input: PutMessageInput, settings: TransactionSettings): PutMessageInput | EndTransactionOutcome {
    const props = decodeProperties(input.properties);
    const timer = placeTimer(props, input.topic, input.queueId, settings);
    if (timer.kind === 'none') return input;
    if (timer.kind === 'refused') return { code: timer.code === 'ILLEGAL' ? ResponseCode.MESSAGE_ILLEGAL : ResponseCode.SYSTEM_ERROR, remark: timer.remark };
    return { ...input, topic: timer.topic, queueId: timer.queueId, tagsCode: timer.tagsCode, properties: encodeProperties(props) };
  }

  #findHalf(commitLogOffset: number): { rec: DecodedRecord; props: Map<string, string> } | string {
    let rec: DecodedRecord | undefined;
    try {
      const raw = commitLogOffset >= 0 ? this.#o.store.lookMessageByOffset(commitLogOffset) : undefined;
      rec = raw ? decodeMessageRecord(raw) : undefined;
    } catch {
      rec = undefined;
    }
    if (!rec) return `Find prepared transaction message failed: no message starts at commitLogOffset ${commitLogOffset}`;
    if (rec.topic !== TRANS_HALF_TOPIC) {
      return `Find prepared transaction message failed: the message at commitLogOffset ${commitLogOffset} is not a transaction half message (topic ${rec.topic})`;
    }
    return { rec, props: decodeProperties(rec.properties) };
  }

  async #put(input: PutMessageInput): Promise<PutOutcome> {
    const r = await this.#o.store.putMessage(input);
    const a = r.appended[0];
    if ((r.status === 'PUT_OK' || r.status === 'FLUSH_DISK_TIMEOUT') && a) return { ok: true, appended: a };
    const code = r.status === 'MESSAGE_ILLEGAL' ? ResponseCode.MESSAGE_ILLEGAL : r.status === 'SERVICE_NOT_AVAILABLE' ? ResponseCode.SERVICE_NOT_AVAILABLE : ResponseCode.SYSTEM_ERROR;
    return { ok: false, code, remark: r.remark ?? `store rejected the message: ${r.status}` };
  }

  /** deletePrepareMessage: marks halves done (written at once rather than batched every 3 s). */
  async #writeOp(halfQueueId: number, halfQueueOffsets: readonly number[]): Promise<void> {
    const put = await this.#put(opMessage(halfQueueId, halfQueueOffsets, this.#o.brokerHost, createUniqId()));
    if (!put.ok) this.#o.log.error({ halfQueueId, halfQueueOffsets, remark: put.remark }, 'writing a transaction op record failed; the half will be checked back');
  }

  // -------------------------------------------------------------------------------------------
  // Check-back service (master only)

  /** Master: check halves every transactionCheckInterval. */
  start(): void {
    if (this.#active || this.#stopped) return;
    this.#active = true;
    this.#o.log.info({ intervalMs: this.#o.settings().transactionCheckInterval }, 'transaction check service started');
    this.#schedule();
  }

  /** Demotion or shutdown: no more rounds (a round under way ends at its next step). */
  stop(): void {
    if (!this.#active) return;
    this.#active = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#o.log.info('transaction check service stopped');
  }

  async shutdown(): Promise<void> {
    this.stop();
    this.#stopped = true;
    await this.#running;
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#running = this.#round().finally(() => {
        this.#running = undefined;
        if (this.#active) this.#schedule();
      });
    }, this.#o.settings().transactionCheckInterval);
    this.#timer.unref();
  }

  async #round(): Promise<void> {
    if (!this.#active) return;
    try {
      const r = await this.checkOnce();
      if (r.checked + r.discarded > 0) this.#o.log.info(r, 'transaction check round');
      else if (r.waitingForProducer > 0) this.#o.log.debug(r, 'transaction check round: halves wait for their producer group to connect');
    } catch (err) {
      this.#o.log.error({ err }, 'transaction check round failed');
    }
  }

  /**
   * One check round over every half queue (TransactionalMessageServiceImpl.check). `now` is the
   * time halves' ages are measured at (tests move it forward instead of sleeping).
   */
  async checkOnce(now = Date.now()): Promise<CheckRoundReport> {
    const report: CheckRoundReport = { checked: 0, discarded: 0, resolved: 0, waitingForProducer: 0 };
    const queueIds = [...(this.#o.store.queues().get(TRANS_HALF_TOPIC)?.keys() ?? [])].sort((a, b) => a - b);
    for (const queueId of queueIds) await this.#checkQueue(queueId, now, report);
    return report;
  }

  #progress(topic: string, queueId: number): number {
    const saved = this.#o.offsets.query(TRANS_CHECK_GROUP, topic, queueId);
    return Math.max(saved, this.#o.store.getMinOffsetInQueue(topic, queueId));
  }

  async #checkQueue(queueId: number, now: number, report: CheckRoundReport): Promise<void> {
    const store = this.#o.store;
    // Halves stored from here on (copies this round writes, new sends) wait for the next round.
    const endAtStart = store.getMaxOffsetInQueue(TRANS_HALF_TOPIC, queueId);
    const settings = this.#o.settings();
    const halfOffset = this.#progress(TRANS_HALF_TOPIC, queueId);
    const opOffset = this.#progress(TRANS_OP_HALF_TOPIC, queueId);
    const ops: OpScan = { removeMap: new Map(), pending: new Map(), done: [], next: opOffset, exhausted: false };
    this.#readOps(queueId, halfOffset, ops);
    let i = halfOffset;
    const deadline = Date.now() + MAX_ROUND_MS;
    while (!this.#stopped && Date.now() < deadline) {
      const opAt = ops.removeMap.get(i);
      if (opAt !== undefined) {
        ops.removeMap.delete(i);
        const set = ops.pending.get(opAt);
        set?.delete(i);
        if (set?.size === 0) {
          ops.pending.delete(opAt);
          ops.done.push(opAt);
        }
        report.resolved++;
        i++;
        continue;
      }
      if (i >= endAtStart) break;
      const res = store.getMessages(TRANS_HALF_TOPIC, queueId, i, { maxMsgNums: 1 });
      if (res.status !== 'FOUND') {
        // Deleted by retention or a hole: move on; otherwise the queue is drained.
        if (res.status !== 'OFFSET_OVERFLOW_ONE' && res.status !== 'NO_MESSAGE_IN_QUEUE' && res.nextBeginOffset > i) {
          i = res.nextBeginOffset;
          continue;
        }
        break;
      }
      const rec = this.#decode(res.messages[0]!, i);
      if (!rec) {
        i++;
        continue;
      }
      const props = decodeProperties(rec.properties);
      const next = nextCheckTimes(props, settings.transactionCheckMax);
      const age = now - rec.bornTimestamp;
      const tooOld = settings.fileReservedTime > 0 && age > settings.fileReservedTime * 3_600_000;
      if (next.discard || tooOld) {
        if (!(await this.#discard(rec, props, tooOld))) break;
        report.discarded++;
        i++;
        continue;
      }
      const immunityText = props.get(TranProp.CHECK_IMMUNITY_TIME_IN_SECONDS);
      const immunityMs = immunityText ? checkImmunityMs(immunityText, settings.transactionTimeOut) : settings.transactionTimeOut;
      // Too young to ask about (a negative age means the producer's clock is ahead: check now).
      if (age >= 0 && age <= immunityMs) break;
      // An op record not read yet may resolve it.
      if (!ops.exhausted) {
        this.#readOps(queueId, halfOffset, ops);
        continue;
      }
      const group = props.get(Prop.PGROUP);
      const channel = group ? this.#o.producerChannel(group) : undefined;
      if (channel) props.set(TranProp.CHECK_TIMES, String(next.times));
      const copy = await this.#put(halfCopy(rec, props));
      if (!copy.ok) {
        this.#o.log.error({ queueOffset: i, remark: copy.remark }, 'storing a half message again for its check failed; retrying next round');
        break;
      }
      if (channel) {
        this.#sendCheck(channel, rec, props, copy.appended, settings.brokerName);
        report.checked++;
      } else {
        report.waitingForProducer++;
      }
      i++;
    }
    if (i !== halfOffset) this.#o.offsets.commit(TRANS_CHECK_GROUP, TRANS_HALF_TOPIC, queueId, i);
    const opNext = nextOpOffset(ops.done, opOffset);
    if (opNext !== opOffset) this.#o.offsets.commit(TRANS_CHECK_GROUP, TRANS_OP_HALF_TOPIC, queueId, opNext);
    if (i !== halfOffset || opNext !== opOffset) this.#o.offsets.persist();
  }

  /** A half record, or undefined (logged) when its bytes are not a record: it is skipped. */
  #decode(raw: Buffer, queueOffset: number): DecodedRecord | undefined {
    try {
      const rec = decodeMessageRecord(raw);
      if (rec) return rec;
    } catch (err) {
      this.#o.log.error({ err, queueOffset }, 'unreadable half message skipped');
      return undefined;
    }
    this.#o.log.error({ queueOffset }, 'truncated half message skipped');
    return undefined;
  }

  /** fillOpRemoveMap: reads the next batch of op records (sets ops.exhausted at the end). */
  #readOps(queueId: number, halfOffset: number, ops: OpScan): void {
    const res = this.#o.store.getMessages(TRANS_OP_HALF_TOPIC, queueId, ops.next, { maxMsgNums: OP_BATCH });
    if (res.status !== 'FOUND') {
      if (res.status !== 'OFFSET_OVERFLOW_ONE' && res.status !== 'NO_MESSAGE_IN_QUEUE' && res.nextBeginOffset > ops.next) {
        // Retention removed op records (or a hole): nothing below counts any more.
        for (let o = ops.next; o < res.nextBeginOffset; o++) ops.done.push(o);
        ops.next = res.nextBeginOffset;
        return;
      }
      ops.exhausted = true;
      return;
    }
    for (let k = 0; k < res.messages.length; k++) {
      const opQueueOffset = res.queueOffsets[k]!;
      const rec = decodeMessageRecord(res.messages[k]!);
      const set = new Set<number>();
      if (rec && getProperty(rec.properties, Prop.TAGS) === OP_REMOVE_TAG) {
        for (const half of parseOpBody(rec.body)) {
          if (half < halfOffset) continue;
          ops.removeMap.set(half, opQueueOffset);
          set.add(half);
        }
      } else {
        this.#o.log.error({ opQueueOffset }, 'transaction op record without the remove tag skipped');
      }
      if (set.size > 0) ops.pending.set(opQueueOffset, set);
      else ops.done.push(opQueueOffset);
    }
    ops.next = res.nextBeginOffset;
  }

  /** resolveDiscardMsg: a half checked transactionCheckMax times goes to TRANS_CHECK_MAX_TIME_TOPIC. */
  async #discard(rec: DecodedRecord, props: Map<string, string>, tooOld: boolean): Promise<boolean> {
    if (tooOld) {
      this.#o.log.warn({ realTopic: props.get(Prop.REAL_TOPIC), transactionId: props.get(Prop.UNIQ_KEY) }, 'half message older than fileReservedTime dropped');
      this.stats.discarded++;
      return true;
    }
    this.#o.ensureTopic(TRANS_CHECK_MAX_TIME_TOPIC);
    const put = await this.#put(discardedMessage(rec, props));
    if (!put.ok) {
      this.#o.log.error({ remark: put.remark }, 'moving a half message to TRANS_CHECK_MAX_TIME_TOPIC failed; retrying next round');
      return false;
    }
    this.stats.discarded++;
    this.#o.log.warn(
      { realTopic: props.get(Prop.REAL_TOPIC), transactionId: props.get(Prop.UNIQ_KEY), checkTimes: props.get(TranProp.CHECK_TIMES), producerGroup: props.get(Prop.PGROUP) },
      'half message checked too many times: moved to TRANS_CHECK_MAX_TIME_TOPIC',
    );
    return true;
  }

  /** Broker2Client.checkProducerTransactionState: the copy, under its real topic and queue. */
  #sendCheck(channel: CheckChannel, rec: DecodedRecord, props: Map<string, string>, copy: AppendedMessage, brokerName: string): void {
    const body = encodeMessageRecord({
      ...rec,
      topic: props.get(Prop.REAL_TOPIC) ?? rec.topic,
      queueId: Number(props.get(Prop.REAL_QID) ?? rec.queueId),
      queueOffset: copy.queueOffset,
      physicalOffset: copy.physicalOffset,
      storeTimestamp: copy.storeTimestamp,
      properties: encodeProperties(props),
    });
    const header = checkStateHeader(props, copy.queueOffset, copy.physicalOffset, copy.offsetMsgId, brokerName);
    channel.invokeOneway(createRequest(RequestCode.CHECK_TRANSACTION_STATE, header, body));
    this.stats.checksSent++;
  }
}
