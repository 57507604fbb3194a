// HAService + HAClient between two real DefaultMessageStores (file-backed) over loopback TCP: the
// slave's commit log is the master's byte for byte (BLANK fillers included), its consume queues
// serve the same records, and both sides survive restarts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DefaultMessageStore } from '../store/default-message-store.js';
import { testMessage } from '../store/message-store.conformance.js';
import { HAClient } from './ha-client.js';
import { HAService } from './ha-service.js';

const SEG = 64 * 1024;
const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'rmq-ha-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => undefined);
});

async function openStore(dir: string): Promise<DefaultMessageStore> {
  const s = new DefaultMessageStore({ storePathRootDir: dir, mappedFileSizeCommitLog: SEG, mappedFileSizeConsumeQueue: 50 * 20, maxMessageSize: 16 * 1024 });
  await s.start();
  cleanup.push(() => s.shutdown());
  return s;
}

async function eventually(cond: () => boolean, what: () => string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms: ${what()}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function bytes(store: DefaultMessageStore, from: number, to: number): Buffer {
  const parts: Buffer[] = [];
  for (let at = from; at < to; ) {
    const c = store.getCommitLogData(at, 1 << 20);
    if (!c || c.length === 0) throw new Error(`no data at ${at}`);
    parts.push(c);
    at += c.length;
  }
  return Buffer.concat(parts);
}

/** Every queue of `a` serves the same records from `b` (from b's min offset on). */
function sameQueues(a: DefaultMessageStore, b: DefaultMessageStore): void {
  for (const [topic, queues] of a.queues()) {
    for (const [queueId, bounds] of queues) {
      const theirs = b.getMessages(topic, queueId, bounds.minOffset, { maxMsgNums: 10_000 });
      const ours = a.getMessages(topic, queueId, bounds.minOffset, { maxMsgNums: 10_000 });
      expect(ours.messages.length, `${topic}/${queueId}`).toBeGreaterThan(0);
      expect(ours.messages).toEqual(theirs.messages.slice(0, ours.messages.length));
    }
  }
}

async function put(store: DefaultMessageStore, ha: HAService | undefined, from: number, n: number): Promise<void> {
  for (let i = from; i < from + n; i++) {
    const r = await store.putMessage(testMessage(`T${i % 2}`, i % 3, i, { body: Buffer.alloc(300 + (i % 5) * 200, i) }));
    expect(r.status).toBe('PUT_OK');
    if (ha) {
      const a = r.appended[0]!;
      expect(await ha.waitForReplication(a.physicalOffset + a.size)).toBe('OK');
    }
  }
}

describe('HA between two DefaultMessageStores', () => {
  it('replicates puts from the start (SYNC_MASTER acks), across segments, and survives restarts on both sides', async () => {
    const masterDir = tempDir();
    const slaveDir = tempDir();
    let master = await openStore(masterDir);
    let slave = await openStore(slaveDir);
    slave.setWritable(false);
    let ha = new HAService(master, { haListenPort: 0, bindAddress: '127.0.0.1', mappedFileSizeCommitLog: SEG, pollIntervalMs: 20, slaveTimeout: 3000 });
    const port = await ha.start();
    cleanup.push(() => ha.stop());
    const clientOptions = { haMasterAddress: `127.0.0.1:${port}`, reconnectMinMs: 20, reconnectMaxMs: 100, haSendHeartbeatInterval: 200 };
    let client = new HAClient(slave, clientOptions);
    client.start();
    cleanup.push(() => client.stop());
    await eventually(() => ha.connections()[0]?.ackedOffset === 0, () => 'slave connected');

    await put(master, ha, 0, 200); // ~ 140 KiB: three segments, BLANK fillers between
    expect(master.getMaxPhyOffset()).toBeGreaterThan(2 * SEG);
    await eventually(() => slave.getMaxPhyOffset() === master.getMaxPhyOffset(), () => `slave ${slave.getMaxPhyOffset()} master ${master.getMaxPhyOffset()}`);
    expect(bytes(slave, 0, slave.getMaxPhyOffset()).equals(bytes(master, 0, master.getMaxPhyOffset()))).toBe(true);
    await eventually(() => slave.queues().size === 2, () => 'slave indexed');
    sameQueues(master, slave);

    // Slave restart: it resumes from its own end.
    await client.stop();
    await slave.shutdown();
    await put(master, undefined, 200, 50);
    slave = await openStore(slaveDir);
    slave.setWritable(false);
    client = new HAClient(slave, clientOptions);
    client.start();
    await eventually(() => slave.getMaxPhyOffset() === master.getMaxPhyOffset(), () => `slave ${slave.getMaxPhyOffset()} master ${master.getMaxPhyOffset()}`);
    expect(bytes(slave, 0, slave.getMaxPhyOffset()).equals(bytes(master, 0, master.getMaxPhyOffset()))).toBe(true);

    // Master restart on the same port: the slave reconnects and continues.
    await ha.stop();
    await master.shutdown();
    master = await openStore(masterDir);
    ha = new HAService(master, { haListenPort: port, bindAddress: '127.0.0.1', mappedFileSizeCommitLog: SEG, pollIntervalMs: 20 });
    await ha.start();
    await eventually(() => ha.connections().length === 1, () => 'slave reconnected');
    await put(master, ha, 250, 60);
    await eventually(() => slave.getMaxPhyOffset() === master.getMaxPhyOffset(), () => `slave ${slave.getMaxPhyOffset()} master ${master.getMaxPhyOffset()}`);
    expect(bytes(slave, 0, slave.getMaxPhyOffset()).equals(bytes(master, 0, master.getMaxPhyOffset()))).toBe(true);
    await eventually(() => [...(slave.queues().get('T0')?.values() ?? [])].reduce((n, b) => n + b.maxOffset, 0) === 155, () => 'slave indexed all of T0');
    sameQueues(master, slave);
  });

  it('an empty slave joining late starts at the master last segment and indexes from there', async () => {
    const master = await openStore(tempDir());
    await put(master, undefined, 0, 200);
    const lastSegment = master.getMaxPhyOffset() - (master.getMaxPhyOffset() % SEG);
    const ha = new HAService(master, { haListenPort: 0, bindAddress: '127.0.0.1', mappedFileSizeCommitLog: SEG, pollIntervalMs: 20 });
    const port = await ha.start();
    cleanup.push(() => ha.stop());
    const slave = await openStore(tempDir());
    slave.setWritable(false);
    const client = new HAClient(slave, { haMasterAddress: `127.0.0.1:${port}`, reconnectMinMs: 20 });
    client.start();
    cleanup.push(() => client.stop());
    await eventually(() => slave.getMaxPhyOffset() === master.getMaxPhyOffset(), () => `slave ${slave.getMaxPhyOffset()} master ${master.getMaxPhyOffset()}`);
    expect(slave.getMinPhyOffset()).toBe(lastSegment);
    expect(bytes(slave, lastSegment, slave.getMaxPhyOffset()).equals(bytes(master, lastSegment, master.getMaxPhyOffset()))).toBe(true);
    await put(master, ha, 200, 20);
    expect(slave.lookMessageByOffset(lastSegment)).toEqual(master.lookMessageByOffset(lastSegment));
  });
});
