#!/usr/bin/env node
// Checks the JSON-lines output of one selftest.sh run (see there). Usage:
//   node selftest-verify.mjs <workdir> <topic> <body-size> <phase>:<runId>:<tag>:<file> ... -- <consumer-out> ...
// Every acknowledged send must be received exactly once across the consumer files, with the
// same bodySha256 (also recomputed from the DRIVERS.md recipe), tag, keys, props, flag,
// queueId, queueOffset and offsetMsgId. Phases whose tag is prefixed with "!" are expected to be
// filtered out by the subscription (received zero times). Prints a JSON summary; exit 0/1.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const [, topic, bodySizeArg] = args;
const sep = args.indexOf('--');
const phaseSpecs = args.slice(3, sep);
const consumerFiles = args.slice(sep + 1);
const bodySize = Number(bodySizeArg);

const problems = [];
const lines = (file) => readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l, n) => {
  try {
    return JSON.parse(l);
  } catch {
    problems.push(`${file}:${n + 1}: not JSON: ${l.slice(0, 120)}`);
    return {};
  }
});

function expectedBody(runId, i) {
  const prefix = Buffer.from(`${runId}-${i}|`, 'latin1');
  const len = Math.max(bodySize, prefix.length);
  const b = Buffer.alloc(len);
  prefix.copy(b);
  for (let k = 0; prefix.length + k < len; k++) b[prefix.length + k] = (k * 7 + i) & 0xff;
  return b;
}
const sha = (b) => createHash('sha256').update(b).digest('hex');

// ---- sent side
const expected = new Map(); // `${runId}/${index}` -> { sent, tag, filtered, phase }
const summary = { phases: {}, consumers: {} };
for (const spec of phaseSpecs) {
  const [phase, runId, rawTag, file] = spec.split(':');
  const filtered = rawTag.startsWith('!');
  const tag = filtered ? rawTag.slice(1) : rawTag;
  const ev = lines(file);
  const sent = ev.filter((e) => e.event === 'sent');
  const errors = ev.filter((e) => e.event === 'send-error');
  const done = ev.find((e) => e.event === 'done');
  summary.phases[phase] = { runId, tag, filtered, sent: sent.length, sendErrors: errors.length, done: done ?? null };
  if (!done) problems.push(`${phase}: producer printed no done event`);
  else if (done.sent !== sent.length || done.failed !== errors.length) problems.push(`${phase}: done counts ${JSON.stringify(done)} disagree with events`);
  for (const e of errors) problems.push(`${phase}: send-error index ${e.index}: ${e.error}`);
  for (const s of sent) {
    if (s.status !== 'SEND_OK') problems.push(`${phase}: index ${s.index} status ${s.status}`);
    const want = sha(expectedBody(runId, s.index));
    if (s.bodySha256 !== want) problems.push(`${phase}: index ${s.index} sent bodySha256 ${s.bodySha256} != recipe ${want}`);
    for (const f of ['msgId', 'offsetMsgId']) if (typeof s[f] !== 'string' || !s[f]) problems.push(`${phase}: index ${s.index} missing ${f}`);
    for (const f of ['queueId', 'queueOffset']) if (!Number.isInteger(s[f])) problems.push(`${phase}: index ${s.index} ${f} not an integer`);
    const key = `${runId}/${s.index}`;
    if (expected.has(key)) problems.push(`${phase}: index ${s.index} acknowledged twice`);
    expected.set(key, { sent: s, tag, filtered, phase, runId });
  }
}

// ---- received side
const seen = new Map();
for (const file of consumerFiles) {
  const ev = lines(file);
  const rec = ev.filter((e) => e.event === 'received');
  const done = ev.find((e) => e.event === 'done');
  const name = rec[0]?.instance ?? file;
  summary.consumers[file.split('/').pop()] = { instance: name, received: rec.length, ready: ev.some((e) => e.event === 'ready'), done: done ?? null };
  if (!ev.some((e) => e.event === 'ready')) problems.push(`${file}: no ready event`);
  if (!done) problems.push(`${file}: no done event`);
  else if (done.received !== rec.length) problems.push(`${file}: done.received ${done.received} != ${rec.length} received events`);
  for (const r of rec) {
    const key = `${r.runId}/${r.index}`;
    if (!seen.has(key)) seen.set(key, []);
    seen.get(key).push({ ...r, file });
  }
}

let delivered = 0;
for (const [key, exp] of expected) {
  const got = seen.get(key) ?? [];
  const { sent, tag, filtered, phase, runId } = exp;
  const i = sent.index;
  if (filtered) {
    if (got.length !== 0) problems.push(`${phase}: index ${i} has tag ${tag} (not subscribed) but was received ${got.length}x`);
    continue;
  }
  if (got.length !== 1) {
    problems.push(`${phase}: index ${i} received ${got.length}x (want exactly 1)${got.length ? ` by ${got.map((g) => g.instance).join(',')}` : ''}`);
    if (got.length === 0) continue;
  }
  delivered++;
  const r = got[0];
  const want = {
    topic,
    bodySha256: sent.bodySha256,
    tag,
    keys: `key-${runId}-${i} k2-${i}`,
    flag: i % 5,
    reconsumeTimes: 0,
    queueId: sent.queueId,
    queueOffset: sent.queueOffset,
    offsetMsgId: sent.offsetMsgId,
  };
  for (const [f, v] of Object.entries(want)) {
    if (r[f] !== v) problems.push(`${phase}: index ${i} received ${f}=${JSON.stringify(r[f])} want ${JSON.stringify(v)}`);
  }
  const wantProps = { idx: String(i), runId, uprop: `v-é-${i}` };
  if (JSON.stringify(r.props) !== JSON.stringify(wantProps)) problems.push(`${phase}: index ${i} props ${JSON.stringify(r.props)} want ${JSON.stringify(wantProps)}`);
  if (typeof r.msgId !== 'string' || !r.msgId) problems.push(`${phase}: index ${i} received without msgId`);
}
for (const [key, got] of seen) {
  if (!expected.has(key)) problems.push(`received a message that was never acknowledged: ${key} (${got.length}x)`);
}

summary.expectedDeliveries = [...expected.values()].filter((e) => !e.filtered).length;
summary.delivered = delivered;
summary.totalReceivedEvents = [...seen.values()].reduce((a, g) => a + g.length, 0);
summary.ok = problems.length === 0;
summary.problems = problems.slice(0, 40);
if (problems.length > 40) summary.problemsOmitted = problems.length - 40;
process.stdout.write(`${JSON.stringify(summary, null, 1)}\n`);
process.exit(summary.ok ? 0 : 1);
