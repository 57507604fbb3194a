import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../common/errors.js';
import {
  createRequest,
  createResponse,
  encodeCommand,
  FrameDecoder,
  SerializeType,
  type DecodedFrame,
  type RemotingCommand,
} from './remoting.js';

// Golden vector 1: a JSON-header PULL_MESSAGE request as the Java client writes it (fastjson,
// keys sorted), built byte by byte from the framing rules rather than by our encoder.
const JSON_HEADER =
  '{"code":11,"extFields":{"consumerGroup":"CG","queueId":"0"},"flag":0,"language":"JAVA","opaque":7,"serializeTypeCurrentRPC":"JSON","version":479}';
function goldenJsonFrame(): Buffer {
  const h = Buffer.from(JSON_HEADER, 'utf8');
  const body = Buffer.from([0xde, 0xad]);
  const b = Buffer.alloc(8 + h.length + body.length);
  b.writeUInt32BE(4 + h.length + body.length, 0);
  b.writeUInt32BE(h.length, 4); // serialize type 0 (JSON) in the top byte
  h.copy(b, 8);
  body.copy(b, 8 + h.length);
  return b;
}

// Golden vector 2: a ROCKETMQ binary header response (code 0, lang JAVA, version 479,
// opaque 9, flag 1, remark "ok", extFields {a:"1"}), laid out per RocketMQSerializable.
const GOLDEN_BINARY_HEX =
  '0000002a' + // length = 4 + 31 header bytes + 7 body bytes
  '0100001f' + // type 1, header length 31
  '0000' + '00' + '01df' + '00000009' + '00000001' + // code, language, version, opaque, flag
  '00000002' + '6f6b' + // remark "ok"
  '00000008' + '0001' + '61' + '00000001' + '31' + // extFields: total 8 bytes; "a" -> "1"
  '00000000000000'; // 7 body bytes of zero
function goldenBinaryFrame(): Buffer {
  return Buffer.from(GOLDEN_BINARY_HEX, 'hex');
}

function decodeAll(bytes: Buffer, split: (b: Buffer) => Buffer[], limits = {}): DecodedFrame[] {
  const d = new FrameDecoder(limits);
  const out: DecodedFrame[] = [];
  for (const chunk of split(bytes)) d.push(chunk, (f) => out.push(f));
  expect(d.bufferedBytes).toBe(0);
  return out;
}
const whole = (b: Buffer): Buffer[] => [b];
const byteAtATime = (b: Buffer): Buffer[] => [...b].map((x) => Buffer.from([x]));
function randomSplit(seed: number) {
  return (b: Buffer): Buffer[] => {
    let s = seed;
    const parts: Buffer[] = [];
    let i = 0;
    while (i < b.length) {
      s = (s * 1103515245 + 12345) & 0x7fffffff;
      const n = 1 + (s % 17);
      parts.push(b.subarray(i, i + n));
      i += n;
    }
    return parts;
  };
}

describe('FrameDecoder golden vectors', () => {
  for (const [name, split] of [['whole', whole], ['byte at a time', byteAtATime], ['random split', randomSplit(42)]] as const) {
    it(`decodes the Java JSON request (${name})`, () => {
      const [f] = decodeAll(goldenJsonFrame(), split);
      expect(f!.command).toMatchObject({
        code: 11,
        language: 'JAVA',
        version: 479,
        opaque: 7,
        flag: 0,
        extFields: { consumerGroup: 'CG', queueId: '0' },
        serializeType: SerializeType.JSON,
      });
      expect(f!.command.body).toEqual(Buffer.from([0xde, 0xad]));
    });

    it(`decodes the binary response (${name})`, () => {
      const [f] = decodeAll(goldenBinaryFrame(), split);
      expect(f!.command).toMatchObject({ code: 0, language: 'JAVA', version: 479, opaque: 9, flag: 1, remark: 'ok', extFields: { a: '1' }, serializeType: 1 });
      expect(f!.command.body).toEqual(Buffer.alloc(7));
    });
  }

  it('encodes the binary golden response byte for byte', () => {
    const cmd: RemotingCommand = {
      code: 0, language: 'JAVA', version: 479, opaque: 9, flag: 1, remark: 'ok', extFields: { a: '1' }, body: Buffer.alloc(7), serializeType: 1,
    };
    expect(encodeCommand(cmd).toString('hex')).toBe(GOLDEN_BINARY_HEX);
  });

  it('encodes the JSON golden request byte for byte', () => {
    const cmd: RemotingCommand = {
      code: 11, language: 'JAVA', version: 479, opaque: 7, flag: 0, extFields: { consumerGroup: 'CG', queueId: '0' }, body: Buffer.from([0xde, 0xad]), serializeType: 0,
    };
    expect(encodeCommand(cmd)).toEqual(goldenJsonFrame());
  });

  it('accepts ali-ons style JSON (numbers inside extFields, numeric language)', () => {
    const h = Buffer.from('{"code":34,"language":"JAVA","version":121,"opaque":3,"flag":0,"extFields":{"queueId":2,"ok":true,"skip":null}}');
    const b = Buffer.alloc(8 + h.length);
    b.writeUInt32BE(4 + h.length, 0);
    b.writeUInt32BE(h.length, 4);
    h.copy(b, 8);
    const [f] = decodeAll(b, whole);
    expect(f!.command.extFields).toEqual({ queueId: '2', ok: 'true' });
    expect(f!.command.version).toBe(121);
  });

  it('decodes several frames from one chunk and keeps the rest', () => {
    const a = encodeCommand(createRequest(10, { x: '1' }, Buffer.from('hello')));
    const b = encodeCommand(createRequest(11, { y: '2' }, undefined, SerializeType.ROCKETMQ));
    const d = new FrameDecoder();
    const out: DecodedFrame[] = [];
    const all = Buffer.concat([a, b]);
    d.push(all.subarray(0, a.length + 3), (f) => out.push(f));
    expect(out).toHaveLength(1);
    expect(d.bufferedBytes).toBe(3);
    d.push(all.subarray(a.length + 3), (f) => out.push(f));
    expect(out.map((f) => f.command.code)).toEqual([10, 11]);
  });
});

describe('FrameDecoder limits and malformed input', () => {
  it('rejects a frame above maxFrameBytes from its first 8 bytes', () => {
    const d = new FrameDecoder({ maxFrameBytes: 1000 });
    const lead = Buffer.alloc(8);
    lead.writeUInt32BE(5000, 0);
    lead.writeUInt32BE(10, 4);
    expect(() => d.push(lead, () => undefined)).toThrowError(ProtocolError);
    expect(() => new FrameDecoder({ maxFrameBytes: 1000 }).push(lead, () => undefined)).toThrow(/exceeds the limit of 1000/);
  });

  it('rejects oversize headers, bad serialize types and impossible lengths', () => {
    const frame = (len: number, mark: number): Buffer => {
      const b = Buffer.alloc(8);
      b.writeUInt32BE(len, 0);
      b.writeUInt32BE(mark >>> 0, 4);
      return b;
    };
    expect(() => new FrameDecoder({ maxHeaderBytes: 10 }).push(frame(100, 50), () => undefined)).toThrow(/header of 50 bytes/);
    expect(() => new FrameDecoder().push(frame(100, (7 << 24) | 10), () => undefined)).toThrow(/serialize type 7/);
    expect(() => new FrameDecoder().push(frame(10, 20), () => undefined)).toThrow(/exceeds frame length/);
    expect(() => new FrameDecoder().push(frame(2, 0), () => undefined)).toThrow(/below the 4-byte minimum/);
  });

  it('rejects a header that is not JSON', () => {
    const h = Buffer.from('{nope');
    const b = Buffer.alloc(8 + h.length);
    b.writeUInt32BE(4 + h.length, 0);
    b.writeUInt32BE(h.length, 4);
    h.copy(b, 8);
    expect(() => new FrameDecoder().push(b, () => undefined)).toThrow(/not valid JSON/);
  });

  it('skips an oversize body without buffering it and reports the request', () => {
    const cmd = createRequest(310, { b: 'T' }, Buffer.alloc(5000, 1));
    const next = createRequest(34, {}, Buffer.from('{}'));
    const bytes = Buffer.concat([encodeCommand(cmd), encodeCommand(next)]);
    for (const split of [whole, byteAtATime, randomSplit(7)]) {
      const d = new FrameDecoder({ maxBodyBytes: 1024 });
      const out: DecodedFrame[] = [];
      let maxBuffered = 0;
      for (const chunk of split(bytes)) {
        d.push(chunk, (f) => out.push(f));
        maxBuffered = Math.max(maxBuffered, d.bufferedBytes);
      }
      expect(out).toHaveLength(2);
      expect(out[0]!.oversizeBodyBytes).toBe(5000);
      expect(out[0]!.command.extFields).toEqual({ b: 'T' });
      expect(out[0]!.command.body!.length).toBe(0);
      expect(out[1]!.command.code).toBe(34);
      expect(maxBuffered).toBeLessThan(1024);
    }
  });

  it('fuzz: arbitrary bytes only ever raise ProtocolError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 1, max: 50 }), (bytes, chunk) => {
        const d = new FrameDecoder({ maxFrameBytes: 4096 });
        try {
          for (let i = 0; i < bytes.length; i += chunk) d.push(Buffer.from(bytes.subarray(i, i + chunk)), () => undefined);
        } catch (err) {
          expect(err).toBeInstanceOf(ProtocolError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('fuzz: a valid frame with a corrupted header byte never throws anything but ProtocolError', () => {
    const base = encodeCommand(createRequest(10, { a: 'x', b: 'y' }, Buffer.from('body'), SerializeType.ROCKETMQ));
    fc.assert(
      fc.property(fc.integer({ min: 8, max: base.length - 1 }), fc.integer({ min: 0, max: 255 }), (pos, val) => {
        const b = Buffer.from(base);
        b[pos] = val;
        try {
          new FrameDecoder().push(b, () => undefined);
        } catch (err) {
          expect(err).toBeInstanceOf(ProtocolError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('round trips', () => {
  const arbCommand = fc.record({
    code: fc.integer({ min: -32768, max: 32767 }),
    language: fc.constantFrom('JAVA', 'GO', 'NODE_JS', 'CPP'),
    version: fc.integer({ min: 0, max: 32767 }),
    opaque: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
    flag: fc.integer({ min: 0, max: 3 }),
    remark: fc.option(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }), { nil: undefined }),
    extFields: fc.dictionary(fc.stringMatching(/^[a-zA-Z_]{1,8}$/), fc.string({ unit: 'grapheme', maxLength: 20 }), { maxKeys: 6 }),
    body: fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
    serializeType: fc.constantFrom(SerializeType.JSON, SerializeType.ROCKETMQ),
  });

  it('decode(encode(x)) === x for both header encodings, however the bytes are split', () => {
    fc.assert(
      fc.property(fc.array(arbCommand, { minLength: 1, maxLength: 4 }), fc.integer({ min: 1, max: 40 }), (cmds, chunk) => {
        const bytes = Buffer.concat(cmds.map((c) => encodeCommand(c as RemotingCommand)));
        const d = new FrameDecoder();
        const out: DecodedFrame[] = [];
        for (let i = 0; i < bytes.length; i += chunk) d.push(bytes.subarray(i, i + chunk), (f) => out.push(f));
        expect(out.map((f) => f.command)).toEqual(cmds.map((c) => ({ ...c, extFields: { ...c.extFields } })));
      }),
      { numRuns: 500 },
    );
  });

  it('responses keep the request opaque and serialize type', () => {
    const req = { ...createRequest(10, {}, undefined, SerializeType.ROCKETMQ), opaque: 99 };
    const res = createResponse(req, 17, 'no topic');
    expect(res).toMatchObject({ opaque: 99, flag: 1, serializeType: SerializeType.ROCKETMQ, code: 17, remark: 'no topic' });
  });
});
