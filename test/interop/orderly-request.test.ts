// Ordered consumption and request/reply with the real Java 4.9.x and 5.x remoting clients
// (OrderlyRequestCheck.java): two MessageListenerOrderly consumers of one group share the queues
// under the broker's LOCK_BATCH_MQ locks, every order is consumed in send order and no queue is
// handled by both at once; producer.request() gets the reply a consumer sends with
// MessageUtil.createReplyMessage, pushed by the broker as PUSH_REPLY_MESSAGE_TO_CLIENT.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTopic, OurCluster, prepareDriver, runJavaCheck } from './harness.js';

const skip = prepareDriver('java5');
const skip4 = prepareDriver('java4');

interface CheckEvent {
  event: string;
  consumer?: string;
  queueId?: number;
  order?: number;
  seq?: number;
  startUs?: number;
  endUs?: number;
  index?: number;
  body?: string;
  correlationId?: string | null;
  requestCorrelationId?: string | null;
  msgType?: string | null;
  topic?: string;
  status?: string;
  error?: string;
}

const runCheck = (line: 4 | 5, args: string[], logFile: string): Promise<CheckEvent[]> =>
  runJavaCheck(line, 'OrderlyRequestCheck', args, logFile, 180_000);

/** Listener calls of different consumers on one queue that overlap in time. */
function overlaps(consumed: CheckEvent[]): string[] {
  const problems: string[] = [];
  const byQueue = new Map<number, CheckEvent[]>();
  for (const e of consumed) byQueue.set(e.queueId!, [...(byQueue.get(e.queueId!) ?? []), e]);
  for (const [queueId, list] of byQueue) {
    for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length; j++) {
        const a = list[i]!;
        const b = list[j]!;
        if (a.consumer !== b.consumer && a.startUs! < b.endUs! && b.startUs! < a.endUs!) {
          problems.push(`queue ${queueId}: ${a.consumer} [${a.startUs}, ${a.endUs}] overlaps ${b.consumer} [${b.startUs}, ${b.endUs}]`);
        }
      }
    }
  }
  return problems;
}

for (const [line, lineSkip] of [[4, skip4], [5, skip]] as const) {
  describe.skipIf(lineSkip !== undefined)(`ordered messages and request/reply with the java${line} client${lineSkip ? ` (skipped: ${lineSkip})` : ''}`, () => {
    // Java's lock life, set explicitly: the handover below must work under the real rules.
    const cluster = new OurCluster(`interop-orderly-request-java${line}`, { brokerConf: { rebalanceLockMaxLiveTimeMs: '60000' } });
    const log = (name: string): string => join(cluster.dir, `${name}.log`);
    beforeAll(() => cluster.start());
    afterAll(() => cluster.stop());

    it('two orderly consumers: every order in send order, no queue consumed by both at once', async () => {
      const topic = `T_orderly_${Date.now()}`;
      await createTopic(cluster, topic, 4);
      const orders = 8;
      const perOrder = 20;
      const events = await runCheck(line, ['orderly', '--namesrv', cluster.namesrvAddr, '--topic', topic, '--group', `CG_orderly_${Date.now()}`, '--orders', String(orders), '--per-order', String(perOrder)], log('orderly'));
      const sent = events.filter((e) => e.event === 'sent');
      expect(sent).toHaveLength(orders * perOrder);
      // The selector keeps an order on one queue.
      for (const s of sent) expect(s.queueId).toBe(s.order! % 4);
      const consumed = events.filter((e) => e.event === 'consumed');
      for (let order = 0; order < orders; order++) {
        // First deliveries of an order's messages come in send order (redeliveries after a queue
        // moved, if any, repeat a suffix and are allowed: orderly consumption is at-least-once).
        const firsts: number[] = [];
        for (const e of consumed) if (e.order === order && !firsts.includes(e.seq!)) firsts.push(e.seq!);
        expect(firsts, `order ${order}`).toEqual(Array.from({ length: perOrder }, (_, i) => i));
        const all = consumed.filter((e) => e.order === order).map((e) => e.seq!);
        for (let i = 1; i < all.length; i++) {
          // Going back is only a redelivery of what was already consumed, never a skip ahead.
          if (all[i]! <= all[i - 1]!) expect(all.slice(0, i)).toContain(all[i]!);
          else expect(all[i]! - Math.max(...all.slice(0, i))).toBeLessThanOrEqual(1);
        }
      }
      expect(overlaps(consumed)).toEqual([]);
      // Both consumers really took part (c2 joined halfway and got queues through the locks).
      const byConsumer = new Set(consumed.map((e) => e.consumer));
      expect([...byConsumer].sort()).toEqual(['c1', 'c2']);
      const dup = consumed.length - orders * perOrder;
      if (dup > 0) console.log(`orderly: ${dup} redeliveries after queue handover`);
    });

    it('producer.request() receives the reply sent with MessageUtil.createReplyMessage', async () => {
      const topic = `T_request_${Date.now()}`;
      await createTopic(cluster, topic, 2);
      const events = await runCheck(line, ['request', '--namesrv', cluster.namesrvAddr, '--topic', topic, '--group', `CG_request_${Date.now()}`, '--count', '3'], log('request'));
      const replies = events.filter((e) => e.event === 'reply');
      expect(replies.map((r) => r.body)).toEqual(['reply-to-req-0', 'reply-to-req-1', 'reply-to-req-2']);
      for (const r of replies) {
        expect(r.correlationId).toBe(r.requestCorrelationId);
        expect(r.msgType).toBe('reply');
        expect(r.topic).toBe('DefaultCluster_REPLY_TOPIC');
      }
      const replied = events.filter((e) => e.event === 'replied');
      expect(replied.every((e) => e.status === 'SEND_OK')).toBe(true);
    });
  });
}
