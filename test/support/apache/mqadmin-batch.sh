#!/usr/bin/env bash
# Runs the official mqadmin (MQAdminStartup of the pinned release) for every line of COMMANDS_FILE in
# one JVM (see MqadminBatch.java): one command per line, arguments TAB-separated.
#   mqadmin-batch.sh COMMANDS_FILE
# stdout/stderr: each command's output after a "@@@MQADMIN <n>@@@" line, then "@@@MQADMIN END@@@".
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$HERE/env.sh"
rmq_apache_require_java
rmq_apache_require_setup
[ $# -eq 1 ] && [ -f "$1" ] || { echo "usage: mqadmin-batch.sh COMMANDS_FILE" >&2; exit 2; }
HOME_DIR="${RMQ_HOME_DIR:-$RMQ_APACHE_CACHE/tools-home}"
mkdir -p "$HOME_DIR"
exec java -Xms64m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -cp "$RMQ_APACHE_LIB/*" \
  -Drocketmq.home.dir="$HOME_DIR" -Duser.home="$HOME_DIR" -Djava.net.preferIPv4Stack=true \
  "${RMQ_APACHE_JDK_FLAGS[@]}" -Drmq.logback.configurationFile="$RMQ_APACHE_CONF/rmq.tools.logback.xml" \
  "$HERE/MqadminBatch.java" "$1"
