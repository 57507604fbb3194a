// `rmq admin`: argument parsing and mqadmin-style formatting (pure), then the built CLI as a user
// runs it against our NameServer + Broker processes (needs `npm run build`).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseOptions, UsageError, type OptionSpec } from '../admin/cli-args.js';
import { routeToPrettyJson, runAdmin, subscriptionGroupToString, topicConfigToString } from '../admin/commands.js';
import { frontStringAtLeast, humanTime2, javaFormat, javaHashMapOrder, javaMapToString, parseJavaTimestamp, permToString } from '../admin/java-format.js';
import { versionDesc } from '../admin/mq-version.js';
import { silentLogger } from '../common/logger.js';
import { RequestCode } from '../protocol/codes.js';
import { encodeProperties } from '../protocol/message.js';
import { createRequest } from '../protocol/remoting.js';
import { RemotingClient } from '../transport/client.js';
import { OurCluster, ROOT } from '../../../test/interop/harness.js';

const SPECS: OptionSpec[] = [
  { short: 't', long: 'topic', arg: true, required: true, desc: 'topic name' },
  { short: 'c', long: 'clusterModel', arg: false, desc: 'flag' },
  { long: 'attributes', arg: true, desc: 'long only' },
];

describe('rmq admin argument parsing', () => {
  it('reads -x v, -xv, --long v, --long=v, flags and the global -n', () => {
    const o = parseOptions(['-n', '127.0.0.1:9876', '-tT1', '-c', '--attributes=+a=b'], SPECS);
    expect([o.get('n'), o.get('namesrvAddr'), o.get('t'), o.has('c'), o.get('attributes')]).toEqual(['127.0.0.1:9876', '127.0.0.1:9876', 'T1', true, '+a=b']);
    const p = parseOptions(['--topic', ' T2 ', '--namesrvAddr', 'a:1;b:2'], SPECS);
    expect([p.get('topic'), p.get('n'), p.has('c'), p.get('c')]).toEqual(['T2', 'a:1;b:2', false, undefined]);
  });

  it('refuses unknown options, missing values and missing required options', () => {
    expect(() => parseOptions(['-t', 'T', '-x', '1'], SPECS)).toThrow(new UsageError('Unrecognized option: -x'));
    expect(() => parseOptions(['-t'], SPECS)).toThrow(/Missing argument for option: t/);
    expect(() => parseOptions(['-c'], SPECS)).toThrow(/Missing required option: t/);
    expect(() => parseOptions(['-t', 'T', 'stray'], SPECS)).toThrow(/unexpected argument: stray/);
    expect(() => parseOptions(['-t', 'T', '-cx'], SPECS)).toThrow(/takes no value/);
    expect(parseOptions(['-h'], SPECS).has('help')).toBe(true); // help needs no required options
  });

  it('answers usage errors with exit code 2 and the command usage, unknown commands too', async () => {
    let out = '';
    let err = '';
    const io = { out: (s: string) => (out += s), err: (s: string) => (err += s) };
    expect(await runAdmin(['updateTopic', '-n', '127.0.0.1:1'], io)).toBe(2);
    expect(err).toContain('Missing required option: t');
    expect(err).toContain('usage: mqadmin updateTopic');
    expect(await runAdmin(['noSuchCommand'], io)).toBe(2);
    expect(err).toContain('The sub command noSuchCommand not exist.');
    expect(await runAdmin([], io)).toBe(0);
    for (const c of ['updateTopic', 'deleteTopic', 'topicList', 'topicRoute', 'topicStatus', 'clusterList', 'brokerStatus', 'consumerProgress', 'consumerConnection', 'producerConnection', 'updateSubGroup', 'deleteSubGroup', 'resetOffsetByTime', 'queryMsgById', 'queryMsgByKey', 'getBrokerConfig', 'updateBrokerConfig', 'wipeWritePerm', 'addWritePerm']) {
      expect(out).toContain(`   ${c} `);
    }
    out = '';
    expect(await runAdmin(['help', 'resetOffsetByTime'], io)).toBe(0);
    expect(out).toContain('-s,--timestamp <arg>');
    expect(await runAdmin(['resetOffsetByTime', '-g', 'G', '-t', 'T', '-s', 'yesterday', '-n', '127.0.0.1:1'], io)).toBe(2);
    expect(err).toContain('-s must be now, milliseconds or yyyy-MM-dd#HH:mm:ss:SSS, got "yesterday"');
  });

  it('reports an unreachable NameServer as a failed command (exit 1)', async () => {
    let err = '';
    const code = await runAdmin(['topicList', '-n', '127.0.0.1:1'], { out: () => undefined, err: (s) => (err += s) }, { timeoutMs: 1000 });
    expect(code).toBe(1);
    expect(err).toMatch(/^topicList command failed: connect to 127\.0\.0\.1:1 failed/);
  });
});

describe('mqadmin formatting', () => {
  it('formats like java.util.Formatter', () => {
    expect(javaFormat('%-6s|%6s|%-4d|%4d|%04d|%9.2f|%.4f|%2.2f|%s%n%%', 'ab', 'cd', 7, 42, 5, 1.005, 0.5, 12.345, null)).toBe('ab    |    cd|7   |  42|0005|     1.00|0.5000|12.35|null\n%');
    expect(javaFormat('%-3s', 'toolong')).toBe('toolong');
    expect(frontStringAtLeast('abcdef', 3)).toBe('abc');
    expect(permToString(6)).toBe('RW-');
    expect(permToString(4)).toBe('R--');
    expect(permToString(7)).toBe('RWX');
    expect(versionDesc(479)).toBe('V5_3_3');
    expect(versionDesc(413)).toBe('V5_0_0');
    expect(versionDesc(99_999)).toBe('HIGHER_VERSION');
  });

  it('iterates maps in java.util.HashMap order (checked against a JVM)', () => {
    const props = ['UNIQ_KEY', 'CLUSTER', 'KEYS', 'TAGS', 'WAIT', 'MSG_REGION', 'TRACE_ON', 'MIN_OFFSET', 'MAX_OFFSET', 'CONSUME_START_TIME'];
    expect(javaMapToString(props.map((k) => [k, 'v']), 128)).toBe('{CONSUME_START_TIME=v, MSG_REGION=v, UNIQ_KEY=v, CLUSTER=v, MIN_OFFSET=v, TAGS=v, KEYS=v, WAIT=v, TRACE_ON=v, MAX_OFFSET=v}');
    expect(javaHashMapOrder(['DefaultCluster', 'ClusterB', 'zeta', 'alpha'])).toEqual(['zeta', 'alpha', 'ClusterB', 'DefaultCluster']);
    expect(javaMapToString([[2, 'x'], [0, 'x'], [1, 'x'], [17, 'x']])).toBe('{0=x, 1=x, 17=x, 2=x}');
  });

  it('prints times and parses -s timestamps in local time', () => {
    const t = new Date(2024, 0, 2, 3, 4, 5, 6).getTime();
    expect(humanTime2(t)).toBe('2024-01-02 03:04:05,006');
    expect(parseJavaTimestamp('2024-01-02#03:04:05:006')).toBe(t);
    expect(parseJavaTimestamp('2024-01-02 03:04:05')).toBeUndefined();
  });

  it('prints TopicConfig, SubscriptionGroupConfig and routes as the Java toString/JSON do', () => {
    expect(topicConfigToString({ topicName: 'T', readQueueNums: 8, writeQueueNums: 4, perm: 6, topicFilterType: 'SINGLE_TAG', topicSysFlag: 0, order: true, attributes: { '+message.type': 'FIFO' } }))
      .toBe('TopicConfig [topicName=T, readQueueNums=8, writeQueueNums=4, perm=RW-, topicFilterType=SINGLE_TAG, topicSysFlag=0, order=true, attributes={+message.type=FIFO}]');
    expect(subscriptionGroupToString({ groupName: 'G', consumeEnable: true, consumeFromMinEnable: false, consumeBroadcastEnable: false, consumeMessageOrderly: false, retryQueueNums: 1, retryMaxTimes: 3, brokerId: 0, whichBrokerWhenConsumeSlowly: 1, notifyConsumerIdsChangedEnable: true, groupSysFlag: 0, consumeTimeoutMinute: 15, attributes: {} }))
      .toBe('SubscriptionGroupConfig{groupName=G, consumeEnable=true, consumeFromMinEnable=false, consumeBroadcastEnable=false, consumeMessageOrderly=false, retryQueueNums=1, retryMaxTimes=3, groupRetryPolicy=GroupRetryPolicy{type=CUSTOMIZED, exponentialRetryPolicy=null, customizedRetryPolicy=null}, brokerId=0, whichBrokerWhenConsumeSlowly=1, notifyConsumerIdsChangedEnable=true, groupSysFlag=0, consumeTimeoutMinute=15, subscriptionDataSet=null, attributes={}}');
    const json = routeToPrettyJson({
      brokerDatas: [{ cluster: 'C', brokerName: 'b', brokerAddrs: new Map([[1, '10.0.0.2:10911'], [0, '10.0.0.1:10911']]), enableActingMaster: false }],
      queueDatas: [{ brokerName: 'b', readQueueNums: 4, writeQueueNums: 4, perm: 6, topicSysFlag: 0 }],
    });
    expect(json).toBe('{\n\t"brokerDatas":[\n\t\t{\n\t\t\t"brokerAddrs":{\n\t\t\t\t0:"10.0.0.1:10911",\n\t\t\t\t1:"10.0.0.2:10911"\n\t\t\t},\n\t\t\t"brokerName":"b",\n\t\t\t"cluster":"C",\n\t\t\t"enableActingMaster":false\n\t\t}\n\t],\n\t"filterServerTable":{},\n\t"queueDatas":[\n\t\t{\n\t\t\t"brokerName":"b",\n\t\t\t"perm":6,\n\t\t\t"readQueueNums":4,\n\t\t\t"topicSysFlag":0,\n\t\t\t"writeQueueNums":4\n\t\t}\n\t]\n}');
  });
});

const ADMIN_JS = join(ROOT, 'dist/broker/src/cli/admin.js');
const RMQ_JS = join(ROOT, 'dist/broker/src/cli/rmq.js');

function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn('node', args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

describe('rmq admin against our NameServer and Broker', () => {
  const cluster = new OurCluster('admin-cli');
  const raw = new RemotingClient(silentLogger());

  beforeAll(async () => {
    if (!existsSync(ADMIN_JS)) throw new Error(`${ADMIN_JS} is missing: run npm run build first`);
    await cluster.start();
  }, 60_000);

  afterAll(async () => {
    await raw.close();
    await cluster.stop();
  }, 60_000);

  it('creates a topic, shows its status and the group progress, and deletes it', async () => {
    const n = ['-n', cluster.namesrvAddr];
    const created = await cli([ADMIN_JS, 'updateTopic', ...n, '-c', 'DefaultCluster', '-t', 'CLI_T', '-r', '2', '-w', '2']);
    expect(created.err).toBe('');
    expect(created.out).toBe(`create topic to ${cluster.brokerAddr} success.\nTopicConfig [topicName=CLI_T, readQueueNums=2, writeQueueNums=2, perm=RW-, topicFilterType=SINGLE_TAG, topicSysFlag=0, order=false, attributes={}]\n`);
    for (let i = 0; i < 3; i++) {
      await raw.invokeOk(cluster.brokerAddr, createRequest(RequestCode.SEND_MESSAGE, {
        producerGroup: 'PG', topic: 'CLI_T', defaultTopic: 'TBW102', defaultTopicQueueNums: '4', queueId: '1', sysFlag: '0',
        bornTimestamp: String(Date.now()), flag: '0', properties: encodeProperties({ KEYS: `key-${i}` }), reconsumeTimes: '0',
      }, Buffer.from(`m${i}`)));
    }
    await raw.invokeOk(cluster.brokerAddr, createRequest(RequestCode.UPDATE_CONSUMER_OFFSET, { consumerGroup: 'CLI_G', topic: 'CLI_T', queueId: '1', commitOffset: '1' }));

    // NAMESRV_ADDR instead of -n, through the image entry point
    const status = await cli([RMQ_JS, 'admin', 'topicStatus', '-t', 'CLI_T'], { NAMESRV_ADDR: cluster.namesrvAddr });
    const lines = status.out.split('\n');
    expect(lines[0]).toBe('#Broker Name                      #QID  #Min Offset           #Max Offset             #Last Updated');
    expect(lines[1]).toBe(javaFormat('%-32s  %-4d  %-20d  %-20d    %s', 'broker-a', 0, 0, 0, ''));
    expect(lines[2]).toMatch(/^broker-a {26}1 {5}0 {21}3 {23}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}$/);

    const progress = await cli([ADMIN_JS, 'consumerProgress', ...n, '-g', 'CLI_G', '-t', 'CLI_T']);
    expect(progress.err).toBe('');
    const row = progress.out.split('\n').find((l) => l.startsWith('CLI_T') && /\s1\s/.test(l.slice(96, 104)));
    expect(row?.split(/\s+/).slice(0, 7)).toEqual(['CLI_T', 'broker-a', '1', '3', '1', '2', '0']);
    expect(progress.out).toContain('Consume Diff Total: 2\n');

    const byKey = await cli([ADMIN_JS, 'queryMsgByKey', ...n, '-t', 'CLI_T', '-k', 'key-2']);
    expect(byKey.out.split('\n')[0]).toMatch(/^#Message ID {40}#QID {34}#Offset #IndexKey/);

    const deleted = await cli([ADMIN_JS, 'deleteTopic', ...n, '-c', 'DefaultCluster', '-t', 'CLI_T']);
    expect(deleted.out).toBe('delete topic [CLI_T] from cluster [DefaultCluster] success.\ndelete topic [CLI_T] from NameServer success.\n');
    const list = await cli([ADMIN_JS, 'topicList', ...n]);
    expect(list.code).toBe(0);
    expect(list.out.split('\n')).not.toContain('CLI_T');
    expect(list.out.split('\n')).toContain('TBW102');

    const missing = await cli([ADMIN_JS, 'topicRoute', ...n, '-t', 'CLI_T']);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/topicRoute command failed: request 105 to .* failed: code 17/);
  }, 60_000);
});
