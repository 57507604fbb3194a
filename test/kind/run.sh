#!/usr/bin/env bash
# Runs the e2e scenarios (test/e2e/*.test.ts, the same code as the local control-plane tier) on a
# kind cluster, for machines with Docker (Linux; GitHub's ubuntu runners). Steps:
#   1. docker build the project image as rocketmq-ts:e2e
#   2. kind create cluster (config: kind-config.yaml), kind load docker-image
#   3. route the pod and service CIDRs through the kind node (sudo ip route), so the test
#      process reaches broker pod IPs (what brokers advertise) and Service cluster IPs like a pod
#   4. RMQ_E2E_KUBECONFIG=<kind kubeconfig> npx vitest run --project e2e
# Env: KIND_CLUSTER (default rmq-e2e), KEEP_CLUSTER=1 to keep it, RMQ_E2E_FILTER extra vitest args.
# Needs: docker, kind (v0.31+), kubectl, helm, node 20, go (Go client driver), sudo for ip route.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CLUSTER="${KIND_CLUSTER:-rmq-e2e}"
IMAGE="${RMQ_E2E_IMAGE:-rocketmq-ts:e2e}"
say() { echo "kind/run.sh: $*" >&2; }
for c in docker kind kubectl helm node go; do command -v "$c" >/dev/null 2>&1 || { say "ERROR: '$c' not found on PATH"; exit 1; }; done

cd "$ROOT"
say "building $IMAGE ..."
docker build -t "$IMAGE" .

if ! kind get clusters | grep -qx "$CLUSTER"; then
  say "creating kind cluster $CLUSTER ..."
  kind create cluster --name "$CLUSTER" --config "$HERE/kind-config.yaml" --wait 120s
fi
cleanup() { [ "${KEEP_CLUSTER:-0}" = 1 ] || kind delete cluster --name "$CLUSTER"; }
trap cleanup EXIT
# The scenarios roll brokers to other tags of the same image (scenarios.test.ts: :e2e-next, :e2e-resume).
REPO="${IMAGE%:*}"
for t in e2e-next e2e-resume; do docker tag "$IMAGE" "$REPO:$t"; done
kind load docker-image "$IMAGE" "$REPO:e2e-next" "$REPO:e2e-resume" --name "$CLUSTER"

KCFG="$(mktemp)"
kind get kubeconfig --name "$CLUSTER" > "$KCFG"
# Each node's pod CIDR through that node; the service subnet (kube-proxy) through the control plane.
kubectl --kubeconfig "$KCFG" get nodes -o jsonpath='{range .items[*]}{.spec.podCIDR} {.status.addresses[?(@.type=="InternalIP")].address}{"\n"}{end}' |
  while read -r cidr ip; do [ -n "$cidr" ] && sudo ip route replace "$cidr" via "$ip"; done
CP_IP="$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$CLUSTER-control-plane")"
sudo ip route replace 10.96.0.0/16 via "$CP_IP"

say "running the e2e scenarios against kind ($KCFG) ..."
npm run build
RMQ_E2E_KUBECONFIG="$KCFG" RMQ_E2E_IMAGE="$IMAGE" npx vitest run --project e2e ${RMQ_E2E_FILTER:-}
