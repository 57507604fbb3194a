#!/usr/bin/env bash
# Builds the bench load generators (see pom.xml) and caches the classpath in target/cp.txt.
# Idempotent: returns at once when target/.built is newer than the sources and the pom.
set -euo pipefail
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$DIR"
command -v java >/dev/null 2>&1 || { echo "bench/java/build.sh: 'java' not found on PATH (JDK 11+; JDK 17 tested)" >&2; exit 1; }
command -v javac >/dev/null 2>&1 || { echo "bench/java/build.sh: 'javac' not found on PATH (need a JDK)" >&2; exit 1; }
command -v mvn >/dev/null 2>&1 || { echo "bench/java/build.sh: 'mvn' (Apache Maven 3.6+) not found on PATH" >&2; exit 1; }
STAMP="$DIR/target/.built"
if [ -f "$STAMP" ] && [ -f "$DIR/target/cp.txt" ] && [ -z "$(find "$DIR/pom.xml" "$DIR/src" -newer "$STAMP" -print -quit)" ]; then
  echo "bench/java/build.sh: up to date" >&2
  exit 0
fi
rm -f "$STAMP"
# shellcheck disable=SC2086
if ! timeout 900 mvn -B -q -Dstyle.color=never ${RMQ_MVN_OPTS:-} compile dependency:build-classpath \
      -Dmdep.outputFile="$DIR/target/cp.txt.tmp" >&2; then
  echo "bench/java/build.sh: maven build failed (is Maven Central reachable?)" >&2
  exit 1
fi
mv "$DIR/target/cp.txt.tmp" "$DIR/target/cp.txt"
touch "$STAMP"
echo "bench/java/build.sh: ok" >&2
