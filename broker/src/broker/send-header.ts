// The header of the send requests: SEND_MESSAGE (10), SEND_MESSAGE_V2 (310), SEND_BATCH_MESSAGE
// (320) and the reply sends SEND_REPLY_MESSAGE (324) and SEND_REPLY_MESSAGE_V2 (325) all carry
// Java's SendMessageRequestHeader; the V2 codes send it with one-letter field names
// (SendMessageRequestHeaderV2).
import { RequestError } from '../common/errors.js';
import { RequestCode, ResponseCode } from '../protocol/codes.js';
import { expandSendV2Fields } from '../protocol/headers.js';
import type { RemotingCommand } from '../protocol/remoting.js';
import { TBW102 } from './metadata.js';

/** The fields of SendMessageRequestHeader that sends and replies both use. */
export interface SendRequestHeader {
  producerGroup: string;
  topic: string;
  defaultTopic: string;
  defaultTopicQueueNums: number;
  queueId: number;
  sysFlag: number;
  bornTimestamp: number;
  flag: number;
  properties: string;
  /** Undefined if absent: a send counts it as 0, a reply passes it on only when given. */
  reconsumeTimes: number | undefined;
  unitMode: boolean;
}

const COMPACT_HEADER_CODES: ReadonlySet<number> = new Set([RequestCode.SEND_MESSAGE_V2, RequestCode.SEND_BATCH_MESSAGE, RequestCode.SEND_REPLY_MESSAGE_V2]);

/** The request's header fields by their long names, whichever form the client sent. */
export function sendHeaderFields(req: RemotingCommand): Record<string, string> {
  return COMPACT_HEADER_CODES.has(req.code) ? expandSendV2Fields(req.extFields) : req.extFields;
}

/** An integer field; missing, empty and "null" all mean absent (Java's null Integer). */
export function optionalIntField(fields: Record<string, string>, name: string): number | undefined {
  const v = fields[name];
  if (v === undefined || v === '' || v === 'null') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new RequestError(ResponseCode.SYSTEM_ERROR, `the custom field <${name}> is not an integer: "${v}"`);
  return n;
}

function nullField(name: string): RequestError {
  return new RequestError(ResponseCode.SYSTEM_ERROR, `the custom field <${name}> is null`);
}

function intField(fields: Record<string, string>, name: string, fallback?: number): number {
  const n = optionalIntField(fields, name) ?? fallback;
  if (n === undefined) throw nullField(name);
  return n;
}

function stringField(fields: Record<string, string>, name: string, fallback?: string): string {
  const v = fields[name] ?? fallback;
  if (v === undefined) throw nullField(name);
  return v;
}

/**
 * Parses the shared fields of `sendHeaderFields(req)`. A missing mandatory field or a malformed
 * integer is SYSTEM_ERROR naming the field, as Java's header decoding answers.
 */
export function parseSendRequestHeader(fields: Record<string, string>): SendRequestHeader {
  return {
    producerGroup: stringField(fields, 'producerGroup'),
    topic: stringField(fields, 'topic'),
    defaultTopic: stringField(fields, 'defaultTopic', TBW102),
    defaultTopicQueueNums: intField(fields, 'defaultTopicQueueNums', 4),
    queueId: intField(fields, 'queueId'),
    sysFlag: intField(fields, 'sysFlag', 0),
    bornTimestamp: intField(fields, 'bornTimestamp', Date.now()),
    flag: intField(fields, 'flag', 0),
    properties: stringField(fields, 'properties', ''),
    reconsumeTimes: optionalIntField(fields, 'reconsumeTimes'),
    unitMode: fields.unitMode === 'true',
  };
}
