// Byte compatibility of our classic HA with the official Apache RocketMQ broker (5.5.0, see
// test/support/apache): a Java master streams its commit log to our HAClient, and a Java SLAVE
// follows our HAService. Both sides are compared byte for byte with the Java commit-log files.
//
// What the Java side needs:
//  - Java master → our slave: nothing special. DefaultHAService listens on haListenPort (start.sh:
//    listenPort + 1) on 0.0.0.0; our HAClient connects there and reports 0 (empty).
//  - our master → Java slave: brokerRole=SLAVE, brokerId=1 (>0), the same brokerName as our
//    master, and our master registered at the Java slave's NameServer as brokerId 0 with
//    haServerAddr = our HA address: the slave takes `haServerAddr` (and `masterAddr`) from its own
//    REGISTER_BROKER response. A static `haMasterAddress` does NOT work on a 5.x slave:
//    BrokerController.initialize() hands it to the store before DefaultMessageStore.start() has
//    created the DefaultHAClient (DefaultHAService.init), so it is dropped ("HAClient connect to
//    master null failed" every 5 s), and with it set the slave also stops taking the address from
//    the NameServer (updateMasterHAServerAddrPeriodically=false). The slave registers every
//    registerNameServerPeriod (min 10 s), so it can take that long to find the master.
//    The Java slave's mappedFileSizeCommitLog must equal our master's (start.sh: 64 MiB): an empty
//    slave starts at our last segment and Java creates its first file at that offset.
import { crc32 } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { existsSync, openSync, readSync, closeSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../broker/src/common/logger.js';
import { HAClient } from '../../broker/src/ha/ha-client.js';
import { HAService } from '../../broker/src/ha/ha-service.js';
import { MemoryCommitLog } from '../../broker/src/ha/memory-commit-log.js';
import { DefaultMessageStore } from '../../broker/src/store/default-message-store.js';
import { decodeMessageRecord, encodeHost, encodeMessageRecord, encodeProperties, type DecodedRecord } from '../../broker/src/protocol/message.js';
import { createRequest } from '../../broker/src/protocol/remoting.js';
import { RemotingClient } from '../../broker/src/transport/client.js';
import { runApacheScript, startApache, stopApache } from './apache.js';
import { eventually, freePortBlock, prepareDriver, runProducer, tempDir } from './harness.js';

const SEGMENT = 64 * 1024 * 1024; // start.sh: mappedFileSizeCommitLog=67108864

function skipReason(): string | undefined {
  const reason = prepareDriver('java5');
  if (reason) return reason;
  return undefined;
}
const skip = skipReason();

interface JavaBroker {
  dir: string;
  namesrvPort: number;
  brokerPort: number;
}

const started: JavaBroker[] = [];

async function startJava(name: string, extraConf: string[] = [], namesrvPortWanted?: number): Promise<JavaBroker> {
  const dir = tempDir(name);
  const namesrvPort = namesrvPortWanted ?? (await freePortBlock());
  const brokerPort = await freePortBlock();
  await startApache(dir, namesrvPort, brokerPort, { BROKER_EXTRA_CONF: extraConf.join('\n') });
  const b = { dir, namesrvPort, brokerPort };
  started.push(b);
  return b;
}

/** The first `length` bytes of the Java commit-log segment file starting at `base`. */
function javaCommitLog(b: JavaBroker, base: number, length: number): Buffer {
  const file = join(b.dir, 'store/commitlog', String(base).padStart(20, '0'));
  const buf = Buffer.alloc(length);
  const fd = openSync(file, 'r');
  try {
    let got = 0;
    while (got < length) {
      const n = readSync(fd, buf, got, length - got, got);
      if (n === 0) break;
      got += n;
    }
  } finally {
    closeSync(fd);
  }
  return buf;
}

/** Records back to back from `at` until a zero size (the unwritten, zero-filled tail of a Java segment). */
function records(buf: Buffer, at = 0): { records: DecodedRecord[]; end: number } {
  const out: DecodedRecord[] = [];
  let p = at;
  while (p + 8 <= buf.length && buf.readInt32BE(p) > 0) {
    const r = decodeMessageRecord(buf, p, true);
    if (!r) break;
    out.push(r);
    p += r.size;
  }
  return { records: out, end: p };
}

/** Bytes [from, to) of a store through the replication read path (what a master sends). */
function readStore(store: { getCommitLogData(offset: number, max: number): Buffer | undefined }, from: number, to: number): Buffer {
  const parts: Buffer[] = [];
  for (let at = from; at < to; ) {
    const chunk = store.getCommitLogData(at, Math.min(1024 * 1024, to - at));
    if (!chunk || chunk.length === 0) throw new Error(`no commit-log data at ${at}`);
    parts.push(chunk);
    at += chunk.length;
  }
  return Buffer.concat(parts);
}

function fileStore(name: string): DefaultMessageStore {
  return new DefaultMessageStore({ storePathRootDir: join(tempDir(name), 'store'), mappedFileSizeCommitLog: SEGMENT });
}

/**
 * Keeps our master registered at a (Java) NameServer as brokerId 0 of broker-a with its HA address,
 * which is how a Java 5.x slave learns where to connect. The remoting address is a placeholder (the
 * slave's metadata sync to it fails, harmlessly).
 */
function registerAsMaster(haPort: number, namesrvPort: number): { stop(): Promise<void> } {
  const client = new RemotingClient(silentLogger());
  let running = true;
  const body = Buffer.from(JSON.stringify({ topicConfigSerializeWrapper: { topicConfigTable: {}, dataVersion: { counter: 1, stateVersion: 0, timestamp: Date.now() } }, filterServerList: [] }));
  const ext = {
    brokerAddr: '127.0.0.1:9', brokerId: '0', brokerName: 'broker-a', clusterName: 'DefaultCluster', haServerAddr: `127.0.0.1:${haPort}`,
    compressed: 'false', enableActingMaster: 'false', bodyCrc32: String(crc32(body) & 0x7fffffff), // UtilAll.crc32 masks the sign bit
  };
  const loop = (async () => {
    while (running) {
      await client.invokeOk(`127.0.0.1:${namesrvPort}`, createRequest(103, ext, body), 2000).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await client.close();
    },
  };
}

afterAll(async () => {
  for (const b of started.splice(0)) await stopApache(b.dir);
});

describe.skipIf(skip !== undefined)(`classic HA against Apache RocketMQ 5.5.0${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('our HAClient follows a Java master byte for byte', async () => {
    const java = await startJava('ha-java-master');
    try {
      const ns = `127.0.0.1:${java.namesrvPort}`;
      const topic = `T_ha_${Date.now()}`;
      const first = await runProducer('java5', ['--namesrv', ns, '--topic', topic, '--group', 'PG_ha', '--count', '40', '--mode', 'sync', '--run-id', 'ha1', '--body-size', '3000'], join(java.dir, 'produce-1.log'));
      expect(first.filter((e) => e.event === 'sent')).toHaveLength(40);

      // Two slaves at once: the in-memory log (bytes only) and our file store (which also indexes).
      const slaveLog = new MemoryCommitLog({ segmentSize: SEGMENT });
      const fileSlave = fileStore('ha-java-file-slave');
      await fileSlave.start();
      fileSlave.setWritable(false);
      const haOptions = { haMasterAddress: `127.0.0.1:${java.brokerPort + 1}`, haSendHeartbeatInterval: 1000, reconnectMinMs: 200, reconnectMaxMs: 1000, logger: silentLogger() };
      const client = new HAClient(slaveLog, haOptions);
      const fileClient = new HAClient(fileSlave, haOptions);
      client.start();
      fileClient.start();
      try {
        const masterEnd = (): number => records(javaCommitLog(java, 0, 4 * 1024 * 1024)).end;
        await eventually(() => slaveLog.getMaxPhyOffset() > 0 && slaveLog.getMaxPhyOffset() === masterEnd(), 30_000, () => `replica at ${slaveLog.getMaxPhyOffset()}, Java master log ends at ${masterEnd()}`);
        // Streaming: more sends reach us while connected.
        const second = await runProducer('java5', ['--namesrv', ns, '--topic', topic, '--group', 'PG_ha', '--count', '30', '--mode', 'sync', '--run-id', 'ha2', '--body-size', '100'], join(java.dir, 'produce-2.log'));
        expect(second.filter((e) => e.event === 'sent')).toHaveLength(30);
        await eventually(() => slaveLog.getMaxPhyOffset() === masterEnd(), 30_000, () => `replica at ${slaveLog.getMaxPhyOffset()}, Java master log ends at ${masterEnd()}`);
        const end = slaveLog.getMaxPhyOffset();
        expect(slaveLog.getMinPhyOffset()).toBe(0);
        expect(slaveLog.read(0).equals(javaCommitLog(java, 0, end))).toBe(true);
        const ours = records(slaveLog.read(0)).records.filter((r) => r.topic === topic);
        expect(ours).toHaveLength(70);
        expect(client.status()).toMatchObject({ connected: true, replicatedOffset: end, masterMaxOffsetSeen: end });
        // The file store: same bytes, and its consume queues hold the 70 messages of the topic.
        await eventually(() => fileSlave.getMaxPhyOffset() === end, 30_000, () => `file replica at ${fileSlave.getMaxPhyOffset()}, Java master at ${end}`);
        expect(readStore(fileSlave, 0, end).equals(javaCommitLog(java, 0, end))).toBe(true);
        const queues = fileSlave.queues().get(topic);
        expect(queues).toBeDefined();
        let indexed = 0;
        for (const [queueId, bounds] of queues!) {
          const got = fileSlave.getMessages(topic, queueId, bounds.minOffset, { maxMsgNums: 1000 });
          for (const raw of got.messages) {
            const r = decodeMessageRecord(raw, 0, true)!;
            expect(r.topic).toBe(topic);
            expect(r.queueId).toBe(queueId);
            expect(raw.equals(javaCommitLog(java, 0, end).subarray(r.physicalOffset, r.physicalOffset + r.size))).toBe(true);
            indexed++;
          }
        }
        expect(indexed).toBe(70);
        // The Java master sees our acks: mqadmin haStatus lists us with no lag.
        const ha = await runApacheScript('mqadmin.sh', ['haStatus', '-n', ns, '-b', `127.0.0.1:${java.brokerPort}`], { RMQ_HOME_DIR: join(java.dir, 'tools') }, 90_000);
        expect(ha.code, ha.err.slice(-2000)).toBe(0);
        // #MasterCommitLogMaxOffset <n> … then per slave: addr, ack offset, diff, speed, status, transfer-from.
        expect(ha.out).toMatch(new RegExp(`#MasterCommitLogMaxOffset\\s+${end}\\b`));
        expect(ha.out).toMatch(new RegExp(`\\n\\S+\\s+${end}\\s+0\\s+\\S+\\s+OK\\s+${end}\\b`));
      } finally {
        await client.stop();
        await fileClient.stop();
        await fileSlave.shutdown();
      }
    } finally {
      await stopApache(java.dir);
    }
  });

  it.each(['memory', 'file'] as const)('a Java SLAVE follows our HAService (%s store) byte for byte and indexes what it received', async (kind) => {
    const topic = `T_ha_java_slave`;
    const storeHost = encodeHost('127.0.0.1:10911');
    const bornHost = encodeHost('127.0.0.1:40000');
    const props = (i: number): string => encodeProperties({ UNIQ_KEY: `ID${i}`, KEYS: `k${i}`, WAIT: 'true' });
    const body = (i: number): Buffer => Buffer.concat([Buffer.from(`m-${i}|`), randomBytes(200 + (i % 7) * 50)]);
    let master: MemoryCommitLog | DefaultMessageStore;
    let put: (i: number) => Promise<number>;
    if (kind === 'memory') {
      const log = new MemoryCommitLog({ segmentSize: SEGMENT });
      master = log;
      put = (i) => {
        const rec = encodeMessageRecord({
          topic, queueId: i % 2, flag: 0, queueOffset: Math.floor(i / 2), physicalOffset: log.getMaxPhyOffset(), sysFlag: 0,
          bornTimestamp: Date.now(), bornHost, storeTimestamp: Date.now(), storeHost, reconsumeTimes: 0, preparedTransactionOffset: 0,
          body: body(i), properties: props(i),
        });
        return Promise.resolve(log.append(rec));
      };
    } else {
      const store = fileStore('ha-java-file-master');
      await store.start();
      master = store;
      put = async (i) => {
        const r = await store.putMessage({
          topic, queueId: i % 2, flag: 0, sysFlag: 0, bornTimestamp: Date.now(), bornHost, storeHost, reconsumeTimes: 0,
          preparedTransactionOffset: 0, body: body(i), properties: props(i), tagsCode: 0, waitStoreMsgOK: true,
        });
        expect(r.status).toBe('PUT_OK');
        return r.appended[0]!.physicalOffset + r.appended[0]!.size;
      };
    }
    const masterBytes = (): Buffer => readStore(master, 0, master.getMaxPhyOffset());
    for (let i = 0; i < 200; i++) await put(i);

    const ha = new HAService(master, { haListenPort: 0, bindAddress: '127.0.0.1', mappedFileSizeCommitLog: SEGMENT, logger: silentLogger() });
    const port = await ha.start();
    const namesrvPort = await freePortBlock();
    const registration = registerAsMaster(port, namesrvPort);
    try {
      const java = await startJava('ha-java-slave', ['brokerRole=SLAVE', 'brokerId=1', 'registerNameServerPeriod=10000'], namesrvPort);
      try {
        await eventually(() => ha.connections()[0]?.ackedOffset === master.getMaxPhyOffset(), 60_000, () => `connections ${JSON.stringify(ha.connections())}, master at ${master.getMaxPhyOffset()}`);
        // SYNC_MASTER with a Java slave: a new put is acknowledged.
        const end = await put(200);
        expect(await ha.waitForReplication(end, 5000)).toBe('OK');
        for (let i = 201; i < 260; i++) await put(i);
        await eventually(() => ha.connections()[0]?.ackedOffset === master.getMaxPhyOffset(), 30_000, () => JSON.stringify(ha.connections()));
        const total = master.getMaxPhyOffset();
        expect(javaCommitLog(java, 0, total).equals(masterBytes())).toBe(true);
        // The Java slave parsed our records into its consume queues (20-byte entries: offset, size, tag hash).
        const cq = join(java.dir, 'store/consumequeue', topic, '0', '00000000000000000000');
        const expected = records(masterBytes()).records.filter((r) => r.queueId === 0);
        expect(expected).toHaveLength(130);
        await eventually(() => existsSync(cq) && cqEntries(cq).length >= expected.length, 30_000, () => `consume queue ${cq}`);
        const entries = cqEntries(cq).slice(0, expected.length);
        expect(entries.map((e) => [e.offset, e.size])).toEqual(expected.map((r) => [r.physicalOffset, r.size]));
      } finally {
        await stopApache(java.dir);
      }
      await eventually(() => ha.connections().length === 0, 30_000, () => 'Java slave gone');
    } finally {
      await registration.stop();
      await ha.stop();
      if (master instanceof DefaultMessageStore) await master.shutdown();
    }
  });
  it('a Java SLAVE joining late starts at our last segment and follows across a segment end (BLANK)', async () => {
    const small = 1024 * 1024;
    const store = new DefaultMessageStore({ storePathRootDir: join(tempDir('ha-java-small-master'), 'store'), mappedFileSizeCommitLog: small });
    await store.start();
    const storeHost = encodeHost('127.0.0.1:10911');
    const bornHost = encodeHost('127.0.0.1:40000');
    const put = async (i: number): Promise<void> => {
      const r = await store.putMessage({
        topic: 'T_ha_small', queueId: 0, flag: 0, sysFlag: 0, bornTimestamp: Date.now(), bornHost, storeHost, reconsumeTimes: 0,
        preparedTransactionOffset: 0, body: randomBytes(4000), properties: encodeProperties({ UNIQ_KEY: `S${i}` }), tagsCode: 0, waitStoreMsgOK: true,
      });
      expect(r.status).toBe('PUT_OK');
    };
    let i = 0;
    while (store.getMaxPhyOffset() < 2 * small + 100_000) await put(i++);
    const lastSegment = 2 * small;
    const ha = new HAService(store, { haListenPort: 0, bindAddress: '127.0.0.1', mappedFileSizeCommitLog: small, logger: silentLogger() });
    const port = await ha.start();
    const namesrvPort = await freePortBlock();
    const registration = registerAsMaster(port, namesrvPort);
    try {
      const java = await startJava('ha-java-slave-small', ['brokerRole=SLAVE', 'brokerId=1', 'registerNameServerPeriod=10000', `mappedFileSizeCommitLog=${small}`], namesrvPort);
      try {
        await eventually(() => ha.connections()[0]?.ackedOffset === store.getMaxPhyOffset(), 60_000, () => `connections ${JSON.stringify(ha.connections())}, master at ${store.getMaxPhyOffset()}`);
        expect(ha.connections()[0]!.transferOffset).toBe(store.getMaxPhyOffset());
        expect(existsSync(join(java.dir, 'store/commitlog', String(0).padStart(20, '0')))).toBe(false);
        // Into the next segment: our store ends segment 2 with a BLANK, Java's slave follows.
        while (store.getMaxPhyOffset() < 3 * small + 50_000) await put(i++);
        await eventually(() => ha.connections()[0]?.ackedOffset === store.getMaxPhyOffset(), 30_000, () => JSON.stringify(ha.connections()));
        expect(javaCommitLog(java, lastSegment, small).equals(readStore(store, lastSegment, 3 * small))).toBe(true);
        const tail = store.getMaxPhyOffset() - 3 * small;
        expect(javaCommitLog(java, 3 * small, tail).equals(readStore(store, 3 * small, store.getMaxPhyOffset()))).toBe(true);
      } finally {
        await stopApache(java.dir);
      }
    } finally {
      await registration.stop();
      await ha.stop();
      await store.shutdown();
    }
  });
});

function cqEntries(file: string): Array<{ offset: number; size: number }> {
  const size = Math.min(statSync(file).size, 20 * 10_000);
  const buf = Buffer.alloc(size);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buf, 0, size, 0);
  } finally {
    closeSync(fd);
  }
  const out: Array<{ offset: number; size: number }> = [];
  for (let p = 0; p + 20 <= buf.length; p += 20) {
    const size = buf.readInt32BE(p + 8);
    if (size === 0) break;
    out.push({ offset: Number(buf.readBigInt64BE(p)), size });
  }
  return out;
}
