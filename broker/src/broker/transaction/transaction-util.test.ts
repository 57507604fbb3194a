import { describe, expect, it } from 'vitest';
import { RequestError } from '../../common/errors.js';
import { ResponseCode } from '../../protocol/codes.js';
import { Prop, SysFlag } from '../../protocol/message.js';
import {
  checkImmunityMs,
  isTransactionHalf,
  nextCheckTimes,
  nextOpOffset,
  parseEndTransactionHeader,
  parseOpBody,
  placeHalf,
  resetTransactionValue,
  TranProp,
} from './transaction-util.js';

describe('transaction helpers', () => {
  it('decides a half by TRAN_MSG as Java does (case-insensitive), not for old clients\' delayed retries', () => {
    expect(isTransactionHalf(new Map([[Prop.TRAN_MSG, 'true']]), 0)).toBe(true);
    expect(isTransactionHalf(new Map([[Prop.TRAN_MSG, 'TRUE']]), 0)).toBe(true);
    expect(isTransactionHalf(new Map([[Prop.TRAN_MSG, 'yes']]), 0)).toBe(false);
    expect(isTransactionHalf(new Map(), 0)).toBe(false);
    expect(isTransactionHalf(new Map([[Prop.TRAN_MSG, 'true'], [Prop.DELAY, '3']]), 2)).toBe(false);
  });

  it('places a half in RMQ_SYS_TRANS_HALF_TOPIC queue 0 with its real topic, queue and transaction id', () => {
    const props = new Map([[Prop.UNIQ_KEY, 'U1'], [Prop.TAGS, 'a']]);
    expect(placeHalf(props, 'T', 3)).toEqual({ topic: 'RMQ_SYS_TRANS_HALF_TOPIC', queueId: 0 });
    expect(Object.fromEntries(props)).toEqual({ UNIQ_KEY: 'U1', TAGS: 'a', __transactionId__: 'U1', REAL_TOPIC: 'T', REAL_QID: '3' });
    expect(resetTransactionValue(SysFlag.TRANSACTION_PREPARED | SysFlag.MULTI_TAGS, SysFlag.TRANSACTION_NOT_TYPE)).toBe(SysFlag.MULTI_TAGS);
    expect(resetTransactionValue(SysFlag.TRANSACTION_PREPARED, SysFlag.TRANSACTION_COMMIT)).toBe(SysFlag.TRANSACTION_COMMIT);
  });

  it('parses END_TRANSACTION headers and refuses missing or wrong fields with SYSTEM_ERROR', () => {
    const ok = { producerGroup: 'PG', tranStateTableOffset: '4', commitLogOffset: '1200', commitOrRollback: '8', fromTransactionCheck: 'false', msgId: 'M', transactionId: 'T' };
    expect(parseEndTransactionHeader(ok)).toEqual({ producerGroup: 'PG', tranStateTableOffset: 4, commitLogOffset: 1200, commitOrRollback: 8, fromTransactionCheck: false, msgId: 'M', transactionId: 'T' });
    expect(parseEndTransactionHeader({ ...ok, fromTransactionCheck: 'true', transactionId: 'null' })).toMatchObject({ fromTransactionCheck: true, transactionId: undefined });
    const fails = (ext: Record<string, string>, text: RegExp): void => {
      let caught: unknown;
      try {
        parseEndTransactionHeader(ext);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(RequestError);
      expect((caught as RequestError).responseCode).toBe(ResponseCode.SYSTEM_ERROR);
      expect((caught as RequestError).message).toMatch(text);
    };
    fails({ ...ok, commitOrRollback: '5' }, /commitOrRollback field wrong/);
    fails({ ...ok, commitLogOffset: 'x' }, /<commitLogOffset> is not an integer/);
    const { producerGroup: _dropped, ...noGroup } = ok;
    fails(noGroup, /<producerGroup> is null/);
  });

  it('uses CHECK_IMMUNITY_TIME_IN_SECONDS, never below transactionTimeOut', () => {
    expect(checkImmunityMs('10', 6000)).toBe(10_000);
    expect(checkImmunityMs('2', 6000)).toBe(6000);
    expect(checkImmunityMs('abc', 6000)).toBe(6000);
  });

  it('counts checks like needDiscard: absent → 1, then +1, discard at the max', () => {
    expect(nextCheckTimes(new Map(), 15)).toEqual({ discard: false, times: 1 });
    expect(nextCheckTimes(new Map([[TranProp.CHECK_TIMES, '14']]), 15)).toEqual({ discard: false, times: 15 });
    expect(nextCheckTimes(new Map([[TranProp.CHECK_TIMES, '15']]), 15)).toEqual({ discard: true, times: 15 });
  });

  it('reads op bodies of 5.x ("1,2,") and 4.x ("7"), and moves op progress over done records only', () => {
    expect(parseOpBody(Buffer.from('1,2,'))).toEqual([1, 2]);
    expect(parseOpBody(Buffer.from('7'))).toEqual([7]);
    expect(parseOpBody(Buffer.from('x,3'))).toEqual([3]);
    expect(nextOpOffset([5, 3, 4, 7], 3)).toBe(6);
    expect(nextOpOffset([], 3)).toBe(3);
  });
});
