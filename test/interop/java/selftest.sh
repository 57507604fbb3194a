#!/usr/bin/env bash
# Self-test of the Java interop driver against the OFFICIAL Apache RocketMQ broker (test/support/apache).
# For each client line (4 = 4.9.x, 5 = 5.x):
#   - create a fresh topic (4 queues) with mqadmin,
#   - start two push consumers (group cg-push, two processes) and one litepull consumer (group cg-lite),
#     wait until the queues are assigned,
#   - produce N messages each with --mode sync, async, oneway, batch (distinct index ranges),
#   - wait until every group has everything, stop the consumers (one via "stop", one via stdin EOF),
#   - check: each sent index received exactly once per group, with the bodySha256 the producer reported
#     AND the one recomputed from the DRIVERS.md body formula, identical msgId/offsetMsgId/queue/tag/
#     keys/props/flag,
#   - restart one consumer per group and check it gets nothing (offsets were committed on shutdown).
# v4 runs with the client's default JSON header serialization, v5 with ROCKETMQ (binary) headers.
# Env: SELFTEST_NAMESRV_PORT (19876) SELFTEST_BROKER_PORT (20911) SELFTEST_COUNT (50 per mode)
#      SELFTEST_LINES ("4 5") SELFTEST_KEEP=1 keeps the work dir.
# Bounded: every wait has a deadline; everything started here is stopped on exit.
set -euo pipefail
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
APACHE="$(cd "$DIR/../../support/apache" && pwd)"
NS_PORT="${SELFTEST_NAMESRV_PORT:-19876}"
BR_PORT="${SELFTEST_BROKER_PORT:-20911}"
N="${SELFTEST_COUNT:-50}"
LINES="${SELFTEST_LINES:-4 5}"
NS="127.0.0.1:$NS_PORT"
command -v python3 >/dev/null 2>&1 || { echo "selftest: python3 is needed for the checks" >&2; exit 1; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/rmq-java-selftest.XXXXXX")"
T_START=$(date +%s)
PIDS=()
FDS=()
cleanup() {
  local rc=$?
  for fd in "${FDS[@]}"; do eval "exec $fd>&-" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do
    if kill -0 "$p" 2>/dev/null; then kill -TERM "$p" 2>/dev/null || true; fi
  done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null || true
  done
  [ -d "$WORK/rmq" ] && bash "$APACHE/stop.sh" --fast "$WORK/rmq" || true
  if [ "${SELFTEST_KEEP:-0}" = 1 ] || [ $rc != 0 ]; then
    echo "selftest: work dir kept: $WORK" >&2
  else
    rm -rf "$WORK"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "selftest[$(( $(date +%s) - T_START ))s]: $*" >&2; }

# wait_for DESC TIMEOUT_S CMD...  (polls CMD every 0.3 s)
wait_for() {
  local desc="$1" t="$2"; shift 2
  local deadline=$(( $(date +%s) + t ))
  until "$@"; do
    if [ "$(date +%s)" -ge "$deadline" ]; then log "timeout after ${t}s waiting for: $desc"; return 1; fi
    sleep 0.3
  done
}

count_events() { # file event -> number of lines with that event
  grep -c "\"event\":\"$2\"" "$1" 2>/dev/null || true
}

# run_driver ARGS...: run.sh without the write ends of the consumers' stdin fifos (children inherit the
# shell's fds; a consumer only sees EOF when every copy of its fifo's write end is closed)
run_driver() {
  local f
  for f in "${FDS[@]}"; do eval "exec $f>&-"; done
  RMQ_DRIVER_LOG_DIR="$WORK/logs" exec timeout "${DRIVER_TIMEOUT:-300}" bash "$DIR/run.sh" "$@"
}

# start_consumer NAME LINE GROUP MODE TOPIC   -> fifo fd in FD_<NAME>, pid in PID_<NAME>
start_consumer() {
  local name="$1" line="$2" group="$3" mode="$4" topic="$5" fd
  mkfifo "$WORK/$name.in"
  ( run_driver "$line" consume --namesrv "$NS" --topic "$topic" \
    --group "$group" --mode "$mode" --instance "$name" --timeout-ms 240000 ) \
    < "$WORK/$name.in" > "$WORK/$name.out" 2> "$WORK/$name.err" &
  local pid=$!
  PIDS+=("$pid")
  exec {fd}> "$WORK/$name.in"
  FDS+=("$fd")
  printf -v "FD_$name" '%s' "$fd"
  printf -v "PID_$name" '%s' "$pid"
}

assigned() { # name -> number of queues in the last assignment line
  local l
  l="$(grep "\[driver\] $1 assigned" "$WORK/$1.err" 2>/dev/null | tail -n1)" || true
  [ -n "$l" ] || { echo 0; return; }
  echo "$l" | sed -E 's/.* assigned ([0-9]+) queue.*/\1/'
}

stop_consumer() { # name how(stop|eof)
  local fdv="FD_$1" pidv="PID_$1"
  if [ "$2" = stop ]; then echo stop >&"${!fdv}"; fi
  eval "exec ${!fdv}>&-"
  local pid="${!pidv}"
  for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then log "consumer $1 did not stop within 60s"; return 1; fi
  wait "$pid" || { log "consumer $1 exited non-zero"; return 1; }
}

log "building driver"
bash "$DIR/build.sh"
log "setting up Apache RocketMQ"
bash "$APACHE/setup.sh" >/dev/null
log "starting Apache namesrv :$NS_PORT + broker :$BR_PORT"
NAMESRV_PORT="$NS_PORT" BROKER_PORT="$BR_PORT" bash "$APACHE/start.sh" "$WORK/rmq" >/dev/null

RESULTS=()
for line in $LINES; do
  if [ "$line" = 4 ]; then export ROCKETMQ_SERIALIZE_TYPE=JSON; else export ROCKETMQ_SERIALIZE_TYPE=ROCKETMQ; fi
  topic="selftest-v$line-$$"
  run="st$line-$(date +%s)"
  log "v$line: topic $topic run $run headers $ROCKETMQ_SERIALIZE_TYPE"
  RMQ_HOME_DIR="$WORK/rmq" timeout 60 bash "$APACHE/mqadmin.sh" updateTopic -n "$NS" -c DefaultCluster \
    -t "$topic" -r 4 -w 4 > "$WORK/v$line-mqadmin.out" 2>&1 \
    || { cat "$WORK/v$line-mqadmin.out" >&2; log "updateTopic failed"; exit 1; }

  start_consumer "v${line}c1" "$line" "cg-push-v$line" push "$topic"
  start_consumer "v${line}c2" "$line" "cg-push-v$line" push "$topic"
  start_consumer "v${line}l1" "$line" "cg-lite-v$line" litepull "$topic"
  for c in c1 c2 l1; do
    wait_for "v$line$c ready" 60 grep -q '"event":"ready"' "$WORK/v$line$c.out"
  done
  settled() {
    [ "$(( $(assigned "v${line}c1") + $(assigned "v${line}c2") ))" = 4 ] && [ "$(assigned "v${line}c1")" != 0 ] \
      && [ "$(assigned "v${line}c2")" != 0 ] && [ "$(assigned "v${line}l1")" = 4 ]
  }
  wait_for "v$line queue assignment (2+2 push, 4 litepull)" 60 settled
  log "v$line: consumers ready: c1=$(assigned "v${line}c1") c2=$(assigned "v${line}c2") l1=$(assigned "v${line}l1") queues"

  start=0
  for mode in sync async oneway batch; do
    tagargs=(--tag TagA)
    [ "$mode" = oneway ] && tagargs=()   # one mode without a tag
    ( DRIVER_TIMEOUT=120 run_driver "$line" produce --namesrv "$NS" \
      --topic "$topic" --group "pg-v$line" --count "$N" --mode "$mode" --run-id "$run" --start-index "$start" \
      --body-size 200 --batch-size 7 "${tagargs[@]}" ) > "$WORK/v$line-prod-$mode.out" 2> "$WORK/v$line-prod-$mode.err" \
      || { log "producer $mode failed"; cat "$WORK/v$line-prod-$mode.err" >&2; exit 1; }
    log "v$line: produce $mode: $(tail -n1 "$WORK/v$line-prod-$mode.out")"
    start=$((start + N))
  done
  total=$((4 * N))
  got_all() {
    [ $(( $(count_events "$WORK/v${line}c1.out" received) + $(count_events "$WORK/v${line}c2.out" received) )) -ge $total ] \
      && [ "$(count_events "$WORK/v${line}l1.out" received)" -ge $total ]
  }
  wait_for "v$line all $total messages in both groups" 90 got_all || true
  sleep 2   # let any duplicate show up before stopping
  stop_consumer "v${line}c1" stop
  stop_consumer "v${line}c2" eof
  stop_consumer "v${line}l1" stop

  # offsets committed on shutdown: a fresh member of each group must get nothing
  start_consumer "v${line}c3" "$line" "cg-push-v$line" push "$topic"
  start_consumer "v${line}l2" "$line" "cg-lite-v$line" litepull "$topic"
  resumed() { [ "$(assigned "v${line}c3")" = 4 ] && [ "$(assigned "v${line}l2")" = 4 ]; }
  wait_for "v$line resumed consumers assigned" 60 resumed
  sleep 5
  stop_consumer "v${line}c3" stop
  stop_consumer "v${line}l2" eof

  summary="$(python3 - "$WORK" "$line" "$run" "$N" "$topic" <<'PY'
import hashlib, json, sys
work, line, run, n, topic = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
def events(path):
    out = []
    with open(path, encoding='utf-8') as f:
        for raw in f:
            raw = raw.rstrip('\n')
            if not raw:
                continue
            out.append(json.loads(raw))   # stdout must be JSON lines only
    return out
def body(r, i, size):
    p = f"{r}-{i}|".encode()
    return p + bytes(((k * 7 + i) & 0xff) for k in range(max(size, len(p)) - len(p)))
errors = []
sent = {}
for start, mode in enumerate(['sync', 'async', 'oneway', 'batch']):
    evs = events(f"{work}/v{line}-prod-{mode}.out")
    done = [e for e in evs if e['event'] == 'done']
    if done != [{'event': 'done', 'sent': n, 'failed': 0}]:
        errors.append(f"{mode}: done event {done}")
    for e in evs:
        if e['event'] == 'sent':
            i = e['index']
            if i in sent:
                errors.append(f"{mode}: index {i} reported sent twice")
            e['mode'] = mode
            sent[i] = e
            if not (start * n <= i < (start + 1) * n):
                errors.append(f"{mode}: index {i} out of range")
            if mode == 'oneway':
                if e.get('oneway') is not True:
                    errors.append(f"oneway {i}: no oneway flag")
            elif e.get('status') != 'SEND_OK':
                errors.append(f"{mode} {i}: status {e.get('status')}")
        elif e['event'] != 'done':
            errors.append(f"{mode}: unexpected event {e}")
if len(sent) != 4 * n:
    errors.append(f"sent {len(sent)} != {4 * n}")
def check_group(name, files):
    got = {}
    per = {}
    for fn in files:
        evs = events(f"{work}/{fn}.out")
        if evs[0] != {'event': 'ready'} or evs[-1].get('event') != 'done':
            errors.append(f"{fn}: bad first/last events {evs[0]} {evs[-1]}")
        recv = [e for e in evs if e['event'] == 'received']
        if evs[-1].get('received') != len(recv):
            errors.append(f"{fn}: done.received {evs[-1].get('received')} != {len(recv)}")
        per[fn] = len(recv)
        for e in recv:
            got.setdefault(e['index'], []).append(e)
    dups = sorted(i for i, l in got.items() if len(l) > 1)
    missing = sorted(set(sent) - set(got))
    extra = sorted(set(got) - set(sent))
    for i, l in got.items():
        s = sent.get(i)
        if s is None:
            continue
        r = l[0]
        exp_sha = hashlib.sha256(body(run, i, 200)).hexdigest()
        exp = {
            'runId': run, 'topic': topic, 'bodySha256': exp_sha,
            'tag': None if s['mode'] == 'oneway' else 'TagA',
            'keys': f"key-{run}-{i} k2-{i}",
            'props': {'idx': str(i), 'runId': run, 'uprop': f"v-\u00e9-{i}"},
            'flag': i % 5, 'reconsumeTimes': 0,
        }
        for k, v in exp.items():
            if r.get(k) != v:
                errors.append(f"{name} index {i}: {k}={r.get(k)!r} expected {v!r}")
        if s['bodySha256'] != exp_sha:
            errors.append(f"producer index {i}: bodySha256 differs from the DRIVERS.md formula")
        if s.get('msgId') != r['msgId']:
            errors.append(f"{name} index {i}: msgId {r['msgId']} != sent {s.get('msgId')}")
        if s['mode'] != 'oneway':
            for k in ('offsetMsgId', 'queueId', 'queueOffset'):
                if s.get(k) != r.get(k):
                    errors.append(f"{name} index {i}: {k} {r.get(k)} != sent {s.get(k)}")
    if dups or missing or extra:
        errors.append(f"{name}: duplicates {dups[:10]} missing {missing[:10]} extra {extra[:10]}")
    return per, sum(len(l) for l in got.values())
per_push, tot_push = check_group('push', [f"v{line}c1", f"v{line}c2"])
per_lite, tot_lite = check_group('litepull', [f"v{line}l1"])
if min(per_push.values()) == 0:
    errors.append(f"push: one consumer got nothing {per_push}")
for fn in (f"v{line}c3", f"v{line}l2"):
    evs = events(f"{work}/{fn}.out")
    r = [e for e in evs if e['event'] == 'received']
    if r or evs[-1] != {'event': 'done', 'received': 0}:
        errors.append(f"{fn}: restarted member received {len(r)} (offsets not committed?)")
modes = {}
for s in sent.values():
    modes[s['mode']] = modes.get(s['mode'], 0) + 1
summary = (f"v{line}: sent {len(sent)} {modes}; push group received {tot_push} {per_push}; "
           f"litepull received {tot_lite}; restarted members received 0")
if errors:
    print(f"v{line}: FAILED\n  " + "\n  ".join(errors[:40]), file=sys.stderr)
    sys.exit(1)
print(summary)
PY
)" || { log "v$line: check FAILED"; exit 1; }
  log "$summary"
  RESULTS+=("$summary")
done
unset ROCKETMQ_SERIALIZE_TYPE
printf '%s\n' "${RESULTS[@]}"
echo "selftest: ${#RESULTS[@]} passed, 0 failed ($(( $(date +%s) - T_START ))s)"
