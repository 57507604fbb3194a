import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../common/errors.js';
import { loadBrokerConfig, parseNamesrvAddr } from './broker-config.js';
import { parseProperties } from './properties.js';

const fixture = (name: string): string => readFileSync(new URL(`../../../test/fixtures/conf/${name}`, import.meta.url), 'utf8');

describe('java properties', () => {
  it('reads key = value, key:value, key value, comments, continuations and escapes', () => {
    const p = parseProperties('# c\n! c\na = 1\nb:2\nc 3\nd=multi\\\n   line\ne=tab\\tx\\u0041\n  f  =  spaced  \n');
    expect(Object.fromEntries(p)).toEqual({ a: '1', b: '2', c: '3', d: 'multiline', e: 'tab\txA', f: 'spaced  ' });
  });
});

describe('broker config', () => {
  it('starts from the Apache distribution broker.conf unchanged', () => {
    const { config, unknownKeys } = loadBrokerConfig(parseProperties(fixture('broker.conf')), 'broker.conf');
    expect(unknownKeys).toEqual([]);
    expect(config).toMatchObject({
      brokerClusterName: 'DefaultCluster',
      brokerName: 'broker-a',
      brokerId: 0,
      deleteWhen: '04',
      fileReservedTime: 48,
      brokerRole: 'ASYNC_MASTER',
      flushDiskType: 'ASYNC_FLUSH',
      listenPort: 10911,
      haListenPort: 10912,
      mappedFileSizeCommitLog: 1024 ** 3,
      autoCreateTopicEnable: true,
      maxMessageSize: 4 * 1024 * 1024,
    });
    expect(config.storePathCommitLog.endsWith('/store/commitlog')).toBe(true);
    expect(loadBrokerConfig(parseProperties(fixture('2m-noslave-broker-b.properties'))).config.brokerName).toBe('broker-b');
  });

  it('reads the old mapedFileSize spelling and splits namesrvAddr on ;', () => {
    const { config } = loadBrokerConfig({ mapedFileSizeCommitLog: '65536', namesrvAddr: '127.0.0.1:9876;127.0.0.2:9876', listenPort: '20911' });
    expect(config.mappedFileSizeCommitLog).toBe(65536);
    expect(config.namesrvAddrList).toEqual(['127.0.0.1:9876', '127.0.0.2:9876']);
    expect(config.haListenPort).toBe(20912);
  });

  it('reports unknown keys and Java-only keys without failing', () => {
    const r = loadBrokerConfig({ brokerName: 'b', madeUpKey: 'x', sendMessageThreadPoolNums: '16' });
    expect(r.unknownKeys).toEqual(['madeUpKey']);
    expect(r.ignoredKeys).toEqual(['sendMessageThreadPoolNums']);
  });

  it('names the key of an invalid value', () => {
    expect(() => loadBrokerConfig({ listenPort: 'abc' }, 'my.conf')).toThrow(/my\.conf: listenPort: expected an integer, got "abc"/);
    expect(() => loadBrokerConfig({ autoCreateTopicEnable: 'yes' })).toThrow(/autoCreateTopicEnable: expected true or false/);
    expect(() => loadBrokerConfig({ flushDiskType: 'SOMETIMES' })).toThrow(/flushDiskType/);
    expect(() => loadBrokerConfig({ listenPort: '70000' })).toThrow(/listenPort: must be at most 65535/);
    expect(() => loadBrokerConfig({ namesrvAddr: 'nohost' })).toThrow(/namesrvAddr: "nohost" is not host:port/);
    expect(() => loadBrokerConfig({ listenPort: 'abc' })).toThrow(ConfigError);
  });

  it('refuses features it does not offer instead of pretending', () => {
    expect(() => loadBrokerConfig({ aclEnable: 'true' })).toThrow(/ACL is not supported/);
    expect(() => loadBrokerConfig({ brokerRole: 'SLAVE', brokerId: '0' })).toThrow(/a SLAVE's brokerId must be greater than 0/);
    expect(loadBrokerConfig({ brokerRole: 'SYNC_MASTER', brokerId: '3' }).config.brokerId).toBe(0);
    expect(loadBrokerConfig({ brokerRole: 'SLAVE', brokerId: '2' }).config).toMatchObject({ brokerRole: 'SLAVE', brokerId: 2 });
  });

  it('parses namesrv lists', () => {
    expect(parseNamesrvAddr(' a:1 ; b:2 ;')).toEqual(['a:1', 'b:2']);
  });
});
