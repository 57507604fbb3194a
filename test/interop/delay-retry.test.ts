// Delayed messages and consume retry/DLQ with the real Java 4.9.x and 5.x remoting clients
// (RetryDelayCheck.java): setDelayTimeLevel(n) arrives no earlier than due; a push consumer that
// answers RECONSUME_LATER gets the message again from %RETRY%group with growing reconsumeTimes,
// and after maxReconsumeTimes it lands in %DLQ%group.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGoCheck, createTopic, OurCluster, prepareDriver, runCheckProgram, runJavaCheck } from './harness.js';

const skip = prepareDriver('java5');
const skip4 = prepareDriver('java4');
const skipGo = prepareDriver('go');

interface CheckEvent {
  [key: string]: unknown;
  event: string;
  at?: number;
  reconsumeTimes?: number;
  topic?: string;
  body?: string;
  retryTopic?: string | null;
  delayLevelProp?: string | null;
  realTopic?: string | null;
  storeTimestamp?: number;
  bornTimestamp?: number;
  timerOutMs?: string | null;
  deliverMs?: string | null;
  error?: string;
}

/** Runs RetryDelayCheck on Java client line 4 or 5, or the Go delaycheck, and returns its JSON events. */
const runCheck = (args: string[], logFile: string, timeoutMs = 150_000, target: 4 | 5 | { go: string } = 5): Promise<CheckEvent[]> =>
  typeof target === 'number' ? runJavaCheck(target, 'RetryDelayCheck', args, logFile, timeoutMs) : runCheckProgram(target.go, args.slice(1), logFile, timeoutMs);

for (const [line, lineSkip] of [[4, skip4], [5, skip]] as const) {
  describe.skipIf(lineSkip !== undefined)(`delayed messages and consume retry with the java${line} client${lineSkip ? ` (skipped: ${lineSkip})` : ''}`, () => {
    const cluster = new OurCluster(`interop-delay-retry-java${line}`, { brokerConf: { messageDelayLevel: '1s 2s 3s' } });
    const log = (name: string): string => join(cluster.dir, `${name}.log`);
    beforeAll(() => cluster.start());
    afterAll(() => cluster.stop());

    it('a message sent with setDelayTimeLevel(2) arrives no earlier than 2 s later', async () => {
      const topic = `T_delay_${Date.now()}`;
      await createTopic(cluster, topic, 2);
      const events = await runCheck(['delay', '--namesrv', cluster.namesrvAddr, '--topic', topic, '--level', '2'], log('delay'), 150_000, line);
      const sent = events.find((e) => e.event === 'sent')!;
      const got = events.find((e) => e.event === 'received')!;
      expect(got.body).toBe('delayed-body');
      expect(got.delayLevelProp).toBeNull();
      expect(got.realTopic).toBe(topic);
      // The broker stores the real message when due and within one second after (its store time
      // versus the client's born time); the consumer then gets it promptly.
      const stored = got.storeTimestamp! - got.bornTimestamp!;
      const waited = got.at! - sent.at!;
      const facts = `stored after ${stored} ms, received after ${waited} ms: ${JSON.stringify(events)}`;
      expect(stored, facts).toBeGreaterThanOrEqual(2000);
      expect(stored, facts).toBeLessThan(2000 + 1000);
      expect(waited, facts).toBeGreaterThanOrEqual(2000);
      expect(waited, facts).toBeLessThan(2000 + 3000);
    });

    // Message.setDeliverTimeMs is 5.x client API.
    if (line === 5) it('a 5.x message with setDeliverTimeMs(now + 2 s) arrives no earlier than that', async () => {
      const topic = `T_timer_${Date.now()}`;
      await createTopic(cluster, topic, 2);
      const events = await runCheck(['timer', '--namesrv', cluster.namesrvAddr, '--topic', topic, '--delay-ms', '2000'], log('timer'), 150_000, line);
      const sent = events.find((e) => e.event === 'sent')!;
      const got = events.find((e) => e.event === 'received')!;
      expect(got.body).toBe('delayed-body');
      expect(got.realTopic).toBeNull();
      expect(Number(got.timerOutMs)).toBe(Number(got.deliverMs));
      const due = Number(got.deliverMs);
      const facts = `due ${due}, stored ${got.storeTimestamp}, received ${got.at}: ${JSON.stringify(events)}`;
      expect(due - sent.at!, facts).toBeGreaterThanOrEqual(2000);
      expect(got.storeTimestamp!, facts).toBeGreaterThanOrEqual(due);
      expect(got.storeTimestamp! - due, facts).toBeLessThan(1000);
      expect(got.at! - due, facts).toBeLessThan(3000);
    });

    it('RECONSUME_LATER retries through %RETRY%group with growing reconsumeTimes, then %DLQ%group', async () => {
      const topic = `T_retry_${Date.now()}`;
      const group = `CG_retry_${Date.now()}`;
      await createTopic(cluster, topic, 2);
      // A brand-new group's retry topic appears at its first heartbeat, after the client looked its
      // route up; the client would see it only at its 30 s route refresh (so with Apache RocketMQ too).
      await createTopic(cluster, `%RETRY%${group}`, 1);
      const events = await runCheck(['retry', '--namesrv', cluster.namesrvAddr, '--topic', topic, '--group', group, '--max-reconsume', '2'], log('retry'), 150_000, line);
      const attempts = events.filter((e) => e.event === 'attempt');
      expect(attempts.map((a) => a.reconsumeTimes)).toEqual([0, 1, 2]);
      // The client restores the original topic from RETRY_TOPIC.
      expect(attempts.every((a) => a.topic === topic)).toBe(true);
      // Default delay level 3 + reconsumeTimes, clamped to the max level (3 s here).
      for (let i = 1; i < attempts.length; i++) expect(attempts[i]!.at! - attempts[i - 1]!.at!).toBeGreaterThanOrEqual(2900);
      const dlq = events.filter((e) => e.event === 'dlq');
      expect(dlq).toHaveLength(1);
      expect(dlq[0]).toMatchObject({ reconsumeTimes: 3, body: 'retry-body', topic: `%DLQ%${group}`, retryTopic: topic });
    });
  });
}

describe.skipIf(skipGo !== undefined)(`delayed messages with the go client${skipGo ? ` (skipped: ${skipGo})` : ''}`, () => {
  const cluster = new OurCluster('interop-delay-go', { brokerConf: { messageDelayLevel: '1s 2s 3s' } });
  let binary = '';
  beforeAll(async () => {
    binary = buildGoCheck('delaycheck');
    await cluster.start();
  });
  afterAll(() => cluster.stop());

  it('a message sent with WithDelayTimeLevel(2) arrives no earlier than 2 s later', async () => {
    const topic = `T_go_delay_${Date.now()}`;
    await createTopic(cluster, topic, 2);
    const events = await runCheck(['delay', '--namesrv', cluster.namesrvAddr, '--topic', topic, '--level', '2'], join(cluster.dir, 'go-delay.log'), 120_000, { go: binary });
    const sent = events.find((e) => e.event === 'sent')!;
    const got = events.find((e) => e.event === 'received')!;
    expect(got.body).toBe('go-delayed-body');
    expect(got.realTopic).toBe(topic);
    const waited = got.at! - sent.at!;
    expect(waited).toBeGreaterThanOrEqual(2000);
    expect(waited).toBeLessThan(2000 + 3000);
  });
});
