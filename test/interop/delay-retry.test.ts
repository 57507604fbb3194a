// Delayed messages and consume retry/DLQ with the real Java 5.x remoting client
// (RetryDelayCheck.java): setDelayTimeLevel(n) arrives no earlier than due; a push consumer that
// answers RECONSUME_LATER gets the message again from %RETRY%group with growing reconsumeTimes,
// and after maxReconsumeTimes it lands in %DLQ%group.
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTopic, OurCluster, prepareDriver, ROOT, withTimeout } from './harness.js';

const skip = prepareDriver('java5');
const skipGo = prepareDriver('go');

/** Builds test/interop/go/delaycheck (a small program next to the shared Go driver). */
function buildGoDelayCheck(): string {
  const dir = join(ROOT, 'test/interop/go');
  const out = join(dir, 'bin/delaycheck');
  const r = spawnSync('go', ['build', '-trimpath', '-o', out, './delaycheck'], {
    cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000,
    env: { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: `${process.env.GOFLAGS ?? ''} -mod=mod -buildvcs=false` },
  });
  if (r.status !== 0) throw new Error(`go build ./delaycheck failed (exit ${r.status}):\n${r.stderr?.toString().slice(-3000)}`);
  return out;
}

interface CheckEvent {
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
  error?: string;
}

/** Runs RetryDelayCheck to its end and returns its JSON events. */
async function runCheck(args: string[], logFile: string, timeoutMs = 150_000, goBinary?: string): Promise<CheckEvent[]> {
  const javaDir = join(ROOT, 'test/interop/java/target');
  const child = goBinary
    ? spawn(goBinary, args.slice(1), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn('java', ['-cp', `${readFileSync(join(javaDir, 'cp-5.txt'), 'utf8').trim()}:${join(javaDir, 'v5/classes')}`, 'org.rmqts.interop.RetryDelayCheck', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(logFile, { flags: 'a' });
  child.stderr.pipe(log);
  let text = '';
  child.stdout.on('data', (d: Buffer) => {
    log.write(d);
    text += d.toString();
  });
  const code = await withTimeout(new Promise<number | null>((r) => child.on('exit', (c) => r(c))), timeoutMs, `RetryDelayCheck ${args[0]}`).catch((err: unknown) => {
    child.kill('SIGKILL');
    throw err;
  });
  const events = text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as CheckEvent);
  if (code !== 0) throw new Error(`RetryDelayCheck ${args[0]} exited with ${code}: ${JSON.stringify(events.filter((e) => e.event === 'error'))}; see ${logFile}`);
  return events;
}

describe.skipIf(skip !== undefined)(`delayed messages and consume retry with the java5 client${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const cluster = new OurCluster('interop-delay-retry', { brokerConf: { messageDelayLevel: '1s 2s 3s' } });
  const log = (name: string): string => join(cluster.dir, `${name}.log`);
  beforeAll(() => cluster.start());
  afterAll(() => cluster.stop());

  it('a message sent with setDelayTimeLevel(2) arrives no earlier than 2 s later', async () => {
    const topic = `T_delay_${Date.now()}`;
    await createTopic(cluster, topic, 2);
    const events = await runCheck(['delay', '--namesrv', cluster.namesrvAddr, '--topic', topic, '--level', '2'], log('delay'));
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

  it('RECONSUME_LATER retries through %RETRY%group with growing reconsumeTimes, then %DLQ%group', async () => {
    const topic = `T_retry_${Date.now()}`;
    const group = `CG_retry_${Date.now()}`;
    await createTopic(cluster, topic, 2);
    // A brand-new group's retry topic appears at its first heartbeat, after the client looked its
    // route up; the client would see it only at its 30 s route refresh (so with Apache RocketMQ too).
    await createTopic(cluster, `%RETRY%${group}`, 1);
    const events = await runCheck(['retry', '--namesrv', cluster.namesrvAddr, '--topic', topic, '--group', group, '--max-reconsume', '2'], log('retry'));
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

describe.skipIf(skipGo !== undefined)(`delayed messages with the go client${skipGo ? ` (skipped: ${skipGo})` : ''}`, () => {
  const cluster = new OurCluster('interop-delay-go', { brokerConf: { messageDelayLevel: '1s 2s 3s' } });
  let binary = '';
  beforeAll(async () => {
    binary = buildGoDelayCheck();
    await cluster.start();
  });
  afterAll(() => cluster.stop());

  it('a message sent with WithDelayTimeLevel(2) arrives no earlier than 2 s later', async () => {
    const topic = `T_go_delay_${Date.now()}`;
    await createTopic(cluster, topic, 2);
    const events = await runCheck(['delay', '--namesrv', cluster.namesrvAddr, '--topic', topic, '--level', '2'], join(cluster.dir, 'go-delay.log'), 120_000, binary);
    const sent = events.find((e) => e.event === 'sent')!;
    const got = events.find((e) => e.event === 'received')!;
    expect(got.body).toBe('go-delayed-body');
    expect(got.realTopic).toBe(topic);
    const waited = got.at! - sent.at!;
    expect(waited).toBeGreaterThanOrEqual(2000);
    expect(waited).toBeLessThan(2000 + 3000);
  });
});
