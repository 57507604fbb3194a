#!/usr/bin/env bash
# Self-test of the Go interop driver against a running RocketMQ name server + broker (the official
# Apache broker or ours).
#
#   bash test/interop/go/selftest.sh NAMESRV_ADDR [MESSAGES_PER_MODE]
#
# 1. builds the driver, creates a fresh topic (4 queues) on every master broker,
# 2. starts two push consumers (two processes, distinct instance names) in one new group,
# 3. produces MESSAGES_PER_MODE (default 50) messages each with sync, async, oneway and batch,
# 4. checks that every sent message was received exactly once by the group, with the expected
#    body sha256 / tag / keys / user properties / flag, and the same msgId / offsetMsgId / queue
#    as the send result, and that both consumers got messages,
# 5. stops them (offsets are committed on shutdown), produces 20 more messages, starts a third
#    consumer in the same group and checks it gets exactly those 20 (i.e. no redelivery).
# Every wait is bounded; the whole run takes about a minute. Exit 0 = pass.
set -euo pipefail

NAMESRV="${1:-}"
PER_MODE="${2:-50}"
if [[ -z "$NAMESRV" ]]; then
  echo "usage: $0 NAMESRV_ADDR [MESSAGES_PER_MODE]" >&2
  exit 2
fi
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DRV="$DIR/bin/rmq-go-driver"
bash "$DIR/build.sh"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/rmq-go-selftest.XXXXXX")"
STAMP="$(date +%s)_$$"
TOPIC="GoSelfTest_$STAMP"
CG="go_selftest_cg_$STAMP"
PG="go_selftest_pg_$STAMP"
RUN="gst$STAMP"
TAG="TagA"
CPIDS=()

cleanup() {
  local rc=$?
  for fd in 7 8 9; do eval "exec $fd>&-" 2>/dev/null || true; done
  for p in "${CPIDS[@]:-}"; do
    [[ -n "$p" ]] && kill "$p" 2>/dev/null || true
  done
  if [[ $rc -ne 0 ]]; then
    echo "selftest: FAILED (rc=$rc); outputs kept in $WORK" >&2
  elif [[ -z "${KEEP_WORK:-}" ]]; then
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

log() { echo "selftest: $*" >&2; }

# wait_for FILE PATTERN COUNT TIMEOUT_S : wait until FILE has >= COUNT lines matching PATTERN
wait_for() {
  local file="$1" pat="$2" want="$3" tmo="$4" i n
  for ((i = 0; i < tmo * 5; i++)); do
    n=$(grep -c -- "$pat" "$file" 2>/dev/null || true)
    [[ "${n:-0}" -ge "$want" ]] && return 0
    sleep 0.2
  done
  return 1
}

# start_consumer NAME FD : consumer whose stdin is a FIFO held open on file descriptor FD
start_consumer() {
  local name="$1" fd="$2"
  mkfifo "$WORK/$name.in"
  "$DRV" consume --namesrv "$NAMESRV" --topic "$TOPIC" --group "$CG" --mode push \
    --instance "$name" --timeout-ms 240000 \
    <"$WORK/$name.in" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  CPIDS+=($!)
  eval "exec $fd>\"$WORK/$name.in\""
}

stop_consumer() { # NAME FD
  local name="$1" fd="$2"
  echo stop >&"$fd" || true
  eval "exec $fd>&-"
}

count_received() { cat "$@" 2>/dev/null | grep -c '"event":"received"' || true; }

log "namesrv=$NAMESRV topic=$TOPIC group=$CG work=$WORK"
"$DRV" create-topic --namesrv "$NAMESRV" --topic "$TOPIC" --queues 4 --wait-ms 40000 >"$WORK/create.out" 2>"$WORK/create.err" \
  || { cat "$WORK/create.out" "$WORK/create.err" >&2; exit 1; }
log "$(cat "$WORK/create.out")"

# ---- phase 1: two consumers, four producer modes -------------------------------------------
start_consumer c1 7
start_consumer c2 8
wait_for "$WORK/c1.out" '"event":"ready"' 1 60 || { log "c1 not ready"; cat "$WORK/c1.out" "$WORK/c1.err" >&2; exit 1; }
wait_for "$WORK/c2.out" '"event":"ready"' 1 60 || { log "c2 not ready"; cat "$WORK/c2.out" "$WORK/c2.err" >&2; exit 1; }
# Let the group rebalance settle (c2's heartbeat -> NOTIFY_CONSUMER_IDS_CHANGED -> c1 rebalances)
# before anything is produced, so no queue changes hands while it has unconsumed messages.
sleep "${SETTLE_S:-6}"

T0=$(date +%s%N)
idx=0
for mode in sync async oneway batch; do
  "$DRV" produce --namesrv "$NAMESRV" --topic "$TOPIC" --group "$PG" --count "$PER_MODE" --mode "$mode" \
    --run-id "$RUN" --start-index "$idx" --tag "$TAG" --batch-size 8 \
    >"$WORK/p-$mode.out" 2>"$WORK/p-$mode.err" || { log "producer $mode failed"; cat "$WORK/p-$mode.err" >&2; exit 1; }
  log "produce $mode: $(grep '"event":"done"' "$WORK/p-$mode.out")"
  idx=$((idx + PER_MODE))
done
TOTAL=$idx

for ((i = 0; i < 450; i++)); do # <= 90 s
  [[ $(count_received "$WORK/c1.out" "$WORK/c2.out") -ge $TOTAL ]] && break
  sleep 0.2
done
T1=$(date +%s%N)
sleep 3 # catch late duplicates
stop_consumer c1 7
stop_consumer c2 8
wait_for "$WORK/c1.out" '"event":"done"' 1 40 || { log "c1 did not finish"; exit 1; }
wait_for "$WORK/c2.out" '"event":"done"' 1 40 || { log "c2 did not finish"; exit 1; }
log "phase 1: received $(count_received "$WORK/c1.out") (c1) + $(count_received "$WORK/c2.out") (c2) of $TOTAL in $(((T1 - T0) / 1000000)) ms"

# ---- phase 2: committed offsets survive shutdown ---------------------------------------------
"$DRV" produce --namesrv "$NAMESRV" --topic "$TOPIC" --group "$PG" --count 20 --mode sync \
  --run-id "$RUN" --start-index "$TOTAL" --tag "$TAG" >"$WORK/p-resume.out" 2>"$WORK/p-resume.err" \
  || { log "resume producer failed"; cat "$WORK/p-resume.err" >&2; exit 1; }
start_consumer c3 9
wait_for "$WORK/c3.out" '"event":"ready"' 1 60 || { log "c3 not ready"; cat "$WORK/c3.err" >&2; exit 1; }
wait_for "$WORK/c3.out" '"event":"received"' 20 60 || log "c3 got fewer than 20 messages in 60 s"
sleep 3
stop_consumer c3 9
wait_for "$WORK/c3.out" '"event":"done"' 1 40 || { log "c3 did not finish"; exit 1; }
log "phase 2: c3 received $(count_received "$WORK/c3.out") (expected 20)"

# ---- verification ------------------------------------------------------------------------------
WORK="$WORK" RUN="$RUN" TAG="$TAG" TOPIC="$TOPIC" PER_MODE="$PER_MODE" node --input-type=module - <<'JS'
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
const { WORK, RUN, TAG, TOPIC } = process.env;
const PER = Number(process.env.PER_MODE);
const lines = (f) => readFileSync(`${WORK}/${f}`, 'utf8').split('\n').filter(Boolean).map((l) => {
  try { return JSON.parse(l); } catch { throw new Error(`${f}: non-JSON line on stdout: ${l}`); }
});
const errors = [];
const fail = (m) => { if (errors.length < 40) errors.push(m); };
function body(i, size = 64) {
  const p = Buffer.from(`${RUN}-${i}|`, 'ascii');
  const b = Buffer.alloc(Math.max(size, p.length));
  p.copy(b);
  for (let k = 0; p.length + k < b.length; k++) b[p.length + k] = (k * 7 + i) & 0xff;
  return b;
}
const sha = (i) => createHash('sha256').update(body(i)).digest('hex');

// sent
const sent = new Map();
const modes = ['sync', 'async', 'oneway', 'batch'];
modes.forEach((mode, m) => {
  const ev = lines(`p-${mode}.out`);
  const done = ev.find((e) => e.event === 'done');
  if (!done || done.sent !== PER || done.failed !== 0) fail(`${mode}: done=${JSON.stringify(done)}`);
  for (const e of ev.filter((e) => e.event === 'sent')) {
    if (e.index < m * PER || e.index >= (m + 1) * PER) fail(`${mode}: index ${e.index} out of range`);
    if (sent.has(e.index)) fail(`${mode}: index ${e.index} reported sent twice`);
    if (e.bodySha256 !== sha(e.index)) fail(`${mode}: index ${e.index} sent sha mismatch`);
    if (mode !== 'oneway' && e.status !== 'SEND_OK') fail(`${mode}: index ${e.index} status ${e.status}`);
    if (mode !== 'oneway' && !(e.msgId && e.offsetMsgId && e.queueId >= 0 && e.queueOffset >= 0)) fail(`${mode}: incomplete sent event ${JSON.stringify(e)}`);
    sent.set(e.index, { ...e, mode });
  }
  for (const e of ev.filter((e) => e.event === 'send-error')) fail(`${mode}: send-error ${JSON.stringify(e)}`);
});
const TOTAL = 4 * PER;
if (sent.size !== TOTAL) fail(`sent ${sent.size} of ${TOTAL}`);

function check(files, lo, hi, label) {
  const got = new Map();
  const per = {};
  for (const f of files) {
    const ev = lines(f);
    if (ev[0]?.event !== 'ready') fail(`${f}: first event is not ready`);
    const done = ev.find((e) => e.event === 'done');
    const rec = ev.filter((e) => e.event === 'received');
    if (!done || done.received !== rec.length) fail(`${f}: done=${JSON.stringify(done)} but ${rec.length} received`);
    per[f] = rec.length;
    for (const r of rec) {
      const i = r.index;
      if (r.runId !== RUN || i < lo || i >= hi) { fail(`${label} ${f}: unexpected message ${JSON.stringify(r)}`); continue; }
      if (got.has(i)) { fail(`${label}: index ${i} received twice (${got.get(i).instance}, ${r.instance})`); continue; }
      got.set(i, r);
      const exp = {
        topic: TOPIC, tag: TAG, keys: `key-${RUN}-${i} k2-${i}`, flag: i % 5, reconsumeTimes: 0, bodySha256: sha(i),
        props: JSON.stringify({ idx: String(i), runId: RUN, uprop: `v-é-${i}` }),
      };
      const act = { ...r, props: JSON.stringify(r.props, Object.keys(r.props).sort()) };
      for (const k of Object.keys(exp)) if (act[k] !== exp[k]) fail(`${label}: index ${i} ${k}=${JSON.stringify(act[k])} expected ${JSON.stringify(exp[k])}`);
      const s = sent.get(i);
      if (s && s.mode !== 'oneway') {
        if (r.msgId !== s.msgId) fail(`${label}: index ${i} (${s.mode}) msgId ${r.msgId} != sent ${s.msgId}`);
        if (r.offsetMsgId !== s.offsetMsgId) fail(`${label}: index ${i} (${s.mode}) offsetMsgId ${r.offsetMsgId} != sent ${s.offsetMsgId}`);
        if (r.queueId !== s.queueId || r.queueOffset !== s.queueOffset) fail(`${label}: index ${i} (${s.mode}) queue ${r.queueId}/${r.queueOffset} != sent ${s.queueId}/${s.queueOffset}`);
      }
      if (s && s.mode === 'sync' && !/^[0-9A-Fa-f]{32}$/.test(r.msgId)) fail(`${label}: index ${i} msgId ${r.msgId} is not a 32-hex UNIQ_KEY`);
    }
  }
  for (let i = lo; i < hi; i++) if (!got.has(i)) fail(`${label}: index ${i} never received`);
  return { unique: got.size, per, queues: new Set([...got.values()].map((r) => r.queueId)).size };
}

const p1 = check(['c1.out', 'c2.out'], 0, TOTAL, 'phase1');
if (!(p1.per['c1.out'] > 0 && p1.per['c2.out'] > 0)) fail(`phase1: load not shared between the two consumers ${JSON.stringify(p1.per)}`);
// phase 2: only the 20 new messages (sent with sync mode, indexes TOTAL..TOTAL+19)
for (const e of lines('p-resume.out').filter((e) => e.event === 'sent')) sent.set(e.index, { ...e, mode: 'sync' });
const p2 = check(['c3.out'], TOTAL, TOTAL + 20, 'phase2');

console.error(`selftest: phase1 unique=${p1.unique}/${TOTAL} per-consumer=${JSON.stringify(p1.per)} queues=${p1.queues}`);
console.error(`selftest: phase2 unique=${p2.unique}/20 (after restart of the group; 0 redelivered)`);
if (errors.length) {
  for (const e of errors) console.error(`selftest: FAIL ${e}`);
  process.exit(1);
}
console.error('selftest: PASS');
JS
