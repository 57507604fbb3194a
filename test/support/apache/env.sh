# Sourced by setup.sh / start.sh / stop.sh / mqadmin.sh. Pins the official Apache RocketMQ release used
# as the reference server. 5.5.0 is the newest release whose namesrv/broker/tools/client jars all resolve
# from Maven Central (5.5.1 is published only partly: broker/common/store, not namesrv/tools/client).
RMQ_APACHE_VERSION="${RMQ_APACHE_VERSION:-5.5.0}"
RMQ_APACHE_CACHE="${RMQ_APACHE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rocketmq-ts/apache-$RMQ_APACHE_VERSION}"
RMQ_APACHE_LIB="$RMQ_APACHE_CACHE/lib"
RMQ_APACHE_CONF="$RMQ_APACHE_CACHE/conf"
# JDK 9+ flags the servers want (netty direct buffers, mmap cleaner, fastjson/hessian reflection)
RMQ_APACHE_JDK_FLAGS=(
  --add-opens java.base/jdk.internal.ref=ALL-UNNAMED
  --add-opens java.base/java.nio=ALL-UNNAMED
  --add-opens java.base/java.util=ALL-UNNAMED
  --add-opens java.base/java.lang=ALL-UNNAMED
  --add-exports java.base/sun.nio.ch=ALL-UNNAMED
)

rmq_apache_require_java() {
  command -v java >/dev/null 2>&1 || { echo "$(basename "$0"): 'java' not found on PATH (JDK 11+ needed; JDK 17 tested)" >&2; exit 1; }
}

rmq_apache_require_setup() {
  if [ ! -f "$RMQ_APACHE_CACHE/.complete" ]; then
    echo "$(basename "$0"): Apache RocketMQ $RMQ_APACHE_VERSION not set up; running setup.sh" >&2
    bash "$(dirname "${BASH_SOURCE[0]}")/setup.sh" >/dev/null
  fi
}
