#!/usr/bin/env bash
# Runs the official mqadmin (org.apache.rocketmq.tools.command.MQAdminStartup) of the pinned release.
#   mqadmin.sh updateTopic -n 127.0.0.1:9876 -c DefaultCluster -t T -r 4 -w 4
# If -n is not given, NAMESRV_ADDR (env, e.g. 127.0.0.1:9876) is used by mqadmin itself.
# Tool logs go to $RMQ_HOME_DIR/logs (or the cache dir); command output to stdout.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$HERE/env.sh"
rmq_apache_require_java
rmq_apache_require_setup
HOME_DIR="${RMQ_HOME_DIR:-$RMQ_APACHE_CACHE/tools-home}"
mkdir -p "$HOME_DIR"
exec java -Xms64m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -cp "$RMQ_APACHE_LIB/*" \
  -Drocketmq.home.dir="$HOME_DIR" -Duser.home="$HOME_DIR" -Djava.net.preferIPv4Stack=true \
  "${RMQ_APACHE_JDK_FLAGS[@]}" -Drmq.logback.configurationFile="$RMQ_APACHE_CONF/rmq.tools.logback.xml" \
  org.apache.rocketmq.tools.command.MQAdminStartup "$@"
