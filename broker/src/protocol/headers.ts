// Typed access to a request's extFields ("custom header" fields in the Java code).
import { RequestError } from '../common/errors.js';
import { ResponseCode } from './codes.js';
import type { RemotingCommand } from './remoting.js';

/** A mandatory field; a missing one is answered like Java does (SYSTEM_ERROR, field named). */
export function header(req: RemotingCommand, name: string): string {
  const v = req.extFields[name];
  if (v === undefined) throw new RequestError(ResponseCode.SYSTEM_ERROR, `the custom field <${name}> is null`);
  return v;
}

export function optionalHeader(req: RemotingCommand, name: string): string | undefined {
  return req.extFields[name];
}

function toInteger(name: string, v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n)) {
    throw new RequestError(ResponseCode.SYSTEM_ERROR, `the custom field <${name}> is not an integer: "${v}"`);
  }
  return n;
}

export function intHeader(req: RemotingCommand, name: string): number {
  return toInteger(name, header(req, name));
}

export function optionalIntHeader(req: RemotingCommand, name: string): number | undefined {
  const v = req.extFields[name];
  return v === undefined || v === 'null' ? undefined : toInteger(name, v);
}

export function boolHeader(req: RemotingCommand, name: string, fallback = false): boolean {
  const v = req.extFields[name];
  return v === undefined ? fallback : v === 'true';
}

/** SEND_MESSAGE_V2 / SEND_BATCH_MESSAGE use one-letter field names (SendMessageRequestHeaderV2). */
const V2_FIELDS: Record<string, string> = {
  a: 'producerGroup',
  b: 'topic',
  c: 'defaultTopic',
  d: 'defaultTopicQueueNums',
  e: 'queueId',
  f: 'sysFlag',
  g: 'bornTimestamp',
  h: 'flag',
  i: 'properties',
  j: 'reconsumeTimes',
  k: 'unitMode',
  l: 'maxReconsumeTimes',
  m: 'batch',
  n: 'brokerName',
};

/** Rewrites a V2 send request's fields to their long names so one parser serves both. */
export function expandSendV2Fields(ext: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(ext)) out[V2_FIELDS[k] ?? k] = v;
  return out;
}
