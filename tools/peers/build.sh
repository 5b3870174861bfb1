#!/usr/bin/env bash
# Builds the real test peers from their Go modules with the machine's Go toolchain:
#   kube-apiserver (k8s.io/kubernetes), etcd (go.etcd.io/etcd/server/v3), aws-iam-authenticator.
# Binaries land in $EKS_ACCESS_PEERS_DIR (default ~/.cache/eks-access/peers/<versions>/bin) and a
# second run with the same pinned versions does nothing. Nothing is written inside the repository.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.32.13}"
ETCD_VERSION="${ETCD_VERSION:-v3.5.16}"
AUTHENTICATOR_VERSION="${AUTHENTICATOR_VERSION:-v0.6.13}"

cache_root="${EKS_ACCESS_CACHE_ROOT:-$HOME/.cache/eks-access}"
tag="k8s-${K8S_VERSION}_etcd-${ETCD_VERSION}_aia-${AUTHENTICATOR_VERSION}"
out="${EKS_ACCESS_PEERS_DIR:-$cache_root/peers/$tag}"
bin="$out/bin"
mkdir -p "$bin"

export GOPATH="${GOPATH:-$cache_root/gopath}"
export GOMODCACHE="${GOMODCACHE:-$GOPATH/pkg/mod}"
export GOCACHE="${GOCACHE:-$cache_root/gocache}"
export GOFLAGS="-mod=mod"
export CGO_ENABLED=0
export GOTOOLCHAIN=local

log() { printf '[peers] %s\n' "$*" >&2; }

if [[ -x "$bin/kube-apiserver" && -x "$bin/etcd" && -x "$bin/aws-iam-authenticator" ]]; then
  log "cached: $bin"
  echo "$bin"
  exit 0
fi

work="$out/module"
rm -rf "$work"
mkdir -p "$work"
cd "$work"

# kubernetes/kubernetes requires its staging modules at v0.0.0 with replace => ./staging/...;
# a consumer module must replace each of them with the published v0.<minor>.<patch>.
log "resolving k8s.io/kubernetes@$K8S_VERSION"
modfile=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
staging_version="v0.${K8S_VERSION#v1.}"
{
  echo "module eks-access.local/peers"
  echo
  echo "go 1.23.0"
  echo
  echo "require ("
  echo "	k8s.io/kubernetes $K8S_VERSION"
  echo "	go.etcd.io/etcd/server/v3 $ETCD_VERSION"
  echo ")"
  echo
  echo "replace ("
  grep -E '^\s*k8s.io/[a-z0-9-]+ => ./staging/src/' "$modfile" \
    | awk -v v="$staging_version" '{ printf "\t%s => %s %s\n", $1, $1, v }'
  echo ")"
} > go.mod
cat > tools.go <<'GO'
//go:build tools

package peers

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
)
GO

# No `go mod tidy`: it also resolves the tests of every dependency, and some test-only modules
# (e.g. k8s.io/csi-translation-lib) are not served by the module proxy reachable here.
# `go build -mod=mod` resolves only what the binaries import.
log "resolving modules through the Go module proxy"
go get "k8s.io/kubernetes/cmd/kube-apiserver@$K8S_VERSION" "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >&2

if [[ ! -x "$bin/etcd" ]]; then
  log "building etcd $ETCD_VERSION"
  go build -trimpath -o "$bin/etcd" go.etcd.io/etcd/server/v3 >&2
fi
if [[ ! -x "$bin/kube-apiserver" ]]; then
  log "building kube-apiserver $K8S_VERSION (several minutes on 2 cores)"
  go build -trimpath -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=32" \
    -o "$bin/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver >&2
fi
if [[ ! -x "$bin/aws-iam-authenticator" ]]; then
  log "building aws-iam-authenticator $AUTHENTICATOR_VERSION"
  GOBIN="$bin" go install -trimpath "sigs.k8s.io/aws-iam-authenticator/cmd/aws-iam-authenticator@$AUTHENTICATOR_VERSION" >&2
fi
rm -rf "$work"
log "built: $bin"
echo "$bin"
