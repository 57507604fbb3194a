#!/usr/bin/env bash
# Runs the Java interop driver:  run.sh 4|5 produce|consume [--opt value ...]   (see ../DRIVERS.md)
# stdout carries JSON lines only. Client logs go to files under $RMQ_DRIVER_LOG_DIR
# (default target/logs); set RMQ_DRIVER_LOG_LEVEL (default WARN) to change verbosity.
# Env: ROCKETMQ_SERIALIZE_TYPE=JSON|ROCKETMQ is honoured by the client itself (header encoding).
#      RMQ_DRIVER_JAVA_OPTS extra JVM options.
set -euo pipefail
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
line="${1:-}"
case "$line" in
  4|5) shift ;;
  *) echo "usage: run.sh 4|5 produce|consume [--opt value ...]" >&2; exit 2 ;;
esac
CLASSES="$DIR/target/v$line/classes"
CPFILE="$DIR/target/cp-$line.txt"
if [ ! -f "$CPFILE" ] || [ ! -f "$CLASSES/org/rmqts/interop/Driver.class" ]; then
  echo "run.sh: java driver v$line is not built; run: bash $DIR/build.sh" >&2
  exit 3
fi
command -v java >/dev/null 2>&1 || { echo "run.sh: 'java' not found on PATH" >&2; exit 1; }

LOG_DIR="${RMQ_DRIVER_LOG_DIR:-$DIR/target/logs}"
LEVEL="${RMQ_DRIVER_LOG_LEVEL:-WARN}"
mkdir -p "$LOG_DIR"
LOGOPTS=()
if [ "$line" = 4 ]; then
  # 4.9.x: the client's own "inner" logger writes a file under rocketmq.client.logRoot
  LOGOPTS=(-Drocketmq.client.logUseSlf4j=false -Drocketmq.client.logRoot="$LOG_DIR"
           -Drocketmq.client.logFileName=rocketmq_client_v4.log -Drocketmq.client.logLevel="$LEVEL"
           -Drocketmq.client.logFileMaxIndex=2)
else
  # 5.x: shaded logback; rmq.client.logback.xml from the client jar, file under rocketmq.log.root,
  # its console appender stays off (mq.consoleAppender.enabled=false)
  LOGOPTS=(-Drocketmq.log.root="$LOG_DIR/v5" -Drocketmq.log.level="$(echo "$LEVEL" | tr 'A-Z' 'a-z')"
           -Drocketmq.log.file.maxIndex=2 -Dmq.consoleAppender.enabled=false)
fi

# shellcheck disable=SC2086
exec java -Xms32m -Xmx256m -XX:+UseSerialGC -Dfile.encoding=UTF-8 \
  --add-opens java.base/java.nio=ALL-UNNAMED --add-opens java.base/java.lang=ALL-UNNAMED \
  --add-opens java.base/java.util=ALL-UNNAMED --add-opens java.base/jdk.internal.ref=ALL-UNNAMED \
  --add-exports java.base/sun.nio.ch=ALL-UNNAMED \
  "${LOGOPTS[@]}" ${RMQ_DRIVER_JAVA_OPTS:-} \
  -cp "$CLASSES:$(cat "$CPFILE")" org.rmqts.interop.Driver "$@"
