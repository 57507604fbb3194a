// RocketMQ remoting frames: pure encode/decode over Buffers, no I/O.
//
//   0        4            8                8+H           length+4
//   +--------+------------+----------------+-------------+
//   | length | type|H(24) | header (H)     | body        |
//   +--------+------------+----------------+-------------+
//   length counts everything after itself; type 0 = JSON header, 1 = ROCKETMQ binary header.
import { ProtocolError } from '../common/errors.js';
import { ByteQueue, EMPTY } from './byte-queue.js';
import { SERVER_VERSION } from './codes.js';

export const SerializeType = { JSON: 0, ROCKETMQ: 1 } as const;
export type SerializeType = (typeof SerializeType)[keyof typeof SerializeType];

export const FLAG_RESPONSE = 1;
export const FLAG_ONEWAY = 2;

/** LanguageCode ordinals, used by the binary header (LanguageCode.java). */
const LANGUAGES = [
  'JAVA', 'CPP', 'DOTNET', 'PYTHON', 'DELPHI', 'ERLANG', 'RUBY', 'OTHER', 'HTTP', 'GO', 'PHP', 'OMS', 'RUST', 'NODE_JS',
] as const;

export interface RemotingCommand {
  code: number;
  language: string;
  version: number;
  opaque: number;
  flag: number;
  remark?: string | undefined;
  extFields: Record<string, string>;
  /** Decoded frames always carry a body (possibly empty). */
  body?: Buffer | undefined;
  /** Outgoing only: body written as these parts, without concatenating them first. */
  bodyParts?: readonly Buffer[] | undefined;
  serializeType: SerializeType;
}

export interface FrameLimits {
  /** Largest value of the 4-byte length field we accept (RocketMQ default 16 MiB). */
  maxFrameBytes: number;
  maxHeaderBytes: number;
  /** Larger bodies are not buffered: they are skipped and reported via `oversizeBodyBytes`. */
  maxBodyBytes: number;
}

export const DEFAULT_FRAME_LIMITS: FrameLimits = {
  maxFrameBytes: 16 * 1024 * 1024,
  maxHeaderBytes: 64 * 1024,
  maxBodyBytes: 16 * 1024 * 1024,
};

export function isResponse(cmd: RemotingCommand): boolean {
  return (cmd.flag & FLAG_RESPONSE) === FLAG_RESPONSE;
}
export function isOneway(cmd: RemotingCommand): boolean {
  return (cmd.flag & FLAG_ONEWAY) === FLAG_ONEWAY;
}

export function createRequest(
  code: number,
  extFields: Record<string, string> = {},
  body?: Buffer,
  serializeType: SerializeType = SerializeType.JSON,
): RemotingCommand {
  return { code, language: 'JAVA', version: SERVER_VERSION, opaque: 0, flag: 0, extFields, body, serializeType };
}

/** A response to `request`: same opaque and serialize type, RESPONSE flag set. */
export function createResponse(
  request: RemotingCommand,
  code: number,
  remark?: string,
  extFields: Record<string, string> = {},
  body?: Buffer,
): RemotingCommand {
  return {
    code,
    language: 'JAVA',
    version: SERVER_VERSION,
    opaque: request.opaque,
    flag: FLAG_RESPONSE,
    remark,
    extFields,
    body,
    serializeType: request.serializeType,
  };
}

// ---------------------------------------------------------------------------------------------
// Encoding

function encodeJsonHeader(cmd: RemotingCommand): Buffer {
  // Keys in fastjson's order (alphabetical); nulls omitted, as the Java side writes them.
  const header: Record<string, unknown> = { code: cmd.code, extFields: cmd.extFields, flag: cmd.flag, language: cmd.language, opaque: cmd.opaque };
  if (cmd.remark != null) header.remark = cmd.remark;
  header.serializeTypeCurrentRPC = 'JSON';
  header.version = cmd.version;
  return Buffer.from(JSON.stringify(header), 'utf8');
}

/** Byte size of a binary (ROCKETMQ) header: fixed part, remark, extFields as (len, key, len, value). */
function binaryHeaderSize(cmd: RemotingCommand, remarkLen: number): number {
  let extLen = 0;
  for (const k in cmd.extFields) extLen += 6 + Buffer.byteLength(k, 'utf8') + Buffer.byteLength(cmd.extFields[k]!, 'utf8');
  return 21 + remarkLen + extLen;
}

/** Writes the binary header at `at` (sized by binaryHeaderSize), straight into the frame buffer. */
function writeBinaryHeader(cmd: RemotingCommand, remarkLen: number, buf: Buffer, at: number, end: number): void {
  let p = buf.writeInt16BE(cmd.code, at);
  const lang = LANGUAGES.indexOf(cmd.language as (typeof LANGUAGES)[number]);
  p = buf.writeUInt8(lang >= 0 ? lang : 0, p);
  p = buf.writeInt16BE(cmd.version, p);
  p = buf.writeInt32BE(cmd.opaque, p);
  p = buf.writeInt32BE(cmd.flag, p);
  p = buf.writeInt32BE(remarkLen, p);
  if (remarkLen > 0) p += buf.write(cmd.remark!, p, 'utf8');
  p = buf.writeInt32BE(end - p - 4, p);
  for (const k in cmd.extFields) {
    const kl = buf.write(k, p + 2, 'utf8');
    buf.writeInt16BE(kl, p);
    p += 2 + kl;
    const vl = buf.write(cmd.extFields[k]!, p + 4, 'utf8');
    buf.writeInt32BE(vl, p);
    p += 4 + vl;
  }
}

/**
 * Encodes a command as buffers to be written in order: the first holds length, header mark and
 * header; the rest are the body (shared, not copied).
 */
export function encodeCommandParts(cmd: RemotingCommand): Buffer[] {
  const parts = cmd.bodyParts ?? (cmd.body && cmd.body.length > 0 ? [cmd.body] : []);
  let bodyLen = 0;
  for (const b of parts) bodyLen += b.length;
  let head: Buffer;
  let headerLen: number;
  if (cmd.serializeType === SerializeType.ROCKETMQ) {
    // Sized first, then written once into the frame buffer: no per-field buffers on the hot path.
    const remarkLen = cmd.remark != null ? Buffer.byteLength(cmd.remark, 'utf8') : 0;
    headerLen = binaryHeaderSize(cmd, remarkLen);
    head = Buffer.allocUnsafe(8 + headerLen);
    writeBinaryHeader(cmd, remarkLen, head, 8, 8 + headerLen);
  } else {
    const header = encodeJsonHeader(cmd);
    headerLen = header.length;
    head = Buffer.allocUnsafe(8 + headerLen);
    header.copy(head, 8);
  }
  head.writeUInt32BE(4 + headerLen + bodyLen, 0);
  head.writeUInt32BE(((cmd.serializeType & 0xff) << 24 | headerLen) >>> 0, 4);
  if (parts.length === 0) return [head];
  return [head, ...parts];
}

export function encodeCommand(cmd: RemotingCommand): Buffer {
  const parts = encodeCommandParts(cmd);
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

// ---------------------------------------------------------------------------------------------
// Decoding

function scalarToString(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return undefined; // null and nested values carry nothing a header field could use
}

function asInt(v: unknown, field: string): number {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return Number(v);
  if (v === undefined && field !== 'code') return 0;
  throw new ProtocolError('RMQ_PROTOCOL_BAD_HEADER', `header field ${field} is not an integer`);
}

function decodeJsonHeader(bytes: Buffer, body: Buffer): RemotingCommand {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new ProtocolError('RMQ_PROTOCOL_BAD_HEADER', 'header is not valid JSON', { cause: err });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ProtocolError('RMQ_PROTOCOL_BAD_HEADER', 'header is not a JSON object');
  }
  const h = parsed as Record<string, unknown>;
  const extFields: Record<string, string> = {};
  if (h.extFields != null) {
    if (typeof h.extFields !== 'object' || Array.isArray(h.extFields)) {
      throw new ProtocolError('RMQ_PROTOCOL_BAD_HEADER', 'header extFields is not an object');
    }
    for (const [k, v] of Object.entries(h.extFields as Record<string, unknown>)) {
      const s = scalarToString(v);
      if (s !== undefined) extFields[k] = s;
    }
  }
  const language = typeof h.language === 'string' ? h.language : typeof h.language === 'number' ? (LANGUAGES[h.language] ?? 'OTHER') : 'OTHER';
  return {
    code: asInt(h.code, 'code'),
    language,
    version: asInt(h.version, 'version'),
    opaque: asInt(h.opaque, 'opaque'),
    flag: asInt(h.flag, 'flag'),
    remark: typeof h.remark === 'string' ? h.remark : undefined,
    extFields,
    body,
    serializeType: SerializeType.JSON,
  };
}

function decodeBinaryHeader(b: Buffer, body: Buffer): RemotingCommand {
  const fail = (what: string): never => {
    throw new ProtocolError('RMQ_PROTOCOL_BAD_HEADER', `binary header truncated or malformed (${what})`);
  };
  if (b.length < 17) fail('fixed part');
  const code = b.readInt16BE(0);
  const language = LANGUAGES[b.readUInt8(2)] ?? 'OTHER';
  const version = b.readInt16BE(3);
  const opaque = b.readInt32BE(5);
  const flag = b.readInt32BE(9);
  const remarkLen = b.readInt32BE(13);
  let p = 17;
  if (remarkLen < 0 || p + remarkLen + 4 > b.length) fail('remark');
  const remark = remarkLen > 0 ? b.toString('utf8', p, p + remarkLen) : undefined;
  p += remarkLen;
  const extLen = b.readInt32BE(p);
  p += 4;
  if (extLen < 0 || p + extLen !== b.length) fail('extFields length');
  const extFields: Record<string, string> = {};
  const end = p + extLen;
  while (p < end) {
    if (p + 2 > end) fail('key length');
    const kl = b.readInt16BE(p);
    p += 2;
    if (kl < 0 || p + kl + 4 > end) fail('key');
    const key = b.toString('utf8', p, p + kl);
    p += kl;
    const vl = b.readInt32BE(p);
    p += 4;
    if (vl < 0 || p + vl > end) fail('value');
    extFields[key] = b.toString('utf8', p, p + vl);
    p += vl;
  }
  return { code, language, version, opaque, flag, remark, extFields, body, serializeType: SerializeType.ROCKETMQ };
}

/** The command of a frame: its header decoded, with `body` (one object, built once). */
function decodeCommand(type: number, headerBytes: Buffer, body: Buffer): RemotingCommand {
  return type === SerializeType.ROCKETMQ ? decodeBinaryHeader(headerBytes, body) : decodeJsonHeader(headerBytes, body);
}

export interface DecodedFrame {
  command: RemotingCommand;
  /** Set when the body exceeded `maxBodyBytes`: it was skipped, `command.body` is empty. */
  oversizeBodyBytes?: number;
}

/**
 * Incremental frame decoder. Feed it socket chunks of any size; it emits whole commands.
 * Size limits are checked from the first 8 bytes of a frame, before anything is buffered.
 * Throws ProtocolError on malformed input; the caller must then drop the connection.
 */
export class FrameDecoder {
  readonly #limits: FrameLimits;
  readonly #queue = new ByteQueue();
  #skipRemaining = 0;
  #pendingOversize: DecodedFrame | undefined;

  constructor(limits: Partial<FrameLimits> = {}) {
    this.#limits = { ...DEFAULT_FRAME_LIMITS, ...limits };
  }

  /** Bytes held waiting for the rest of a frame. */
  get bufferedBytes(): number {
    return this.#queue.length;
  }

  push(chunk: Buffer, onFrame: (frame: DecodedFrame) => void): void {
    let data = chunk;
    if (this.#skipRemaining > 0) {
      const n = Math.min(this.#skipRemaining, data.length);
      this.#skipRemaining -= n;
      data = data.subarray(n);
      if (this.#skipRemaining > 0) return;
      const pending = this.#pendingOversize!;
      this.#pendingOversize = undefined;
      onFrame(pending);
    }
    this.#queue.push(data);
    for (;;) {
      if (this.#queue.length < 8) return;
      const lead = this.#queue.peek(8);
      const length = lead.readUInt32BE(0);
      const mark = lead.readUInt32BE(4);
      const type = mark >>> 24;
      const headerLen = mark & 0xffffff;
      if (length < 4) throw new ProtocolError('RMQ_PROTOCOL_BAD_LENGTH', `frame length ${length} is below the 4-byte minimum`);
      if (length > this.#limits.maxFrameBytes) {
        throw new ProtocolError('RMQ_PROTOCOL_FRAME_TOO_LARGE', `frame of ${length} bytes exceeds the limit of ${this.#limits.maxFrameBytes}`);
      }
      if (type !== SerializeType.JSON && type !== SerializeType.ROCKETMQ) {
        throw new ProtocolError('RMQ_PROTOCOL_BAD_SERIALIZE_TYPE', `unknown header serialize type ${type}`);
      }
      if (headerLen > length - 4) throw new ProtocolError('RMQ_PROTOCOL_BAD_LENGTH', `header length ${headerLen} exceeds frame length ${length}`);
      if (headerLen > this.#limits.maxHeaderBytes) {
        throw new ProtocolError('RMQ_PROTOCOL_HEADER_TOO_LARGE', `header of ${headerLen} bytes exceeds the limit of ${this.#limits.maxHeaderBytes}`);
      }
      const bodyLen = length - 4 - headerLen;
      if (bodyLen > this.#limits.maxBodyBytes) {
        if (this.#queue.length < 8 + headerLen) return;
        this.#queue.skip(8);
        const frame: DecodedFrame = { command: decodeCommand(type, this.#queue.take(headerLen), EMPTY), oversizeBodyBytes: bodyLen };
        const n = Math.min(bodyLen, this.#queue.length);
        this.#queue.skip(n);
        if (n === bodyLen) {
          onFrame(frame);
          continue;
        }
        this.#skipRemaining = bodyLen - n;
        this.#pendingOversize = frame;
        return;
      }
      if (this.#queue.length < 4 + length) return;
      this.#queue.skip(8);
      const headerBytes = this.#queue.take(headerLen);
      // The body is a view of the socket chunk (or of the one copy made when the frame spanned
      // chunks): no per-message copy. A chunk is at most one socket read (64 KiB), and a body
      // lives as long as its request is handled, so what it pins is bounded.
      onFrame({ command: decodeCommand(type, headerBytes, this.#queue.take(bodyLen)) });
    }
  }
}
