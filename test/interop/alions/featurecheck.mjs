#!/usr/bin/env node
// ali-ons feature checks, JSON lines on stdout (ali-ons logs go to stderr):
//
//   featurecheck.mjs delay --namesrv A --topic T --level N
//     a consumer, then one message with delayTimeLevel N: {"event":"sent","at"} {"event":"received","at",...}
//   featurecheck.mjs retry --namesrv A --topic T --group G --fail N
//     the handler throws for the first N deliveries (ali-ons sends them back, CONSUMER_SEND_MSG_BACK):
//     {"event":"attempt","reconsumeTimes":k,"topic":..,"at":..} per delivery
//   featurecheck.mjs broadcast --namesrv A --topic T --count N
//     two isBroadcast consumers of one group (local offsets under $HOME); N messages:
//     {"event":"consumer","instance":..,"distinct":k,"total":t}
//
// Ends with {"event":"done"} (exit 0) or {"event":"error",...} (exit 1).
import { createRequire } from 'node:module';
import { format } from 'node:util';

const require = createRequire(import.meta.url);
const { Consumer, Producer, Message } = require('ali-ons');

const emit = (e) => process.stdout.write(`${JSON.stringify(e)}\n`);
const exit = (code) => process.stdout.write('', () => process.exit(code));
const logger = {
  info: () => {},
  debug: () => {},
  warn: (...a) => process.stderr.write(`[ali-ons warn] ${format(...a)}\n`),
  error: (...a) => process.stderr.write(`[ali-ons error] ${format(...a)}\n`),
};
// ali-ons wants an httpclient even with nameSrv; make any use fail loudly.
const httpclient = { request: async (url) => { throw new Error(`unexpected address-server lookup ${url}`); } };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function args() {
  const [mode, ...rest] = process.argv.slice(2);
  const o = { mode };
  for (let i = 0; i < rest.length; i += 2) o[rest[i].replace(/^--/, '')] = rest[i + 1];
  for (const k of ['namesrv', 'topic']) if (!o[k]) throw new Error(`missing --${k}`);
  return o;
}

function consumer(o, group, extra = {}) {
  const c = new Consumer({ logger, httpclient, nameSrv: o.namesrv.split(';'), consumerGroup: group, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', ...extra });
  c.on('error', (err) => logger.error('consumer: %s', err.message));
  return c;
}

async function producer(o) {
  const p = new Producer({ logger, httpclient, nameSrv: o.namesrv.split(';'), producerGroup: `PG_alions_feat_${Date.now()}` });
  p.on('error', (err) => logger.error('producer: %s', err.message));
  await p.ready();
  return p;
}

async function until(cond, ms, what) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

async function delay(o) {
  let got;
  const c = consumer(o, `CG_alions_delay_${Date.now()}`);
  c.subscribe(o.topic, '*', async (msg) => {
    got ??= { event: 'received', at: Date.now(), body: msg.body.toString(), storeTimestamp: msg.storeTimestamp, bornTimestamp: msg.bornTimestamp, delayLevelProp: msg.properties?.DELAY ?? null };
  });
  await c.ready();
  await sleep(2000); // let it take its queues
  const p = await producer(o);
  const msg = new Message(o.topic, 'TagD', Buffer.from('alions-delayed'));
  msg.delayTimeLevel = Number(o.level);
  const at = Date.now();
  const r = await p.send(msg);
  emit({ event: 'sent', at, status: r.sendStatus });
  await until(() => got, 60_000, 'the delayed message');
  emit(got);
  await p.close();
  await c.close();
}

async function retry(o) {
  const fail = Number(o.fail);
  const attempts = [];
  const c = consumer(o, o.group, { maxReconsumeTimes: 16 });
  c.subscribe(o.topic, '*', async (msg) => {
    attempts.push({ event: 'attempt', reconsumeTimes: msg.reconsumeTimes, topic: msg.topic, at: Date.now(), body: msg.body.toString() });
    if (attempts.length <= fail) throw new Error(`failing attempt ${attempts.length} on purpose`);
  });
  await c.ready();
  await sleep(2000);
  const p = await producer(o);
  await p.send(new Message(o.topic, 'TagR', Buffer.from('alions-retry')));
  await until(() => attempts.length > fail, 90_000, `${fail + 1} attempts`);
  await sleep(1500); // a duplicate would show up here
  for (const a of attempts) emit(a);
  await p.close();
  await c.close();
}

async function broadcast(o) {
  const count = Number(o.count);
  const group = `CG_alions_bc_${Date.now()}`;
  const members = ['bc-a', 'bc-b'].map((name) => ({ name, ids: new Set(), total: 0, c: consumer(o, group, { isBroadcast: true, instanceName: name }) }));
  for (const m of members) {
    m.c.subscribe(o.topic, '*', async (msg) => {
      m.ids.add(msg.msgId);
      m.total++;
    });
  }
  await Promise.all(members.map((m) => m.c.ready()));
  await sleep(2000);
  const p = await producer(o);
  for (let i = 0; i < count; i++) await p.send(new Message(o.topic, 'TagB', Buffer.from(`bc-${i}`)));
  await until(() => members.every((m) => m.ids.size >= count), 60_000, 'every member to get every message');
  await sleep(1000);
  for (const m of members) emit({ event: 'consumer', instance: m.name, distinct: m.ids.size, total: m.total });
  await p.close();
  for (const m of members) await m.c.close();
}

try {
  const o = args();
  const run = { delay, retry, broadcast }[o.mode];
  if (!run) throw new Error(`unknown mode ${o.mode} (delay|retry|broadcast)`);
  await run(o);
  emit({ event: 'done' });
  exit(0);
} catch (err) {
  emit({ event: 'error', error: String(err?.stack ?? err) });
  exit(1);
}
