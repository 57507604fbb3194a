// Operator scenarios on a real control plane (issue 6): the operator runs as a pod (helm install), reconciles the
// examples into StatefulSets that the node agent runs, and real clients send and receive through
// the result. The same code runs on kind (test/kind/run.sh, RMQ_E2E_KUBECONFIG).
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConsumerHandle, compareDelivery, prepareDriver, runProducer, type DriverEvent, type DriverKind } from '../interop/harness.js';
import { E2ECluster, ROOT, prepareE2E } from './support/cluster.js';
import { startGoProducer } from './support/drivers.js';
import { IMAGE, OPERATOR_NAMESPACE, customObjects, getCR, installOperator, waitCondition, type CR } from './support/operator.js';
import { createTopicAt, deleteTopicOutOfBand, topicRoute } from './support/rocketmq.js';
import { GROUP, VERSION } from '../../operator/src/api/v1alpha1/common.js';

const skip = prepareE2E() ?? prepareDriver('go') ?? prepareDriver('alions');
const NAMESRV_PORT = 9876;

interface Member {
  pod: string;
  brokerId?: number;
  address?: string;
  ready?: boolean;
  registeredWith?: string[];
}

describe.skipIf(skip !== undefined)(`operator e2e${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let cluster: E2ECluster;
  const log = (name: string) => join(cluster.dir, `${name}.log`);

  beforeAll(async () => {
    cluster = await E2ECluster.start('scenarios');
  });
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') cluster?.markFailed();
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  async function members(ns: string, group: string): Promise<Member[]> {
    return ((await getCR(cluster, 'brokergroups', ns, group)).status?.members as Member[] | undefined) ?? [];
  }

  async function masterAddr(ns: string, group: string): Promise<string> {
    const m = (await members(ns, group)).find((x) => x.brokerId === 0);
    if (!m?.address) throw new Error(`BrokerGroup ${ns}/${group} reports no master address: ${JSON.stringify(await members(ns, group))}`);
    return m.address;
  }

  /** Applies a manifest file into a fresh namespace and waits until its NameServer and BrokerGroups are Ready. */
  async function applyExample(file: string, ns: string): Promise<{ groups: string[] }> {
    await cluster.kubectl(['create', 'namespace', ns]);
    await cluster.kubectl(['apply', '-n', ns, '-f', join(ROOT, 'examples', file)]);
    await waitCondition(cluster, 'nameservers', ns, 'rmq', 'Ready', 'True');
    const groups = (await customObjects(cluster).listNamespacedCustomObject({ group: GROUP, version: VERSION, plural: 'brokergroups', namespace: ns })) as { items: CR[] };
    const names = groups.items.map((g) => g.metadata.name);
    for (const g of names) await waitCondition(cluster, 'brokergroups', ns, g, 'Ready', 'True', 240_000);
    return { groups: names };
  }

  /** Sends `count` messages with a driver and receives them with a consumer of the same kind; returns problems. */
  async function sendAndReceive(kind: DriverKind, namesrv: string, topic: string, count: number, tag: string): Promise<string[]> {
    const runId = `${tag}-${Date.now()}`;
    const sent = (await runProducer(kind, ['--namesrv', namesrv, '--topic', topic, '--group', `PG_${tag}`, '--count', String(count), '--mode', 'sync', '--run-id', runId], log(`produce-${tag}`))).filter((e) => e.event === 'sent');
    if (sent.length !== count) return [`${kind} producer acknowledged ${sent.length}/${count} sends`];
    const c = new ConsumerHandle(kind, ['--namesrv', namesrv, '--topic', topic, '--group', `CG_${tag}`, '--mode', 'push'], log(`consume-${tag}`));
    try {
      await c.ready(90_000);
      await c.waitFor((h) => h.received.filter((r) => r.runId === runId).length >= count, 120_000, `${count} messages on ${topic}`);
      return compareDelivery(sent, c.received, runId);
    } finally {
      await c.stop().catch(() => c.kill());
    }
  }

  it('1: helm install of the chart: CRDs present, the operator runs as a pod and leads', async () => {
    await installOperator(cluster);
    const crds = await cluster.kubectl(['get', 'crd', '-o', 'name']);
    for (const plural of ['nameservers', 'brokergroups', 'topics']) expect(crds.stdout).toContain(`${plural}.${GROUP}`);
    await cluster.waitFor('the operator pod Running and Ready', OPERATOR_NAMESPACE, 120_000, async () => {
      const pods = await cluster.pods(OPERATOR_NAMESPACE);
      const ready = pods.filter((p) => p.status?.phase === 'Running' && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
      return ready.length === 1 || (await cluster.podSummary(OPERATOR_NAMESPACE));
    });
    // The leader-election Lease in the operator's namespace names a holder.
    await cluster.waitFor('the operator to hold its leader Lease', OPERATOR_NAMESPACE, 60_000, async () => {
      const leases = await cluster.kubectl(['get', 'lease', '-n', OPERATOR_NAMESPACE, '-o', 'jsonpath={range .items[*]}{.metadata.name}={.spec.holderIdentity}{"\\n"}{end}']);
      return /^\S+=\S+$/m.test(leases.stdout) || `leases: ${leases.stdout || '(none)'}`;
    });
  });

  it('2: every example becomes Ready, kubectl shows its columns, and clients send and receive through it', async () => {
    const examples: Array<[string, string]> = [
      ['single-master.yaml', 'ex-single'],
      ['master-slave-sync.yaml', 'ex-sync'],
      ['master-slave-async.yaml', 'ex-async'],
      ['two-masters.yaml', 'ex-two'],
    ];
    for (const [file, ns] of examples) {
      const { groups } = await applyExample(file, ns);
      const table = await cluster.kubectl(['get', 'nameservers,brokergroups', '-n', ns]);
      expect(table.stdout, `kubectl get for ${file}`).toMatch(/NAME\s+REPLICAS\s+READY\s+ADDRESSES/);
      expect(table.stdout).toMatch(/NAME\s+CLUSTER\s+REPLICAS\s+READY\s+REPLICATION/);
      for (const g of groups) {
        const cr = await getCR(cluster, 'brokergroups', ns, g);
        const replicas = cr.spec.replicas as number;
        expect(table.stdout, `${g} row`).toMatch(new RegExp(`brokergroup\\.${GROUP.replace(/\./g, '\\.')}/${g}\\s+\\S+\\s+${replicas}\\s+${replicas}\\s`));
        await createTopicAt(await masterAddr(ns, g), await cluster.serviceAddress(ns, 'rmq', NAMESRV_PORT), `E2E_${ns.replace(/-/g, '_')}`);
      }
      const namesrv = await cluster.serviceAddress(ns, 'rmq', NAMESRV_PORT);
      expect(await sendAndReceive('go', namesrv, `E2E_${ns.replace(/-/g, '_')}`, 30, `go_${ns.replace(/-/g, '_')}`), `Go client through ${file}`).toEqual([]);
      if (ns === 'ex-single') expect(await sendAndReceive('alions', namesrv, 'E2E_ex_single', 20, 'alions_ex_single'), 'ali-ons through single-master').toEqual([]);
      // Free the machine for the next example; ex-two stays for the topic scenario.
      if (ns !== 'ex-two') await cluster.kubectl(['delete', 'namespace', ns, '--wait=false']);
    }
  });

  it('3: Topic CRs: on every targeted master, status per group, out-of-band deletion repaired, CR deletion removes, a new group gets existing topics', async () => {
    const ns = 'ex-two';
    await cluster.kubectl(['apply', '-n', ns, '-f', join(ROOT, 'examples/topics.yaml')]);
    for (const t of ['orders', 'payment-events', 'account-ledger', 'legacy-clicks']) await waitCondition(cluster, 'topics', ns, t, 'Ready', 'True', 120_000);
    const namesrv = await cluster.serviceAddress(ns, 'rmq', NAMESRV_PORT);
    const groupsOf = async (topic: string) => ((await topicRoute(namesrv, topic)) ?? []).map((q) => `${q.brokerName}:${q.writeQueueNums}:${q.perm}`).sort();
    expect(await groupsOf('orders')).toEqual(['broker-a:8:6', 'broker-b:8:6']);
    expect(await groupsOf('PAYMENT_EVENTS')).toEqual(['broker-a:4:6']);
    expect(await groupsOf('legacy-clicks')).toEqual(['broker-a:2:4', 'broker-b:2:4']);
    const orders = await getCR(cluster, 'topics', ns, 'orders');
    const perGroup = ((orders.status?.groups ?? []) as Array<{ brokerGroup: string; applied: boolean; writeQueueNums?: number }>).map((g) => `${g.brokerGroup}:${g.applied}:${g.writeQueueNums}`).sort();
    expect(perGroup, 'per-group status of Topic orders').toEqual(['broker-a:true:8', 'broker-b:true:8']);

    // mqadmin deleteTopic behind the operator's back: the operator puts it back.
    await deleteTopicOutOfBand([await masterAddr(ns, 'broker-a')], namesrv, 'orders');
    await cluster.waitFor('topic orders repaired on broker-a after an out-of-band deletion', ns, 150_000, async () => {
      const g = await groupsOf('orders');
      return g.includes('broker-a:8:6') || `route: ${g.join(', ')}`;
    });

    // Deleting the CR removes the topic from its groups.
    await cluster.kubectl(['delete', 'topic', '-n', ns, 'payment-events', '--timeout=120s'], { timeoutMs: 150_000 });
    await cluster.waitFor('PAYMENT_EVENTS gone after its Topic CR was deleted', ns, 120_000, async () => {
      const r = await topicRoute(namesrv, 'PAYMENT_EVENTS');
      return r === undefined || r.length === 0 || `route: ${JSON.stringify(r)}`;
    });

    // A new group of the cluster gets the cluster-wide topics.
    const groupC = `apiVersion: ${GROUP}/${VERSION}\nkind: BrokerGroup\nmetadata: {name: broker-c}\nspec: {clusterName: DefaultCluster, nameServerRef: {name: rmq}, replicas: 1, storage: {size: 1Gi}}\n`;
    await cluster.kubectl(['apply', '-n', ns, '-f', '-'], { input: groupC });
    await waitCondition(cluster, 'brokergroups', ns, 'broker-c', 'Ready', 'True', 180_000);
    await cluster.waitFor('broker-c has the cluster-wide topics orders and account-ledger', ns, 120_000, async () => {
      const o = await groupsOf('orders');
      const a = await groupsOf('account-ledger');
      return (o.includes('broker-c:8:6') && a.includes('broker-c:4:6')) || `orders: ${o.join(', ')}; account-ledger: ${a.join(', ')}`;
    });
    await cluster.kubectl(['delete', 'namespace', ns, '--wait=false']);
  });

  it('4: rolling upgrade under load: two SYNC groups roll slaves first, then the drained master; no acknowledged message lost, no failed send', async () => {
    const ns = 'roll';
    const manifest = [
      `apiVersion: ${GROUP}/${VERSION}\nkind: NameServer\nmetadata: {name: rmq}\nspec: {replicas: 1}`,
      ...['g1', 'g2'].map((g) => `apiVersion: ${GROUP}/${VERSION}\nkind: BrokerGroup\nmetadata: {name: ${g}}\nspec: {clusterName: DefaultCluster, nameServerRef: {name: rmq}, replicas: 2, replication: SYNC, image: "${IMAGE}", storage: {size: 1Gi}}`),
      `apiVersion: ${GROUP}/${VERSION}\nkind: Topic\nmetadata: {name: roll}\nspec: {clusterName: DefaultCluster, readQueueNums: 4, writeQueueNums: 4}`,
    ].join('\n---\n');
    await cluster.kubectl(['create', 'namespace', ns]);
    await cluster.kubectl(['apply', '-n', ns, '-f', '-'], { input: manifest });
    for (const g of ['g1', 'g2']) await waitCondition(cluster, 'brokergroups', ns, g, 'Ready', 'True', 240_000);
    await waitCondition(cluster, 'topics', ns, 'roll', 'Ready', 'True', 120_000);
    const namesrv = await cluster.serviceAddress(ns, 'rmq', NAMESRV_PORT);

    // Restart order as the cluster shows it: when each pod was replaced (its uid changed).
    const pods = ['g1-0-0', 'g1-1-0', 'g2-0-0', 'g2-1-0'];
    const uids = new Map<string, string>();
    for (const p of pods) uids.set(p, (await cluster.core.readNamespacedPod({ name: p, namespace: ns })).metadata!.uid!);
    const replaced: string[] = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        for (const p of pods) {
          if (replaced.includes(p)) continue;
          const cur = await cluster.core.readNamespacedPod({ name: p, namespace: ns }).catch(() => undefined);
          if (!cur || cur.metadata?.uid !== uids.get(p) || cur.metadata?.deletionTimestamp) replaced.push(p);
        }
        await new Promise((r) => setTimeout(r, 300));
      }
    })();

    const consumer = new ConsumerHandle('go', ['--namesrv', namesrv, '--topic', 'roll', '--group', 'CG_ROLL', '--mode', 'push', '--timeout-ms', '900000'], log('consume-roll'));
    const runId = `roll-${Date.now()}`;
    const sent: DriverEvent[] = [];
    const failed: DriverEvent[] = [];
    let producing = true;
    let batch = 0;
    const BATCH = 40;
    const producer = (async () => {
      while (producing) {
        const p = startGoProducer(['--namesrv', namesrv, '--topic', 'roll', '--group', 'PG_ROLL', '--count', String(BATCH), '--start-index', String(batch * BATCH), '--mode', 'sync', '--run-id', runId, '--retries', '4', '--send-timeout-ms', '5000'], log('produce-roll'), 300_000);
        await p.done;
        sent.push(...p.events.filter((e) => e.event === 'sent'));
        failed.push(...p.events.filter((e) => e.event === 'send-error' || e.event === 'error'));
        batch++;
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    try {
      await consumer.ready(90_000);
      await new Promise((r) => setTimeout(r, 3_000));
      // The upgrade: a new image reference (the agent runs this checkout for any rocketmq-ts tag).
      const next = IMAGE.replace(/:[^:/]*$/, '') + ':e2e-next';
      for (const g of ['g1', 'g2']) await cluster.kubectl(['patch', 'brokergroup', '-n', ns, g, '--type=merge', '-p', JSON.stringify({ spec: { image: next } })]);
      for (const g of ['g1', 'g2']) {
        await cluster.waitFor(`BrokerGroup ${ns}/${g} rolled to ${next}`, ns, 420_000, async () => {
          const cr = await getCR(cluster, 'brokergroups', ns, g);
          const prog = cr.status?.conditions?.find((c) => c.type === 'Progressing');
          const ready = cr.status?.conditions?.find((c) => c.type === 'Ready');
          return (cr.status?.currentImage === next && prog?.status === 'False' && ready?.status === 'True' && (cr.status.observedGeneration ?? 0) >= (cr.metadata.generation ?? 0)) || `currentImage=${String(cr.status?.currentImage)} Progressing=${prog?.status}/${prog?.reason}:${prog?.message ?? ''} blockedBy=${JSON.stringify(cr.status?.blockedBy ?? '')} replaced=${replaced.join(',')}`;
        });
      }
      await new Promise((r) => setTimeout(r, 3_000));
    } finally {
      producing = false;
      await producer;
      watching = false;
      await watcher;
    }
    // All properties are checked (soft) so one run reports every violation.
    const notOk = sent.filter((e) => e.status !== 'SEND_OK');
    const failedIdx = failed.map((e) => e.index ?? -1);
    expect.soft(failed.length, `${failed.length} of ${sent.length + failed.length} sends failed after client retries (indexes ${Math.min(...failedIdx)}..${Math.max(...failedIdx)}; first: ${JSON.stringify(failed[0] ?? null)}); acknowledged with a status other than SEND_OK: ${notOk.length}`).toBe(0);
    expect(sent.length).toBeGreaterThan(BATCH);
    try {
      await consumer.waitFor((h) => new Set(h.received.filter((r) => r.runId === runId).map((r) => r.index)).size >= sent.length, 180_000, `all ${sent.length} acknowledged messages`).catch(() => undefined);
      const got = new Set(consumer.received.filter((r) => r.runId === runId).map((r) => r.index));
      const lost = sent.filter((s) => !got.has(s.index)).map((s) => s.index);
      expect.soft(lost, `${lost.length} acknowledged messages never received`).toEqual([]);
    } finally {
      await consumer.stop().catch(() => consumer.kill());
    }
    // Every broker restarted, each group's slave before its master.
    expect.soft([...replaced].sort(), 'pods replaced during the roll').toEqual([...pods].sort());
    for (const g of ['g1', 'g2']) expect.soft(replaced.indexOf(`${g}-1-0`), `${g}: slave restarted before master (order seen: ${replaced.join(', ')})`).toBeLessThan(replaced.indexOf(`${g}-0-0`));
    // The Events tell the story: slave restart, master drain, master restart, writes restored.
    const events = (await cluster.kubectl(['get', 'events', '-n', ns, '--field-selector', 'involvedObject.kind=BrokerGroup', '-o', 'jsonpath={range .items[*]}{.involvedObject.name} {.reason}: {.message}{"\\n"}{end}'])).stdout;
    for (const g of ['g1', 'g2']) {
      for (const re of [new RegExp(`${g} \\w+: .*slave ${g}-1-0`), new RegExp(`${g} \\w+: .*draining master ${g}-0-0`), new RegExp(`${g} \\w+: .*restarting master ${g}-0-0`), new RegExp(`${g} \\w+: .*master ${g}-0-0 is back`)]) {
        expect.soft(events, `BrokerGroup ${g} events`).toMatch(re);
      }
    }
    await cluster.kubectl(['delete', 'namespace', ns, '--wait=false']);
  });

  /** A namespace with a NameServer and BrokerGroups (name → [replicas, replication]) and a cluster-wide Topic, all Ready. */
  async function makeCluster(ns: string, nameServers: number, groups: Record<string, [number, 'SYNC' | 'ASYNC']>, topic: string): Promise<string> {
    const docs = [
      `apiVersion: ${GROUP}/${VERSION}\nkind: NameServer\nmetadata: {name: rmq}\nspec: {replicas: ${nameServers}}`,
      ...Object.entries(groups).map(([g, [replicas, replication]]) => `apiVersion: ${GROUP}/${VERSION}\nkind: BrokerGroup\nmetadata: {name: ${g}}\nspec: {clusterName: DefaultCluster, nameServerRef: {name: rmq}, replicas: ${replicas}, replication: ${replication}, image: "${IMAGE}", storage: {size: 1Gi}}`),
      `apiVersion: ${GROUP}/${VERSION}\nkind: Topic\nmetadata: {name: ${topic.toLowerCase()}}\nspec: {topicName: ${topic}, clusterName: DefaultCluster, readQueueNums: 4, writeQueueNums: 4}`,
    ];
    await cluster.kubectl(['create', 'namespace', ns]);
    await cluster.kubectl(['apply', '-n', ns, '-f', '-'], { input: docs.join('\n---\n') });
    for (const g of Object.keys(groups)) await waitCondition(cluster, 'brokergroups', ns, g, 'Ready', 'True', 240_000);
    await waitCondition(cluster, 'topics', ns, topic.toLowerCase(), 'Ready', 'True', 120_000);
    return cluster.serviceAddress(ns, 'rmq', NAMESRV_PORT);
  }

  const podUid = async (ns: string, name: string) => (await cluster.core.readNamespacedPod({ name, namespace: ns })).metadata?.uid ?? '';
  const restarts = async (ns: string, name: string) => (await cluster.core.readNamespacedPod({ name, namespace: ns })).status?.containerStatuses?.reduce((n, c) => n + c.restartCount, 0) ?? 0;

  it('5: NameServer scale 1 -> 3 -> 1: no broker restart, the broker registered with every name server', async () => {
    const ns = 'scale';
    await makeCluster(ns, 1, { b: [1, 'ASYNC'] }, 'SCALE');
    const uid = await podUid(ns, 'b-0-0');
    const registered = async (n: number) => {
      await cluster.waitFor(`NameServer ${ns}/rmq at ${n} ready replicas, broker b registered with all ${n}`, ns, 180_000, async () => {
        const nsr = await getCR(cluster, 'nameservers', ns, 'rmq');
        const m = (await members(ns, 'b'))[0];
        const ok = nsr.status?.readyReplicas === n && (m?.registeredWith?.length ?? 0) === n && (nsr.status?.addresses as string[] | undefined)?.length === n;
        return ok || `name servers ready ${String(nsr.status?.readyReplicas)}, broker registered with ${JSON.stringify(m?.registeredWith ?? [])}`;
      });
      // Each name server pod itself routes the topic to the broker.
      for (let i = 0; i < n; i++) {
        const ip = (await cluster.core.readNamespacedPod({ name: `rmq-${i}`, namespace: ns })).status?.podIP ?? '';
        const route = await topicRoute(`${ip}:${NAMESRV_PORT}`, 'SCALE');
        expect(route?.map((q) => q.brokerName), `route of SCALE on rmq-${i}`).toEqual(['b']);
      }
    };
    await registered(1);
    await cluster.kubectl(['patch', 'nameserver', '-n', ns, 'rmq', '--type=merge', '-p', '{"spec":{"replicas":3}}']);
    await registered(3);
    await cluster.kubectl(['patch', 'nameserver', '-n', ns, 'rmq', '--type=merge', '-p', '{"spec":{"replicas":1}}']);
    await registered(1);
    expect(await podUid(ns, 'b-0-0'), 'broker pod replaced').toBe(uid);
    expect(await restarts(ns, 'b-0-0'), 'broker container restarts').toBe(0);
    await cluster.kubectl(['delete', 'namespace', ns, '--wait=false']);
  });

  it('6: a SYNC master pod killed: no acknowledged message lost, consumers read from the slave, the group recovers', async () => {
    const ns = 'kill';
    const namesrv = await makeCluster(ns, 1, { k: [2, 'SYNC'] }, 'KILL');
    const runId = `kill-${Date.now()}`;
    const sent = (await runProducer('go', ['--namesrv', namesrv, '--topic', 'KILL', '--group', 'PG_KILL', '--count', '100', '--mode', 'sync', '--run-id', runId], log('produce-kill'))).filter((e) => e.event === 'sent' && e.status === 'SEND_OK');
    expect(sent.length, 'SEND_OK acknowledgements before the kill').toBe(100);
    const uid = await podUid(ns, 'k-0-0');
    await cluster.kubectl(['delete', 'pod', '-n', ns, 'k-0-0', '--grace-period=0', '--force']);
    // While the master is away, a new consumer group reads everything from the slave.
    const c = new ConsumerHandle('go', ['--namesrv', namesrv, '--topic', 'KILL', '--group', 'CG_KILL', '--mode', 'push'], log('consume-kill'));
    try {
      await c.ready(90_000);
      await c.waitFor((h) => new Set(h.received.filter((r) => r.runId === runId).map((r) => r.index)).size >= 100, 120_000, '100 acknowledged messages after the master was killed');
    } finally {
      await c.stop().catch(() => c.kill());
    }
    await cluster.waitFor('the master pod back and the group Ready', ns, 180_000, async () => {
      const cr = await getCR(cluster, 'brokergroups', ns, 'k');
      const ready = cr.status?.conditions?.find((x) => x.type === 'Ready');
      return ((await podUid(ns, 'k-0-0').catch(() => uid)) !== uid && ready?.status === 'True') || `Ready=${ready?.status}/${ready?.reason}: ${ready?.message ?? ''}`;
    });
    expect(await sendAndReceive('go', namesrv, 'KILL', 20, 'kill_after'), 'send and receive after the recovery').toEqual([]);
    await cluster.kubectl(['delete', 'namespace', ns, '--wait=false']);
  });

  it('7: invalid CRs are refused by the schema or reported in a condition naming the field; the operator keeps running', async () => {
    const ns = 'invalid';
    await cluster.kubectl(['create', 'namespace', ns]);
    const opPod = (await cluster.pods(OPERATOR_NAMESPACE))[0]!;
    const before = { uid: opPod.metadata!.uid!, restarts: opPod.status?.containerStatuses?.[0]?.restartCount ?? 0 };
    // Refused by the CRD's OpenAPI schema: the API server names the field.
    const bad = await cluster.kubectl(['apply', '-n', ns, '-f', '-'], { check: false, input: `apiVersion: ${GROUP}/${VERSION}\nkind: BrokerGroup\nmetadata: {name: zero}\nspec: {nameServerRef: {name: rmq}, replicas: 0}\n` });
    expect(bad.code, 'kubectl apply of replicas: 0').not.toBe(0);
    expect(bad.stderr).toMatch(/spec\.replicas/);
    // Accepted by the schema, refused by the operator's validation: a condition names the field.
    await cluster.kubectl(['apply', '-n', ns, '-f', '-'], { input: `apiVersion: ${GROUP}/${VERSION}\nkind: NameServer\nmetadata: {name: rmq}\nspec: {replicas: 1}\n---\napiVersion: ${GROUP}/${VERSION}\nkind: BrokerGroup\nmetadata: {name: owned}\nspec: {nameServerRef: {name: rmq}, replicas: 1, storage: {size: 1Gi}, config: {brokerRole: SLAVE}}\n` });
    const cr = await waitCondition(cluster, 'brokergroups', ns, 'owned', 'Ready', 'False', 60_000);
    const ready = cr.status?.conditions?.find((x) => x.type === 'Ready');
    expect(ready?.reason).toBe('InvalidSpec');
    expect(ready?.message ?? '').toMatch(/spec\.config\.brokerRole/);
    expect((await cluster.pods(ns)).filter((p) => p.metadata?.name?.startsWith('owned')), 'no broker pods for an invalid group').toEqual([]);
    // The operator still runs and still reconciles valid resources.
    await waitCondition(cluster, 'nameservers', ns, 'rmq', 'Ready', 'True', 120_000);
    const after = (await cluster.pods(OPERATOR_NAMESPACE))[0]!;
    expect({ uid: after.metadata!.uid!, restarts: after.status?.containerStatuses?.[0]?.restartCount ?? 0 }).toEqual(before);
    await cluster.kubectl(['delete', 'namespace', ns, '--wait=false']);
  });

  it('8: an operator restart in the middle of a roll resumes it: slave first, then the master, every member on the new image', async () => {
    const ns = 'resume';
    await makeCluster(ns, 1, { r: [2, 'ASYNC'] }, 'RESUME');
    const pods = ['r-0-0', 'r-1-0'];
    const uids = new Map<string, string>();
    for (const p of pods) uids.set(p, await podUid(ns, p));
    const next = IMAGE.replace(/:[^:/]*$/, '') + ':e2e-resume';
    await cluster.kubectl(['patch', 'brokergroup', '-n', ns, 'r', '--type=merge', '-p', JSON.stringify({ spec: { image: next } })]);
    // As soon as the slave is being replaced, kill the operator (its Deployment brings it back).
    await cluster.waitFor('the roll to start with the slave r-1-0', ns, 120_000, async () => (await podUid(ns, 'r-1-0').catch(() => '')) !== uids.get('r-1-0') || 'slave not yet replaced');
    expect(await podUid(ns, 'r-0-0'), 'the master is still the original pod when the slave restarts').toBe(uids.get('r-0-0'));
    const op = (await cluster.pods(OPERATOR_NAMESPACE))[0]!.metadata!.name!;
    await cluster.kubectl(['delete', 'pod', '-n', OPERATOR_NAMESPACE, op, '--grace-period=0', '--force']);
    await cluster.waitFor(`BrokerGroup ${ns}/r rolled to ${next} by the restarted operator`, ns, 300_000, async () => {
      const cr = await getCR(cluster, 'brokergroups', ns, 'r');
      const prog = cr.status?.conditions?.find((c) => c.type === 'Progressing');
      const ready = cr.status?.conditions?.find((c) => c.type === 'Ready');
      return (cr.status?.currentImage === next && prog?.status === 'False' && ready?.status === 'True') || `currentImage=${String(cr.status?.currentImage)} Progressing=${prog?.status}/${prog?.reason}: ${prog?.message ?? ''}`;
    });
    const ops = await cluster.pods(OPERATOR_NAMESPACE);
    expect(ops.map((p) => p.metadata?.name), 'a new operator pod').not.toContain(op);
    for (const p of pods) {
      const cur = await cluster.core.readNamespacedPod({ name: p, namespace: ns });
      expect(cur.metadata?.uid, `${p} replaced`).not.toBe(uids.get(p));
      expect(cur.spec?.containers.find((c) => c.name === 'broker')?.image, `${p} image`).toBe(next);
    }
    await cluster.kubectl(['delete', 'namespace', ns, '--wait=false']);
  });
});
