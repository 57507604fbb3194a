#!/usr/bin/env bash
# Stops what start.sh DIR started (controller manager, API server, etcd, in that order): SIGTERM
# to each process group, SIGKILL after 10 s. Keeps DIR (logs); idempotent.
set -uo pipefail
D="${1:?usage: stop.sh DIR}"
[ -d "$D" ] || { echo "stop.sh: $D does not exist" >&2; exit 0; }
touch "$D/stopped"
stop_one() {
  local f="$D/$1.pid" pid
  [ -f "$f" ] || return 0
  pid="$(cat "$f")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "stop.sh: $1 (pid $pid) ignored SIGTERM for 10 s; SIGKILL" >&2
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
    fi
  fi
  rm -f "$f"
}
# Pod processes the node agent left behind (a killed test run): their process groups.
if [ -d "$D/agent/pids" ]; then
  for f in "$D"/agent/pids/*; do
    [ -f "$f" ] || continue
    kill -TERM -- "-$(basename "$f")" 2>/dev/null
  done
  sleep 2
  for f in "$D"/agent/pids/*; do
    [ -f "$f" ] || continue
    kill -KILL -- "-$(basename "$f")" 2>/dev/null
    rm -f "$f"
  done
fi
for p in kube-controller-manager kube-apiserver etcd; do stop_one "$p"; done
if [ -f "$D/watchdog.pid" ]; then
  w="$(cat "$D/watchdog.pid")"
  [ "$w" != "$PPID" ] && kill -TERM -- "-$w" 2>/dev/null
  rm -f "$D/watchdog.pid"
fi
exit 0
