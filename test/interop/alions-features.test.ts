// Features with ali-ons, the Node client (test/interop/alions/featurecheck.mjs): delay levels,
// consume retry through CONSUMER_SEND_MSG_BACK and %RETRY%group, broadcasting consumers.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTopic, OurCluster, prepareDriver, ROOT, runCheckProgram } from './harness.js';

const skip = prepareDriver('alions');
const script = join(ROOT, 'test/interop/alions/featurecheck.mjs');

describe.skipIf(skip !== undefined)(`features with the alions client${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const cluster = new OurCluster('interop-alions-features', { brokerConf: { messageDelayLevel: '1s 2s 1s 1s 1s' } });
  const log = (name: string): string => join(cluster.dir, `${name}.log`);
  const run = (args: string[], name: string, env: NodeJS.ProcessEnv = {}) => runCheckProgram(process.execPath, [script, ...args], log(name), 150_000, env);
  beforeAll(() => cluster.start());
  afterAll(() => cluster.stop());

  it('delayTimeLevel 2 arrives no earlier than 2 s later', async () => {
    const topic = `T_alions_delay_${Date.now()}`;
    await createTopic(cluster, topic, 2);
    const events = await run(['delay', '--namesrv', cluster.namesrvAddr, '--topic', topic, '--level', '2'], 'delay');
    const sent = events.find((e) => e.event === 'sent')!;
    const got = events.find((e) => e.event === 'received')!;
    const facts = JSON.stringify(events);
    expect(got.body, facts).toBe('alions-delayed');
    expect(got.delayLevelProp, facts).toBeNull();
    const stored = Number(got.storeTimestamp) - Number(got.bornTimestamp);
    expect(stored, facts).toBeGreaterThanOrEqual(2000);
    expect(stored, facts).toBeLessThan(3000);
    expect(Number(got.at) - Number(sent.at), facts).toBeGreaterThanOrEqual(2000);
  });

  it('a throwing handler gets the message again with growing reconsumeTimes, under its own topic', async () => {
    const topic = `T_alions_retry_${Date.now()}`;
    const group = `CG_alions_retry_${Date.now()}`;
    await createTopic(cluster, topic, 1);
    await createTopic(cluster, `%RETRY%${group}`, 1);
    const events = await run(['retry', '--namesrv', cluster.namesrvAddr, '--topic', topic, '--group', group, '--fail', '2'], 'retry');
    const attempts = events.filter((e) => e.event === 'attempt');
    expect(attempts.map((a) => a.reconsumeTimes), JSON.stringify(events)).toEqual([0, 1, 2]);
    expect(attempts.every((a) => a.topic === topic && a.body === 'alions-retry')).toBe(true);
    // Retry level 3 + reconsumeTimes: 1 s each with this broker's messageDelayLevel.
    for (let i = 1; i < attempts.length; i++) expect(Number(attempts[i]!.at) - Number(attempts[i - 1]!.at)).toBeGreaterThanOrEqual(900);
  });

  it('two isBroadcast consumers each get every message once', async () => {
    const topic = `T_alions_bc_${Date.now()}`;
    await createTopic(cluster, topic, 4);
    // ali-ons keeps broadcasting offsets under $HOME/.rocketmq_offsets_node.
    const home = mkdtempSync(join(tmpdir(), 'alions-home-'));
    const events = await run(['broadcast', '--namesrv', cluster.namesrvAddr, '--topic', topic, '--count', '20'], 'broadcast', { HOME: home });
    const members = events.filter((e) => e.event === 'consumer');
    expect(members, JSON.stringify(members)).toHaveLength(2);
    for (const m of members) expect(m, JSON.stringify(members)).toMatchObject({ distinct: 20, total: 20 });
  });
});
