#!/usr/bin/env bash
# Self-test of the ali-ons interop driver against a running name server + broker.
#
#   bash test/interop/alions/selftest.sh <namesrvAddr>        e.g. 127.0.0.1:9876
#
# Steps (every wait is bounded; the whole run takes ~1 minute):
#   1. create a fresh topic (4 queues) with create-topic.mjs (ali-ons cannot auto-create topics)
#   2. phase A: produce 50 messages, mode sync, tag TagA  (before any consumer exists)
#   3. consumer c1 (group CG, --tag-expr 'TagA||TagB') starts from the first offset, must get all 50;
#      wait > persistConsumerOffsetInterval (5 s) so its offsets reach the broker
#   4. consumer c2 joins the group; wait > rebalanceInterval (10 s): ali-ons ignores
#      NOTIFY_CONSUMER_IDS_CHANGED and only rebalances on its timer
#   5. phase B: produce 50 messages, mode async, tag TagB; phase X: 10 messages, sync, tag TagX
#      (not subscribed: must not be delivered)
#   6. stop both consumers (clean close commits offsets); consumer c3 of the same group must then
#      receive nothing (resumes from committed offsets)
#   7. modes ali-ons lacks (produce oneway/batch, consume litepull) must print an error event, exit 2
#   8. selftest-verify.mjs: every acknowledged message received exactly once per group with
#      identical bodySha256/tag/keys/props/flag/queueId/queueOffset/offsetMsgId; both c1 and c2
#      must have received phase-B messages.
# Exit 0 = pass. KEEP_WORK=1 keeps the work directory with all driver output; BODY_SIZE=N (default 64)
# sets --body-size (>= 4096 makes ali-ons deflate bodies, sysFlag bit 0).
set -euo pipefail

NS="${1:?usage: selftest.sh <namesrvAddr>}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DRIVER="$HERE/driver.mjs"
command -v node >/dev/null || { echo "selftest: node not found" >&2; exit 1; }
[ -d "$HERE/../../../node_modules/ali-ons" ] || { echo "selftest: ali-ons missing; run npm ci" >&2; exit 1; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/alions-selftest.XXXXXX")"
RUN="st$(date +%s)$$"
TOPIC="AlionsSelfTest_$RUN"
CG="alions_cg_$RUN"
PG="alions_pg_$RUN"
N=50
BODY="${BODY_SIZE:-64}"   # BODY_SIZE>=4096 exercises ali-ons body compression
PIDS=()

cleanup() {
  local rc=$?
  for fd in 7 8 9; do eval "exec $fd>&-" 2>/dev/null || true; done
  for p in "${PIDS[@]:-}"; do
    [ -n "$p" ] && kill -0 "$p" 2>/dev/null && kill "$p" 2>/dev/null || true
  done
  if [ "${KEEP_WORK:-0}" = 1 ] || [ $rc -ne 0 ]; then
    echo "selftest: driver output kept in $WORK" >&2
  else
    rm -rf "$WORK"
  fi
  exit $rc
}
trap cleanup EXIT

log() { echo "selftest: $*" >&2; }
die() { log "FAIL: $*"; exit 1; }

# count_events FILE EVENT [EXTRA-GREP]  -> number of lines with that event
count_events() {
  local n
  if [ $# -ge 3 ]; then
    n=$(grep -F "\"event\":\"$2\"" "$1" 2>/dev/null | grep -cF -- "$3" || true)
  else
    n=$(grep -cF "\"event\":\"$2\"" "$1" 2>/dev/null || true)
  fi
  echo "${n:-0}"
}

# wait_until SECONDS DESCRIPTION COMMAND...  (polls every 0.5 s)
wait_until() {
  local secs=$1 what=$2; shift 2
  local deadline=$(( $(date +%s) + secs ))
  until "$@"; do
    [ "$(date +%s)" -lt "$deadline" ] || die "timed out after ${secs}s waiting for $what"
    sleep 0.5
  done
}

# start_consumer NAME FD  -> starts a push consumer reading stop commands from a FIFO on fd FD
start_consumer() {
  local name=$1 fd=$2
  mkfifo "$WORK/$name.in"
  node "$DRIVER" consume --namesrv "$NS" --topic "$TOPIC" --group "$CG" --mode push \
    --tag-expr 'TagA||TagB' --instance "$name" --timeout-ms 240000 \
    < "$WORK/$name.in" > "$WORK/$name.out" 2> "$WORK/$name.err" &
  PIDS+=($!)
  eval "$name=$!"
  eval "exec $fd>\"$WORK/$name.in\""
  wait_until 40 "$name ready" has_event "$WORK/$name.out" ready
}
has_event() { [ "$(count_events "$1" "$2")" -ge 1 ]; }
received_at_least() { [ "$(count_events "$1" received "$2")" -ge "$3" ]; }
total_received_at_least() {
  local want=$1 total=0 f; shift
  for f in "$@"; do total=$(( total + $(count_events "$f" received) )); done
  [ "$total" -ge "$want" ]
}

stop_consumer() {
  local name=$1 fd=$2 pid
  pid=$(eval "echo \$$name")
  eval "echo stop >&$fd" || true
  eval "exec $fd>&-"
  local deadline=$(( $(date +%s) + 30 ))
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$(date +%s)" -ge "$deadline" ]; then kill "$pid" 2>/dev/null || true; die "$name did not stop within 30s"; fi
    sleep 0.2
  done
  wait "$pid" || die "$name exited with status $?"
  has_event "$WORK/$name.out" done || die "$name printed no done event"
}

produce() { # phase runId tag mode count startIndex
  local phase=$1 run=$2 tag=$3 mode=$4 count=$5 start=$6
  timeout 90 node "$DRIVER" produce --namesrv "$NS" --topic "$TOPIC" --group "$PG" --count "$count" \
    --mode "$mode" --run-id "$run" --start-index "$start" --body-size "$BODY" --tag "$tag" \
    > "$WORK/$phase.out" 2> "$WORK/$phase.err" || die "producer $phase exited with status $?"
  log "phase $phase ($mode, tag $tag): $(count_events "$WORK/$phase.out" sent) sent, $(count_events "$WORK/$phase.out" send-error) errors"
}

log "namesrv $NS, topic $TOPIC, group $CG, work dir $WORK"

# 1. topic
timeout 30 node "$HERE/create-topic.mjs" "$NS" "$TOPIC" 4 > "$WORK/create-topic.out" 2> "$WORK/create-topic.err" \
  || die "create-topic failed: $(cat "$WORK/create-topic.out")"
log "$(tr '\n' ' ' < "$WORK/create-topic.out")"

# 2. phase A before any consumer
produce A "${RUN}A" TagA sync "$N" 0

# 3. first consumer: from first offset
start_consumer c1 7
wait_until 60 "c1 to receive phase A" received_at_least "$WORK/c1.out" "\"runId\":\"${RUN}A\"" "$N"
sleep 7   # > persistConsumerOffsetInterval (5 s)

# 4. second consumer, then let ali-ons' 10 s rebalance timer split the queues
start_consumer c2 8
sleep 13

# 5. phases B and X
produce B "${RUN}B" TagB async "$N" "$N"
produce X "${RUN}X" TagX sync 10 $(( 2 * N ))
wait_until 60 "all $(( 2 * N )) deliveries" total_received_at_least $(( 2 * N )) "$WORK/c1.out" "$WORK/c2.out"
sleep 3   # give duplicates a chance to show up

# 6. clean stop, then a restarted member of the group must get nothing
stop_consumer c1 7
stop_consumer c2 8
start_consumer c3 9
sleep 8
stop_consumer c3 9

# 7. unsupported modes
for m in oneway batch; do
  set +e
  timeout 30 node "$DRIVER" produce --namesrv "$NS" --topic "$TOPIC" --group "$PG" --count 1 --mode "$m" > "$WORK/mode-$m.out" 2>&1
  rc=$?
  set -e
  [ $rc -eq 2 ] && has_event "$WORK/mode-$m.out" error || die "produce --mode $m: want error event + exit 2, got exit $rc"
done
set +e
timeout 30 node "$DRIVER" consume --namesrv "$NS" --topic "$TOPIC" --group "$CG" --mode litepull > "$WORK/mode-litepull.out" 2>&1
rc=$?
set -e
[ $rc -eq 2 ] && has_event "$WORK/mode-litepull.out" error || die "consume --mode litepull: want error event + exit 2, got exit $rc"
log "unsupported modes (oneway, batch, litepull) report error + exit 2"

# 8. verify
for c in c1 c2; do
  b=$(count_events "$WORK/$c.out" received "\"runId\":\"${RUN}B\"")
  log "$c: $(count_events "$WORK/$c.out" received) received ($b from phase B)"
  [ "$b" -ge 1 ] || die "$c received no phase-B message: the two consumers did not share the queues"
done
log "c3 (restart after clean close): $(count_events "$WORK/c3.out" received) received"
node "$HERE/selftest-verify.mjs" "$WORK" "$TOPIC" "$BODY" \
  "A:${RUN}A:TagA:$WORK/A.out" "B:${RUN}B:TagB:$WORK/B.out" "X:${RUN}X:!TagX:$WORK/X.out" \
  -- "$WORK/c1.out" "$WORK/c2.out" "$WORK/c3.out" > "$WORK/verify.json" || { cat "$WORK/verify.json"; die "verification failed"; }
cat "$WORK/verify.json"
log "PASS"
