#!/usr/bin/env bash
# Starts the official Apache RocketMQ NameServer + Broker (version pinned in env.sh) in the background,
# bound to 127.0.0.1, with all state under one data dir. Returns once both are up (bounded wait).
#
#   start.sh [DATA_DIR]
#
# Env (all optional):
#   RMQ_HOME_DIR      data dir when no argument is given (default: a new mktemp dir, printed)
#   NAMESRV_PORT      9876          BROKER_PORT   10911 (the broker also binds BROKER_PORT-2 and the HA
#                                                        port BROKER_PORT+1)
#   BROKER_NAME       broker-a      BROKER_CLUSTER DefaultCluster
#   START_NAMESRV     1 (0: only start a broker that registers at 127.0.0.1:$NAMESRV_PORT, e.g. a
#                     second broker in another data dir)
#   BROKER_EXTRA_CONF extra broker.conf lines (newline separated), appended last so they win
#   NAMESRV_HEAP 256m  BROKER_HEAP 1g  BROKER_DIRECT_MEM 1g  START_TIMEOUT 60 (seconds)
#
# Files in DATA_DIR: conf/{namesrv,broker}.conf, {namesrv,broker}.pid, {namesrv,broker}.out (stdout+err),
# logs/rocketmqlogs/*.log, store/. Stop with: stop.sh DATA_DIR
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$HERE/env.sh"
rmq_apache_require_java
rmq_apache_require_setup

DATA="${1:-${RMQ_HOME_DIR:-}}"
if [ -z "$DATA" ]; then
  DATA="$(mktemp -d "${TMPDIR:-/tmp}/rmq-apache.XXXXXX")"
fi
mkdir -p "$DATA"
DATA="$(cd "$DATA" && pwd)"
NAMESRV_PORT="${NAMESRV_PORT:-9876}"
BROKER_PORT="${BROKER_PORT:-10911}"
BROKER_NAME="${BROKER_NAME:-broker-a}"
BROKER_CLUSTER="${BROKER_CLUSTER:-DefaultCluster}"
START_NAMESRV="${START_NAMESRV:-1}"
NAMESRV_HEAP="${NAMESRV_HEAP:-256m}"
BROKER_HEAP="${BROKER_HEAP:-1g}"
BROKER_DIRECT_MEM="${BROKER_DIRECT_MEM:-1g}"
START_TIMEOUT="${START_TIMEOUT:-60}"

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

for f in namesrv broker; do
  if alive "$DATA/$f.pid"; then
    echo "start.sh: $f already running in $DATA (pid $(cat "$DATA/$f.pid")); run stop.sh $DATA first" >&2
    exit 1
  fi
done
ports=("$BROKER_PORT" "$((BROKER_PORT - 2))" "$((BROKER_PORT + 1))")
[ "$START_NAMESRV" = 1 ] && ports+=("$NAMESRV_PORT")
for p in "${ports[@]}"; do
  if port_open "$p"; then
    echo "start.sh: port $p on 127.0.0.1 is already in use" >&2
    exit 1
  fi
done

mkdir -p "$DATA/conf" "$DATA/store/commitlog" "$DATA/logs"
cat > "$DATA/conf/namesrv.conf" <<CONF
listenPort=$NAMESRV_PORT
bindAddress=127.0.0.1
kvConfigPath=$DATA/namesrv/kvConfig.json
configStorePath=$DATA/namesrv/namesrv.properties
CONF
cat > "$DATA/conf/broker.conf" <<CONF
brokerClusterName=$BROKER_CLUSTER
brokerName=$BROKER_NAME
brokerId=0
brokerIP1=127.0.0.1
brokerIP2=127.0.0.1
bindAddress=127.0.0.1
namesrvAddr=127.0.0.1:$NAMESRV_PORT
listenPort=$BROKER_PORT
haListenPort=$((BROKER_PORT + 1))
storePathRootDir=$DATA/store
storePathCommitLog=$DATA/store/commitlog
brokerRole=ASYNC_MASTER
flushDiskType=ASYNC_FLUSH
autoCreateTopicEnable=true
autoCreateSubscriptionGroup=true
deleteWhen=04
fileReservedTime=48
mappedFileSizeCommitLog=67108864
# relaxed fast-failure for a busy 2-core test box: by default a send that waits >200 ms in the broker's
# send queue is dropped with SYSTEM_BUSY ("[TIMEOUT_CLEAN_QUEUE]broker busy"), silently for oneway sends
waitTimeMillsInSendQueue=3000
osPageCacheBusyTimeOutMills=3000
CONF
if [ -n "${BROKER_EXTRA_CONF:-}" ]; then
  printf '%s\n' "$BROKER_EXTRA_CONF" >> "$DATA/conf/broker.conf"
fi

COMMON=(-cp "$RMQ_APACHE_LIB/*" -Drocketmq.home.dir="$DATA" -Duser.home="$DATA"
        -Djava.net.preferIPv4Stack=true -Dfile.encoding=UTF-8 "${RMQ_APACHE_JDK_FLAGS[@]}")

if [ "$START_NAMESRV" = 1 ]; then
  mkdir -p "$DATA/namesrv"
  nohup java -server -Xms"$NAMESRV_HEAP" -Xmx"$NAMESRV_HEAP" -XX:+UseG1GC "${COMMON[@]}" \
    -Drmq.logback.configurationFile="$RMQ_APACHE_CONF/rmq.namesrv.logback.xml" \
    org.apache.rocketmq.namesrv.NamesrvStartup -c "$DATA/conf/namesrv.conf" \
    > "$DATA/namesrv.out" 2>&1 < /dev/null &
  echo $! > "$DATA/namesrv.pid"
fi

nohup java -server -Xms"$BROKER_HEAP" -Xmx"$BROKER_HEAP" -XX:MaxDirectMemorySize="$BROKER_DIRECT_MEM" \
  -XX:+UseG1GC "${COMMON[@]}" \
  -Drmq.logback.configurationFile="$RMQ_APACHE_CONF/rmq.broker.logback.xml" \
  org.apache.rocketmq.broker.BrokerStartup -c "$DATA/conf/broker.conf" \
  > "$DATA/broker.out" 2>&1 < /dev/null &
echo $! > "$DATA/broker.pid"

deadline=$(( $(date +%s) + START_TIMEOUT ))
ns_ok=0; br_ok=0
[ "$START_NAMESRV" = 1 ] || ns_ok=1
while [ $(date +%s) -lt $deadline ]; do
  if [ $ns_ok = 0 ]; then
    alive "$DATA/namesrv.pid" || { echo "start.sh: namesrv exited; see $DATA/namesrv.out" >&2; tail -n 20 "$DATA/namesrv.out" >&2; bash "$HERE/stop.sh" --fast "$DATA" >/dev/null 2>&1 || true; exit 1; }
    grep -q "boot success" "$DATA/namesrv.out" 2>/dev/null && port_open "$NAMESRV_PORT" && ns_ok=1
  fi
  if [ $br_ok = 0 ]; then
    alive "$DATA/broker.pid" || { echo "start.sh: broker exited; see $DATA/broker.out" >&2; tail -n 20 "$DATA/broker.out" >&2; bash "$HERE/stop.sh" --fast "$DATA" >/dev/null 2>&1 || true; exit 1; }
    grep -q "boot success" "$DATA/broker.out" 2>/dev/null && port_open "$BROKER_PORT" && br_ok=1
  fi
  [ $ns_ok = 1 ] && [ $br_ok = 1 ] && break
  sleep 0.3
done
if [ $ns_ok != 1 ] || [ $br_ok != 1 ]; then
  echo "start.sh: Apache RocketMQ did not come up within ${START_TIMEOUT}s (namesrv ok=$ns_ok, broker ok=$br_ok); see $DATA/*.out" >&2
  bash "$HERE/stop.sh" --fast "$DATA" >/dev/null 2>&1 || true
  exit 1
fi
echo "start.sh: Apache RocketMQ $RMQ_APACHE_VERSION up: namesrv 127.0.0.1:$NAMESRV_PORT, broker $BROKER_NAME 127.0.0.1:$BROKER_PORT, data $DATA" >&2
echo "$DATA"
