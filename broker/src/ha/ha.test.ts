// HAService (master) + HAClient (slave) end to end, over real loopback TCP and over the in-memory
// transport, with MemoryCommitLog stores. Short intervals everywhere; every wait is bounded.
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { pino, type Logger } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { HAClient, type HAClientOptions } from './ha-client.js';
import { encodeFrameHeader, encodeReport, FrameReader, type HAFrame } from './ha-protocol.js';
import { HAService, type HAServiceOptions } from './ha-service.js';
import { tcpTransport, type HAChannel, type HATransport } from './ha-transport.js';
import { MemoryCommitLog } from './memory-commit-log.js';
import { MemoryHATransport } from './memory-transport.js';

const SEG = 64 * 1024;

interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

function captureLogger(): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) });
  return { log, lines };
}

async function eventually(cond: () => boolean, what: () => string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms: ${what()}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Everything a test starts, stopped in afterEach whatever happened. */
const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

function fast(o: Partial<HAServiceOptions> = {}): HAServiceOptions {
  return {
    haListenPort: 0,
    bindAddress: '127.0.0.1',
    mappedFileSizeCommitLog: SEG,
    haSendHeartbeatInterval: 200,
    haHousekeepingInterval: 2000,
    haTransferBatchSize: 4096,
    pollIntervalMs: 20,
    ...o,
  };
}

const fastClient = (o: Partial<HAClientOptions> = {}): HAClientOptions => ({
  haSendHeartbeatInterval: 200,
  haHousekeepingInterval: 2000,
  reconnectMinMs: 20,
  reconnectMaxMs: 100,
  connectTimeoutMs: 1000,
  ...o,
});

async function master(store: MemoryCommitLog, transport: HATransport, o: Partial<HAServiceOptions> = {}): Promise<HAService> {
  const s = new HAService(store, { ...fast(o), transport });
  await s.start();
  cleanup.push(() => s.stop());
  return s;
}

function slave(store: MemoryCommitLog, transport: HATransport, addr: string | undefined, o: Partial<HAClientOptions> = {}): HAClient {
  const c = new HAClient(store, { ...fastClient(o), haMasterAddress: addr, transport });
  c.start();
  cleanup.push(() => c.stop());
  return c;
}

const addr = (s: HAService): string => `127.0.0.1:${s.port}`;
const caughtUp = (m: MemoryCommitLog, sl: MemoryCommitLog) => (): boolean => sl.getMaxPhyOffset() === m.getMaxPhyOffset();
const why = (m: MemoryCommitLog, sl: MemoryCommitLog) => (): string => `slave at ${sl.getMaxPhyOffset()}, master at ${m.getMaxPhyOffset()}`;

/** A master over a new memory log that already holds `bytes` random bytes. */
async function masterWith(bytes: number, t: HATransport, o: Partial<HAServiceOptions> = {}): Promise<{ m: MemoryCommitLog; ms: HAService }> {
  const m = new MemoryCommitLog({ segmentSize: SEG });
  if (bytes > 0) m.append(randomBytes(bytes));
  return { m, ms: await master(m, t, o) };
}

/** A slave over a new memory log following `ms`, returned once it holds everything `m` holds. */
async function caughtUpSlave(m: MemoryCommitLog, ms: HAService, t: HATransport): Promise<{ s: MemoryCommitLog; c: HAClient }> {
  const s = new MemoryCommitLog({ segmentSize: SEG });
  const c = slave(s, t, addr(ms));
  await eventually(caughtUp(m, s), why(m, s));
  return { s, c };
}

type Kind = 'tcp' | 'memory';
const kinds: Kind[] = ['tcp', 'memory'];

describe.each(kinds)('HA master/slave over %s', (kind) => {
  const makeTransport = (): HATransport => (kind === 'tcp' ? tcpTransport : new MemoryHATransport());

  it('an empty slave catches up from the start of the master last segment, then streams', async () => {
    const t = makeTransport();
    const { m, ms } = await masterWith(3 * SEG + 1000, t);
    const { s, c } = await caughtUpSlave(m, ms, t);
    expect(s.getMinPhyOffset()).toBe(3 * SEG);
    expect(s.read(3 * SEG)).toEqual(m.read(3 * SEG));
    // Frames never exceed the batch size nor cross a segment boundary.
    for (const call of s.appendCalls) {
      expect(call.length).toBeLessThanOrEqual(4096);
      expect(Math.floor(call.offset / SEG)).toBe(Math.floor((call.offset + call.length - 1) / SEG));
    }
    // Incremental: small appends arrive promptly (dispatch wakes the sender).
    for (let i = 0; i < 20; i++) {
      m.append(randomBytes(100 + i));
      await eventually(caughtUp(m, s), why(m, s), 2000);
    }
    // Crossing into a new segment.
    m.append(randomBytes(SEG));
    await eventually(caughtUp(m, s), why(m, s));
    expect(s.read(3 * SEG)).toEqual(m.read(3 * SEG));
    const st = c.status();
    expect(st).toMatchObject({ masterAddress: addr(ms), connected: true, replicatedOffset: m.getMaxPhyOffset(), masterMaxOffsetSeen: m.getMaxPhyOffset() });
    expect(st.lastFrameAt).toBeGreaterThan(0);
    await eventually(() => ms.connections()[0]?.ackedOffset === m.getMaxPhyOffset(), () => JSON.stringify(ms.connections()));
    const [conn] = ms.connections();
    expect(conn).toMatchObject({ ackedOffset: m.getMaxPhyOffset(), lagBytes: 0, transferOffset: m.getMaxPhyOffset() });
    expect(conn!.connectedAt).toBeGreaterThan(0);
  });

  it('picks up appends that dispatch nothing (poll fallback)', async () => {
    const t = makeTransport();
    const { m, ms } = await masterWith(0, t);
    const s = new MemoryCommitLog({ segmentSize: SEG });
    slave(s, t, addr(ms));
    await eventually(() => ms.connections()[0]?.ackedOffset === 0, () => 'slave connected');
    m.append(randomBytes(5000), false);
    await eventually(caughtUp(m, s), why(m, s), 2000);
  });

  it('a restarted slave resumes from its own max offset', async () => {
    const t = makeTransport();
    const { m, ms } = await masterWith(10_000, t);
    const { s, c: c1 } = await caughtUpSlave(m, ms, t);
    await c1.stop();
    await eventually(() => ms.connections().length === 0, () => 'master saw the slave go');
    m.append(randomBytes(20_000));
    const before = s.appendCalls.length;
    slave(s, t, addr(ms));
    await eventually(caughtUp(m, s), why(m, s));
    expect(s.appendCalls[before]!.offset).toBe(10_000);
    expect(s.read(0)).toEqual(m.read(0));
  });

  it('follows a restarted master on the same port', async () => {
    const t = makeTransport();
    const { m, ms: ms1 } = await masterWith(10_000, t);
    const port = ms1.port;
    const { s, c } = await caughtUpSlave(m, ms1, t);
    await ms1.stop();
    await eventually(() => !c.status().connected, () => 'slave noticed the master left');
    m.append(randomBytes(30_000));
    await sleep(150); // a few failed reconnect attempts
    await master(m, t, { haListenPort: port });
    await eventually(caughtUp(m, s), why(m, s));
    expect(s.read(0)).toEqual(m.read(0));
    expect(c.status().connected).toBe(true);
  });

  it('waitForReplication: OK, SLAVE_NOT_AVAILABLE and FLUSH_SLAVE_TIMEOUT', async () => {
    const t = makeTransport();
    const { m, ms } = await masterWith(0, t, { slaveTimeout: 300, haMaxGapNotInSync: 100_000 });
    // No slave at all.
    expect(await ms.waitForReplication(m.append(randomBytes(100)))).toBe('SLAVE_NOT_AVAILABLE');
    const { s, c } = await caughtUpSlave(m, ms, t);
    await eventually(() => ms.connections()[0]?.ackedOffset === m.getMaxPhyOffset(), () => 'acked');
    // A put is acknowledged by the slave, quickly.
    const t0 = Date.now();
    expect(await ms.waitForReplication(m.append(randomBytes(1000)))).toBe('OK');
    expect(Date.now() - t0).toBeLessThan(250);
    // Many concurrent waiters, each released by the ack covering it.
    const ends = Array.from({ length: 500 }, () => m.append(randomBytes(50)));
    const results = await Promise.all(ends.map((e) => ms.waitForReplication(e)));
    expect(new Set(results)).toEqual(new Set(['OK']));
    // Best slave too far behind → at once.
    await c.stop();
    s.appendDelayMs = 0;
    const end = m.append(randomBytes(200_000));
    const c2 = slave(s, t, addr(ms));
    await eventually(() => ms.connections().length === 1, () => 'reconnected');
    const t1 = Date.now();
    expect(await ms.waitForReplication(end + 10_000_000)).toBe('SLAVE_NOT_AVAILABLE');
    expect(Date.now() - t1).toBeLessThan(50);
    await eventually(caughtUp(m, s), why(m, s));
    // A slave that cannot keep up → FLUSH_SLAVE_TIMEOUT after slaveTimeout (and per-call timeouts).
    s.appendDelayMs = 1000;
    m.append(randomBytes(10)); // the slave now sits in a slow append
    await sleep(50);
    const t2 = Date.now();
    const [r1, r2] = await Promise.all([ms.waitForReplication(m.append(randomBytes(10))), ms.waitForReplication(m.getMaxPhyOffset(), 100)]);
    expect(r1).toBe('FLUSH_SLAVE_TIMEOUT');
    expect(r2).toBe('FLUSH_SLAVE_TIMEOUT');
    expect(Date.now() - t2).toBeGreaterThanOrEqual(280);
    expect(Date.now() - t2).toBeLessThan(900);
    // stop() releases pending waiters (not confirmed: FLUSH_SLAVE_TIMEOUT).
    const pending = ms.waitForReplication(m.append(randomBytes(10)));
    await ms.stop();
    expect(await pending).toBe('FLUSH_SLAVE_TIMEOUT');
    expect(await ms.waitForReplication(m.getMaxPhyOffset())).toBe('SLAVE_NOT_AVAILABLE');
    s.appendDelayMs = 0;
    await c2.stop();
  });

  it('switches masters with setMasterAddress and idles without one', async () => {
    const t = makeTransport();
    const { m, ms } = await masterWith(5000, t);
    const s = new MemoryCommitLog({ segmentSize: SEG });
    const c = slave(s, t, undefined);
    await sleep(50);
    expect(c.status()).toMatchObject({ connected: false, replicatedOffset: 0 });
    c.setMasterAddress(addr(ms));
    await eventually(caughtUp(m, s), why(m, s));
    c.setMasterAddress(undefined);
    await eventually(() => ms.connections().length === 0, () => 'disconnected');
    expect(c.status().connected).toBe(false);
    m.append(randomBytes(1000));
    c.setMasterAddress(addr(ms));
    await eventually(caughtUp(m, s), why(m, s));
    expect(() => c.setMasterAddress('nonsense')).toThrow(/host:port/);
  });

  it('retries a failed append after reconnecting', async () => {
    const t = makeTransport();
    const { m, ms } = await masterWith(20_000, t);
    const s = new MemoryCommitLog({ segmentSize: SEG });
    s.failAppends = 2;
    const { log, lines } = captureLogger();
    slave(s, t, addr(ms), { logger: log });
    await eventually(caughtUp(m, s), why(m, s));
    expect(s.read(0)).toEqual(m.read(0));
    expect(lines.filter((l) => /injected append failure/.test(l.msg))).toHaveLength(2);
  });

  it('survives a store that throws (shut down underneath) on either side', async () => {
    const t = makeTransport();
    const { m, ms } = await masterWith(5000, t);
    const { s, c } = await caughtUpSlave(m, ms, t);
    // Master store closed: its connection is dropped, reconnects are refused the same way.
    m.closed = true;
    await eventually(() => ms.connections().length === 0, () => 'master dropped the slave');
    await sleep(100);
    m.closed = false;
    m.append(randomBytes(3000));
    await eventually(caughtUp(m, s), why(m, s));
    // Slave store closed while data arrives.
    s.closed = true;
    m.append(randomBytes(3000));
    await sleep(100);
    s.closed = false;
    await eventually(caughtUp(m, s), why(m, s));
    expect(s.read(0)).toEqual(m.read(0));
    expect(c.status().connected).toBe(true);
  });

  it('keeps a slow slave correct (appends are serialized, reading pauses)', async () => {
    const t = makeTransport();
    const { m, ms } = await masterWith(200_000, t, { haTransferBatchSize: 32 * 1024 });
    const s = new MemoryCommitLog({ segmentSize: SEG, appendDelayMs: 3 });
    slave(s, t, addr(ms), { maxBufferedBytes: 40_000 });
    await eventually(caughtUp(m, s), why(m, s), 10_000);
    expect(s.read(s.getMinPhyOffset())).toEqual(m.read(s.getMinPhyOffset()));
    // A read limit below one frame must not stall the stream.
    const s2 = new MemoryCommitLog({ segmentSize: SEG, appendDelayMs: 1 });
    slave(s2, t, addr(ms), { maxBufferedBytes: 1000 });
    await eventually(caughtUp(m, s2), why(m, s2), 10_000);
  });
});

// ---------------------------------------------------------------------------------------------
// Scripted peers over real sockets: byte-level behaviour of each side alone.

/** A raw TCP "slave". */
class RawSlave {
  readonly socket: Socket;
  readonly frames: HAFrame[] = [];
  readonly reader = new FrameReader();
  closed = false;
  error: unknown;
  constructor(port: number) {
    this.socket = connect({ host: '127.0.0.1', port });
    this.socket.setNoDelay(true);
    this.socket.on('data', (d: Buffer) => {
      this.reader.push(d);
      try {
        for (let f = this.reader.next(); f; f = this.reader.next()) this.frames.push({ offset: f.offset, body: Buffer.from(f.body) });
      } catch (err) {
        this.error = err;
      }
    });
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => (this.closed = true));
    cleanup.push(() => void this.socket.destroy());
  }
  connected(): Promise<void> {
    return new Promise((r) => (this.socket.connecting ? this.socket.once('connect', () => r()) : r()));
  }
  bytes(from: number): Buffer {
    return Buffer.concat(this.frames.filter((f) => f.body.length > 0).map((f) => f.body)).subarray(from);
  }
}

/** A raw "master" listening on the real TCP transport, scripted per test. */
async function rawMaster(onChannel: (ch: HAChannel, reports: number[], index: number) => void): Promise<{ port: number; accepted: () => number }> {
  let n = 0;
  const listener = await tcpTransport.listen(0, '127.0.0.1', (ch) => {
    const reports: number[] = [];
    let pending = Buffer.alloc(0);
    ch.attach({
      data: (d) => {
        pending = Buffer.concat([pending, d]);
        while (pending.length >= 8) {
          reports.push(Number(pending.readBigInt64BE(0)));
          pending = pending.subarray(8);
        }
      },
      drain: () => undefined,
      close: () => undefined,
    });
    cleanup.push(() => ch.close());
    onChannel(ch, reports, n++);
  });
  cleanup.push(() => listener.close());
  return { port: listener.port, accepted: () => n };
}

describe('HAService byte-level (raw TCP slave)', () => {
  async function start(o: Partial<HAServiceOptions> = {}, store = new MemoryCommitLog({ segmentSize: SEG })): Promise<{ ms: HAService; m: MemoryCommitLog; lines: LogLine[] }> {
    const { log, lines } = captureLogger();
    const ms = new HAService(store, { ...fast(o), logger: log });
    await ms.start();
    cleanup.push(() => ms.stop());
    return { ms, m: store, lines };
  }

  it('sends nothing before the first report, then the requested range; reports may arrive byte by byte', async () => {
    const { ms, m } = await start();
    m.append(randomBytes(10_000));
    const raw = new RawSlave(ms.port);
    await raw.connected();
    await sleep(100);
    expect(raw.frames).toEqual([]);
    const report = encodeReport(4000);
    for (const b of report) {
      raw.socket.write(Buffer.from([b]));
      await sleep(5);
    }
    await eventually(() => raw.bytes(0).length === 6000, () => `got ${raw.bytes(0).length}`);
    expect(raw.frames[0]!.offset).toBe(4000);
    expect(raw.bytes(0)).toEqual(m.read(4000));
    // Later reports are acks only; several in one write → the last counts.
    raw.socket.write(Buffer.concat([encodeReport(5000), encodeReport(8000), encodeReport(10_000)]));
    await eventually(() => ms.connections()[0]?.ackedOffset === 10_000, () => JSON.stringify(ms.connections()));
    expect(ms.connections()[0]!.lagBytes).toBe(0);
  });

  it('sends [offset][0] heartbeats when idle', async () => {
    const { ms, m } = await start({ haSendHeartbeatInterval: 50 });
    m.append(randomBytes(100));
    const raw = new RawSlave(ms.port);
    raw.socket.write(encodeReport(100));
    await eventually(() => raw.frames.length >= 3, () => `${raw.frames.length} frames`, 3000);
    for (const f of raw.frames) expect(f).toEqual({ offset: 100, body: Buffer.alloc(0) });
  });

  it('closes a slave that stays silent for haHousekeepingInterval', async () => {
    const { ms, lines } = await start({ haHousekeepingInterval: 200, haSendHeartbeatInterval: 50 });
    const raw = new RawSlave(ms.port);
    raw.socket.write(encodeReport(0));
    await eventually(() => ms.connections().length === 1, () => 'accepted');
    await eventually(() => raw.closed, () => 'closed by master', 3000);
    expect(ms.connections()).toEqual([]);
    expect(lines.some((l) => /no report from slave/.test(l.msg))).toBe(true);
  });

  it('closes on a negative report, and on a slave ahead of the master, with a log line', async () => {
    const { ms, m, lines } = await start();
    m.append(randomBytes(100));
    const bad = new RawSlave(ms.port);
    bad.socket.write(Buffer.alloc(8, 0xff));
    await eventually(() => bad.closed, () => 'closed');
    expect(lines.some((l) => l.level === 50 && /malformed report/.test(l.msg))).toBe(true);
    const ahead = new RawSlave(ms.port);
    ahead.socket.write(encodeReport(1_000_000));
    await eventually(() => ahead.closed, () => 'closed');
    expect(lines.some((l) => l.level === 50 && /beyond master max offset/.test(l.msg))).toBe(true);
    // The service still works.
    const good = new RawSlave(ms.port);
    good.socket.write(encodeReport(0));
    await eventually(() => good.bytes(0).length === 100, () => 'served');
  });

  it('never buffers more than maxPendingWriteBytes (+ one frame) for a slave that does not read', async () => {
    const m = new MemoryCommitLog({ segmentSize: 1024 * 1024 });
    m.append(randomBytes(24 * 1024 * 1024));
    const { ms } = await start({ mappedFileSizeCommitLog: 1024 * 1024, haTransferBatchSize: 32 * 1024, maxPendingWriteBytes: 128 * 1024 }, m);
    const raw = new RawSlave(ms.port);
    await raw.connected();
    raw.socket.pause();
    raw.socket.write(encodeReport(1)); // start at offset 1: the whole log
    await eventually(() => (ms.connections()[0]?.transferOffset ?? -1) > 0, () => 'transfer started');
    let maxPending = 0;
    for (let i = 0; i < 40; i++) {
      await sleep(10);
      maxPending = Math.max(maxPending, ms.connections()[0]!.pendingWriteBytes);
    }
    const stalledAt = ms.connections()[0]!.transferOffset;
    expect(maxPending).toBeLessThanOrEqual(128 * 1024 + 32 * 1024 + 12);
    expect(stalledAt).toBeLessThan(m.getMaxPhyOffset());
    raw.socket.resume();
    await eventually(() => raw.bytes(0).length === m.getMaxPhyOffset() - 1, () => `got ${raw.bytes(0).length}`, 20_000);
    expect(raw.bytes(0).equals(m.read(1))).toBe(true);
  });

  it('empty slave against an empty master starts at 0; against a trimmed master at its last segment', async () => {
    const m = new MemoryCommitLog({ segmentSize: SEG });
    m.resetTo(5 * SEG);
    m.append(randomBytes(SEG + 10));
    const { ms } = await start({}, m);
    const raw = new RawSlave(ms.port);
    raw.socket.write(encodeReport(0));
    await eventually(() => raw.bytes(0).length === 10, () => `got ${raw.bytes(0).length}`);
    expect(raw.frames[0]!.offset).toBe(6 * SEG);
  });
});

/** A raw master that keeps the newest connection's channel and the reports it has read from it. */
async function recordingMaster(): Promise<{ port: number; channel?: HAChannel; reports: number[] }> {
  const seen: { port: number; channel?: HAChannel; reports: number[] } = { port: 0, reports: [] };
  const rm = await rawMaster((ch, reports) => {
    seen.channel = ch;
    seen.reports = reports;
  });
  seen.port = rm.port;
  return seen;
}

describe('HAClient byte-level (raw TCP master)', () => {
  function client(port: number, store: MemoryCommitLog, o: Partial<HAClientOptions> = {}): { c: HAClient; lines: LogLine[] } {
    const { log, lines } = captureLogger();
    const c = new HAClient(store, { ...fastClient(o), haMasterAddress: `127.0.0.1:${port}`, logger: log });
    c.start();
    cleanup.push(() => c.stop());
    return { c, lines };
  }

  it('reports at once, accepts frames delivered one byte at a time, and reports after each append', async () => {
    const body = randomBytes(3000);
    const rm = await recordingMaster();
    const s = new MemoryCommitLog({ segmentSize: SEG });
    client(rm.port, s);
    await eventually(() => rm.reports.length === 1, () => 'first report');
    expect(rm.reports[0]).toBe(0);
    // An empty slave accepts the master's start (a segment boundary).
    const bytes = Buffer.concat([encodeFrameHeader(2 * SEG, 1000), body.subarray(0, 1000), encodeFrameHeader(2 * SEG + 1000, 2000), body.subarray(1000)]);
    for (const b of bytes.subarray(0, 40)) {
      rm.channel!.write([Buffer.from([b])]);
      await sleep(1);
    }
    rm.channel!.write([bytes.subarray(40)]);
    await eventually(() => s.getMaxPhyOffset() === 2 * SEG + 3000, () => `at ${s.getMaxPhyOffset()}`);
    expect(s.read(2 * SEG)).toEqual(body);
    await eventually(() => rm.reports.includes(2 * SEG + 3000), () => JSON.stringify(rm.reports));
    expect(rm.reports).toContain(2 * SEG + 1000);
  });

  it('sends heartbeat reports and treats [offset][0] frames as heartbeats', async () => {
    const rm = await recordingMaster();
    const s = new MemoryCommitLog({ segmentSize: SEG });
    const { c } = client(rm.port, s, { haSendHeartbeatInterval: 40 });
    await eventually(() => rm.reports.length >= 4, () => `${rm.reports.length} reports`, 3000);
    expect(new Set(rm.reports)).toEqual(new Set([0]));
    rm.channel!.write([encodeFrameHeader(123, 0)]);
    await eventually(() => c.status().lastFrameAt > 0, () => 'heartbeat frame seen');
    expect(c.status().connected).toBe(true);
    expect(s.getMaxPhyOffset()).toBe(0);
  });

  it('drops the connection and reconnects on an offset mismatch', async () => {
    const first = randomBytes(500);
    const rm = await rawMaster((ch, _r, index) => {
      if (index === 0) ch.write([encodeFrameHeader(0, 500), first, encodeFrameHeader(600, 10), Buffer.alloc(10)]);
      else ch.write([encodeFrameHeader(500, 10), Buffer.alloc(10, 1)]);
    });
    const s = new MemoryCommitLog({ segmentSize: SEG });
    const { lines } = client(rm.port, s);
    await eventually(() => s.getMaxPhyOffset() === 510, () => `at ${s.getMaxPhyOffset()}, accepted ${rm.accepted()}`);
    expect(rm.accepted()).toBe(2);
    expect(lines.some((l) => l.level === 50 && /master sent offset 600 but our max offset is 500/.test(l.msg))).toBe(true);
  });

  it('a heartbeat at the wrong offset is a mismatch too (as in Java)', async () => {
    const rm = await rawMaster((ch, _r, index) => {
      if (index === 0) ch.write([encodeFrameHeader(0, 5), Buffer.alloc(5), encodeFrameHeader(99, 0)]);
    });
    const s = new MemoryCommitLog({ segmentSize: SEG });
    client(rm.port, s);
    await eventually(() => rm.accepted() >= 2, () => 'reconnected');
    expect(s.getMaxPhyOffset()).toBe(5);
  });

  it('closes on a malformed frame size and never crashes', async () => {
    const rm = await rawMaster((ch, _r, index) => {
      const h = Buffer.alloc(12);
      h.writeInt32BE(index === 0 ? -5 : 0x7fffffff, 8);
      ch.write([h]);
    });
    const s = new MemoryCommitLog({ segmentSize: SEG });
    const { lines } = client(rm.port, s);
    await eventually(() => rm.accepted() >= 3, () => `accepted ${rm.accepted()}`);
    const bad = lines.filter((l) => l.level === 50 && /malformed frame from master/.test(l.msg));
    expect(bad.length).toBeGreaterThanOrEqual(2);
    expect(bad[0]!.msg).toMatch(/body size -5/);
    expect(bad[1]!.msg).toMatch(/body size 2147483647/);
  });

  it('reconnects when the master stays silent for haHousekeepingInterval', async () => {
    const rm = await rawMaster(() => undefined);
    const s = new MemoryCommitLog({ segmentSize: SEG });
    const { lines } = client(rm.port, s, { haHousekeepingInterval: 150 });
    await eventually(() => rm.accepted() >= 2, () => `accepted ${rm.accepted()}`, 3000);
    expect(lines.some((l) => /nothing from master/.test(l.msg))).toBe(true);
  });

  it('backs off while the master is down, bounded by reconnectMaxMs', async () => {
    const rm = await rawMaster(() => undefined);
    const port = rm.port;
    // Free the port: nothing listens there now.
    for (const f of cleanup.splice(0).reverse()) await f();
    const s = new MemoryCommitLog({ segmentSize: SEG });
    const { c, lines } = client(port, s, { reconnectMinMs: 10, reconnectMaxMs: 40 });
    await sleep(300);
    expect(c.status().connected).toBe(false);
    // Warned once, then quiet (debug) — no log flood.
    expect(lines.filter((l) => l.level === 40 && /cannot connect/.test(l.msg))).toHaveLength(1);
    const attempts = lines.filter((l) => /cannot connect/.test(l.msg)).length;
    expect(attempts).toBeGreaterThan(3);
    expect(attempts).toBeLessThan(30);
    await c.stop();
    expect(c.status().connected).toBe(false);
  });
});

describe('HA over a lossy in-memory network', () => {
  it('byte-at-a-time delivery both ways still replicates exactly', async () => {
    const t = new MemoryHATransport({ split: (c) => [...c].map((b) => Buffer.from([b])), deliveryBytesPerTurn: 512 });
    const { m, ms } = await masterWith(20_000, t);
    const s = new MemoryCommitLog({ segmentSize: SEG });
    slave(s, t, addr(ms));
    await eventually(() => s.getMaxPhyOffset() === m.getMaxPhyOffset(), () => `slave at ${s.getMaxPhyOffset()}`, 20_000);
    expect(s.read(0)).toEqual(m.read(0));
    expect(await ms.waitForReplication(m.append(randomBytes(300)))).toBe('OK');
  });

  it('a partition drops the slave; after healing it resumes where it stopped', async () => {
    const t = new MemoryHATransport();
    const { m, ms } = await masterWith(5000, t, { slaveTimeout: 100 });
    const s = new MemoryCommitLog({ segmentSize: SEG });
    const c = slave(s, t, addr(ms));
    await eventually(() => s.getMaxPhyOffset() === 5000, () => 'caught up');
    t.partition(ms.port);
    await eventually(() => ms.connections().length === 0 && !c.status().connected, () => 'partitioned');
    expect(await ms.waitForReplication(m.append(randomBytes(10)))).toBe('SLAVE_NOT_AVAILABLE');
    m.append(randomBytes(7000));
    await sleep(100);
    expect(s.getMaxPhyOffset()).toBe(5000);
    t.heal(ms.port);
    await eventually(() => s.getMaxPhyOffset() === m.getMaxPhyOffset(), () => `slave at ${s.getMaxPhyOffset()}`);
    expect(s.read(0)).toEqual(m.read(0));
  });
});
