// RocketMQ-side helpers for the e2e scenarios: admin requests to brokers and name servers at the
// addresses the cluster gives them.
import { silentLogger } from '../../../broker/src/common/logger.js';
import { createRequest } from '../../../broker/src/protocol/remoting.js';
import { RemotingClient } from '../../../broker/src/transport/client.js';

const UPDATE_AND_CREATE_TOPIC = 17;
const GET_ROUTEINFO_BY_TOPIC = 105;
const GET_BROKER_CLUSTER_INFO = 106;

/** Creates a topic on a broker (what `mqadmin updateTopic -b` sends) and waits until the name server routes it. */
export async function createTopicAt(brokerAddr: string, namesrvAddr: string, topic: string, queues = 4): Promise<void> {
  const client = new RemotingClient(silentLogger());
  try {
    await client.invokeOk(brokerAddr, createRequest(UPDATE_AND_CREATE_TOPIC, { topic, defaultTopic: 'TBW102', readQueueNums: String(queues), writeQueueNums: String(queues), perm: '6', topicFilterType: 'SINGLE_TAG', topicSysFlag: '0', order: 'false' }));
    const deadline = Date.now() + 30_000;
    for (;;) {
      const r = await client.invoke(namesrvAddr, createRequest(GET_ROUTEINFO_BY_TOPIC, { topic }));
      if (r.code === 0) return;
      if (Date.now() > deadline) throw new Error(`topic ${topic} created on ${brokerAddr} did not appear in the routes of name server ${namesrvAddr} within 30 s (last answer code ${r.code}: ${r.remark ?? ''})`);
      await new Promise((res) => setTimeout(res, 200));
    }
  } finally {
    await client.close();
  }
}

/** The name server's cluster view: brokerName → { brokerId → address }. */
export async function brokerAddrTable(namesrvAddr: string): Promise<Record<string, Record<string, string>>> {
  const client = new RemotingClient(silentLogger());
  try {
    const r = await client.invokeOk(namesrvAddr, createRequest(GET_BROKER_CLUSTER_INFO, {}));
    const text = r.body ? r.body.toString('utf8') : '{}';
    // fastjson-style keys may be bare numbers: {0:"addr"}; quote them before JSON.parse.
    const body = JSON.parse(text.replace(/([{,])\s*(\d+)\s*:/g, '$1"$2":')) as { brokerAddrTable?: Record<string, { brokerAddrs?: Record<string, string> }> };
    return Object.fromEntries(Object.entries(body.brokerAddrTable ?? {}).map(([name, d]) => [name, d.brokerAddrs ?? {}]));
  } finally {
    await client.close();
  }
}

const DELETE_TOPIC_IN_BROKER = 215;
const DELETE_TOPIC_IN_NAMESRV = 216;

export interface QueueData {
  brokerName: string;
  readQueueNums: number;
  writeQueueNums: number;
  perm: number;
}

/** The name server's route of a topic: its queue data per broker group, or undefined when it has none. */
export async function topicRoute(namesrvAddr: string, topic: string): Promise<QueueData[] | undefined> {
  const client = new RemotingClient(silentLogger());
  try {
    const r = await client.invoke(namesrvAddr, createRequest(GET_ROUTEINFO_BY_TOPIC, { topic }));
    if (r.code !== 0 || !r.body) return undefined;
    const text = r.body.toString('utf8').replace(/([{,])\s*(\d+)\s*:/g, '$1"$2":');
    return (JSON.parse(text) as { queueDatas?: QueueData[] }).queueDatas ?? [];
  } finally {
    await client.close();
  }
}

/** Deletes a topic behind the operator's back, as `mqadmin deleteTopic` does: on the brokers, then on the name server. */
export async function deleteTopicOutOfBand(brokerAddrs: string[], namesrvAddr: string, topic: string): Promise<void> {
  const client = new RemotingClient(silentLogger());
  try {
    for (const b of brokerAddrs) await client.invokeOk(b, createRequest(DELETE_TOPIC_IN_BROKER, { topic }));
    await client.invokeOk(namesrvAddr, createRequest(DELETE_TOPIC_IN_NAMESRV, { topic }));
  } finally {
    await client.close();
  }
}
