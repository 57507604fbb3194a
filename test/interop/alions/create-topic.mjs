#!/usr/bin/env node
// Creates (or updates) a topic on every master broker of the cluster, using only ali-ons'
// own remoting layer (no Java mqadmin needed):
//   GET_BROKER_CLUSTER_INFO (106) to the name server, then UPDATE_AND_CREATE_TOPIC (17) to each
//   master (brokerAddrs key 0). ali-ons itself cannot auto-create topics (see README.md), so
//   selftest.sh uses this before producing.
//
//   node test/interop/alions/create-topic.mjs <namesrv[;namesrv]> <topic> [queueNums=4]
//
// Prints one JSON line {"event":"topic-created",...} per broker, or {"event":"error",...}; exit 0/1.

import { createRequire } from 'node:module';
import { format } from 'node:util';

const require = createRequire(import.meta.url);
const MQClientAPI = require('ali-ons/lib/mq_client_api');
const RemotingCommand = require('ali-ons/lib/protocol/command/remoting_command');
const RequestCode = require('ali-ons/lib/protocol/request_code');
// JSON2 is ali-ons' own dependency; resolve it from there
const JSON2 = createRequire(require.resolve('ali-ons'))('JSON2');

const [namesrvArg, topic, queueArg] = process.argv.slice(2);
if (!namesrvArg || !topic) {
  process.stdout.write(`${JSON.stringify({ event: 'error', error: 'usage: create-topic.mjs <namesrv> <topic> [queueNums]' })}\n`);
  process.exit(2);
}
const queueNums = queueArg ? Number(queueArg) : 4;

const logger = {
  info() {},
  debug() {},
  warn: (...a) => process.stderr.write(`[ali-ons warn] ${format(...a)}\n`),
  error: (...a) => process.stderr.write(`[ali-ons error] ${format(...a)}\n`),
};

function out(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

async function main() {
  const api = new MQClientAPI({
    logger,
    httpclient: { async request() { throw new Error('no address server'); } },
    nameSrv: namesrvArg.split(';').filter(Boolean),
    responseTimeout: 5000,
  });
  await api.ready();
  const req = RemotingCommand.createRequestCommand(RequestCode.GET_BROKER_CLUSTER_INFO, {});
  const res = await api.invokeForNameSrvAtLeastOnce(req, 5000);
  if (res.code !== 0 || !res.body) throw new Error(`GET_BROKER_CLUSTER_INFO failed: code=${res.code} remark=${res.remark}`);
  // fastjson may write bare numeric keys ({0:"ip:port"}); ali-ons parses route data with JSON2 too
  const info = JSON2.parse(res.body.toString());
  const masters = Object.values(info.brokerAddrTable || {})
    .map((bd) => bd.brokerAddrs && (bd.brokerAddrs[0] ?? bd.brokerAddrs['0']))
    .filter(Boolean);
  if (masters.length === 0) throw new Error(`no master broker registered: ${res.body.toString()}`);
  for (const addr of masters) {
    await api.createTopic(addr, 'TBW102', {
      topicName: topic,
      readQueueNums: queueNums,
      writeQueueNums: queueNums,
      perm: 6,
      topicFilterType: 'SINGLE_TAG',
      topicSysFlag: 0,
      order: false,
    }, 5000);
    out({ event: 'topic-created', topic, broker: addr, queueNums });
  }
  await api.close();
}

const guard = setTimeout(() => {
  out({ event: 'error', error: 'create-topic timed out after 20 s' });
  process.exit(1);
}, 20_000);

main().then(() => {
  clearTimeout(guard);
  process.exit(0);
}, (err) => {
  out({ event: 'error', error: `${err.name}${err.code !== undefined ? `(${err.code})` : ''}: ${err.message}` });
  process.exit(1);
});
