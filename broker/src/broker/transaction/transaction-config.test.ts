// The transaction keys of broker.conf: Java's names and defaults, validated like every other key.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../common/errors.js';
import { ACCEPTED_WITHOUT_EFFECT, loadBrokerConfig } from '../../config/broker-config.js';

describe('transaction config keys', () => {
  it('default to Java 5.x BrokerConfig values', () => {
    const { config, ignoredKeys } = loadBrokerConfig({ transactionTimeOut: '6000' });
    expect(config).toMatchObject({ transactionTimeOut: 6000, transactionCheckMax: 15, transactionCheckInterval: 30_000, rejectTransactionMessage: false });
    expect(ignoredKeys).toEqual([]);
    for (const k of ['transactionTimeOut', 'transactionCheckMax', 'transactionCheckInterval', 'rejectTransactionMessage']) expect(ACCEPTED_WITHOUT_EFFECT.has(k)).toBe(false);
  });

  it('reads set values', () => {
    const { config } = loadBrokerConfig({ transactionTimeOut: '1000', transactionCheckMax: '3', transactionCheckInterval: '500', rejectTransactionMessage: 'TRUE' });
    expect(config).toMatchObject({ transactionTimeOut: 1000, transactionCheckMax: 3, transactionCheckInterval: 500, rejectTransactionMessage: true });
  });

  it.each([
    ['transactionTimeOut', '0', /transactionTimeOut: must be at least 1/],
    ['transactionTimeOut', '6s', /transactionTimeOut: expected an integer/],
    ['transactionCheckMax', '0', /transactionCheckMax: must be at least 1/],
    ['transactionCheckInterval', '50', /transactionCheckInterval: must be at least 100/],
    ['rejectTransactionMessage', 'maybe', /rejectTransactionMessage: expected true or false/],
  ])('refuses %s=%s, naming the key', (key, value, message) => {
    expect(() => loadBrokerConfig({ [key]: value })).toThrow(ConfigError);
    expect(() => loadBrokerConfig({ [key]: value })).toThrow(message);
  });
});
