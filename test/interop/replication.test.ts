// Master/slave replication across real processes with real clients: a broker group (master +
// slave sharing a brokerName, each its own process, store and ports) behind our NameServer,
// driven by the Java client (and the Go client for the ASYNC scenario):
//   1. SYNC_MASTER: kill -9 the master mid-stream; every SEND_OK message is read from the slave.
//   2. promote the slave at runtime (UPDATE_BROKER_CONFIG), produce and consume through it; the
//      old master rejoins as a slave, follows the new master and drops a divergent tail.
//   3. ASYNC_MASTER: the slave catches up and serves consumers; sends need no slave.
//   4. SYNC_MASTER without its slave: SendResult status SLAVE_NOT_AVAILABLE, message stored.
//   5. SIGTERM of a master under load: exits 0 promptly, leaves the routes, loses nothing.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResponseCode } from '../../broker/src/protocol/codes.js';
import { BrokerGroup, replicationSummary } from './group-harness.js';
import { compareDelivery, ConsumerHandle, eventually, prepareDriver, runProducer, startProducer, type DriverEvent, type DriverKind } from './harness.js';

const java = 'java5' as const;
const skipJava = prepareDriver(java);
const skipGo = prepareDriver('go');

// ---------------------------------------------------------------------------------------------
// helpers

const ok = (events: DriverEvent[]): DriverEvent[] => events.filter((e) => e.event === 'sent' && e.status === 'SEND_OK');
const errors = (events: DriverEvent[]): DriverEvent[] => events.filter((e) => e.event === 'send-error');

/** Indexes of `sent` (one run) that `received` does not contain. */
function missing(received: DriverEvent[], runId: string, sent: DriverEvent[]): number[] {
  const got = new Set(received.filter((r) => r.runId === runId).map((r) => r.index));
  return sent.filter((s) => !got.has(s.index)).map((s) => s.index!);
}

/**
 * One received copy per sent index. A send retried across a crash may be stored twice, and a
 * consumer that fails over may see a message again (at-least-once), so deliveries are compared
 * on a de-duplicated copy; compareDelivery still checks body, keys and properties of each.
 */
function firstCopies(received: DriverEvent[], runId: string, sent: DriverEvent[]): DriverEvent[] {
  const want = new Set(sent.map((s) => s.index));
  const first = new Map<number, DriverEvent>();
  for (const r of received) if (r.runId === runId && want.has(r.index) && !first.has(r.index!)) first.set(r.index!, r);
  return [...first.values()];
}

/** Every message of `sent` arrived at least once, intact. */
function expectAtLeastOnce(received: DriverEvent[], runId: string, sent: DriverEvent[]): void {
  expect(compareDelivery(sent, firstCopies(received, runId, sent), runId), `run ${runId}`).toEqual([]);
}

/** commitLogEnd of the broker's last "message store recovered" log line, if it logged one. */
function lastRecoveredEnd(logFile: string): number | undefined {
  let end: number | undefined;
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (!line.includes('message store recovered')) continue;
    try {
      const v = (JSON.parse(line) as { commitLogEnd?: unknown }).commitLogEnd;
      if (typeof v === 'number') end = v;
    } catch {
      // not a JSON log line
    }
  }
  return end;
}

const keyOf = (e: DriverEvent): string => `${e.runId}#${e.index}`;

function describeSkip(reasons: Array<string | undefined>): string {
  const r = reasons.filter((x): x is string => x !== undefined);
  return r.length > 0 ? ` (skipped: ${r.join('; ')})` : '';
}

class Clients {
  constructor(
    readonly g: BrokerGroup,
    readonly topic: string,
  ) {}

  args(runId: string, count: number, extra: string[] = []): string[] {
    return ['--namesrv', this.g.namesrvAddr, '--topic', this.topic, '--group', 'PG_repl', '--count', String(count), '--mode', 'sync', '--run-id', runId, ...extra];
  }

  produce(kind: DriverKind, runId: string, count: number, extra: string[] = []): Promise<DriverEvent[]> {
    return runProducer(kind, this.args(runId, count, extra), this.g.log(`produce-${runId}`), 120_000);
  }

  consumer(kind: DriverKind, group: string, name: string): ConsumerHandle {
    return new ConsumerHandle(kind, ['--namesrv', this.g.namesrvAddr, '--topic', this.topic, '--group', group, '--mode', 'push', '--instance', name, '--timeout-ms', '400000'], this.g.log(name));
  }
}

// ---------------------------------------------------------------------------------------------
// SYNC_MASTER group: scenarios 4, 1, 2, 5 in sequence on one group (each builds on the last).

describe.skipIf(skipJava !== undefined)(`SYNC_MASTER + slave, failover and rejoin, with the ${java} client${describeSkip([skipJava])}`, () => {
  const g = new BrokerGroup('interop-repl-sync', { masterRole: 'SYNC_MASTER' });
  const topic = `T_repl_sync_${Date.now()}`;
  const c = new Clients(g, topic);
  /** Acknowledged (SEND_OK) sends per run, for the later checks. */
  const acked = new Map<string, DriverEvent[]>();
  let live: ConsumerHandle | undefined;
  /** Run N (scenario 4): stored on the master with status SLAVE_NOT_AVAILABLE. */
  let runN: DriverEvent[] = [];

  beforeAll(async () => {
    await g.start();
    await g.createTopic(topic, 4);
  });
  afterAll(async () => {
    live?.kill();
    await g.stop();
  });

  it('scenario 4: with the slave stopped, a SYNC_MASTER answers SLAVE_NOT_AVAILABLE (a SendResult, not an error) and keeps the message', async () => {
    const before = await g.runtimeInfo('m');
    expect((await g.stopMember('s1')).code).toBe(0);
    await g.waitUntil(async () => (await g.runtimeInfo('m')).haConnectionCount === '0', 15_000, async () => `the master to see no slave: ${replicationSummary(await g.tryRuntimeInfo('m'))}`);

    const events = await c.produce(java, 'runN', 10, ['--retries', '2']);
    expect(errors(events)).toEqual([]);
    const sent = events.filter((e) => e.event === 'sent');
    runN = sent;
    expect(sent).toHaveLength(10);
    // The Java client maps response code 11 to SendStatus.SLAVE_NOT_AVAILABLE and returns it.
    expect(sent.map((e) => e.status)).toEqual(Array.from({ length: 10 }, () => 'SLAVE_NOT_AVAILABLE'));
    expect(sent.every((e) => typeof e.msgId === 'string' && typeof e.queueOffset === 'number')).toBe(true);
    const after = await g.runtimeInfo('m');
    expect(Number(after.commitLogMaxOffset)).toBeGreaterThan(Number(before.commitLogMaxOffset));

    // Stored on the master: a consumer reads all ten, intact and once.
    const cn = c.consumer(java, 'CG_n', 'c-n');
    await cn.ready();
    await cn.waitFor((h) => missing(h.received, 'runN', sent).length === 0, 60_000, 'the 10 SLAVE_NOT_AVAILABLE messages from the master');
    await cn.stop();
    expect(compareDelivery(sent, cn.received, 'runN')).toEqual([]);

    // The slave comes back and copies them.
    await g.startMember('s1');
    await g.waitFollowing('s1', 'm', 30_000);
  });

  it('scenario 1: kill -9 of the master mid-stream loses no SEND_OK message; consumers go on reading from the slave', async () => {
    live = c.consumer(java, 'CG_live', 'c-live');
    await live.ready();
    // Pulling from the master before the stream starts (a new push consumer can need one heartbeat
    // period, 30 s, before its first pull succeeds: the client's SUBSCRIPTION_NOT_LATEST race).
    await live.waitFor((h) => missing(h.received, 'runN', runN).length === 0, 60_000, 'run N from the master');
    const p = startProducer(java, c.args('runA', 1500, ['--retries', '2', '--send-timeout-ms', '2000']), g.log('produce-runA'), 180_000);
    await eventually(() => ok(p.events).length >= 300, 90_000, () => `300 acknowledged sends before the kill (got ${p.events.length} events; see ${g.log('produce-runA')})`);
    const killed = await g.stopMember('m', 'SIGKILL');
    expect(killed.signal).toBe('SIGKILL');
    const atKill = ok(p.events).length;
    const liveAtKill = live.received.filter((r) => r.runId === 'runA').length;
    // The NameServer drops the dead master (its connection closed) and keeps the slave listed.
    await g.waitUntil(async () => {
      const r = await g.routeMembers(topic);
      return r !== undefined && !r.has(0) && r.get(1) === g.member('s1').addr;
    }, 15_000, async () => `the route to list only the slave; route: ${JSON.stringify([...((await g.routeMembers(topic).catch(() => undefined)) ?? [])])}`);

    const events = await p.done;
    const a = ok(events);
    acked.set('runA', a);
    expect(a.length).toBeGreaterThanOrEqual(atKill);
    expect(a.length).toBeGreaterThanOrEqual(300);
    // With its slave connected, a SYNC_MASTER acknowledged every stored message with SEND_OK.
    expect(events.filter((e) => e.event === 'sent' && e.status !== 'SEND_OK'), 'acknowledged with another status').toEqual([]);
    // After the crash sends fail (no master): the producer reports errors, not acknowledgements.
    expect(errors(events).length).toBeGreaterThan(0);

    // A group started now reads from the slave only (the master is down).
    const after = c.consumer(java, 'CG_after_kill', 'c-after-kill');
    await after.ready();
    await after.waitFor((h) => missing(h.received, 'runA', a).length === 0, 60_000, `all ${a.length} SEND_OK messages of run A from the slave`);
    await after.stop();
    expectAtLeastOnce(after.received, 'runA', a);
    // The consumer that ran throughout moves to the slave (after its route refresh, ≤ 30 s).
    await live.waitFor((h) => missing(h.received, 'runA', a).length === 0, 90_000, `all ${a.length} SEND_OK messages of run A (consumer running through the crash; it had ${liveAtKill} at the kill)`);
    expectAtLeastOnce(live.received, 'runA', a);
    expect(g.member('m').running).toBe(false);
    const slaveInfo = await g.runtimeInfo('s1');
    expect(slaveInfo.brokerRole).toBe('SLAVE');
    expect(Number(slaveInfo.msgGetTotalTodayNow)).toBeGreaterThan(0);
  });

  it('scenario 2: the promoted slave takes sends; the old master rejoins as a slave, follows it and serves the same messages', async () => {
    const s1 = g.member('s1');
    const remark = await g.updateConfigOk('s1', { brokerRole: 'ASYNC_MASTER' });
    expect(remark).toMatch(/promoted/);
    const promoted = await g.runtimeInfo('s1');
    expect(promoted.brokerRole).toBe('ASYNC_MASTER');
    expect(promoted.brokerId).toBe('0');
    await g.waitUntil(async () => (await g.routeMembers(topic))?.get(0) === s1.addr, 15_000, async () => `the promoted slave as brokerId 0 in the route: ${JSON.stringify([...((await g.routeMembers(topic).catch(() => undefined)) ?? [])])}`);

    // A new producer finds the new master at once (a running one would after its route refresh).
    const b = await c.produce(java, 'runB', 100);
    expect(errors(b)).toEqual([]);
    expect(ok(b)).toHaveLength(100);
    acked.set('runB', ok(b));
    await live!.waitFor((h) => missing(h.received, 'runB', ok(b)).length === 0, 60_000, 'run B through the promoted master (consumer running throughout)');
    expectAtLeastOnce(live!.received, 'runB', ok(b));

    // The old master comes back as a slave: same store, brokerRole=SLAVE and a new brokerId.
    await g.restartMember('m', { brokerRole: 'SLAVE', brokerId: '2' });
    const { slave: m } = await g.waitFollowing('m', 's1', 45_000);
    expect(m.brokerId).toBe('2');
    expect(m.replicationEpoch).toBe(promoted.replicationEpoch);
    // Under SYNC_MASTER only sends in flight at the crash can be past the promotion point.
    // Exactly the part of its recovered log past the promotion point is dropped.
    const dropped = Number(m.slaveDroppedDivergentBytes);
    const recoveredEnd = lastRecoveredEnd(g.member('m').logFile);
    if (recoveredEnd !== undefined) expect(dropped, `recovered to ${recoveredEnd}, new epoch from ${promoted.replicationEpochStartOffset}`).toBe(Math.max(0, recoveredEnd - Number(promoted.replicationEpochStartOffset)));
    else expect(dropped).toBeGreaterThanOrEqual(0);
    if (dropped > 0) expect(readFileSync(g.member('m').logFile, 'utf8')).toMatch(/dropped commit-log tail/);
    await g.waitUntil(async () => {
      const r = await g.routeMembers(topic);
      return r?.get(0) === s1.addr && r.get(2) === g.member('m').addr;
    }, 20_000, async () => `route {0: s1, 2: m}: ${JSON.stringify([...((await g.routeMembers(topic).catch(() => undefined)) ?? [])])}`);

    // SYNC replication to the rejoined slave: switch the new master to SYNC_MASTER at runtime.
    expect(await g.updateConfigOk('s1', { brokerRole: 'SYNC_MASTER' })).toMatch(/SYNC_MASTER/);
    const cRun = await c.produce(java, 'runC', 50);
    expect(errors(cRun)).toEqual([]);
    expect(ok(cRun), 'SEND_OK needs the rejoined slave to acknowledge').toHaveLength(50);
    acked.set('runC', ok(cRun));
    await live!.waitFor((h) => missing(h.received, 'runC', ok(cRun)).length === 0, 60_000, 'run C');
    await live!.stop();
    live = undefined;
  });

  it('scenario 5: SIGTERM of the master under load exits 0 promptly, leaves the routes, and loses no acknowledged message', async () => {
    const s1 = g.member('s1');
    const m = g.member('m');
    const p = startProducer(java, c.args('runD', 1500, ['--retries', '2', '--send-timeout-ms', '2000']), g.log('produce-runD'), 180_000);
    await eventually(() => ok(p.events).length >= 200, 90_000, () => `200 acknowledged sends before SIGTERM (got ${p.events.length} events)`);
    const stopped = await g.stopMember('s1', 'SIGTERM', 30_000);
    expect(stopped.code, `exit of the master after SIGTERM; log:\n${readFileSync(s1.logFile, 'utf8').slice(-2000)}`).toBe(0);
    expect(stopped.ms).toBeLessThan(15_000);
    // Unregistered before it exited: neither the route nor the cluster list it any more.
    const route = await g.routeMembers(topic);
    expect([...(route ?? new Map<number, string>()).entries()]).toEqual([[2, m.addr]]);
    expect([...(await g.clusterMembers()).values()]).not.toContain(s1.addr);
    const events = await p.done;
    const d = ok(events);
    acked.set('runD', d);
    expect(d.length).toBeGreaterThanOrEqual(200);

    // The rejoined old master (now the only member) serves every acknowledged message.
    const fromOld = c.consumer(java, 'CG_old_master', 'c-old-master');
    await fromOld.ready();
    const all = [...acked.entries()];
    await fromOld.waitFor((h) => all.every(([run, sent]) => missing(h.received, run, sent).length === 0), 90_000, `all acknowledged messages of ${all.map(([r, s]) => `${r} (${s.length})`).join(', ')} from the old master`);
    await new Promise((r) => setTimeout(r, 1000));
    await fromOld.stop();
    for (const [run, sent] of all) expectAtLeastOnce(fromOld.received, run, sent);

    // Restarted (its file still says SLAVE/1 from before the promotion): nothing acknowledged is lost.
    await g.restartMember('s1', { brokerRole: 'SYNC_MASTER', brokerId: '0' });
    await g.waitUntil(async () => (await g.routeMembers(topic))?.get(0) === s1.addr, 20_000, async () => `the restarted master in the route: ${JSON.stringify([...((await g.routeMembers(topic).catch(() => undefined)) ?? [])])}`);
    await g.waitFollowing('m', 's1', 30_000);
    const fromNew = c.consumer(java, 'CG_after_sigterm', 'c-after-sigterm');
    await fromNew.ready();
    await fromNew.waitFor((h) => all.every(([run, sent]) => missing(h.received, run, sent).length === 0), 90_000, 'all acknowledged messages from the restarted master');
    await new Promise((r) => setTimeout(r, 1000));
    await fromNew.stop();
    for (const [run, sent] of all) expectAtLeastOnce(fromNew.received, run, sent);
    // The old master served the same messages as the new one, except sends of run D that were
    // stored on the master as it stopped and never acknowledged (the slave copied them later).
    const runs = new Set(all.map(([r]) => r));
    const oldKeys = new Set(fromOld.received.filter((r) => runs.has(r.runId!)).map(keyOf));
    const newKeys = new Set(fromNew.received.filter((r) => runs.has(r.runId!)).map(keyOf));
    expect([...oldKeys].filter((k) => !newKeys.has(k)), 'read from the old master but not from the new one').toEqual([]);
    const ackedD = new Set(d.map((s) => `runD#${s.index}`));
    const onlyNew = [...newKeys].filter((k) => !oldKeys.has(k));
    expect(onlyNew.filter((k) => !k.startsWith('runD#') || ackedD.has(k)), 'acknowledged messages the old master did not serve').toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// ASYNC_MASTER group (SYNC_FLUSH), Go producer and consumer: scenario 3.

describe.skipIf(skipJava !== undefined || skipGo !== undefined)(`ASYNC_MASTER + slave with the Go and ${java} clients${describeSkip([skipJava, skipGo])}`, () => {
  const g = new BrokerGroup('interop-repl-async', { masterRole: 'ASYNC_MASTER', flushDiskType: 'SYNC_FLUSH' });
  const topic = `T_repl_async_${Date.now()}`;
  const c = new Clients(g, topic);
  beforeAll(async () => {
    await g.start();
    await g.createTopic(topic, 4);
  });
  afterAll(() => g.stop());

  it('scenario 3: the slave catches up and serves a consumer; the master acknowledges without waiting for it', async () => {
    const g1 = await c.produce('go', 'runG1', 200);
    expect(errors(g1)).toEqual([]);
    expect(ok(g1)).toHaveLength(200);
    const { master } = await g.waitFollowing('s1', 'm', 30_000);
    expect(master.haConnectionCount).toBe('1');
    await g.waitUntil(async () => (await g.runtimeInfo('m')).haMaxLagBytes === '0', 10_000, async () => `the master to see no lag: ${replicationSummary(await g.tryRuntimeInfo('m'))}`);

    // Slave stopped: an ASYNC_MASTER still answers SEND_OK (a SYNC_MASTER would not).
    expect((await g.stopMember('s1')).code).toBe(0);
    await g.waitUntil(async () => (await g.runtimeInfo('m')).haConnectionCount === '0', 15_000, async () => `the master to see no slave: ${replicationSummary(await g.tryRuntimeInfo('m'))}`);
    const g2 = await c.produce('go', 'runG2', 100);
    expect(errors(g2)).toEqual([]);
    expect(ok(g2)).toHaveLength(100);

    // The slave comes back and catches up (lag → 0).
    await g.startMember('s1');
    await g.waitFollowing('s1', 'm', 30_000);

    // Go consumer through the master: each message exactly once.
    const sent = [...ok(g1), ...ok(g2)];
    const goc = c.consumer('go', 'CG_go', 'c-go');
    await goc.ready();
    await goc.waitFor((h) => missing(h.received, 'runG1', ok(g1)).length + missing(h.received, 'runG2', ok(g2)).length === 0, 60_000, 'runs G1 + G2 (Go consumer)');
    await new Promise((r) => setTimeout(r, 1000));
    await goc.stop();
    expect(compareDelivery(ok(g1), goc.received, 'runG1')).toEqual([]);
    expect(compareDelivery(ok(g2), goc.received, 'runG2')).toEqual([]);

    // Master stopped: the slave alone serves a new group everything. (The Go client cannot start a
    // group without a master — it reads offsets from brokerId 0 only — so the Java client reads here.)
    expect((await g.stopMember('m')).code).toBe(0);
    await g.waitUntil(async () => {
      const r = await g.routeMembers(topic);
      return r !== undefined && !r.has(0) && r.has(1);
    }, 15_000, async () => `the route to list only the slave: ${JSON.stringify([...((await g.routeMembers(topic).catch(() => undefined)) ?? [])])}`);
    const fromSlave = c.consumer(java, 'CG_slave', 'c-slave');
    await fromSlave.ready();
    await fromSlave.waitFor((h) => missing(h.received, 'runG1', ok(g1)).length + missing(h.received, 'runG2', ok(g2)).length === 0, 60_000, `all ${sent.length} messages from the slave`);
    await new Promise((r) => setTimeout(r, 1000));
    await fromSlave.stop();
    expect(compareDelivery(ok(g1), fromSlave.received, 'runG1')).toEqual([]);
    expect(compareDelivery(ok(g2), fromSlave.received, 'runG2')).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// ASYNC_MASTER group: divergence. The slave is cut off, the master takes writes it never
// replicates, crashes; the slave is promoted; the old master rejoins as a slave and must drop
// exactly the bytes the new master never had (scenario 2's truncation, made deterministic).

describe.skipIf(skipJava !== undefined)(`ASYNC_MASTER failover with a divergent old master, with the ${java} client${describeSkip([skipJava])}`, () => {
  const g = new BrokerGroup('interop-repl-diverge', { masterRole: 'ASYNC_MASTER' });
  const topic = `T_repl_div_${Date.now()}`;
  const c = new Clients(g, topic);
  beforeAll(async () => {
    await g.start();
    await g.createTopic(topic, 4);
  });
  afterAll(() => g.stop());

  it('scenario 2 (ASYNC): the rejoining old master drops its unreplicated tail and serves what the new master has', async () => {
    const e1 = await c.produce(java, 'runE1', 100);
    expect(ok(e1)).toHaveLength(100);
    await g.waitFollowing('s1', 'm', 30_000);

    // Cut the slave off (it follows an address where no master listens).
    await g.updateConfigOk('s1', { haMasterAddress: '127.0.0.1:1' });
    await g.waitUntil(async () => (await g.runtimeInfo('s1')).haMasterConnected === 'false', 15_000, async () => `the slave to be cut off: ${replicationSummary(await g.tryRuntimeInfo('s1'))}`);
    const e2 = await c.produce(java, 'runE2', 50);
    expect(ok(e2), 'an ASYNC_MASTER acknowledges without its slave').toHaveLength(50);
    const mInfo = await g.runtimeInfo('m');
    const sInfo = await g.runtimeInfo('s1');
    const masterEnd = Number(mInfo.commitLogMaxOffset);
    const slaveEnd = Number(sInfo.commitLogMaxOffset);
    expect(masterEnd).toBeGreaterThan(slaveEnd);

    // Promotion is refused while the master is alive and registered.
    const early = await g.updateConfig('s1', { brokerRole: 'ASYNC_MASTER' });
    expect(early.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(early.remark).toMatch(/still has a live master/);

    expect((await g.stopMember('m', 'SIGKILL')).signal).toBe('SIGKILL');
    await g.waitUntil(async () => !(await g.clusterMembers()).has(0), 15_000, async () => `the NameServer to drop the dead master: ${JSON.stringify([...(await g.clusterMembers().catch(() => new Map<number, string>()))])}`);
    expect(await g.updateConfigOk('s1', { brokerRole: 'ASYNC_MASTER', haMasterAddress: '' })).toMatch(/promoted/);
    const promoted = await g.runtimeInfo('s1');
    expect(promoted.brokerRole).toBe('ASYNC_MASTER');
    expect(promoted.replicationEpochStartOffset).toBe(String(slaveEnd));

    await g.restartMember('m', { brokerRole: 'SLAVE', brokerId: '2' });
    const { slave: rejoined } = await g.waitFollowing('m', 's1', 45_000);
    expect(rejoined.slaveDroppedDivergentBytes, replicationSummary(rejoined)).toBe(String(masterEnd - slaveEnd));
    expect(rejoined.replicationEpoch).toBe(promoted.replicationEpoch);
    expect(readFileSync(g.member('m').logFile, 'utf8')).toMatch(/dropped commit-log tail/);

    const e3 = await c.produce(java, 'runE3', 50);
    expect(errors(e3)).toEqual([]);
    expect(ok(e3)).toHaveLength(50);
    await g.waitFollowing('m', 's1', 30_000);

    // What the new master serves…
    const fromNew = c.consumer(java, 'CG_new_master', 'c-new-master');
    await fromNew.ready();
    await fromNew.waitFor((h) => missing(h.received, 'runE1', ok(e1)).length + missing(h.received, 'runE3', ok(e3)).length === 0, 60_000, 'runs E1 + E3 from the new master');
    await new Promise((r) => setTimeout(r, 1000));
    await fromNew.stop();

    // …the rejoined old master serves too, once the new master is gone: the same messages, and
    // none of run E2 (acknowledged by the old master alone, lost with it, dropped on rejoin).
    expect((await g.stopMember('s1')).code).toBe(0);
    await g.waitUntil(async () => {
      const r = await g.routeMembers(topic);
      return r !== undefined && [...r.keys()].join() === '2';
    }, 15_000, async () => `the route to list only the old master: ${JSON.stringify([...((await g.routeMembers(topic).catch(() => undefined)) ?? [])])}`);
    const fromOld = c.consumer(java, 'CG_old_master', 'c-old-master');
    await fromOld.ready();
    await fromOld.waitFor((h) => missing(h.received, 'runE1', ok(e1)).length + missing(h.received, 'runE3', ok(e3)).length === 0, 60_000, 'runs E1 + E3 from the old master');
    await new Promise((r) => setTimeout(r, 1500));
    await fromOld.stop();
    for (const h of [fromNew, fromOld]) {
      expect(compareDelivery(ok(e1), h.received, 'runE1')).toEqual([]);
      expect(compareDelivery(ok(e3), h.received, 'runE3')).toEqual([]);
      expect(h.received.filter((r) => r.runId === 'runE2').map((r) => r.index)).toEqual([]);
    }
    expect(new Set(fromOld.received.map(keyOf))).toEqual(new Set(fromNew.received.map(keyOf)));
  });
});
