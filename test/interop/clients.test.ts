// Real clients against our NameServer + Broker processes: every message each client sends is
// received exactly once per consumer group, byte-identical, with tag, keys and properties.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareDelivery, ConsumerHandle, createTopic, OurCluster, prepareDriver, runProducer, type DriverEvent, type DriverKind } from './harness.js';

interface Plan {
  kind: DriverKind;
  /** Test name (defaults to kind). */
  label?: string;
  /** Environment of the driver processes. */
  env?: NodeJS.ProcessEnv;
  produceModes: string[];
  consumeModes: string[];
  /** ali-ons cannot create topics by sending: create it first (like mqadmin updateTopic). */
  createTopicFirst?: boolean;
  /** How long members need to rebalance after joining (ali-ons only rebalances on a 10 s timer). */
  settleMs: number;
}

const PLANS: Plan[] = [
  { kind: 'java4', produceModes: ['sync', 'async', 'oneway', 'batch'], consumeModes: ['push', 'litepull'], settleMs: 3000 },
  { kind: 'java5', produceModes: ['sync', 'async', 'oneway', 'batch'], consumeModes: ['push', 'litepull'], settleMs: 3000 },
  // The official benchmark tools switch the Java client to binary (ROCKETMQ) headers.
  { kind: 'java5', label: 'java5-binary-headers', env: { ROCKETMQ_SERIALIZE_TYPE: 'ROCKETMQ' }, produceModes: ['sync', 'batch'], consumeModes: ['push'], settleMs: 3000 },
  { kind: 'go', produceModes: ['sync', 'async', 'oneway', 'batch'], consumeModes: ['push'], settleMs: 3000 },
  // ali-ons has no oneway, batch or lite pull API.
  { kind: 'alions', produceModes: ['sync', 'async'], consumeModes: ['push'], createTopicFirst: true, settleMs: 12_000 },
];

const PER_MODE = 40;

// RMQ_INTEROP_CLIENTS=go,alions narrows a local run; CI runs every client.
const only = process.env.RMQ_INTEROP_CLIENTS?.split(',').map((s) => s.trim());
for (const plan of PLANS.filter((p) => !only || only.includes(p.label ?? p.kind))) {
  const skip = prepareDriver(plan.kind);
  const name = plan.label ?? plan.kind;
  const env = plan.env ?? {};
  describe.skipIf(skip !== undefined)(`${name} client${skip ? ` (skipped: ${skip})` : ''}`, () => {
    const cluster = new OurCluster(`interop-${name}`);
    const log = (name: string): string => join(cluster.dir, `${name}.log`);
    beforeAll(() => cluster.start());
    afterAll(() => cluster.stop());

    it('produces in every mode and two push consumers of one group get each message once', async () => {
      const topic = `T_${plan.kind}_${Date.now()}`;
      const runId = `r${Date.now()}`;
      const group = `CG_${plan.kind}_push`;
      const tag = 'TagA';
      // The topic is auto-created by a first send (through TBW102), so consumers find its route
      // at start; then both consumers settle before messages flow, so no rebalance moves a
      // queue mid-stream.
      if (plan.createTopicFirst) await createTopic(cluster, topic);
      const warm = await runProducer(plan.kind, ['--namesrv', cluster.namesrvAddr, '--topic', topic, '--group', `PG_${plan.kind}`, '--count', '1', '--mode', 'sync', '--run-id', `warm${runId}`, '--tag', 'TagZ'], log('warm'));
      expect(warm.filter((e) => e.event === 'sent')).toHaveLength(1);
      const c1 = new ConsumerHandle(plan.kind, ['--namesrv', cluster.namesrvAddr, '--topic', topic, '--group', group, '--mode', 'push', '--instance', 'c1', '--tag-expr', 'TagA || TagB'], log('c1'), env);
      const c2 = new ConsumerHandle(plan.kind, ['--namesrv', cluster.namesrvAddr, '--topic', topic, '--group', group, '--mode', 'push', '--instance', 'c2', '--tag-expr', 'TagA || TagB'], log('c2'), env);
      await Promise.all([c1.ready(), c2.ready()]);
      await new Promise((r) => setTimeout(r, plan.settleMs));

      const sent: DriverEvent[] = [];
      let start = 0;
      for (const mode of plan.produceModes) {
        const events = await runProducer(plan.kind, ['--namesrv', cluster.namesrvAddr, '--topic', topic, '--group', `PG_${plan.kind}`, '--count', String(PER_MODE), '--mode', mode, '--run-id', runId, '--start-index', String(start), '--tag', tag], log(`produce-${mode}`), undefined, env);
        const errors = events.filter((e) => e.event === 'send-error');
        expect(errors, `${mode} send errors`).toEqual([]);
        const ok = events.filter((e) => e.event === 'sent');
        expect(ok, `${mode} acknowledged sends`).toHaveLength(PER_MODE);
        for (const e of ok) if (!e.oneway) expect(e.status).toBe('SEND_OK');
        sent.push(...ok);
        start += PER_MODE;
      }
      const total = sent.length;
      const all = (): DriverEvent[] => [...c1.received, ...c2.received].filter((r) => r.runId === runId);
      await c1.waitFor(() => all().length >= total, 90_000, `${total} messages across c1+c2`);
      await new Promise((r) => setTimeout(r, 2000)); // let duplicates, if any, show up
      await Promise.all([c1.stop(), c2.stop()]);
      expect(compareDelivery(sent, all(), runId, tag)).toEqual([]);
      // The tag filter kept the warm-up message (TagZ) away from this group.
      expect([...c1.received, ...c2.received].filter((r) => r.tag === 'TagZ')).toEqual([]);
      // Both members of the group took part (queues were balanced between them).
      expect(c1.received.length).toBeGreaterThan(0);
      expect(c2.received.length).toBeGreaterThan(0);

      for (const mode of plan.consumeModes.filter((m) => m !== 'push')) {
        const c = new ConsumerHandle(plan.kind, ['--namesrv', cluster.namesrvAddr, '--topic', topic, '--group', `CG_${plan.kind}_${mode}`, '--mode', mode, '--instance', mode], log(`consume-${mode}`), env);
        await c.ready();
        await c.waitFor((h) => h.received.filter((r) => r.runId === runId).length >= total, 90_000, `${total} messages via ${mode}`);
        await new Promise((r) => setTimeout(r, 1000));
        await c.stop();
        expect(compareDelivery(sent, c.received, runId, tag)).toEqual([]);
      }
    });
  });
}
