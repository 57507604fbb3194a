import { describe, expect, it } from 'vitest';
import { silentLogger } from '../common/logger.js';
import { MAX_LOCKS_PER_GROUP, RebalanceLockManager, type MessageQueueRef } from './rebalance-lock-manager.js';

function manager(maxLiveMs = 60_000): { locks: RebalanceLockManager; clock: { now: number } } {
  const clock = { now: 1_000_000 };
  const locks = new RebalanceLockManager({ lockMaxLiveTimeMs: () => maxLiveMs, log: silentLogger(), now: () => clock.now });
  return { locks, clock };
}

const mq = (queueId: number, topic = 'T', brokerName = 'b'): MessageQueueRef => ({ topic, brokerName, queueId });
const ids = (qs: readonly MessageQueueRef[]): number[] => qs.map((q) => q.queueId).sort((a, b) => a - b);

describe('RebalanceLockManager', () => {
  it('grants free queues and answers exactly the queues the requester holds', () => {
    const { locks } = manager();
    expect(ids(locks.tryLockBatch('G', [mq(0), mq(1)], 'c1'))).toEqual([0, 1]);
    // c2 asks for a held queue and a free one: only the free one is granted.
    expect(ids(locks.tryLockBatch('G', [mq(1), mq(2)], 'c2'))).toEqual([2]);
    expect(locks.holder('G', mq(1))).toBe('c1');
    expect(locks.holder('G', mq(2))).toBe('c2');
    // Duplicates in one request count once.
    expect(ids(locks.tryLockBatch('G', [mq(3), mq(3)], 'c1'))).toEqual([3]);
  });

  it('keeps groups, topics and brokers apart', () => {
    const { locks } = manager();
    expect(locks.tryLockBatch('G1', [mq(0)], 'c1')).toHaveLength(1);
    expect(locks.tryLockBatch('G2', [mq(0)], 'c2')).toHaveLength(1);
    expect(locks.tryLockBatch('G1', [mq(0, 'U'), mq(0, 'T', 'other')], 'c2')).toHaveLength(2);
  });

  it('renewal by the holder refreshes the timestamp; an unrenewed lock expires to another client', () => {
    const { locks, clock } = manager(60_000);
    locks.tryLockBatch('G', [mq(0), mq(1)], 'c1');
    clock.now += 50_000;
    expect(ids(locks.tryLockBatch('G', [mq(0)], 'c1'))).toEqual([0]); // renews queue 0 only
    clock.now += 10_001; // queue 1 is 60 001 ms old, queue 0 10 001 ms
    expect(ids(locks.tryLockBatch('G', [mq(0), mq(1)], 'c2'))).toEqual([1]);
    expect(locks.holder('G', mq(1))).toBe('c2');
    expect(locks.holder('G', mq(0))).toBe('c1');
    // Exactly the live time is not yet expired (Java: now - last > max).
    clock.now += 60_000 - 10_001;
    expect(locks.tryLockBatch('G', [mq(0)], 'c2')).toEqual([]);
    clock.now += 1;
    expect(ids(locks.tryLockBatch('G', [mq(0)], 'c2'))).toEqual([0]);
  });

  it('hands an expired lock back to its own holder', () => {
    const { locks, clock } = manager(1000);
    locks.tryLockBatch('G', [mq(0)], 'c1');
    clock.now += 5000;
    expect(locks.holder('G', mq(0))).toBeUndefined();
    expect(ids(locks.tryLockBatch('G', [mq(0)], 'c1'))).toEqual([0]);
    expect(locks.holder('G', mq(0))).toBe('c1');
  });

  it('unlock frees only the requester\'s queues', () => {
    const { locks } = manager();
    locks.tryLockBatch('G', [mq(0), mq(1)], 'c1');
    locks.tryLockBatch('G', [mq(2)], 'c2');
    locks.unlockBatch('G', [mq(0), mq(2), mq(9)], 'c1');
    expect(locks.holder('G', mq(0))).toBeUndefined();
    expect(locks.holder('G', mq(1))).toBe('c1');
    expect(locks.holder('G', mq(2))).toBe('c2');
    expect(ids(locks.tryLockBatch('G', [mq(0), mq(2)], 'c3'))).toEqual([0]);
    locks.unlockBatch('NoSuchGroup', [mq(0)], 'c1');
  });

  it('isLockAllExpired tells whether a group holds a live lock', () => {
    const { locks, clock } = manager(1000);
    expect(locks.isLockAllExpired('G')).toBe(true);
    locks.tryLockBatch('G', [mq(0)], 'c1');
    expect(locks.isLockAllExpired('G')).toBe(false);
    clock.now += 1001;
    expect(locks.isLockAllExpired('G')).toBe(true);
  });

  it('two consumers competing: each queue has one live holder at any time', () => {
    const { locks, clock } = manager(3000);
    const queues = [0, 1, 2, 3].map((i) => mq(i));
    // Both clients ask for everything every second, as rebalancing consumers do before they agree.
    for (let t = 0; t < 20; t++) {
      const a = locks.tryLockBatch('G', t % 2 === 0 ? queues : queues.slice(0, 2), 'a');
      const b = locks.tryLockBatch('G', queues, 'b');
      const overlap = a.filter((q) => b.some((r) => r.queueId === q.queueId));
      expect(overlap).toEqual([]);
      clock.now += 1000;
    }
  });

  it('bounds a group\'s table: expired entries make room, live ones refuse new locks', () => {
    const { locks, clock } = manager(1000);
    const many = Array.from({ length: MAX_LOCKS_PER_GROUP }, (_, i) => mq(i));
    expect(locks.tryLockBatch('G', many, 'c1')).toHaveLength(MAX_LOCKS_PER_GROUP);
    expect(locks.tryLockBatch('G', [mq(MAX_LOCKS_PER_GROUP)], 'c2')).toEqual([]);
    clock.now += 1001;
    expect(locks.tryLockBatch('G', [mq(MAX_LOCKS_PER_GROUP)], 'c2')).toHaveLength(1);
  });
});
