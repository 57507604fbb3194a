#!/usr/bin/env bash
# Downloads the official Apache RocketMQ namesrv + broker + tools jars (one pinned 5.x release, see env.sh)
# from Maven Central into ${XDG_CACHE_HOME:-$HOME/.cache}/rocketmq-ts/apache-<version>/lib and extracts the
# logback configs into .../conf. Idempotent: a second run returns at once. Prints the cache dir on stdout.
# Env: RMQ_APACHE_VERSION (default in env.sh), RMQ_MVN_OPTS extra Maven options.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$HERE/env.sh"

if [ -f "$RMQ_APACHE_CACHE/.complete" ]; then
  echo "$RMQ_APACHE_CACHE"
  exit 0
fi

rmq_apache_require_java
command -v mvn >/dev/null 2>&1 || { echo "setup.sh: 'mvn' (Apache Maven 3.6+) not found on PATH" >&2; exit 1; }

mkdir -p "$(dirname "$RMQ_APACHE_CACHE")"
# serialize concurrent setups of the same version
exec 9>"$RMQ_APACHE_CACHE.lock"
if command -v flock >/dev/null 2>&1; then
  flock -w 900 9 || { echo "setup.sh: timed out waiting for another setup.sh" >&2; exit 1; }
fi
if [ -f "$RMQ_APACHE_CACHE/.complete" ]; then
  echo "$RMQ_APACHE_CACHE"
  exit 0
fi

TMP="$RMQ_APACHE_CACHE.tmp.$$"
rm -rf "$TMP"
mkdir -p "$TMP/lib" "$TMP/conf"
trap 'rm -rf "$TMP"' EXIT
echo "setup.sh: fetching Apache RocketMQ $RMQ_APACHE_VERSION (namesrv, broker, tools) from Maven Central ..." >&2
# shellcheck disable=SC2086
if ! timeout 900 mvn -B -q -Dstyle.color=never ${RMQ_MVN_OPTS:-} -f "$HERE/pom.xml" dependency:copy-dependencies \
      -Drmq.version="$RMQ_APACHE_VERSION" -DincludeScope=runtime -DoutputDirectory="$TMP/lib" >&2; then
  echo "setup.sh: maven could not fetch Apache RocketMQ $RMQ_APACHE_VERSION (is Maven Central reachable?)" >&2
  exit 1
fi

extract() { # jar entry -> conf/entry
  local jar
  jar="$(ls "$TMP"/lib/"$1"-"$RMQ_APACHE_VERSION".jar 2>/dev/null | head -n1)"
  [ -n "$jar" ] || { echo "setup.sh: $1-$RMQ_APACHE_VERSION.jar missing" >&2; exit 1; }
  if command -v unzip >/dev/null 2>&1; then
    unzip -p "$jar" "$2" > "$TMP/conf/$2"
  else
    (cd "$TMP/conf" && jar xf "$jar" "$2")
  fi
  [ -s "$TMP/conf/$2" ] || { echo "setup.sh: $2 not found in $jar" >&2; exit 1; }
}
extract rocketmq-namesrv rmq.namesrv.logback.xml
extract rocketmq-broker rmq.broker.logback.xml
extract rocketmq-tools rmq.tools.logback.xml
extract rocketmq-client rmq.client.logback.xml

echo "$RMQ_APACHE_VERSION" > "$TMP/VERSION"
rm -rf "$RMQ_APACHE_CACHE"
mv "$TMP" "$RMQ_APACHE_CACHE"
trap - EXIT
touch "$RMQ_APACHE_CACHE/.complete"
echo "setup.sh: Apache RocketMQ $RMQ_APACHE_VERSION ready in $RMQ_APACHE_CACHE ($(ls "$RMQ_APACHE_LIB" | wc -l) jars)" >&2
echo "$RMQ_APACHE_CACHE"
