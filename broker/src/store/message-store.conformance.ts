// One behavioural suite for every MessageStore implementation (memory and file, under every
// option combination). Each test gets a fresh, started store from the factory.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  SysFlag,
  createOffsetMsgId,
  decodeMessageRecord,
  decodeOffsetMsgId,
  encodeHost,
  encodeMessageRecord,
  encodeProperties,
  getProperty,
  tagsCode,
} from '../protocol/message.js';
import type { DecodedRecord } from '../protocol/message.js';
import type { DispatchedMessage, GetResult, MessageStore, PutMessageInput, PutResult } from './message-store.js';

export interface ConformanceHarness {
  /** A new store, not started yet. */
  store: MessageStore;
  /** The store's maxMessageSize (the oversized-message test uses it). */
  maxMessageSize: number;
  /** Called after the store is shut down (remove temp directories). */
  dispose?: () => Promise<void> | void;
}

export type ConformanceFactory = () => Promise<ConformanceHarness> | ConformanceHarness;

const BORN_HOST = encodeHost('10.1.2.3:51234');
const STORE_HOST = encodeHost('192.168.7.9:10911');
const BORN_HOST_V6 = encodeHost('[2001:db8::17]:40000');
const STORE_HOST_V6 = encodeHost('[fd00::5]:10911');

interface MessageOptions {
  tags?: string;
  body?: Buffer;
  props?: Record<string, string>;
  sysFlag?: number;
  flag?: number;
  wait?: boolean;
  bornHost?: Buffer;
  storeHost?: Buffer;
  reconsumeTimes?: number;
}

/** A message whose body and properties identify it (topic, queue, index). */
export function testMessage(topic: string, queueId: number, i: number, o: MessageOptions = {}): PutMessageInput {
  const props: Record<string, string> = { UNIQ_KEY: `U-${topic}-${queueId}-${i}`, idx: String(i), ...o.props };
  if (o.tags !== undefined) props.TAGS = o.tags;
  return {
    topic,
    queueId,
    flag: o.flag ?? i % 7,
    sysFlag: o.sysFlag ?? 0,
    bornTimestamp: 1_700_000_000_000 + i,
    bornHost: o.bornHost ?? BORN_HOST,
    storeHost: o.storeHost ?? STORE_HOST,
    reconsumeTimes: o.reconsumeTimes ?? 0,
    preparedTransactionOffset: 0,
    body: o.body ?? Buffer.from(`${topic}/${queueId}/${i}`),
    properties: encodeProperties(props),
    tagsCode: tagsCode(o.tags),
    waitStoreMsgOK: o.wait ?? true,
  };
}

function decodeAll(r: GetResult): DecodedRecord[] {
  return r.messages.map((m) => {
    const d = decodeMessageRecord(m, 0, true);
    if (!d) throw new Error('record does not decode');
    return d;
  });
}

function bodies(r: GetResult): string[] {
  return decodeAll(r).map((d) => d.body.toString());
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function ok(r: PutResult): PutResult {
  expect(r.status, r.remark).toBe('PUT_OK');
  return r;
}

export function runMessageStoreConformance(name: string, factory: ConformanceFactory): void {
  describe(`MessageStore conformance: ${name}`, () => {
    let harness: ConformanceHarness;
    let store: MessageStore;

    beforeEach(async () => {
      harness = await factory();
      store = harness.store;
      await store.start();
    });

    afterEach(async () => {
      await store.shutdown();
      await harness.dispose?.();
    });

    const put = async (m: PutMessageInput): Promise<PutResult> => ok(await store.putMessage(m));

    it('rejects puts before start and after shutdown with SERVICE_NOT_AVAILABLE', async () => {
      const fresh = await factory();
      try {
        const before = await fresh.store.putMessage(testMessage('T', 0, 0));
        expect(before.status).toBe('SERVICE_NOT_AVAILABLE');
        expect(before.appended).toEqual([]);
        await fresh.store.start();
        ok(await fresh.store.putMessage(testMessage('T', 0, 0)));
        await fresh.store.shutdown();
        const after = await fresh.store.putMessage(testMessage('T', 0, 1));
        expect(after.status).toBe('SERVICE_NOT_AVAILABLE');
        expect(() => fresh.store.getMessages('T', 0, 0, { maxMsgNums: 1 })).toThrow(/message store is/);
        await fresh.store.shutdown(); // idempotent
      } finally {
        await fresh.store.shutdown();
        await fresh.dispose?.();
      }
    });

    it('assigns consecutive queue offsets per queue and increasing physical offsets', async () => {
      const puts: { queueId: number; result: PutResult }[] = [];
      for (let i = 0; i < 10; i++) {
        puts.push({ queueId: 0, result: await put(testMessage('OrderTopic', 0, i)) });
        if (i < 5) puts.push({ queueId: 1, result: await put(testMessage('OrderTopic', 1, i)) });
      }
      expect(puts.every((p) => p.result.appended.length === 1)).toBe(true);
      const offsetsOf = (q: number): number[] => puts.filter((p) => p.queueId === q).map((p) => p.result.appended[0]!.queueOffset);
      expect(offsetsOf(0)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(offsetsOf(1)).toEqual([0, 1, 2, 3, 4]);
      for (let k = 1; k < puts.length; k++) {
        const prev = puts[k - 1]!.result.appended[0]!;
        expect(puts[k]!.result.appended[0]!.physicalOffset).toBeGreaterThanOrEqual(prev.physicalOffset + prev.size);
      }
      expect(store.getMaxOffsetInQueue('OrderTopic', 0)).toBe(10);
      expect(store.getMaxOffsetInQueue('OrderTopic', 1)).toBe(5);
      expect(store.getMinOffsetInQueue('OrderTopic', 0)).toBe(0);
      expect(store.getMaxOffsetInQueue('OrderTopic', 2)).toBe(0);
    });

    it('keeps call order for concurrent puts to one queue', async () => {
      const rs = await Promise.all(Array.from({ length: 100 }, (_, i) => store.putMessage(testMessage('Conc', 3, i))));
      expect(rs.map((r) => r.status)).toEqual(rs.map(() => 'PUT_OK'));
      expect(rs.map((r) => r.appended[0]!.queueOffset)).toEqual(rs.map((_, i) => i));
      const got = store.getMessages('Conc', 3, 0, { maxMsgNums: 100 });
      expect(bodies(got)).toEqual(rs.map((_, i) => `Conc/3/${i}`));
    });

    it('stores records that decode back byte-identically', async () => {
      const body = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x80, 10, 13]);
      const props = { KEYS: 'k1 k2', uprop: 'v-é-ü-日本', WAIT: 'true' };
      const inputs = [
        testMessage('Decode', 0, 1, { tags: 'TagA', body, props, flag: 12345, reconsumeTimes: 3 }),
        testMessage('Decode', 0, 2, { bornHost: BORN_HOST_V6, storeHost: STORE_HOST_V6, body: Buffer.alloc(0) }),
        testMessage('Decode', 0, 3, { sysFlag: SysFlag.COMPRESSED, body: Buffer.alloc(1500, 7) }),
      ];
      const started = Date.now();
      const results: PutResult[] = [];
      for (const m of inputs) results.push(await put(m));
      const finished = Date.now();
      const got = store.getMessages('Decode', 0, 0, { maxMsgNums: 32 });
      expect(got.status).toBe('FOUND');
      const decoded = decodeAll(got);
      decoded.forEach((d, k) => {
        const m = inputs[k]!;
        const a = results[k]!.appended[0]!;
        expect(d.topic).toBe(m.topic);
        expect(d.queueId).toBe(m.queueId);
        expect(d.flag).toBe(m.flag);
        expect(d.body.equals(m.body)).toBe(true);
        expect(d.properties).toBe(m.properties);
        expect(d.bornTimestamp).toBe(m.bornTimestamp);
        expect(d.bornHost.equals(m.bornHost)).toBe(true);
        expect(d.storeHost.equals(m.storeHost)).toBe(true);
        expect(d.reconsumeTimes).toBe(m.reconsumeTimes);
        expect(d.preparedTransactionOffset).toBe(m.preparedTransactionOffset);
        expect(d.sysFlag & SysFlag.COMPRESSED).toBe(m.sysFlag & SysFlag.COMPRESSED);
        expect(d.queueOffset).toBe(a.queueOffset);
        expect(d.physicalOffset).toBe(a.physicalOffset);
        expect(d.storeTimestamp).toBe(a.storeTimestamp);
        expect(d.storeTimestamp).toBeGreaterThanOrEqual(started);
        expect(d.storeTimestamp).toBeLessThanOrEqual(finished);
        expect(d.size).toBe(a.size);
        // Re-encoding the decoded fields gives exactly the stored bytes.
        expect(encodeMessageRecord(d).equals(got.messages[k]!)).toBe(true);
        expect(store.lookMessageByOffset(a.physicalOffset)?.equals(got.messages[k]!)).toBe(true);
      });
      expect(got.queueOffsets).toEqual([0, 1, 2]);
      expect(got.bufferTotalSize).toBe(got.messages.reduce((n, b) => n + b.length, 0));
    });

    it('returns offset message ids that decode to the store host and physical offset', async () => {
      const v4 = (await put(testMessage('Ids', 0, 0))).appended[0]!;
      const v6 = (await put(testMessage('Ids', 0, 1, { storeHost: STORE_HOST_V6 }))).appended[0]!;
      expect(v4.offsetMsgId).toBe(createOffsetMsgId(STORE_HOST, v4.physicalOffset));
      expect(decodeOffsetMsgId(v4.offsetMsgId)).toEqual({ storeHost: '192.168.7.9:10911', physicalOffset: v4.physicalOffset });
      expect(v6.offsetMsgId).toHaveLength(56);
      expect(decodeOffsetMsgId(v6.offsetMsgId).physicalOffset).toBe(v6.physicalOffset);
    });

    it('gives a batch consecutive queue offsets and contiguous records', async () => {
      await put(testMessage('Batch', 2, 0));
      const batch = Array.from({ length: 5 }, (_, i) => testMessage('Batch', 2, i + 1, { tags: i % 2 ? 'odd' : 'even' }));
      const r = ok(await store.putMessages(batch));
      expect(r.appended.map((a) => a.queueOffset)).toEqual([1, 2, 3, 4, 5]);
      for (let i = 1; i < r.appended.length; i++) {
        expect(r.appended[i]!.physicalOffset).toBe(r.appended[i - 1]!.physicalOffset + r.appended[i - 1]!.size);
        expect(r.appended[i]!.storeTimestamp).toBe(r.appended[0]!.storeTimestamp);
      }
      expect(bodies(store.getMessages('Batch', 2, 0, { maxMsgNums: 32 }))).toEqual(
        ['Batch/2/0', 'Batch/2/1', 'Batch/2/2', 'Batch/2/3', 'Batch/2/4', 'Batch/2/5'],
      );
    });

    it('rejects a batch spanning queues, an empty batch and bad topics, storing nothing', async () => {
      const mixed = await store.putMessages([testMessage('Mixed', 0, 0), testMessage('Mixed', 1, 1)]);
      expect(mixed.status).toBe('MESSAGE_ILLEGAL');
      expect((await store.putMessages([])).status).toBe('MESSAGE_ILLEGAL');
      for (const topic of ['', '../evil', 'a/b', '..']) {
        const r = await store.putMessage(testMessage(topic, 0, 0));
        expect(r.status, topic).toBe('MESSAGE_ILLEGAL');
        expect(r.remark).toBeTruthy();
      }
      expect((await store.putMessage(testMessage('BadQ', -1, 0))).status).toBe('MESSAGE_ILLEGAL');
      expect(store.getMaxOffsetInQueue('Mixed', 0)).toBe(0);
      expect(store.queues().size).toBe(0);
      expect(store.stats().putMessageCount).toBe(0);
    });

    it('rejects an oversized message with MESSAGE_ILLEGAL and stores nothing', async () => {
      await put(testMessage('Big', 0, 0));
      const before = store.stats();
      const r = await store.putMessage(testMessage('Big', 0, 1, { body: Buffer.alloc(harness.maxMessageSize) }));
      expect(r.status).toBe('MESSAGE_ILLEGAL');
      expect(r.appended).toEqual([]);
      expect(r.remark).toMatch(/maxMessageSize/);
      expect(store.getMaxOffsetInQueue('Big', 0)).toBe(1);
      expect(store.stats().commitLogMaxOffset).toBe(before.commitLogMaxOffset);
      expect(store.stats().putMessageCount).toBe(before.putMessageCount);
      // The largest message that fits is accepted.
      const fits = testMessage('Big', 0, 2, { body: Buffer.alloc(0) });
      const overhead = encodeMessageRecord({ ...fits, queueOffset: 0, physicalOffset: 0, storeTimestamp: 0 }).length;
      const largest = await store.putMessage(testMessage('Big', 0, 2, { body: Buffer.alloc(harness.maxMessageSize - overhead) }));
      expect(largest.status).toBe('PUT_OK');
      expect(largest.appended[0]!.size).toBe(harness.maxMessageSize);
      expect(store.getMessages('Big', 0, 1, { maxMsgNums: 1 }).messages[0]!.length).toBe(harness.maxMessageSize);
    });

    describe('getMessages status table', () => {
      it('NO_MESSAGE_IN_QUEUE with nextBeginOffset 0 for an empty or unknown queue', () => {
        for (const offset of [0, 5]) {
          const r = store.getMessages('Nothing', 0, offset, { maxMsgNums: 32 });
          expect(r).toMatchObject({ status: 'NO_MESSAGE_IN_QUEUE', nextBeginOffset: 0, minOffset: 0, maxOffset: 0, bufferTotalSize: 0 });
          expect(r.messages).toEqual([]);
        }
      });

      it('FOUND, OFFSET_OVERFLOW_ONE, OFFSET_OVERFLOW_BADLY and OFFSET_TOO_SMALL', async () => {
        for (let i = 0; i < 3; i++) await put(testMessage('Table', 1, i));
        const found = store.getMessages('Table', 1, 0, { maxMsgNums: 32 });
        expect(found).toMatchObject({ status: 'FOUND', nextBeginOffset: 3, minOffset: 0, maxOffset: 3 });
        expect(found.queueOffsets).toEqual([0, 1, 2]);
        const one = store.getMessages('Table', 1, 1, { maxMsgNums: 1 });
        expect(one).toMatchObject({ status: 'FOUND', nextBeginOffset: 2 });
        expect(bodies(one)).toEqual(['Table/1/1']);
        expect(store.getMessages('Table', 1, 3, { maxMsgNums: 32 })).toMatchObject({
          status: 'OFFSET_OVERFLOW_ONE', nextBeginOffset: 3, minOffset: 0, maxOffset: 3, messages: [],
        });
        expect(store.getMessages('Table', 1, 9, { maxMsgNums: 32 })).toMatchObject({
          status: 'OFFSET_OVERFLOW_BADLY', nextBeginOffset: 3, minOffset: 0, maxOffset: 3, messages: [],
        });
        expect(store.getMessages('Table', 1, -1, { maxMsgNums: 32 })).toMatchObject({
          status: 'OFFSET_TOO_SMALL', nextBeginOffset: 0, minOffset: 0, maxOffset: 3, messages: [],
        });
        // maxMsgNums <= 0 still returns one message.
        expect(store.getMessages('Table', 1, 0, { maxMsgNums: 0 }).messages).toHaveLength(1);
      });

      it('filters by tag code: FOUND past the last scanned entry, NO_MATCHED_MESSAGE when nothing matches', async () => {
        const tags = ['A', 'B', 'A', 'B', 'A', 'B'];
        for (let i = 0; i < tags.length; i++) await put(testMessage('Tags', 0, i, { tags: tags[i]! }));
        await put(testMessage('Tags', 0, 6)); // no tag: tag code 0
        const codeA = tagsCode('A');
        const a = store.getMessages('Tags', 0, 0, { maxMsgNums: 32, tagsFilter: (c) => c === codeA });
        expect(a.status).toBe('FOUND');
        expect(a.queueOffsets).toEqual([0, 2, 4]);
        expect(a.nextBeginOffset).toBe(7);
        expect(decodeAll(a).every((d) => getProperty(d.properties, 'TAGS') === 'A')).toBe(true);
        const limited = store.getMessages('Tags', 0, 0, { maxMsgNums: 2, tagsFilter: (c) => c === codeA });
        expect(limited.queueOffsets).toEqual([0, 2]);
        expect(limited.nextBeginOffset).toBe(3);
        const none = store.getMessages('Tags', 0, 1, { maxMsgNums: 32, tagsFilter: (c) => c === tagsCode('C') });
        expect(none).toMatchObject({ status: 'NO_MATCHED_MESSAGE', nextBeginOffset: 7, messages: [], bufferTotalSize: 0 });
      });

      it('filters by properties after the tag filter', async () => {
        for (let i = 0; i < 6; i++) await put(testMessage('Props', 0, i, { props: { color: i % 3 === 0 ? 'red' : 'blue' } }));
        const red = store.getMessages('Props', 0, 0, {
          maxMsgNums: 32,
          propertiesFilter: (p) => getProperty(p, 'color') === 'red',
        });
        expect(red.status).toBe('FOUND');
        expect(red.queueOffsets).toEqual([0, 3]);
        expect(red.nextBeginOffset).toBe(6);
        const green = store.getMessages('Props', 0, 0, { maxMsgNums: 32, propertiesFilter: (p) => p.includes('green') });
        expect(green).toMatchObject({ status: 'NO_MATCHED_MESSAGE', nextBeginOffset: 6 });
      });

      it('bounds the scan when the filter matches nothing (800 entries per call)', async () => {
        const batch: PutMessageInput[] = [];
        for (let i = 0; i < 1000; i++) batch.push(testMessage('Scan', 0, i, { tags: 'skip' }));
        for (let i = 0; i < 1000; i += 10) ok(await store.putMessages(batch.slice(i, i + 10)));
        await put(testMessage('Scan', 0, 1000, { tags: 'want' }));
        const want = tagsCode('want');
        const first = store.getMessages('Scan', 0, 0, { maxMsgNums: 32, tagsFilter: (c) => c === want });
        expect(first).toMatchObject({ status: 'NO_MATCHED_MESSAGE', nextBeginOffset: 800 });
        const second = store.getMessages('Scan', 0, first.nextBeginOffset, { maxMsgNums: 32, tagsFilter: (c) => c === want });
        expect(second.status).toBe('FOUND');
        expect(second.queueOffsets).toEqual([1000]);
        expect(second.nextBeginOffset).toBe(1001);
      });

      it('limits by maxMsgNums and maxTotalBytes, returning at least one message', async () => {
        const rs: PutResult[] = [];
        for (let i = 0; i < 10; i++) rs.push(await put(testMessage('Limits', 0, i, { body: Buffer.alloc(200, i) })));
        const size = rs[0]!.appended[0]!.size;
        const byNum = store.getMessages('Limits', 0, 2, { maxMsgNums: 3 });
        expect(byNum.queueOffsets).toEqual([2, 3, 4]);
        expect(byNum.nextBeginOffset).toBe(5);
        const byBytes = store.getMessages('Limits', 0, 0, { maxMsgNums: 32, maxTotalBytes: Math.floor(size * 2.5) });
        expect(byBytes.queueOffsets).toEqual([0, 1]);
        expect(byBytes.nextBeginOffset).toBe(2);
        expect(byBytes.bufferTotalSize).toBe(2 * size);
        const tiny = store.getMessages('Limits', 0, 4, { maxMsgNums: 32, maxTotalBytes: 1 });
        expect(tiny.queueOffsets).toEqual([4]);
        expect(tiny.nextBeginOffset).toBe(5);
        const all = store.getMessages('Limits', 0, 0, { maxMsgNums: 32, maxTotalBytes: 10 * size });
        expect(all.messages).toHaveLength(10);
        expect(all.nextBeginOffset).toBe(10);
      });
    });

    it('finds offsets and timestamps by store time', async () => {
      const early: PutResult[] = [];
      for (let i = 0; i < 3; i++) early.push(await put(testMessage('Time', 0, i)));
      await sleep(15);
      const boundary = Date.now();
      await sleep(15);
      const late: PutResult[] = [];
      for (let i = 3; i < 6; i++) late.push(await put(testMessage('Time', 0, i)));
      expect(store.getOffsetInQueueByTime('Time', 0, boundary)).toBe(3);
      expect(store.getOffsetInQueueByTime('Time', 0, 0)).toBe(0);
      expect(store.getOffsetInQueueByTime('Time', 0, early[1]!.appended[0]!.storeTimestamp)).toBeLessThanOrEqual(1);
      expect(store.getOffsetInQueueByTime('Time', 0, late[2]!.appended[0]!.storeTimestamp)).toBeLessThanOrEqual(5);
      expect(store.getOffsetInQueueByTime('Time', 0, Date.now() + 3_600_000)).toBe(6);
      expect(store.getOffsetInQueueByTime('NoSuchTopic', 0, boundary)).toBe(0);
      expect(store.getEarliestMessageTime('Time', 0)).toBe(early[0]!.appended[0]!.storeTimestamp);
      expect(store.getEarliestMessageTime('NoSuchTopic', 0)).toBe(-1);
      expect(store.getMessageStoreTimestamp('Time', 0, 4)).toBe(late[1]!.appended[0]!.storeTimestamp);
      expect(store.getMessageStoreTimestamp('Time', 0, 6)).toBe(-1);
      expect(store.getMessageStoreTimestamp('Time', 0, -1)).toBe(-1);
      const ts = [...early, ...late].map((r) => r.appended[0]!.storeTimestamp);
      expect([...ts].sort((x, y) => x - y)).toEqual(ts);
    });

    it('finds the LOWER and UPPER boundary offsets of a store time (SEARCH_OFFSET_BY_TIMESTAMP)', async () => {
      const rs: PutResult[] = [];
      for (let i = 0; i < 3; i++) rs.push(await put(testMessage('Bound', 0, i)));
      await sleep(15);
      const gap = Date.now();
      await sleep(15);
      for (let i = 3; i < 6; i++) rs.push(await put(testMessage('Bound', 0, i)));
      const ts = rs.map((r) => r.appended[0]!.storeTimestamp);
      // Between the groups: LOWER is the first newer message, UPPER the last older one.
      expect(store.getOffsetInQueueByTime('Bound', 0, gap, 'LOWER')).toBe(3);
      expect(store.getOffsetInQueueByTime('Bound', 0, gap, 'UPPER')).toBe(2);
      // Exactly a stored time: the first and the last message of that millisecond.
      const t = ts[4]!;
      expect(store.getOffsetInQueueByTime('Bound', 0, t, 'LOWER')).toBe(ts.indexOf(t));
      expect(store.getOffsetInQueueByTime('Bound', 0, t, 'UPPER')).toBe(ts.lastIndexOf(t));
      // Before everything and after everything.
      expect(store.getOffsetInQueueByTime('Bound', 0, 1, 'LOWER')).toBe(0);
      expect(store.getOffsetInQueueByTime('Bound', 0, 1, 'UPPER')).toBe(0);
      expect(store.getOffsetInQueueByTime('Bound', 0, Date.now() + 3_600_000, 'LOWER')).toBe(6);
      expect(store.getOffsetInQueueByTime('Bound', 0, Date.now() + 3_600_000, 'UPPER')).toBe(5);
      expect(store.getOffsetInQueueByTime('Bound', 0, gap)).toBe(3); // LOWER by default
      expect(store.getOffsetInQueueByTime('NoSuchTopic', 0, gap, 'UPPER')).toBe(0);
    });

    describe('queryMessage (key index)', () => {
      const all = (topic: string, key: string, maxNum = 32): DecodedRecord[] =>
        store.queryMessage(topic, key, maxNum, 0, Number.MAX_SAFE_INTEGER).messages.map((m) => decodeMessageRecord(m, 0, true)!);

      it('finds messages by each KEYS word and by UNIQ_KEY, newest first, within the topic', async () => {
        const a = await put(testMessage('Q', 0, 0, { props: { KEYS: 'order-1 shared' } }));
        const b = await put(testMessage('Q', 1, 1, { props: { KEYS: 'order-2  shared' } }));
        await put(testMessage('Q2', 0, 2, { props: { KEYS: 'shared' } }));
        expect(all('Q', 'order-1').map((d) => d.physicalOffset)).toEqual([a.appended[0]!.physicalOffset]);
        expect(all('Q', 'shared').map((d) => d.body.toString())).toEqual(['Q/1/1', 'Q/0/0']);
        expect(all('Q2', 'shared').map((d) => d.body.toString())).toEqual(['Q2/0/2']);
        expect(all('Q', 'U-Q-1-1').map((d) => d.physicalOffset)).toEqual([b.appended[0]!.physicalOffset]);
        expect(all('Q', 'order-3')).toEqual([]);
        expect(all('Q', '')).toEqual([]);
        const r = store.queryMessage('Q', 'order-2', 32, 0, Number.MAX_SAFE_INTEGER);
        expect(r.bufferTotalSize).toBe(r.messages[0]!.length);
        expect(r.messages[0]!.equals(store.lookMessageByOffset(b.appended[0]!.physicalOffset)!)).toBe(true);
        expect(r.indexLastUpdatePhyoffset).toBeGreaterThan(b.appended[0]!.physicalOffset);
        expect(r.indexLastUpdateTimestamp).toBeGreaterThanOrEqual(b.appended[0]!.storeTimestamp);
      });

      it('honours the time range and maxNum (at most 64)', async () => {
        const before = Date.now() - 2000;
        for (let i = 0; i < 70; i++) await put(testMessage('QMax', 0, i, { props: { KEYS: 'k' } }));
        expect(all('QMax', 'k', 5).map((d) => d.body.toString())).toEqual(['QMax/0/69', 'QMax/0/68', 'QMax/0/67', 'QMax/0/66', 'QMax/0/65']);
        expect(all('QMax', 'k', 1000)).toHaveLength(64);
        expect(store.queryMessage('QMax', 'k', 32, before, Date.now() + 2000).messages).toHaveLength(32);
        expect(store.queryMessage('QMax', 'k', 32, Date.now() + 60_000, Date.now() + 120_000).messages).toEqual([]);
        expect(store.queryMessage('QMax', 'k', 32, 0, before - 60_000).messages).toEqual([]);
        expect(store.queryMessage('QMax', 'k', 0, 0, Number.MAX_SAFE_INTEGER).messages).toEqual([]);
      });

      it('indexes batches, half and commit records, but not rolled-back ones', async () => {
        ok(await store.putMessages([testMessage('QB', 0, 0, { props: { KEYS: 'b' } }), testMessage('QB', 0, 1, { props: { KEYS: 'b' } })]));
        await put(testMessage('QB', 0, 2, { props: { KEYS: 'half' }, sysFlag: SysFlag.TRANSACTION_PREPARED }));
        await put(testMessage('QB', 0, 3, { props: { KEYS: 'rb' }, sysFlag: SysFlag.TRANSACTION_ROLLBACK }));
        expect(all('QB', 'b')).toHaveLength(2);
        expect(all('QB', 'half')).toHaveLength(1);
        expect(all('QB', 'rb')).toEqual([]);
      });
    });

    it('looks messages up by physical offset', async () => {
      const rs: PutResult[] = [];
      for (let i = 0; i < 5; i++) rs.push(await put(testMessage('Look', i % 2, i)));
      for (const [i, r] of rs.entries()) {
        const a = r.appended[0]!;
        const rec = store.lookMessageByOffset(a.physicalOffset);
        expect(rec?.length).toBe(a.size);
        expect(decodeMessageRecord(rec!)!.body.toString()).toBe(`Look/${i % 2}/${i}`);
      }
      const last = rs[4]!.appended[0]!;
      expect(store.lookMessageByOffset(last.physicalOffset + last.size)).toBeUndefined();
      expect(store.lookMessageByOffset(last.physicalOffset + 1_000_000)).toBeUndefined();
      expect(store.lookMessageByOffset(-1)).toBeUndefined();
      expect(store.lookMessageByOffset(rs[0]!.appended[0]!.physicalOffset + 3)).toBeUndefined();
    });

    it('calls onDispatch once per message, in order, when the message is already readable', async () => {
      const seen: DispatchedMessage[] = [];
      const readable: boolean[] = [];
      store.onDispatch((d) => {
        seen.push(d);
        const r = store.getMessages(d.topic, d.queueId, d.queueOffset, { maxMsgNums: 1 });
        readable.push(r.status === 'FOUND' && r.queueOffsets[0] === d.queueOffset);
      });
      store.onDispatch(() => {
        throw new Error('a broken listener must not break puts');
      });
      const single = await put(testMessage('Disp', 1, 0, { tags: 'x' }));
      expect(seen).toHaveLength(1);
      const batch = ok(await store.putMessages([testMessage('Disp', 1, 1), testMessage('Disp', 1, 2)]));
      expect(seen).toHaveLength(3);
      expect(seen[0]).toEqual({
        topic: 'Disp',
        queueId: 1,
        queueOffset: 0,
        tagsCode: tagsCode('x'),
        physicalOffset: single.appended[0]!.physicalOffset,
        storeTimestamp: single.appended[0]!.storeTimestamp,
      });
      expect(seen.slice(1).map((d) => [d.queueOffset, d.physicalOffset])).toEqual(batch.appended.map((a) => [a.queueOffset, a.physicalOffset]));
      expect(readable).toEqual([true, true, true]);
    });

    it('stops calling a dispatch listener once it unsubscribes, even from inside a call', async () => {
      const a: number[] = [];
      const b: number[] = [];
      const offA = store.onDispatch((d) => {
        a.push(d.queueOffset);
        offA();
      });
      const offB = store.onDispatch((d) => b.push(d.queueOffset));
      await put(testMessage('Unsub', 0, 0));
      await put(testMessage('Unsub', 0, 1));
      offB();
      offB();
      await put(testMessage('Unsub', 0, 2));
      expect(a).toEqual([0]);
      expect(b).toEqual([0, 1]);
    });

    it('gives half and rollback transaction records no queue entry (queue offset 0)', async () => {
      await put(testMessage('Tx', 0, 0));
      const seen: DispatchedMessage[] = [];
      store.onDispatch((d) => seen.push(d));
      const half = await put(testMessage('Tx', 0, 1, { sysFlag: SysFlag.TRANSACTION_PREPARED }));
      const rollback = await put(testMessage('Tx', 0, 2, { sysFlag: SysFlag.TRANSACTION_ROLLBACK }));
      expect(half.appended[0]!.queueOffset).toBe(0);
      expect(rollback.appended[0]!.queueOffset).toBe(0);
      expect(seen).toHaveLength(0);
      expect(store.getMaxOffsetInQueue('Tx', 0)).toBe(1);
      expect(store.lookMessageByOffset(half.appended[0]!.physicalOffset)).toBeDefined();
      const commit = await put(testMessage('Tx', 0, 3, { sysFlag: SysFlag.TRANSACTION_COMMIT }));
      expect(commit.appended[0]!.queueOffset).toBe(1);
      expect(bodies(store.getMessages('Tx', 0, 0, { maxMsgNums: 32 }))).toEqual(['Tx/0/0', 'Tx/0/3']);
    });

    it('handles many topics and queues independently', async () => {
      const puts: Promise<PutResult>[] = [];
      for (let i = 0; i < 5; i++) {
        for (let t = 0; t < 12; t++) for (let q = 0; q < 4; q++) puts.push(store.putMessage(testMessage(`Many-${t}`, q, i, { tags: `t${t}` })));
      }
      const rs = await Promise.all(puts);
      expect(rs.every((r) => r.status === 'PUT_OK')).toBe(true);
      const queues = store.queues();
      expect(queues.size).toBe(12);
      for (let t = 0; t < 12; t++) {
        expect([...queues.get(`Many-${t}`)!.entries()].sort(([a], [b]) => a - b)).toEqual(
          [0, 1, 2, 3].map((q) => [q, { minOffset: 0, maxOffset: 5 }]),
        );
        for (let q = 0; q < 4; q++) {
          const r = store.getMessages(`Many-${t}`, q, 0, { maxMsgNums: 32 });
          expect(bodies(r)).toEqual([0, 1, 2, 3, 4].map((i) => `Many-${t}/${q}/${i}`));
        }
      }
      const physicals = rs.map((r) => r.appended[0]!.physicalOffset);
      expect(new Set(physicals).size).toBe(physicals.length);
    });

    it('deletes topics: their queues disappear and a new put starts again at 0', async () => {
      for (let i = 0; i < 3; i++) {
        await put(testMessage('Gone', 0, i));
        await put(testMessage('Kept', 0, i));
      }
      store.deleteTopics(['Gone', 'NeverExisted']);
      expect(store.queues().has('Gone')).toBe(false);
      expect(store.getMaxOffsetInQueue('Gone', 0)).toBe(0);
      expect(store.getMessages('Gone', 0, 0, { maxMsgNums: 32 }).status).toBe('NO_MESSAGE_IN_QUEUE');
      expect(store.getMaxOffsetInQueue('Kept', 0)).toBe(3);
      expect((await put(testMessage('Gone', 0, 9))).appended[0]!.queueOffset).toBe(0);
      expect(bodies(store.getMessages('Gone', 0, 0, { maxMsgNums: 32 }))).toEqual(['Gone/0/9']);
    });

    it('counts puts and gets in stats', async () => {
      const s0 = store.stats();
      const a = (await put(testMessage('Stats', 0, 0))).appended[0]!;
      ok(await store.putMessages([testMessage('Stats', 0, 1), testMessage('Stats', 0, 2)]));
      store.getMessages('Stats', 0, 0, { maxMsgNums: 2 });
      const s = store.stats();
      expect(s.putMessageCount - s0.putMessageCount).toBe(3);
      expect(s.getMessageCount - s0.getMessageCount).toBe(2);
      expect(s.commitLogMaxOffset).toBeGreaterThan(a.physicalOffset);
      expect(s.commitLogMinOffset).toBeLessThanOrEqual(a.physicalOffset);
      expect(s.flushedOffset).toBeLessThanOrEqual(s.commitLogMaxOffset);
    });
  });
}
