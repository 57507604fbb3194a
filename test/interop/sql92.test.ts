// SQL92 message filtering with the real Java 4.9.x and 5.x remoting clients (SqlFilterCheck.java): a push
// consumer subscribed with MessageSelector.bySql(...) gets exactly the matching messages; a bad
// expression makes consumer.start() fail with the broker's SUBSCRIPTION_PARSE_FAILED (its
// CHECK_CLIENT_CONFIG answer), and a broker without enablePropertyFilter refuses SQL92.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTopic, OurCluster, prepareDriver, runJavaCheck } from './harness.js';

const skip = prepareDriver('java5');
const skip4 = prepareDriver('java4');

interface CheckEvent {
  event: string;
  index?: number;
  a?: string | null;
  b?: string | null;
  tag?: string | null;
  responseCode?: number;
  error?: string;
}

/** Runs SqlFilterCheck on client line 4 or 5 and returns its JSON events. */
const runCheck = (line: 4 | 5, args: string[], logFile: string): Promise<CheckEvent[]> =>
  runJavaCheck(line, 'SqlFilterCheck', args, logFile, 120_000);

const received = (events: CheckEvent[]): string[] =>
  events
    .filter((e) => e.event === 'received')
    .map((e) => `${e.a}/${e.b}/${e.tag}`)
    .sort((x, y) => Number(x.split('/')[0]) - Number(y.split('/')[0]));

for (const [line, lineSkip] of [[4, skip4], [5, skip]] as const) {
  describe.skipIf(lineSkip !== undefined)(`SQL92 filtering with the java${line} client${lineSkip ? ` (skipped: ${lineSkip})` : ''}`, () => {
    const cluster = new OurCluster(`interop-sql92-java${line}`, { brokerConf: { enablePropertyFilter: 'true' } });
    const log = (name: string): string => join(cluster.dir, `${name}.log`);
    beforeAll(() => cluster.start());
    afterAll(() => cluster.stop());

    it('a push consumer with MessageSelector.bySql gets exactly the matching messages', async () => {
      const topic = `T_sql_${Date.now()}`;
      await createTopic(cluster, topic, 2);
      const sent = await runCheck(line, ['produce', cluster.namesrvAddr, topic, '12'], log('produce'));
      expect(sent.filter((e) => e.event === 'sent')).toHaveLength(12);
      // Two groups at once: user properties only, and the TAGS system property with OR / IN.
      const [range, tags] = await Promise.all([
        runCheck(line, ['consume', cluster.namesrvAddr, topic, `CG_sql_range_${Date.now()}`, "a BETWEEN 3 AND 7 AND b = 'x'", '15000'], log('consume-range')),
        runCheck(line, ['consume', cluster.namesrvAddr, topic, `CG_sql_tags_${Date.now()}`, "TAGS = 'TagB' AND (a > 8 OR a IN ('1'))", '15000'], log('consume-tags')),
      ]);
      expect(range.some((e) => e.event === 'ready')).toBe(true);
      expect(received(range)).toEqual(['4/x/TagA', '6/x/TagA']);
      expect(received(tags)).toEqual(['1/y/TagB', '9/y/TagB', '11/y/TagB']);
    });

    it('a bad expression makes consumer.start() fail with the broker parse error', async () => {
      const topic = `T_sqlbad_${Date.now()}`;
      await createTopic(cluster, topic, 1);
      const events = await runCheck(line, ['consume', cluster.namesrvAddr, topic, `CG_sql_bad_${Date.now()}`, 'a BETWEEN 3 AND', '1000'], log('consume-bad'));
      const failed = events.find((e) => e.event === 'startFailed');
      expect(failed, JSON.stringify(events)).toBeDefined();
      expect(failed!.responseCode).toBe(23); // SUBSCRIPTION_PARSE_FAILED
      expect(failed!.error).toMatch(/Invalid SQL92 expression at column 16: expected a value/);
    });
  });
}

describe.skipIf(skip !== undefined)(`SQL92 against a broker without enablePropertyFilter${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const cluster = new OurCluster('interop-sql92-off');
  const log = (name: string): string => join(cluster.dir, `${name}.log`);
  beforeAll(() => cluster.start());
  afterAll(() => cluster.stop());

  it('consumer.start() fails with SYSTEM_ERROR saying the broker does not filter by SQL92', async () => {
    const topic = `T_sqloff_${Date.now()}`;
    await createTopic(cluster, topic, 1);
    const events = await runCheck(5, ['consume', cluster.namesrvAddr, topic, `CG_sql_off_${Date.now()}`, 'a > 1', '1000'], log('consume-off'));
    const failed = events.find((e) => e.event === 'startFailed');
    expect(failed, JSON.stringify(events)).toBeDefined();
    expect(failed!.responseCode).toBe(1); // SYSTEM_ERROR
    expect(failed!.error).toMatch(/The broker does not support consumer to filter message by SQL92/);
  });
});
