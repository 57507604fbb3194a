import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../common/errors.js';
import {
  bodyCrc,
  createOffsetMsgId,
  decodeBatchBody,
  decodeMessageRecord,
  decodeMessageRecords,
  decodeOffsetMsgId,
  decodeProperties,
  encodeBatchBody,
  encodeHost,
  encodeMessageRecord,
  encodeMessageRecordParts,
  SHARED_BODY_MIN_BYTES,
  encodeProperties,
  getProperty,
  hostToString,
  javaStringHash,
  MAGIC_V1,
  MAGIC_V2,
  tagsCode,
  type MessageRecord,
} from './message.js';

describe('properties', () => {
  it('encodes name\\u0001value\\u0002 pairs and decodes them back', () => {
    const text = encodeProperties({ TAGS: 'TagA', KEYS: 'k1 k2', UNIQ_KEY: 'ABC' });
    expect(text).toBe('TAGS\u0001TagA\u0002KEYS\u0001k1 k2\u0002UNIQ_KEY\u0001ABC\u0002');
    expect(Object.fromEntries(decodeProperties(text))).toEqual({ TAGS: 'TagA', KEYS: 'k1 k2', UNIQ_KEY: 'ABC' });
  });

  it('ignores empty chunks and chunks without a separator, tolerates no trailing separator', () => {
    expect(Object.fromEntries(decodeProperties('a\u00011\u0002junk\u0002\u0002b\u00012'))).toEqual({ a: '1', b: '2' });
  });

  it('getProperty finds whole names only', () => {
    const text = encodeProperties({ XTAGS: 'no', TAGS: 'yes', WAIT: 'true' });
    expect(getProperty(text, 'TAGS')).toBe('yes');
    expect(getProperty(text, 'WAIT')).toBe('true');
    expect(getProperty(text, 'KEYS')).toBeUndefined();
  });
});

describe('hashes', () => {
  it('matches Java String.hashCode', () => {
    // Values from the Java client's heartbeat codeSet for TagA / TagB, and "" → 0.
    expect(javaStringHash('TagA')).toBe(2598919);
    expect(javaStringHash('TagB')).toBe(2598920);
    expect(javaStringHash('')).toBe(0);
    expect(javaStringHash('polygenelubricants')).toBe(-2147483648); // classic overflow case
    expect(tagsCode(undefined)).toBe(0);
  });

  it('body CRC is java.util.zip.CRC32 masked positive', () => {
    expect(bodyCrc(Buffer.from('123456789'))).toBe(0xcbf43926 & 0x7fffffff);
  });
});

describe('hosts and offset message ids', () => {
  it('offset msg id = hex(ip, port, offset), decodable', () => {
    const host = encodeHost('127.0.0.1:10911');
    expect(host.toString('hex')).toBe('7f00000100002a9f');
    const id = createOffsetMsgId(host, 1234567);
    expect(id).toBe('7F00000100002A9F000000000012D687');
    expect(decodeOffsetMsgId(id)).toEqual({ storeHost: '127.0.0.1:10911', physicalOffset: 1234567 });
  });

  it('IPv6 hosts take 16 bytes and give 56-char ids', () => {
    const host = encodeHost('[::1]:10911');
    expect(host.length).toBe(20);
    const id = createOffsetMsgId(host, 5);
    expect(id).toHaveLength(56);
    expect(decodeOffsetMsgId(id).physicalOffset).toBe(5);
    expect(hostToString(encodeHost('[fe80::1:2]:9'))).toBe('fe80:0:0:0:0:0:1:2:9');
  });

  it('rejects what is not an id', () => {
    expect(() => decodeOffsetMsgId('XYZ')).toThrow(ProtocolError);
    expect(() => encodeHost('localhost:1')).toThrow(/not a numeric IP/);
  });
});

function sample(over: Partial<MessageRecord> = {}): MessageRecord {
  return {
    topic: 'TopicTest',
    queueId: 3,
    flag: 7,
    queueOffset: 42,
    physicalOffset: 4096,
    sysFlag: 0,
    bornTimestamp: 1_700_000_000_123,
    bornHost: encodeHost('10.1.2.3:55555'),
    storeTimestamp: 1_700_000_000_456,
    storeHost: encodeHost('127.0.0.1:10911'),
    reconsumeTimes: 1,
    preparedTransactionOffset: 0,
    body: Buffer.from([0, 1, 2, 255]),
    properties: encodeProperties({ TAGS: 'TagA', UNIQ_KEY: 'AC11000100002A9F0000000000000000' }),
    ...over,
  };
}

describe('stored message record', () => {
  it('has the Java layout: fixed offsets and 91 + body + topic + properties bytes', () => {
    const m = sample();
    const b = encodeMessageRecord(m);
    const propsLen = Buffer.byteLength(m.properties);
    expect(b.length).toBe(91 + 4 + 9 + propsLen);
    expect(b.readInt32BE(0)).toBe(b.length);
    expect(b.readInt32BE(4)).toBe(MAGIC_V1);
    expect(b.readInt32BE(8)).toBe(bodyCrc(m.body));
    expect(b.readInt32BE(12)).toBe(3);
    expect(Number(b.readBigInt64BE(20))).toBe(42);
    expect(Number(b.readBigInt64BE(28))).toBe(4096);
    expect(Number(b.readBigInt64BE(40))).toBe(m.bornTimestamp);
    expect(Number(b.readBigInt64BE(56))).toBe(m.storeTimestamp);
    expect(b.readInt32BE(72)).toBe(1);
    expect(b.readInt32BE(84)).toBe(4);
    expect(b.readUInt8(92)).toBe(9); // topic length byte after the 4-byte body
  });

  it('round-trips and verifies the CRC on request', () => {
    const b = encodeMessageRecord(sample());
    const d = decodeMessageRecord(b, 0, true)!;
    expect(d).toMatchObject({ topic: 'TopicTest', queueId: 3, flag: 7, queueOffset: 42, physicalOffset: 4096, reconsumeTimes: 1 });
    expect(hostToString(d.bornHost)).toBe('10.1.2.3:55555');
    expect(d.body).toEqual(Buffer.from([0, 1, 2, 255]));
    const corrupt = Buffer.from(b);
    corrupt[88] = corrupt[88]! ^ 0xff; // a body byte
    expect(() => decodeMessageRecord(corrupt, 0, true)).toThrow(/CRC/);
    expect(decodeMessageRecord(b.subarray(0, b.length - 1))).toBeUndefined(); // incomplete
  });

  it('uses the V2 magic for topics longer than 127 bytes and IPv6 flags for IPv6 hosts', () => {
    const long = 'T'.repeat(200);
    const b = encodeMessageRecord(sample({ topic: long, storeHost: encodeHost('[::1]:10911') }));
    expect(b.readInt32BE(4)).toBe(MAGIC_V2);
    const d = decodeMessageRecord(b)!;
    expect(d.topic).toBe(long);
    expect(d.sysFlag & 0x20).toBe(0x20);
  });

  it('as parts: one buffer for a small body; a large body shared, not copied, between the same bytes', () => {
    const small = sample();
    expect(encodeMessageRecordParts(small)).toEqual([encodeMessageRecord(small)]);
    const body = Buffer.alloc(SHARED_BODY_MIN_BYTES, 7);
    const large = sample({ body, topic: 'T\u00e9'.repeat(70), properties: 'KEYS\u0001cl\u00e9\u0002' });
    const parts = encodeMessageRecordParts(large);
    expect(parts).toHaveLength(3);
    expect(parts[1]).toBe(body);
    expect(Buffer.concat(parts)).toEqual(encodeMessageRecord(large));
    expect(decodeMessageRecord(Buffer.concat(parts), 0, true)).toMatchObject({ topic: large.topic, properties: large.properties });
  });

  it('decodes concatenated records (pull bodies)', () => {
    const body = Buffer.concat([encodeMessageRecord(sample()), encodeMessageRecord(sample({ queueOffset: 43 }))]);
    expect(decodeMessageRecords(body).map((r) => r.queueOffset)).toEqual([42, 43]);
  });

  it('fuzz: garbage never decodes into anything but a ProtocolError or undefined', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          decodeMessageRecord(Buffer.from(bytes), 0, true);
        } catch (err) {
          expect(err).toBeInstanceOf(ProtocolError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('batch bodies', () => {
  it('round-trips entries and rejects truncated ones', () => {
    const entries = [
      { flag: 1, body: Buffer.from('a'), properties: encodeProperties({ UNIQ_KEY: 'X1', WAIT: 'true' }) },
      { flag: 0, body: Buffer.alloc(0), properties: '' },
    ];
    const b = encodeBatchBody(entries);
    expect(decodeBatchBody(b)).toEqual(entries);
    expect(() => decodeBatchBody(b.subarray(0, b.length - 1))).toThrow(ProtocolError);
  });
});
