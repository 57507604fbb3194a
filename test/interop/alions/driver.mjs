#!/usr/bin/env node
// ali-ons interop driver: implements the CLI + JSON-lines contract of test/interop/DRIVERS.md
// for the pure-JavaScript RocketMQ 4.x client `ali-ons` (npm). Plain ESM, no build step.
//
//   node test/interop/alions/driver.mjs produce --namesrv ADDR --topic T --group PG --count N --mode sync|async ...
//   node test/interop/alions/driver.mjs consume --namesrv ADDR --topic T --group CG --mode push ...
//
// stdout carries JSON lines only; ali-ons' own logging goes to stderr (info/debug only when
// ALIONS_DRIVER_VERBOSE=1). See README.md next to this file for the client's quirks.

import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { format } from 'node:util';

const require = createRequire(import.meta.url);

const ASYNC_MAX_IN_FLIGHT = 64;
const READY_TIMEOUT_MS = 30_000;
const CLOSE_TIMEOUT_MS = 15_000;
const USER_PROPS = ['idx', 'runId', 'uprop'];

// ---------------------------------------------------------------------------------------------
// output

function emit(event) {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

function exitWith(code) {
  // stdout is a pipe/file in every harness; flush before leaving (ali-ons keeps timers alive,
  // so an explicit exit is needed anyway).
  process.stdout.write('', () => process.exit(code));
}

function fail(message, code = 1) {
  emit({ event: 'error', error: message });
  exitWith(code);
}

const verbose = process.env.ALIONS_DRIVER_VERBOSE === '1';
const logger = {
  info: (...args) => { if (verbose) process.stderr.write(`[ali-ons info] ${format(...args)}\n`); },
  debug: (...args) => { if (verbose) process.stderr.write(`[ali-ons debug] ${format(...args)}\n`); },
  warn: (...args) => { process.stderr.write(`[ali-ons warn] ${format(...args)}\n`); },
  error: (...args) => { process.stderr.write(`[ali-ons error] ${format(...args)}\n`); },
};

function errText(err) {
  if (err instanceof Error) {
    return err.code !== undefined ? `${err.name}(${err.code}): ${err.message}` : `${err.name}: ${err.message}`;
  }
  return String(err);
}

// ---------------------------------------------------------------------------------------------
// command line

const SPEC = {
  produce: {
    required: ['namesrv', 'topic', 'group', 'count', 'mode'],
    optional: ['run-id', 'start-index', 'body-size', 'tag', 'batch-size', 'retries', 'send-timeout-ms'],
  },
  consume: {
    required: ['namesrv', 'topic', 'group', 'mode'],
    optional: ['tag-expr', 'instance', 'timeout-ms'],
  },
};

function parseArgs(argv) {
  const command = argv[0];
  if (!command || !SPEC[command]) {
    throw new UsageError(`usage: driver.mjs produce|consume --option value ... (got ${JSON.stringify(command ?? '')})`);
  }
  const spec = SPEC[command];
  const opts = {};
  for (let i = 1; i < argv.length; i += 2) {
    const flag = argv[i];
    if (!flag.startsWith('--')) throw new UsageError(`unexpected argument ${JSON.stringify(flag)}`);
    const name = flag.slice(2);
    if (!spec.required.includes(name) && !spec.optional.includes(name)) {
      throw new UsageError(`unknown option --${name} for ${command}`);
    }
    if (i + 1 >= argv.length) throw new UsageError(`missing value for --${name}`);
    opts[name] = argv[i + 1];
  }
  for (const name of spec.required) {
    if (opts[name] === undefined) throw new UsageError(`missing required option --${name}`);
  }
  return { command, opts };
}

class UsageError extends Error {}

function intOpt(opts, name, dflt, min = 0) {
  const raw = opts[name];
  if (raw === undefined) return dflt;
  if (!/^-?\d+$/.test(raw)) throw new UsageError(`--${name} must be an integer, got ${JSON.stringify(raw)}`);
  const v = Number(raw);
  if (!Number.isSafeInteger(v) || v < min) throw new UsageError(`--${name} must be >= ${min}, got ${raw}`);
  return v;
}

function nameServers(raw) {
  const list = raw.split(';').map((s) => s.trim()).filter(Boolean);
  if (list.length === 0) throw new UsageError('--namesrv is empty');
  return list;
}

// ---------------------------------------------------------------------------------------------
// deterministic message content (DRIVERS.md "Message content")

function buildBody(runId, index, bodySize) {
  const prefix = Buffer.from(`${runId}-${index}|`, 'latin1');
  const len = Math.max(bodySize, prefix.length);
  const body = Buffer.alloc(len);
  prefix.copy(body, 0);
  for (let k = 0; prefix.length + k < len; k++) {
    body[prefix.length + k] = (k * 7 + index) & 0xff;
  }
  return body;
}

function sha256Hex(buf) {
  return createHash('sha256').update(buf ?? Buffer.alloc(0)).digest('hex');
}

// ali-ons needs the `httpclient` option even when `nameSrv` is set (it only uses it to query the
// Aliyun address server). Make any such use fail loudly instead of reaching the internet.
const noHttp = {
  async request(url) {
    throw new Error(`ali-ons tried an HTTP address-server lookup (${url}); --namesrv should prevent that`);
  },
};

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
    }),
  ]);
}

// ---------------------------------------------------------------------------------------------
// produce

async function produce(opts) {
  const mode = opts.mode;
  if (mode === 'oneway') {
    return fail('ali-ons has no oneway send API (Producer only exposes the promise-based send())', 2);
  }
  if (mode === 'batch') {
    return fail('ali-ons has no batch send API (no SEND_BATCH_MESSAGE support)', 2);
  }
  if (mode !== 'sync' && mode !== 'async') {
    return fail(`unknown produce mode ${JSON.stringify(mode)}`, 2);
  }
  const count = intOpt(opts, 'count', 0, 0);
  const startIndex = intOpt(opts, 'start-index', 0, 0);
  const bodySize = intOpt(opts, 'body-size', 64, 0);
  intOpt(opts, 'batch-size', 8, 1); // validated for contract compatibility; unused (no batch API)
  const retries = intOpt(opts, 'retries', undefined, 0);
  const sendTimeout = intOpt(opts, 'send-timeout-ms', undefined, 1);
  const runId = opts['run-id'] ?? `r${Date.now().toString(36)}`;
  const tag = opts.tag;

  const { Producer, Message } = require('ali-ons');
  const options = {
    logger,
    httpclient: noHttp,
    nameSrv: nameServers(opts.namesrv),
    producerGroup: opts.group,
  };
  if (retries !== undefined) options.retryTimesWhenSendFailed = retries;
  if (sendTimeout !== undefined) options.sendMsgTimeout = sendTimeout;

  const producer = new Producer(options);
  producer.on('error', (err) => logger.error('producer error: %s', errText(err)));
  await withTimeout(producer.ready(), READY_TIMEOUT_MS, 'producer start');

  const makeMessage = (index) => {
    const body = buildBody(runId, index, bodySize);
    const msg = tag !== undefined ? new Message(opts.topic, tag, body) : new Message(opts.topic, body);
    // ali-ons always creates a TAGS entry; with no tag it would be serialized as the literal
    // string "null" (see README). The contract says "no tag", so drop it.
    if (tag === undefined) delete msg.properties.TAGS;
    msg.keys = [`key-${runId}-${index}`, `k2-${index}`];
    msg.properties.idx = String(index);
    msg.properties.runId = runId;
    msg.properties.uprop = `v-é-${index}`;
    msg.flag = index % 5;
    // compute before send(): ali-ons deflates bodies >= 4 KiB in place
    return { msg, bodySha256: sha256Hex(body) };
  };

  let sent = 0;
  let failed = 0;
  const sendOne = async (index) => {
    const { msg, bodySha256 } = makeMessage(index);
    try {
      const r = await producer.send(msg);
      sent++;
      // ali-ons sets no UNIQ_KEY; its SendResult.msgId is the broker's offset message id.
      emit({
        event: 'sent',
        index,
        status: r.sendStatus,
        msgId: r.msgId,
        offsetMsgId: r.msgId,
        queueId: Number(r.messageQueue.queueId),
        queueOffset: Number(r.queueOffset),
        bodySha256,
      });
    } catch (err) {
      failed++;
      emit({ event: 'send-error', index, error: errText(err) });
    }
  };

  const end = startIndex + count;
  if (mode === 'sync') {
    for (let index = startIndex; index < end; index++) {
      await sendOne(index);
    }
  } else {
    const inFlight = new Set();
    for (let index = startIndex; index < end; index++) {
      while (inFlight.size >= ASYNC_MAX_IN_FLIGHT) await Promise.race(inFlight);
      const p = sendOne(index).finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    await Promise.all(inFlight);
  }

  try {
    await withTimeout(producer.close(), CLOSE_TIMEOUT_MS, 'producer close');
  } catch (err) {
    logger.warn('producer close: %s', errText(err));
  }
  emit({ event: 'done', sent, failed });
  exitWith(0);
}

// ---------------------------------------------------------------------------------------------
// consume

async function consume(opts) {
  if (opts.mode === 'litepull') {
    return fail('ali-ons has no lite-pull consumer (only the push-style Consumer)', 2);
  }
  if (opts.mode !== 'push') {
    return fail(`unknown consume mode ${JSON.stringify(opts.mode)}`, 2);
  }
  const timeoutMs = intOpt(opts, 'timeout-ms', 120_000, 1);
  const instance = opts.instance ?? `alions-${process.pid}`;
  const tagExpr = opts['tag-expr'] ?? '*';

  const { Consumer } = require('ali-ons');
  const consumer = new Consumer({
    logger,
    httpclient: noHttp,
    nameSrv: nameServers(opts.namesrv),
    consumerGroup: opts.group,
    // clientId = `${clientIP}@${instanceName}`; must differ between processes of one group
    instanceName: instance,
    consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET',
  });
  consumer.on('error', (err) => logger.error('consumer error: %s', errText(err)));

  let received = 0;
  // ali-ons starts pulling (and calling the handler) before consumer.ready() resolves; hold
  // deliveries until the ready event is out so the output order is ready, received...
  let markReady;
  const readyPrinted = new Promise((resolve) => { markReady = resolve; });
  consumer.subscribe(opts.topic, tagExpr, async (msg) => {
    await readyPrinted;
    received++;
    const p = msg.properties || {};
    const props = {};
    for (const k of USER_PROPS) if (p[k] !== undefined && p[k] !== null) props[k] = p[k];
    const idx = p.idx !== undefined && /^\d+$/.test(p.idx) ? Number(p.idx) : null;
    emit({
      event: 'received',
      instance,
      index: idx,
      runId: p.runId ?? null,
      topic: msg.topic,
      queueId: msg.queueId,
      queueOffset: msg.queueOffset,
      // ali-ons computes msg.msgId from storeHost + commitLogOffset (an offset msg id);
      // the client-side id only exists if the producer set UNIQ_KEY.
      msgId: p.UNIQ_KEY ?? msg.msgId,
      offsetMsgId: msg.msgId,
      tag: msg.tags ?? null,
      keys: msg.keys ?? null,
      props,
      flag: msg.flag,
      reconsumeTimes: msg.reconsumeTimes,
      bodySha256: sha256Hex(msg.body),
    });
  });

  await withTimeout(consumer.ready(), READY_TIMEOUT_MS, 'consumer start');
  emit({ event: 'ready' });
  markReady();

  let timer;
  await new Promise((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
    const rl = createInterface({ input: process.stdin });
    rl.on('line', (line) => { if (line.trim() === 'stop') resolve(); });
    rl.on('close', resolve);
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  clearTimeout(timer);

  try {
    // close(): persists offsets (UPDATE_CONSUMER_OFFSET, oneway) then UNREGISTER_CLIENT on the same
    // connection, so the broker has the offsets once the unregister answer arrives.
    await withTimeout(consumer.close(), CLOSE_TIMEOUT_MS, 'consumer close');
  } catch (err) {
    logger.warn('consumer close: %s', errText(err));
  }
  emit({ event: 'done', received });
  exitWith(0);
}

// ---------------------------------------------------------------------------------------------

async function main() {
  let parsed;
  try {
    parsed = parseArgs(process.argv.slice(2));
  } catch (err) {
    return fail(err.message, 2);
  }
  try {
    if (parsed.command === 'produce') await produce(parsed.opts);
    else await consume(parsed.opts);
  } catch (err) {
    if (err instanceof UsageError) fail(err.message, 2);
    else fail(errText(err), 1);
  }
}

process.on('unhandledRejection', (err) => logger.error('unhandled rejection: %s', errText(err)));
main();
