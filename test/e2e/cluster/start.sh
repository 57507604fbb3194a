#!/usr/bin/env bash
# Starts a throw-away control plane on 127.0.0.1: etcd, kube-apiserver (RBAC, own CA, client
# certificates) and kube-controller-manager (all controllers: StatefulSet, GC, EndpointSlice, ...).
# No scheduler and no kubelet: the e2e node agent (test/e2e/agent) binds and runs pods.
#
#   start.sh DIR          DIR must not exist or be empty; everything (PKI, etcd data, logs, pids) goes there
#
# Prints DIR/admin.kubeconfig on stdout when the API server is ready and the default
# ServiceAccount exists. Stop with stop.sh DIR. With RMQ_E2E_PARENT_PID set, a watchdog stops the
# control plane when that process dies (no orphans if a test run is killed).
# Ports: free ephemeral ports chosen at start (DIR/ports.env). Binaries: setup.sh's cache.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$HERE/env.sh"
say() { echo "start.sh: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

D="${1:?usage: start.sh DIR}"
mkdir -p "$D"
D="$(cd "$D" && pwd)"
[ -z "$(ls -A "$D")" ] || die "$D is not empty (use a fresh directory per cluster)"
B="$RMQ_K8S_BIN"
for b in etcd kube-apiserver kube-controller-manager kubectl; do
  [ -x "$B/$b" ] || die "$B/$b missing: run test/e2e/cluster/setup.sh first (cold build ~15-25 min)"
done
command -v openssl >/dev/null 2>&1 || die "'openssl' not found on PATH (needed to generate the cluster's certificates)"
command -v curl >/dev/null 2>&1 || die "'curl' not found on PATH (needed for health checks)"

# Free ports from the kernel (bound then released; the window for a clash is tiny).
read -r EP PP AP CP < <(node -e '
  const net = require("node:net");
  const take = () => new Promise((r) => { const s = net.createServer(); s.listen(0, "127.0.0.1", () => { const p = s.address().port; r([s, p]); }); });
  Promise.all([take(), take(), take(), take()]).then((xs) => { console.log(xs.map(([, p]) => p).join(" ")); xs.forEach(([s]) => s.close()); });')
printf 'ETCD_PORT=%s\nETCD_PEER_PORT=%s\nAPISERVER_PORT=%s\nKCM_PORT=%s\n' "$EP" "$PP" "$AP" "$CP" > "$D/ports.env"

# ---- PKI -------------------------------------------------------------------------------------
P="$D/pki"; mkdir -p "$P"
(
  cd "$P"
  openssl req -x509 -newkey rsa:2048 -nodes -days 7 -subj /CN=rmq-e2e-ca -keyout ca.key -out ca.crt
  openssl req -newkey rsa:2048 -nodes -subj /CN=kube-apiserver -keyout apiserver.key -out apiserver.csr
  printf 'subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\nextendedKeyUsage=serverAuth\n' > srv.ext
  openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 7 -extfile srv.ext -out apiserver.crt
  printf 'extendedKeyUsage=clientAuth\n' > cli.ext
  openssl req -newkey rsa:2048 -nodes -subj "/O=system:masters/CN=admin" -keyout admin.key -out admin.csr
  openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 7 -extfile cli.ext -out admin.crt
  openssl genrsa -out sa.key 2048
  openssl rsa -in sa.key -pubout -out sa.pub
) >"$D/pki.log" 2>&1 || die "openssl failed; see $D/pki.log"

cat > "$D/admin.kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: rmq-e2e
  cluster: {server: "https://127.0.0.1:$AP", certificate-authority: "$P/ca.crt"}
users:
- name: admin
  user: {client-certificate: "$P/admin.crt", client-key: "$P/admin.key"}
contexts:
- name: rmq-e2e
  context: {cluster: rmq-e2e, user: admin, namespace: default}
current-context: rmq-e2e
KC

# Every process in its own session (setsid) so stop.sh can signal the whole process group.
launch() { # name cmd...
  local name="$1"; shift
  setsid "$@" >"$D/$name.log" 2>&1 < /dev/null &
  echo "$!" > "$D/$name.pid"
}
wait_until() { # what seconds pidname cmd...
  local what="$1" secs="$2" name="$3"; shift 3
  local end=$(( $(date +%s) + secs )) log="$D/$name.log" dead=""
  until "$@" >/dev/null 2>&1; do
    kill -0 "$(cat "$D/$name.pid")" 2>/dev/null || dead=" (the process exited)"
    if [ -n "$dead" ] || [ "$(date +%s)" -ge "$end" ]; then
      say "$what not ready after ${secs}s$dead; last lines of $log:"; grep -v 'flags.go' "$log" | tail -n 30 >&2 || true
      "$HERE/stop.sh" "$D" >&2 || true
      die "$what did not become ready (logs kept in $D)"
    fi
    sleep 0.3
  done
}

launch etcd "$B/etcd" --name rmq-e2e --data-dir "$D/etcd-data" \
  --listen-client-urls "http://127.0.0.1:$EP" --advertise-client-urls "http://127.0.0.1:$EP" \
  --listen-peer-urls "http://127.0.0.1:$PP" --initial-advertise-peer-urls "http://127.0.0.1:$PP" \
  --initial-cluster "rmq-e2e=http://127.0.0.1:$PP" --unsafe-no-fsync --log-level warn
wait_until etcd 30 etcd curl -sf "http://127.0.0.1:$EP/health"

launch kube-apiserver "$B/kube-apiserver" --etcd-servers="http://127.0.0.1:$EP" \
  --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$AP" \
  --tls-cert-file="$P/apiserver.crt" --tls-private-key-file="$P/apiserver.key" --client-ca-file="$P/ca.crt" \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-signing-key-file="$P/sa.key" --service-account-key-file="$P/sa.pub" \
  --service-cluster-ip-range=10.96.0.0/16 --authorization-mode=RBAC --allow-privileged=true \
  --endpoint-reconciler-type=none --v=1
wait_until kube-apiserver 120 kube-apiserver curl -sf --cacert "$P/ca.crt" --cert "$P/admin.crt" --key "$P/admin.key" "https://127.0.0.1:$AP/readyz"

launch kube-controller-manager "$B/kube-controller-manager" --kubeconfig="$D/admin.kubeconfig" \
  --authentication-kubeconfig="$D/admin.kubeconfig" --authorization-kubeconfig="$D/admin.kubeconfig" \
  --bind-address=127.0.0.1 --secure-port="$CP" --leader-elect=false \
  --controllers='*,-endpoints-controller,-endpointslice-controller,-endpointslice-mirroring-controller' \
  --use-service-account-credentials=false --service-account-private-key-file="$P/sa.key" \
  --root-ca-file="$P/ca.crt" --cluster-signing-cert-file="$P/ca.crt" --cluster-signing-key-file="$P/ca.key" \
  --node-monitor-grace-period=40s --concurrent-statefulset-syncs=5 --v=1
wait_until "kube-controller-manager (default ServiceAccount)" 90 kube-controller-manager \
  "$B/kubectl" --kubeconfig "$D/admin.kubeconfig" -n default get serviceaccount default

if [ -n "${RMQ_E2E_PARENT_PID:-}" ]; then
  # Watchdog: stop everything when the test process goes away without calling stop.sh.
  setsid bash -c 'while kill -0 "$1" 2>/dev/null && [ -f "$2/admin.kubeconfig" ] && [ ! -f "$2/stopped" ]; do sleep 2; done; [ -f "$2/stopped" ] || "$3/stop.sh" "$2"' \
    watchdog "$RMQ_E2E_PARENT_PID" "$D" "$HERE" >"$D/watchdog.log" 2>&1 < /dev/null &
  echo "$!" > "$D/watchdog.pid"
fi
say "control plane ready: API server https://127.0.0.1:$AP, kubeconfig $D/admin.kubeconfig"
echo "$D/admin.kubeconfig"
