// Consumer features with rocketmq-client-go/v2 (test/interop/go/featurecheck): SQL92 selectors,
// broadcasting consumers (local offsets) and orderly consumption with a sharding-key selector.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGoCheck, createTopic, OurCluster, prepareDriver, runCheckProgram } from './harness.js';

const skip = prepareDriver('go');

describe.skipIf(skip !== undefined)(`consumer features with the go client${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const cluster = new OurCluster('interop-go-features', { brokerConf: { enablePropertyFilter: 'true' } });
  const log = (name: string): string => join(cluster.dir, `${name}.log`);
  let bin = '';
  beforeAll(async () => {
    bin = buildGoCheck('featurecheck');
    await cluster.start();
  });
  afterAll(() => cluster.stop());

  it('a SQL92 selector gets exactly the matching messages', async () => {
    const topic = `T_go_sql_${Date.now()}`;
    await createTopic(cluster, topic, 2);
    const events = await runCheckProgram(bin, ['sql92', '--namesrv', cluster.namesrvAddr, '--topic', topic, '--count', '12', '--expr', "a BETWEEN 3 AND 7 AND b = 'x'"], log('sql92'));
    const got = events.filter((e) => e.event === 'received').map((e) => `${String(e.a)}/${String(e.b)}`).sort();
    expect(got).toEqual(['4/x', '6/x']);
  });

  it('two BROADCASTING members each get every message once', async () => {
    const topic = `T_go_bc_${Date.now()}`;
    await createTopic(cluster, topic, 4);
    // The Go client keeps broadcasting offsets in files under this directory.
    const offsets = mkdtempSync(join(tmpdir(), 'go-bc-offsets-'));
    const events = await runCheckProgram(bin, ['broadcast', '--namesrv', cluster.namesrvAddr, '--topic', topic, '--count', '30'], log('broadcast'), 150_000, { 'rocketmq.client.localOffsetStoreDir': offsets });
    const members = events.filter((e) => e.event === 'consumer');
    expect(members, JSON.stringify(members)).toHaveLength(2);
    for (const m of members) expect(m, JSON.stringify(members)).toMatchObject({ distinct: 30, total: 30 });
  });

  it('an orderly consumer gets every order in send order, each order on one queue', async () => {
    const topic = `T_go_order_${Date.now()}`;
    await createTopic(cluster, topic, 4);
    const orders = 4;
    const perOrder = 6;
    const events = await runCheckProgram(bin, ['orderly', '--namesrv', cluster.namesrvAddr, '--topic', topic, '--orders', String(orders), '--per-order', String(perOrder)], log('orderly'));
    const sent = events.filter((e) => e.event === 'sent');
    const consumed = events.filter((e) => e.event === 'consumed');
    expect(sent).toHaveLength(orders * perOrder);
    // The sharding key pins an order to one queue.
    for (let o = 0; o < orders; o++) expect(new Set(sent.filter((e) => e.order === o).map((e) => e.queueId)).size).toBe(1);
    for (let o = 0; o < orders; o++) {
      expect(consumed.filter((e) => e.order === o).map((e) => e.seq), `order ${o}`).toEqual([...Array(perOrder).keys()]);
    }
  });
});
