import { describe, expect, it } from 'vitest';
import { RequestError } from '../common/errors.js';
import { RequestCode, ResponseCode } from '../protocol/codes.js';
import { createRequest } from '../protocol/remoting.js';
import { TBW102 } from './metadata.js';
import { optionalIntField, parseSendRequestHeader, sendHeaderFields } from './send-header.js';

function refusal(fn: () => unknown): { code: number; message: string } {
  try {
    fn();
  } catch (err) {
    if (err instanceof RequestError) return { code: err.responseCode, message: err.message };
    throw err;
  }
  throw new Error('expected a RequestError');
}

describe('send request header', () => {
  const compact = { a: 'PG', b: 'T', c: 'DT', d: '8', e: '3', f: '1', g: '1700000000000', h: '2', i: 'KEYS\u0001k\u0002', j: '5', k: 'true', l: '16' };

  it('reads the one-letter fields of SEND_MESSAGE_V2, SEND_BATCH_MESSAGE and SEND_REPLY_MESSAGE_V2', () => {
    for (const code of [RequestCode.SEND_MESSAGE_V2, RequestCode.SEND_BATCH_MESSAGE, RequestCode.SEND_REPLY_MESSAGE_V2]) {
      const fields = sendHeaderFields(createRequest(code, compact));
      expect(parseSendRequestHeader(fields)).toEqual({
        producerGroup: 'PG',
        topic: 'T',
        defaultTopic: 'DT',
        defaultTopicQueueNums: 8,
        queueId: 3,
        sysFlag: 1,
        bornTimestamp: 1700000000000,
        flag: 2,
        properties: 'KEYS\u0001k\u0002',
        reconsumeTimes: 5,
        unitMode: true,
      });
      expect(optionalIntField(fields, 'maxReconsumeTimes')).toBe(16);
    }
  });

  it('takes the long field names of SEND_MESSAGE and SEND_REPLY_MESSAGE as they are', () => {
    for (const code of [RequestCode.SEND_MESSAGE, RequestCode.SEND_REPLY_MESSAGE]) {
      const fields = sendHeaderFields(createRequest(code, { producerGroup: 'PG', topic: 'T', queueId: '0', a: 'not a field here' }));
      expect(fields.a).toBe('not a field here');
      expect(parseSendRequestHeader(fields).topic).toBe('T');
    }
  });

  it('defaults the optional fields; an absent, empty or "null" reconsumeTimes is undefined', () => {
    for (const reconsumeTimes of [undefined, '', 'null']) {
      const fields: Record<string, string> = { producerGroup: 'PG', topic: 'T', queueId: '-1', sysFlag: 'null', flag: '' };
      if (reconsumeTimes !== undefined) fields.reconsumeTimes = reconsumeTimes;
      const before = Date.now();
      const h = parseSendRequestHeader(fields);
      expect(h).toMatchObject({ defaultTopic: TBW102, defaultTopicQueueNums: 4, queueId: -1, sysFlag: 0, flag: 0, properties: '', reconsumeTimes: undefined, unitMode: false });
      expect(h.bornTimestamp).toBeGreaterThanOrEqual(before);
    }
  });

  it('refuses a missing mandatory field or a malformed integer with SYSTEM_ERROR naming the field', () => {
    expect(refusal(() => parseSendRequestHeader({ topic: 'T', queueId: '0' }))).toEqual({ code: ResponseCode.SYSTEM_ERROR, message: 'the custom field <producerGroup> is null' });
    expect(refusal(() => parseSendRequestHeader({ producerGroup: 'PG', queueId: '0' }))).toEqual({ code: ResponseCode.SYSTEM_ERROR, message: 'the custom field <topic> is null' });
    expect(refusal(() => parseSendRequestHeader({ producerGroup: 'PG', topic: 'T', queueId: 'null' }))).toEqual({ code: ResponseCode.SYSTEM_ERROR, message: 'the custom field <queueId> is null' });
    expect(refusal(() => parseSendRequestHeader({ producerGroup: 'PG', topic: 'T', queueId: '1.5' }))).toEqual({
      code: ResponseCode.SYSTEM_ERROR,
      message: 'the custom field <queueId> is not an integer: "1.5"',
    });
    expect(refusal(() => parseSendRequestHeader({ producerGroup: 'PG', topic: 'T', queueId: '0', reconsumeTimes: 'x' }))).toEqual({
      code: ResponseCode.SYSTEM_ERROR,
      message: 'the custom field <reconsumeTimes> is not an integer: "x"',
    });
  });
});
