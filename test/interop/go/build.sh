#!/usr/bin/env bash
# Builds the Go interop driver to test/interop/go/bin/rmq-go-driver (bin/ is git-ignored).
# Idempotent: dependencies come from the Go module cache (filled from the Go module proxy on the
# first run) and `go build` reuses its build cache, so a warm rebuild takes well under a second.
set -euo pipefail
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="$DIR/bin/rmq-go-driver"

if ! command -v go >/dev/null 2>&1; then
  echo "test/interop/go/build.sh: 'go' was not found on PATH. Install Go >= 1.18 (https://go.dev/dl/) to build the Go interop driver." >&2
  exit 127
fi
GOV="$(go env GOVERSION 2>/dev/null || true)"   # e.g. go1.26.8; empty on very old Go
case "$GOV" in
  go1.1[8-9]*|go1.[2-9][0-9]*|go[2-9]*) ;;
  *) echo "test/interop/go/build.sh: Go >= 1.18 is required (found '${GOV:-$(go version)}')." >&2; exit 1 ;;
esac

cd "$DIR"
mkdir -p "$DIR/bin"
# -mod=mod: resolve anything missing from go.sum through the module cache/proxy instead of failing.
# GOTOOLCHAIN=local: never download another toolchain. -buildvcs=false: no git stamping (the repo
# may be a worktree, or git may be absent).
export GOTOOLCHAIN=local
export GOFLAGS="${GOFLAGS:-} -mod=mod -buildvcs=false"
go build -trimpath -o "$OUT.tmp" . 
mv -f "$OUT.tmp" "$OUT"
echo "built $OUT ($("$OUT" version | sed -n 's/.*"clientVersion":"\([^"]*\)".*/rocketmq-client-go \1/p'), $GOV)" >&2
