#!/usr/bin/env bash
# Builds the Java interop driver twice (rocketmq-client 4.9.x and 5.x) and caches both classpaths:
#   target/v4/classes + target/cp-4.txt,  target/v5/classes + target/cp-5.txt
# Idempotent: skips a line whose outputs are newer than the sources and pom.
set -euo pipefail
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$DIR"
. "$DIR/versions.sh"

command -v java >/dev/null 2>&1 || { echo "build.sh: 'java' not found on PATH (need a JDK 8+; JDK 17 tested)" >&2; exit 1; }
command -v javac >/dev/null 2>&1 || { echo "build.sh: 'javac' not found on PATH (need a JDK, not just a JRE)" >&2; exit 1; }
command -v mvn >/dev/null 2>&1 || { echo "build.sh: 'mvn' (Apache Maven 3.6+) not found on PATH" >&2; exit 1; }

MVN=(mvn -B -q -Dstyle.color=never)
[ -n "${RMQ_MVN_OPTS:-}" ] && MVN+=(${RMQ_MVN_OPTS})

build_line() { # $1 = 4|5, $2 = client version
  local line="$1" ver="$2" out="$DIR/target/v$1" cp="$DIR/target/cp-$1.txt" stamp="$DIR/target/v$1/.built"
  if [ -f "$stamp" ] && [ -f "$cp" ] && [ "$(cat "$stamp")" = "$ver" ] \
     && [ -z "$(find "$DIR/pom.xml" "$DIR/versions.sh" "$DIR/src" -newer "$stamp" -print -quit)" ]; then
    echo "build.sh: java driver v$line (rocketmq-client $ver) up to date" >&2
    return 0
  fi
  echo "build.sh: building java driver v$line against rocketmq-client $ver ..." >&2
  rm -f "$stamp"
  if ! timeout 900 "${MVN[@]}" -Drmq.client.version="$ver" -Ddriver.build.dir="$out" \
        compile dependency:build-classpath -Dmdep.outputFile="$cp.tmp" >&2; then
    echo "build.sh: maven build for rocketmq-client $ver failed (is Maven Central reachable?)" >&2
    exit 1
  fi
  mv "$cp.tmp" "$cp"
  echo "$ver" > "$stamp"
}

build_line 4 "$RMQ_CLIENT_V4"
build_line 5 "$RMQ_CLIENT_V5"
echo "build.sh: ok (run with: bash $DIR/run.sh 4|5 produce|consume ...)" >&2
