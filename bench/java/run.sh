#!/usr/bin/env bash
# Runs one bench load generator on the classpath built by build.sh:
#   run.sh producer|consumer|load ARGS...
#     producer -> org.apache.rocketmq.example.benchmark.Producer (official, rocketmq-example 5.5.0)
#     consumer -> org.apache.rocketmq.example.benchmark.Consumer (official)
#     load     -> org.rmqts.bench.LoadClient (ours: HdrHistogram latency client)
# Env: BENCH_CLIENT_HEAP (default 512m), BENCH_LOG_DIR (client log files; default target/logs).
set -euo pipefail
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
case "${1:-}" in
  producer) MAIN=org.apache.rocketmq.example.benchmark.Producer ;;
  consumer) MAIN=org.apache.rocketmq.example.benchmark.Consumer ;;
  load) MAIN=org.rmqts.bench.LoadClient ;;
  *) echo "usage: run.sh producer|consumer|load ARGS..." >&2; exit 2 ;;
esac
shift
if [ ! -f "$DIR/target/cp.txt" ] || [ ! -f "$DIR/target/classes/org/rmqts/bench/LoadClient.class" ]; then
  echo "bench/java/run.sh: not built; run: bash $DIR/build.sh" >&2
  exit 3
fi
HEAP="${BENCH_CLIENT_HEAP:-512m}"
LOG_DIR="${BENCH_LOG_DIR:-$DIR/target/logs}"
mkdir -p "$LOG_DIR"
exec java -server -Xms"$HEAP" -Xmx"$HEAP" -XX:+UseG1GC -Dfile.encoding=UTF-8 -Djava.net.preferIPv4Stack=true \
  --add-opens java.base/java.nio=ALL-UNNAMED --add-opens java.base/java.lang=ALL-UNNAMED \
  --add-opens java.base/java.util=ALL-UNNAMED --add-opens java.base/jdk.internal.ref=ALL-UNNAMED \
  --add-exports java.base/sun.nio.ch=ALL-UNNAMED \
  -Duser.home="$LOG_DIR" -Drocketmq.log.root="$LOG_DIR" -Drocketmq.log.level=warn -Dmq.consoleAppender.enabled=false \
  -cp "$DIR/target/classes:$(cat "$DIR/target/cp.txt")" "$MAIN" "$@"
