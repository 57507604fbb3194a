// Orderly consumption locks: LOCK_BATCH_MQ (41) and UNLOCK_BATCH_MQ (42).
//
// An orderly push consumer locks every queue it was assigned on the queue's master before it
// consumes from it, renews the locks every 20 s and treats its own lock as lost after 30 s
// without renewal (client RebalanceImpl.lockAll, ProcessQueue.REBALANCE_LOCK_MAX_LIVE_TIME). The
// broker keeps group → queue → (clientId, lastUpdate); a queue is granted when it is free, held by
// the same clientId (the timestamp is refreshed) or its holder has not renewed for longer than
// `rebalanceLockMaxLiveTimeMs` (Java: -Drocketmq.broker.rebalance.lockMaxLiveTime, 60 s).
// Semantics follow apache/rocketmq broker/.../client/rebalance/RebalanceLockManager.java.
//
// Locks are NOT released when the holder's connection closes: Java never does either (only
// UNLOCK_BATCH_MQ or expiry frees a queue; AdminBrokerProcessor and SendMessageProcessor are the
// only users of the manager). A consumer that crashed blocks its queues for at most the live time.
import type { Logger } from 'pino';
import { RequestError } from '../common/errors.js';
import { jsonBody, parseJsonBody } from '../common/json.js';
import { ResponseCode } from '../protocol/codes.js';
import { createResponse, type RemotingCommand } from '../protocol/remoting.js';

export interface MessageQueueRef {
  topic: string;
  brokerName: string;
  queueId: number;
}

interface LockEntry {
  clientId: string;
  lastUpdateMs: number;
}

/** Groups with a lock table; past this, tables whose locks have all expired are dropped first. */
export const MAX_LOCK_GROUPS = 10_000;
/** Locked queues per group; past this, expired entries are dropped first, then locks are refused. */
export const MAX_LOCKS_PER_GROUP = 65_536;

function keyOf(mq: MessageQueueRef): string {
  return `${mq.topic}\u0001${mq.brokerName}\u0001${mq.queueId}`;
}

export interface RebalanceLockManagerOptions {
  /** A lock not renewed for longer than this may be taken by another client. */
  lockMaxLiveTimeMs: () => number;
  log: Logger;
  now?: () => number;
}

export class RebalanceLockManager {
  readonly #table = new Map<string, Map<string, LockEntry>>();
  readonly #maxLiveMs: () => number;
  readonly #log: Logger;
  readonly #now: () => number;

  constructor(options: RebalanceLockManagerOptions) {
    this.#maxLiveMs = options.lockMaxLiveTimeMs;
    this.#log = options.log;
    this.#now = options.now ?? Date.now;
  }

  #expired(e: LockEntry, now: number): boolean {
    return now - e.lastUpdateMs > this.#maxLiveMs();
  }

  /** True when the group holds no unexpired lock (Java isLockAllExpired: orderly groups' retries go to the DLQ). */
  isLockAllExpired(group: string): boolean {
    const locks = this.#table.get(group);
    if (!locks) return true;
    const now = this.#now();
    for (const e of locks.values()) if (!this.#expired(e, now)) return false;
    return true;
  }

  /** The clientId holding `mq` now (undefined if free or expired). */
  holder(group: string, mq: MessageQueueRef): string | undefined {
    const e = this.#table.get(group)?.get(keyOf(mq));
    return e && !this.#expired(e, this.#now()) ? e.clientId : undefined;
  }

  /** Locks what it can of `mqs` for `clientId`; returns exactly the queues the client now holds. */
  tryLockBatch(group: string, mqs: readonly MessageQueueRef[], clientId: string): MessageQueueRef[] {
    const now = this.#now();
    const locks = this.#groupTable(group, now);
    const granted: MessageQueueRef[] = [];
    const seen = new Set<string>();
    for (const mq of mqs) {
      const key = keyOf(mq);
      if (seen.has(key)) continue;
      seen.add(key);
      const e = locks?.get(key);
      if (e && e.clientId === clientId) {
        // Held (or held and expired, which Java also hands back to the same client).
        e.lastUpdateMs = now;
        granted.push(mq);
      } else if (e && this.#expired(e, now)) {
        this.#log.warn({ group, mq, oldClientId: e.clientId, clientId }, 'queue lock expired, given to another client');
        e.clientId = clientId;
        e.lastUpdateMs = now;
        granted.push(mq);
      } else if (e) {
        this.#log.debug({ group, mq, lockedBy: e.clientId, clientId }, 'queue is locked by another client');
      } else if (locks && this.#roomFor(locks, now)) {
        locks.set(key, { clientId, lastUpdateMs: now });
        granted.push(mq);
      } else {
        this.#log.warn({ group, mq, clientId, maxGroups: MAX_LOCK_GROUPS, maxPerGroup: MAX_LOCKS_PER_GROUP }, 'lock table full, queue lock refused');
      }
    }
    return granted;
  }

  /** Frees the queues of `mqs` that `clientId` holds; others' locks stay. */
  unlockBatch(group: string, mqs: readonly MessageQueueRef[], clientId: string): void {
    const locks = this.#table.get(group);
    if (!locks) return;
    for (const mq of mqs) {
      const key = keyOf(mq);
      const e = locks.get(key);
      if (e?.clientId === clientId) locks.delete(key);
      else if (e) this.#log.debug({ group, mq, lockedBy: e.clientId, clientId }, 'unlock of a queue locked by another client ignored');
    }
    if (locks.size === 0) this.#table.delete(group);
  }

  /** The group's table, created if there is room for one more group (undefined if not). */
  #groupTable(group: string, now: number): Map<string, LockEntry> | undefined {
    let locks = this.#table.get(group);
    if (locks) return locks;
    if (this.#table.size >= MAX_LOCK_GROUPS) {
      for (const [g, t] of this.#table) {
        let live = false;
        for (const e of t.values()) if (!this.#expired(e, now)) live = true;
        if (!live) this.#table.delete(g);
      }
      if (this.#table.size >= MAX_LOCK_GROUPS) return undefined;
    }
    this.#table.set(group, (locks = new Map<string, LockEntry>()));
    return locks;
  }

  #roomFor(locks: Map<string, LockEntry>, now: number): boolean {
    if (locks.size < MAX_LOCKS_PER_GROUP) return true;
    for (const [k, e] of locks) if (this.#expired(e, now)) locks.delete(k);
    return locks.size < MAX_LOCKS_PER_GROUP;
  }
}

interface LockBatchBody {
  consumerGroup: string;
  clientId: string;
  mqSet: MessageQueueRef[];
}

function parseLockBody(req: RemotingCommand): LockBatchBody {
  const raw = parseJsonBody(req.body) as { consumerGroup?: unknown; clientId?: unknown; mqSet?: unknown } | null;
  if (!raw || typeof raw !== 'object') throw RequestError.invalid('the lock request has no JSON body');
  const { consumerGroup, clientId, mqSet } = raw;
  if (typeof consumerGroup !== 'string' || consumerGroup === '') throw RequestError.invalid('the lock request has no consumerGroup');
  if (typeof clientId !== 'string' || clientId === '') throw RequestError.invalid('the lock request has no clientId');
  const mqs: MessageQueueRef[] = [];
  for (const m of Array.isArray(mqSet) ? (mqSet as unknown[]) : []) {
    const q = m as Partial<Record<keyof MessageQueueRef, unknown>> | null;
    if (!q || typeof q.topic !== 'string' || typeof q.brokerName !== 'string' || !Number.isInteger(Number(q.queueId))) {
      throw RequestError.invalid(`the lock request has a malformed message queue: ${JSON.stringify(m)}`);
    }
    mqs.push({ topic: q.topic, brokerName: q.brokerName, queueId: Number(q.queueId) });
  }
  return { consumerGroup, clientId, mqSet: mqs };
}

/**
 * AdminBrokerProcessor.lockBatchMQ / unlockBatchMQ without lockInStrictMode (its default false):
 * this broker's table decides, whatever onlyThisBroker says.
 */
export class LockBatchProcessor {
  readonly #locks: RebalanceLockManager;

  constructor(locks: RebalanceLockManager) {
    this.#locks = locks;
  }

  lock(req: RemotingCommand): RemotingCommand {
    const b = parseLockBody(req);
    const lockOKMQSet = this.#locks.tryLockBatch(b.consumerGroup, b.mqSet, b.clientId);
    // fastjson's field order for MessageQueue (alphabetical).
    const body = { lockOKMQSet: lockOKMQSet.map((q) => ({ brokerName: q.brokerName, queueId: q.queueId, topic: q.topic })) };
    return createResponse(req, ResponseCode.SUCCESS, undefined, {}, jsonBody(body));
  }

  /** Clients send this oneway at shutdown; the transport drops the answer then. */
  unlock(req: RemotingCommand): RemotingCommand {
    const b = parseLockBody(req);
    this.#locks.unlockBatch(b.consumerGroup, b.mqSet, b.clientId);
    return createResponse(req, ResponseCode.SUCCESS);
  }
}
