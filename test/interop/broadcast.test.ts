// Broadcasting consumers (client-side offsets) next to a clustering group on the same topic,
// with the real Java clients (BroadcastCheck.java): each broadcasting member gets every message,
// the clustering group gets each message once between its members.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTopic, OurCluster, prepareDriver, runJavaCheck, type CheckEvent } from './harness.js';

interface ConsumerReport extends CheckEvent {
  group: string;
  model: string;
  instance: string;
  distinct: number;
  total: number;
  ids: string[];
}

for (const line of [4, 5] as const) {
  const kind = line === 4 ? 'java4' : 'java5';
  const skip = prepareDriver(kind);
  describe.skipIf(skip !== undefined)(`broadcasting with the ${kind} client${skip ? ` (skipped: ${skip})` : ''}`, () => {
    const cluster = new OurCluster(`interop-broadcast-${kind}`);
    beforeAll(() => cluster.start());
    afterAll(() => cluster.stop());

    it('two BROADCASTING members each get all messages; a CLUSTERING group splits them, none twice', async () => {
      const topic = `T_bc_${kind}_${Date.now()}`;
      const count = 40;
      await createTopic(cluster, topic, 4);
      const events = await runJavaCheck(line, 'BroadcastCheck', ['broadcast', '--namesrv', cluster.namesrvAddr, '--topic', topic, '--count', String(count)], join(cluster.dir, 'broadcast.log'));
      const reports = events.filter((e): e is ConsumerReport => e.event === 'consumer');
      const facts = JSON.stringify(reports.map(({ ids: _ids, ...r }) => r));
      const bc = reports.filter((r) => r.model === 'BROADCASTING');
      const cl = reports.filter((r) => r.model === 'CLUSTERING');
      expect(bc, facts).toHaveLength(2);
      expect(cl, facts).toHaveLength(2);
      for (const r of bc) {
        expect(r.distinct, facts).toBe(count);
        expect(r.total, facts).toBe(count);
      }
      expect(new Set(bc[0]!.ids)).toEqual(new Set(bc[1]!.ids));
      // Clustering: the members' sets are disjoint and together make up every message.
      const union = new Set([...cl[0]!.ids, ...cl[1]!.ids]);
      expect(union.size, facts).toBe(count);
      expect(cl[0]!.total + cl[1]!.total, facts).toBe(count);
      expect(cl[0]!.distinct, facts).toBeGreaterThan(0);
      expect(cl[1]!.distinct, facts).toBeGreaterThan(0);
      expect(union).toEqual(new Set(bc[0]!.ids));
    });
  });
}
