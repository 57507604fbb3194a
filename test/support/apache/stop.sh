#!/usr/bin/env bash
# Stops the Apache RocketMQ broker and namesrv started by start.sh in DATA_DIR (broker first, graceful
# SIGTERM, SIGKILL after a bounded wait). Only kills the pids recorded in DATA_DIR, and only when they
# still run the expected main class. A graceful broker shutdown takes ~10-20 s (it sleeps on purpose);
# --fast sends SIGKILL at once (for throw-away data dirs in tests).
#   stop.sh [--fast] DATA_DIR        (or RMQ_HOME_DIR=...)   env STOP_TIMEOUT (default 30 s)
set -uo pipefail
FAST=0
if [ "${1:-}" = --fast ]; then FAST=1; shift; fi
DATA="${1:-${RMQ_HOME_DIR:-}}"
[ -n "$DATA" ] || { echo "usage: stop.sh [--fast] DATA_DIR" >&2; exit 2; }
[ -d "$DATA" ] || { echo "stop.sh: no such dir $DATA" >&2; exit 1; }
STOP_TIMEOUT="${STOP_TIMEOUT:-30}"

stop_one() { # name main-class
  local f="$DATA/$1.pid" pid
  [ -f "$f" ] || return 0
  pid="$(cat "$f")"
  if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q "$2"; then
    if [ $FAST = 1 ]; then kill -KILL "$pid" 2>/dev/null || true; else kill -TERM "$pid" 2>/dev/null || true; fi
    local i=0
    while kill -0 "$pid" 2>/dev/null && [ $i -lt $((STOP_TIMEOUT * 5)) ]; do sleep 0.2; i=$((i + 1)); done
    if kill -0 "$pid" 2>/dev/null; then
      echo "stop.sh: $1 (pid $pid) still running after ${STOP_TIMEOUT}s, sending SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
    fi
    echo "stop.sh: stopped $1 (pid $pid)" >&2
  fi
  rm -f "$f"
}
stop_one broker org.apache.rocketmq.broker.BrokerStartup
stop_one namesrv org.apache.rocketmq.namesrv.NamesrvStartup
exit 0
