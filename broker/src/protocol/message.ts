// Message encodings shared by clients and the store (pure functions, no I/O):
// the properties string, the stored-record layout the broker returns on pulls, batch bodies,
// offset message ids and tag hash codes. Layouts follow apache/rocketmq MessageDecoder.java.
import { crc32 } from 'node:zlib';
import { isIPv4, isIPv6 } from 'node:net';
import { ProtocolError } from '../common/errors.js';

export const MAGIC_V1 = 0xdaa320a7 | 0; // 1-byte topic length
export const MAGIC_V2 = 0xdaa320ab | 0; // 2-byte topic length, topics longer than 127 bytes
export const MAGIC_BLANK = 0xcbd43194 | 0; // end-of-file filler in a commit log segment

export const NAME_VALUE_SEPARATOR = '\u0001';
export const PROPERTY_SEPARATOR = '\u0002';

export const SysFlag = {
  COMPRESSED: 0x1,
  MULTI_TAGS: 0x2,
  TRANSACTION_MASK: 0xc,
  TRANSACTION_NOT_TYPE: 0x0,
  TRANSACTION_PREPARED: 0x4,
  TRANSACTION_COMMIT: 0x8,
  TRANSACTION_ROLLBACK: 0xc,
  BORNHOST_V6: 0x10,
  STOREHOST_V6: 0x20,
} as const;

export const Prop = {
  TAGS: 'TAGS',
  KEYS: 'KEYS',
  WAIT: 'WAIT',
  DELAY: 'DELAY',
  UNIQ_KEY: 'UNIQ_KEY',
  TRAN_MSG: 'TRAN_MSG',
  PGROUP: 'PGROUP',
  CLUSTER: 'CLUSTER',
  RETRY_TOPIC: 'RETRY_TOPIC',
  REAL_TOPIC: 'REAL_TOPIC',
  REAL_QID: 'REAL_QID',
  MAX_OFFSET: 'MAX_OFFSET',
  MIN_OFFSET: 'MIN_OFFSET',
  RECONSUME_TIME: 'RECONSUME_TIME',
  MAX_RECONSUME_TIMES: 'MAX_RECONSUME_TIMES',
} as const;

/** Largest encoded properties string: the stored length field is a signed 16-bit number. */
export const MAX_PROPERTIES_BYTES = 32767;

// ---------------------------------------------------------------------------------------------
// Properties

export function encodeProperties(props: ReadonlyMap<string, string> | Readonly<Record<string, string>>): string {
  let out = '';
  const entries = props instanceof Map ? props.entries() : Object.entries(props);
  for (const [k, v] of entries) out += k + NAME_VALUE_SEPARATOR + v + PROPERTY_SEPARATOR;
  return out;
}

export function decodeProperties(text: string): Map<string, string> {
  const map = new Map<string, string>();
  if (!text) return map;
  for (const item of text.split(PROPERTY_SEPARATOR)) {
    const i = item.indexOf(NAME_VALUE_SEPARATOR);
    if (i <= 0) continue;
    map.set(item.slice(0, i), item.slice(i + 1));
  }
  return map;
}

/** Reads one property without building a map (hot path: TAGS, UNIQ_KEY, KEYS). */
export function getProperty(text: string, name: string): string | undefined {
  const needle = name + NAME_VALUE_SEPARATOR;
  let from = 0;
  for (;;) {
    const i = text.indexOf(needle, from);
    if (i < 0) return undefined;
    if (i === 0 || text.charCodeAt(i - 1) === 2) {
      const start = i + needle.length;
      const end = text.indexOf(PROPERTY_SEPARATOR, start);
      return text.slice(start, end < 0 ? text.length : end);
    }
    from = i + 1;
  }
}

// ---------------------------------------------------------------------------------------------
// Hashes and checksums

/** Java's String.hashCode over UTF-16 code units, as a signed 32-bit integer. */
export function javaStringHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

/** Consume-queue tag code: hash of the TAGS value, 0 when the message has no tag. */
export function tagsCode(tags: string | undefined): number {
  return tags ? javaStringHash(tags) : 0;
}

/** java.util.zip.CRC32 of the body, masked to a positive int (UtilAll.crc32). */
export function bodyCrc(body: Buffer): number {
  return crc32(body) & 0x7fffffff;
}

// ---------------------------------------------------------------------------------------------
// Hosts ("ip:port") as stored: 4-byte IPv4 (or 16-byte IPv6) + int32 port

export interface HostPort {
  ip: string;
  port: number;
}

export function parseHostPort(addr: string): HostPort {
  const i = addr.lastIndexOf(':');
  if (i <= 0) throw new ProtocolError('RMQ_PROTOCOL_BAD_MESSAGE', `address "${addr}" is not host:port`);
  let ip = addr.slice(0, i);
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
  const port = Number(addr.slice(i + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ProtocolError('RMQ_PROTOCOL_BAD_MESSAGE', `address "${addr}" has a bad port`);
  return { ip, port };
}

function ipv6Bytes(ip: string): Buffer {
  const out = Buffer.alloc(16);
  let text = ip;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  let tail: number[] = [];
  if (v4) {
    tail = v4[1]!.split('.').map(Number);
    text = text.slice(0, -v4[1]!.length) + '0:0';
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const r = rest !== undefined && rest !== '' ? rest.split(':') : [];
  const groups = rest === undefined ? h : [...h, ...Array<string>(8 - h.length - r.length).fill('0'), ...r];
  groups.forEach((g, idx) => out.writeUInt16BE(parseInt(g, 16) & 0xffff, idx * 2));
  if (tail.length === 4) tail.forEach((b, idx) => (out[12 + idx] = b));
  return out;
}

/** Recent encodings: every send encodes its producer's address, and a broker sees few of them. */
const hostCache = new Map<string, Buffer>();
const HOST_CACHE_MAX = 4096;

/**
 * Encodes the IP of `addr` (4 or 16 bytes) followed by its port. The buffer may be shared with
 * other callers (it is cached): copy it, never write to it.
 */
export function encodeHost(addr: string): Buffer {
  let out = hostCache.get(addr);
  if (out) return out;
  out = encodeHostUncached(addr);
  if (hostCache.size >= HOST_CACHE_MAX) hostCache.clear();
  hostCache.set(addr, out);
  return out;
}

function encodeHostUncached(addr: string): Buffer {
  const { ip, port } = parseHostPort(addr);
  let ipBytes: Buffer;
  if (isIPv4(ip)) ipBytes = Buffer.from(ip.split('.').map(Number));
  else if (isIPv6(ip)) ipBytes = ipv6Bytes(ip);
  else throw new ProtocolError('RMQ_PROTOCOL_BAD_MESSAGE', `address "${addr}" is not a numeric IP`);
  const out = Buffer.allocUnsafe(ipBytes.length + 4);
  ipBytes.copy(out, 0);
  out.writeInt32BE(port, ipBytes.length);
  return out;
}

function decodeHost(b: Buffer, at: number, v6: boolean): string {
  if (!v6) return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}:${b.readInt32BE(at + 4)}`;
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) groups.push(b.readUInt16BE(at + i * 2).toString(16));
  return `${groups.join(':')}:${b.readInt32BE(at + 16)}`;
}

// ---------------------------------------------------------------------------------------------
// Offset message id: hex(storeHost ip + port + commit-log offset)

export function createOffsetMsgId(storeHost: Buffer, physicalOffset: number): string {
  const b = Buffer.allocUnsafe(storeHost.length + 8);
  storeHost.copy(b, 0);
  b.writeBigInt64BE(BigInt(physicalOffset), storeHost.length);
  return b.toString('hex').toUpperCase();
}

export function decodeOffsetMsgId(msgId: string): { storeHost: string; physicalOffset: number } {
  if (!/^[0-9A-Fa-f]+$/.test(msgId) || (msgId.length !== 32 && msgId.length !== 56)) {
    throw new ProtocolError('RMQ_PROTOCOL_BAD_MESSAGE', `"${msgId}" is not an offset message id`);
  }
  const b = Buffer.from(msgId, 'hex');
  const v6 = b.length === 28;
  return { storeHost: decodeHost(b, 0, v6), physicalOffset: Number(b.readBigInt64BE(v6 ? 20 : 8)) };
}

// ---------------------------------------------------------------------------------------------
// Stored record (commit-log layout, also the pull/query/view response format)

export interface MessageRecord {
  topic: string;
  queueId: number;
  flag: number;
  queueOffset: number;
  physicalOffset: number;
  sysFlag: number;
  bornTimestamp: number;
  /** Encoded born host (see encodeHost). */
  bornHost: Buffer;
  storeTimestamp: number;
  /** Encoded store host (see encodeHost). */
  storeHost: Buffer;
  reconsumeTimes: number;
  preparedTransactionOffset: number;
  body: Buffer;
  /** Encoded properties string. */
  properties: string;
}

/** Byte positions inside a record that the store fills in at append time (IPv4 born host). */
export function storeTimestampPosition(sysFlag: number): number {
  return 48 + ((sysFlag & SysFlag.BORNHOST_V6) !== 0 ? 20 : 8);
}
export const QUEUE_OFFSET_POSITION = 20;
export const PHYSICAL_OFFSET_POSITION = 28;
export const SYSFLAG_POSITION = 36;

export function recordSize(bodyLen: number, topicLen: number, propsLen: number, bornHostLen: number, storeHostLen: number): number {
  const topicLenBytes = topicLen > 127 ? 2 : 1;
  return 4 + 4 + 4 + 4 + 4 + 8 + 8 + 4 + 8 + bornHostLen + 8 + storeHostLen + 4 + 8 + 4 + bodyLen + topicLenBytes + topicLen + 2 + propsLen;
}

/** Encodes a full record. The sysFlag's IPv6 bits are derived from the host encodings. */
export function encodeMessageRecord(m: MessageRecord): Buffer {
  const parts = encodeMessageRecordParts(m, Infinity);
  return parts[0]!;
}

/** Bodies from this size on are written as their own buffer instead of being copied into the record. */
export const SHARED_BODY_MIN_BYTES = 4096;

/**
 * Encodes a record as the buffers to write in order: one buffer, or for a body of at least
 * `shareBodyFrom` bytes [fields before the body, the body itself (shared, not copied), topic and
 * properties]. Strings are written straight into the record, with no intermediate buffers.
 */
export function encodeMessageRecordParts(m: MessageRecord, shareBodyFrom = SHARED_BODY_MIN_BYTES): Buffer[] {
  const topicLen = Buffer.byteLength(m.topic, 'utf8');
  const propsLen = Buffer.byteLength(m.properties, 'utf8');
  if (topicLen > 32767) throw new ProtocolError('RMQ_PROTOCOL_BAD_MESSAGE', `topic of ${topicLen} bytes is too long`);
  if (propsLen > MAX_PROPERTIES_BYTES) {
    throw new ProtocolError('RMQ_PROTOCOL_BAD_MESSAGE', `message properties of ${propsLen} bytes exceed ${MAX_PROPERTIES_BYTES}`);
  }
  const v2 = topicLen > 127;
  let sysFlag = m.sysFlag & ~(SysFlag.BORNHOST_V6 | SysFlag.STOREHOST_V6);
  if (m.bornHost.length === 20) sysFlag |= SysFlag.BORNHOST_V6;
  if (m.storeHost.length === 20) sysFlag |= SysFlag.STOREHOST_V6;
  const bodyLen = m.body.length;
  const size = recordSize(bodyLen, topicLen, propsLen, m.bornHost.length, m.storeHost.length);
  const shareBody = bodyLen >= shareBodyFrom;
  const b = Buffer.allocUnsafe(shareBody ? size - bodyLen : size);
  let p = b.writeInt32BE(size, 0);
  p = b.writeInt32BE(v2 ? MAGIC_V2 : MAGIC_V1, p);
  p = b.writeInt32BE(bodyCrc(m.body), p);
  p = b.writeInt32BE(m.queueId, p);
  p = b.writeInt32BE(m.flag, p);
  p = b.writeBigInt64BE(BigInt(m.queueOffset), p);
  p = b.writeBigInt64BE(BigInt(m.physicalOffset), p);
  p = b.writeInt32BE(sysFlag, p);
  p = b.writeBigInt64BE(BigInt(m.bornTimestamp), p);
  p += m.bornHost.copy(b, p);
  p = b.writeBigInt64BE(BigInt(m.storeTimestamp), p);
  p += m.storeHost.copy(b, p);
  p = b.writeInt32BE(m.reconsumeTimes, p);
  p = b.writeBigInt64BE(BigInt(m.preparedTransactionOffset), p);
  p = b.writeInt32BE(bodyLen, p);
  const bodyAt = p;
  if (!shareBody) p += m.body.copy(b, p);
  p = v2 ? b.writeInt16BE(topicLen, p) : b.writeInt8(topicLen, p);
  p += b.write(m.topic, p, 'utf8');
  p = b.writeInt16BE(propsLen, p);
  b.write(m.properties, p, 'utf8');
  if (!shareBody) return [b];
  return [b.subarray(0, bodyAt), m.body, b.subarray(bodyAt)];
}

export interface DecodedRecord extends MessageRecord {
  size: number;
  bodyCrc: number;
}

/**
 * Decodes the record at `at`. Returns undefined if `buf` ends before the record does. Throws
 * ProtocolError when the bytes are not a record (bad magic or inconsistent lengths).
 * `checkCrc` verifies the body checksum (recovery after a crash).
 */
export function decodeMessageRecord(buf: Buffer, at = 0, checkCrc = false): DecodedRecord | undefined {
  const bad = (why: string): never => {
    throw new ProtocolError('RMQ_PROTOCOL_BAD_MESSAGE', `bad message record at ${at}: ${why}`);
  };
  if (buf.length - at < 8) return undefined;
  const size = buf.readInt32BE(at);
  const magic = buf.readInt32BE(at + 4);
  if (magic !== MAGIC_V1 && magic !== MAGIC_V2) bad(`magic 0x${(magic >>> 0).toString(16)}`);
  if (size < 91) bad(`size ${size}`);
  if (buf.length - at < size) return undefined;
  const end = at + size;
  const crc = buf.readInt32BE(at + 8);
  const queueId = buf.readInt32BE(at + 12);
  const flag = buf.readInt32BE(at + 16);
  const queueOffset = Number(buf.readBigInt64BE(at + 20));
  const physicalOffset = Number(buf.readBigInt64BE(at + 28));
  const sysFlag = buf.readInt32BE(at + 36);
  const bornTimestamp = Number(buf.readBigInt64BE(at + 40));
  let p = at + 48;
  const bornLen = (sysFlag & SysFlag.BORNHOST_V6) !== 0 ? 20 : 8;
  const bornHost = buf.subarray(p, p + bornLen);
  p += bornLen;
  const storeTimestamp = Number(buf.readBigInt64BE(p));
  p += 8;
  const storeLen = (sysFlag & SysFlag.STOREHOST_V6) !== 0 ? 20 : 8;
  const storeHost = buf.subarray(p, p + storeLen);
  p += storeLen;
  if (p + 16 > end) bad('truncated fixed part');
  const reconsumeTimes = buf.readInt32BE(p);
  const preparedTransactionOffset = Number(buf.readBigInt64BE(p + 4));
  const bodyLen = buf.readInt32BE(p + 12);
  p += 16;
  if (bodyLen < 0 || p + bodyLen > end) bad(`body length ${bodyLen}`);
  const body = buf.subarray(p, p + bodyLen);
  p += bodyLen;
  const topicLenBytes = magic === MAGIC_V2 ? 2 : 1;
  if (p + topicLenBytes > end) bad('truncated topic length');
  const topicLen = magic === MAGIC_V2 ? buf.readInt16BE(p) : buf.readUInt8(p);
  p += topicLenBytes;
  if (p + topicLen + 2 > end) bad(`topic length ${topicLen}`);
  const topic = buf.toString('utf8', p, p + topicLen);
  p += topicLen;
  const propLen = buf.readInt16BE(p);
  p += 2;
  if (propLen < 0 || p + propLen !== end) bad(`properties length ${propLen}`);
  const properties = buf.toString('utf8', p, p + propLen);
  if (checkCrc && bodyCrc(body) !== crc) bad('body CRC mismatch');
  return {
    size, bodyCrc: crc, topic, queueId, flag, queueOffset, physicalOffset, sysFlag, bornTimestamp, bornHost,
    storeTimestamp, storeHost, reconsumeTimes, preparedTransactionOffset, body, properties,
  };
}

export function hostToString(host: Buffer): string {
  return decodeHost(host, 0, host.length === 20);
}

// ---------------------------------------------------------------------------------------------
// Batch body (SEND_BATCH_MESSAGE): TOTALSIZE, MAGIC, BODYCRC, FLAG, BODYLEN+body, PROPLEN+props

export interface BatchEntry {
  flag: number;
  body: Buffer;
  properties: string;
}

export function decodeBatchBody(buf: Buffer): BatchEntry[] {
  const out: BatchEntry[] = [];
  let p = 0;
  while (p < buf.length) {
    const bad = (why: string): never => {
      throw new ProtocolError('RMQ_PROTOCOL_BAD_MESSAGE', `bad batch entry ${out.length} at byte ${p}: ${why}`);
    };
    if (buf.length - p < 22) bad('truncated');
    const total = buf.readInt32BE(p);
    if (total < 22 || p + total > buf.length) bad(`size ${total}`);
    const flag = buf.readInt32BE(p + 12);
    const bodyLen = buf.readInt32BE(p + 16);
    if (bodyLen < 0 || 20 + bodyLen + 2 > total) bad(`body length ${bodyLen}`);
    const body = buf.subarray(p + 20, p + 20 + bodyLen);
    const propLen = buf.readInt16BE(p + 20 + bodyLen);
    if (propLen < 0 || 22 + bodyLen + propLen !== total) bad(`properties length ${propLen}`);
    const properties = buf.toString('utf8', p + 22 + bodyLen, p + total);
    out.push({ flag, body, properties });
    p += total;
  }
  return out;
}

export function encodeBatchBody(entries: readonly BatchEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const props = Buffer.from(e.properties, 'utf8');
    const total = 22 + e.body.length + props.length;
    const b = Buffer.allocUnsafe(total);
    b.writeInt32BE(total, 0);
    b.writeInt32BE(0, 4);
    b.writeInt32BE(0, 8);
    b.writeInt32BE(e.flag, 12);
    b.writeInt32BE(e.body.length, 16);
    e.body.copy(b, 20);
    b.writeInt16BE(props.length, 20 + e.body.length);
    props.copy(b, 22 + e.body.length);
    parts.push(b);
  }
  return Buffer.concat(parts);
}

/** Splits a pull/query body (concatenated records) back into records. */
export function decodeMessageRecords(buf: Buffer): DecodedRecord[] {
  const out: DecodedRecord[] = [];
  let p = 0;
  while (p < buf.length) {
    const r = decodeMessageRecord(buf, p);
    if (!r) break;
    out.push(r);
    p += r.size;
  }
  return out;
}
