// SQL92 filtering through a real broker in-process: sends with user properties, pulls with SQL92
// subscriptions (in the request and from the heartbeat), CHECK_CLIENT_CONFIG, and the answers
// with enablePropertyFilter off.
import { describe, expect, it } from 'vitest';
import { useBrokerTestBed } from '../broker/broker.testbed.js';
import { PullSysFlag } from '../broker/pull-processor.js';
import { RequestCode, ResponseCode } from '../protocol/codes.js';
import { decodeMessageRecords, encodeProperties, getProperty } from '../protocol/message.js';
import { createRequest, type RemotingCommand } from '../protocol/remoting.js';

const bed = useBrokerTestBed('sql92-broker-', { brokerName: 'broker-sql' });
let addr: string;

async function startBroker(enablePropertyFilter: boolean): Promise<void> {
  addr = (await bed.startBroker('store', { enablePropertyFilter: String(enablePropertyFilter) })).brokerAddr;
}

function send(topic: string, body: string, props: Record<string, string>): Promise<RemotingCommand> {
  return bed.client.invokeOk(
    addr,
    createRequest(RequestCode.SEND_MESSAGE, {
      producerGroup: 'PG',
      topic,
      defaultTopic: 'TBW102',
      defaultTopicQueueNums: '1',
      queueId: '0',
      sysFlag: '0',
      bornTimestamp: String(Date.now()),
      flag: '0',
      properties: encodeProperties(props),
      reconsumeTimes: '0',
    }, Buffer.from(body)),
  );
}

interface PullOptions {
  offset?: number;
  sysFlag?: number;
  subscription?: string;
  expressionType?: string;
  suspendMs?: number;
}

function pull(group: string, topic: string, o: PullOptions = {}): RemotingCommand {
  return createRequest(RequestCode.PULL_MESSAGE, {
    consumerGroup: group,
    topic,
    queueId: '0',
    queueOffset: String(o.offset ?? 0),
    maxMsgNums: '32',
    sysFlag: String(o.sysFlag ?? PullSysFlag.SUBSCRIPTION),
    commitOffset: '0',
    suspendTimeoutMillis: String(o.suspendMs ?? 1000),
    subscription: o.subscription ?? '*',
    subVersion: '0',
    expressionType: o.expressionType ?? 'SQL92',
  });
}

function heartbeat(group: string, topic: string, subString: string, expressionType = 'SQL92'): RemotingCommand {
  return createRequest(RequestCode.HEART_BEAT, {}, Buffer.from(JSON.stringify({
    clientID: `127.0.0.1@${group}`,
    producerDataSet: [],
    consumerDataSet: [{
      groupName: group, consumeType: 'CONSUME_PASSIVELY', messageModel: 'CLUSTERING', consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET',
      subscriptionDataSet: [{ topic, subString, tagsSet: [], codeSet: [], expressionType, subVersion: 1 }],
    }],
  })));
}

function checkClientConfig(group: string, topic: string, subString: string, expressionType = 'SQL92'): RemotingCommand {
  return createRequest(RequestCode.CHECK_CLIENT_CONFIG, {}, Buffer.from(JSON.stringify({
    clientId: '127.0.0.1@x', group, namespace: null,
    subscriptionData: { topic, subString, tagsSet: [], codeSet: [], expressionType, subVersion: 1, classFilterMode: false },
  })));
}

const bodies = (r: RemotingCommand): string[] => decodeMessageRecords(r.body!).map((m) => m.body.toString());

async function sendTen(topic: string): Promise<void> {
  for (let i = 1; i <= 10; i++) await send(topic, `m${i}`, { a: String(i), b: i % 2 === 0 ? 'x' : 'y', TAGS: i <= 5 ? 'TagA' : 'TagB', KEYS: `k${i}` });
}

describe('SQL92 filtering in the broker (enablePropertyFilter=true)', () => {
  it('delivers exactly the messages whose properties match, system properties included', async () => {
    await startBroker(true);
    await sendTen('SqlT');
    const r = await bed.client.invokeOk(addr, pull('G', 'SqlT', { subscription: "a BETWEEN 3 AND 7 AND b = 'x'" }));
    expect(bodies(r)).toEqual(['m4', 'm6']);
    expect(r.extFields.nextBeginOffset).toBe('10');
    const tags = await bed.client.invokeOk(addr, pull('G', 'SqlT', { subscription: "TAGS = 'TagB' AND (a < 7 OR KEYS IN ('k10'))" }));
    expect(bodies(tags)).toEqual(['m6', 'm10']);
    const uniq = await bed.client.invokeOk(addr, pull('G', 'SqlT', { subscription: 'UNIQ_KEY IS NOT NULL AND a >= 10' }));
    expect(bodies(uniq)).toEqual(['m10']);
    expect(getProperty(decodeMessageRecords(uniq.body!)[0]!.properties, 'a')).toBe('10');
    // Nothing matches: PULL_RETRY_IMMEDIATELY past the scanned entries, as for tags.
    const none = await bed.client.invoke(addr, pull('G', 'SqlT', { subscription: "b = 'zzz'" }));
    expect(none.code).toBe(ResponseCode.PULL_RETRY_IMMEDIATELY);
    expect(none.extFields.nextBeginOffset).toBe('10');
    // A non-numeric property compared with a number fails that message only (no match).
    await send('SqlT', 'odd', { a: 'not-a-number', b: 'x' });
    const mixed = await bed.client.invokeOk(addr, pull('G', 'SqlT', { offset: 8, subscription: "a > 1 AND b = 'x'" }));
    expect(bodies(mixed)).toEqual(['m10']);
  });

  it('answers SUBSCRIPTION_PARSE_FAILED for a bad expression sent with the pull', async () => {
    await startBroker(true);
    await sendTen('SqlBad');
    const r = await bed.client.invoke(addr, pull('G', 'SqlBad', { subscription: 'a BETWEEN 3 AND' }));
    expect(r.code).toBe(ResponseCode.SUBSCRIPTION_PARSE_FAILED);
    expect(r.remark).toMatch(/column 16/);
  });

  it('filters with the heartbeat subscription; a bad one keeps the group and its pulls get FILTER_DATA_NOT_EXIST', async () => {
    await startBroker(true);
    await sendTen('SqlHb');
    await bed.client.invokeOk(addr, heartbeat('HG', 'SqlHb', "b = 'y' AND a > 6"));
    const r = await bed.client.invokeOk(addr, pull('HG', 'SqlHb', { sysFlag: 0, subscription: '', expressionType: 'TAG' }));
    expect(bodies(r)).toEqual(['m7', 'm9']);

    const hb = await bed.client.invoke(addr, heartbeat('BadG', 'SqlHb', "b = 'y' AND"));
    expect(hb.code).toBe(ResponseCode.SUCCESS);
    const ids = JSON.parse((await bed.client.invokeOk(addr, createRequest(RequestCode.GET_CONSUMER_LIST_BY_GROUP, { consumerGroup: 'BadG' }))).body!.toString());
    expect(ids.consumerIdList).toEqual(['127.0.0.1@BadG']);
    const bad = await bed.client.invoke(addr, pull('BadG', 'SqlHb', { sysFlag: 0 }));
    expect(bad.code).toBe(ResponseCode.FILTER_DATA_NOT_EXIST);
    expect(bad.remark).toMatch(/expected a value/);
  });

  it('wakes a long poll on a new message and answers PULL_RETRY_IMMEDIATELY when it does not match', async () => {
    await startBroker(true);
    await send('SqlLp', 'first', { a: '1' });
    const flags = PullSysFlag.SUBSCRIPTION | PullSysFlag.SUSPEND;
    const held = bed.client.invoke(addr, pull('G', 'SqlLp', { offset: 1, sysFlag: flags, subscription: 'a = 2', suspendMs: 10_000 }), 15_000);
    await new Promise((r) => setTimeout(r, 100));
    await send('SqlLp', 'no', { a: '3' });
    const first = await held;
    expect(first.code).toBe(ResponseCode.PULL_RETRY_IMMEDIATELY);
    expect(first.extFields.nextBeginOffset).toBe('2');
    const again = bed.client.invoke(addr, pull('G', 'SqlLp', { offset: 2, sysFlag: flags, subscription: 'a = 2', suspendMs: 10_000 }), 15_000);
    await new Promise((r) => setTimeout(r, 100));
    await send('SqlLp', 'yes', { a: '2' });
    const second = await again;
    expect(second.code).toBe(ResponseCode.SUCCESS);
    expect(bodies(second)).toEqual(['yes']);
  });

  it('checks client configs: SUCCESS for good SQL and TAG, SUBSCRIPTION_PARSE_FAILED with the position for bad SQL', async () => {
    await startBroker(true);
    expect((await bed.client.invoke(addr, checkClientConfig('G', 'T', "a BETWEEN 3 AND 7 AND b = 'x'"))).code).toBe(ResponseCode.SUCCESS);
    expect((await bed.client.invoke(addr, checkClientConfig('G', 'T', 'TagA || TagB', 'TAG'))).code).toBe(ResponseCode.SUCCESS);
    const bad = await bed.client.invoke(addr, checkClientConfig('G', 'T', "a = 'x' AND b >"));
    expect(bad.code).toBe(ResponseCode.SUBSCRIPTION_PARSE_FAILED);
    expect(bad.remark).toMatch(/^Invalid SQL92 expression at column 16: expected a value/);
    const unknownType = await bed.client.invoke(addr, checkClientConfig('G', 'T', 'a = 1', 'JAVA'));
    expect(unknownType.code).toBe(ResponseCode.SUBSCRIPTION_PARSE_FAILED);
  });
});

describe('SQL92 filtering with enablePropertyFilter=false (the default)', () => {
  it('refuses SQL92 in CHECK_CLIENT_CONFIG and in pulls with SYSTEM_ERROR', async () => {
    await startBroker(false);
    await sendTen('SqlOff');
    const check = await bed.client.invoke(addr, checkClientConfig('G', 'SqlOff', 'a > 1'));
    expect(check.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(check.remark).toBe('The broker does not support consumer to filter message by SQL92');
    const r = await bed.client.invoke(addr, pull('G', 'SqlOff', { subscription: 'a > 1' }));
    expect(r.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(r.remark).toMatch(/does not support consumer to filter message by SQL92.*enablePropertyFilter/);
    // TAG subscriptions are unaffected.
    expect((await bed.client.invoke(addr, checkClientConfig('G', 'SqlOff', '*', 'TAG'))).code).toBe(ResponseCode.SUCCESS);
    expect(bodies(await bed.client.invokeOk(addr, pull('G', 'SqlOff', { subscription: 'TagB', expressionType: 'TAG' })))).toHaveLength(5);
  });
});
