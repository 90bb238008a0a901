#!/usr/bin/env bash
# kube.sh builds the real Kubernetes and Flux components that fleetc's
# end-to-end tests run on loopback, and prints the directory that holds them.
#
# Everything comes from the Go module proxy and is built once into a cache
# outside the repository, stamped with the pinned versions, so a change of pin
# builds a new directory and an unchanged one is reused:
#
#   ${FLEETC_KUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fleetc-test/kube-<pins>}/
#     bin/etcd bin/kube-apiserver bin/kubectl
#     bin/source-controller bin/kustomize-controller bin/helm-controller
#     crds/*.yaml                      (the Flux CRDs from the module zips)
#     VERSIONS                         (what was built, one line each)
#
# Each component is built from a throwaway wrapper module:
#   - kube-apiserver, kubectl: require k8s.io/kubernetes and replace each of
#     its ./staging/src/k8s.io/<m> modules with k8s.io/<m> v0.<minor>.<patch>
#     (a dependency's replace lines do not apply to the main module); stamped
#     with the release version so charts with kubeVersion: constraints work;
#   - etcd: require go.etcd.io/etcd/server/v3 and build its main package;
#   - Flux controllers: require the controller, turn its ./api replace into the
#     versioned …/api module, copy its versioned replace lines, tidy -e
#     (plain tidy fails on test-only modules the proxy refuses).
# The components build in parallel; each one's time is printed. Cold, on two
# cores with downloads: about 16 minutes (library notes); cached: instant.
#
# Usage: scripts/kube.sh            build what is missing, print the directory
#        scripts/kube.sh --force    rebuild everything
# The e2e tests find the directory at $FLEETC_KUBE.
set -euo pipefail

K8S=v1.34.4
STAGING=v0.34.4
ETCD=v3.5.21
SOURCE=v1.9.6
SOURCE_ARTIFACT=v0.18.1
KUSTOMIZE=v1.9.5
HELM=v1.6.4

pins="k8s${K8S#v}-etcd${ETCD#v}-sc${SOURCE#v}-kc${KUSTOMIZE#v}-hc${HELM#v}"
cache="${FLEETC_KUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fleetc-test/kube-$pins}"

case "${1:-}" in
--force) rm -rf "$cache" ;;
"") ;;
*)
	echo "usage: $0 [--force]" >&2
	exit 2
	;;
esac

export GOTOOLCHAIN=local GOFLAGS=-mod=mod
mkdir -p "$cache/bin" "$cache/crds" "$cache/build" "$cache/logs"
modcache="$(go env GOMODCACHE)"

log() { echo "kube.sh: $*" >&2; }

# gomod_of MODULE@VERSION prints the path of that module's go.mod.
gomod_of() {
	go mod download -json "$1" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p'
}

# versioned_replaces GOMOD prints the replace directives of GOMOD that point
# at module versions (local paths are skipped), one per line.
versioned_replaces() {
	awk '
		/^replace[[:space:]]*\($/ { inblock = 1; next }
		inblock && /^\)/ { inblock = 0; next }
		inblock { print "replace " $0; next }
		/^replace[[:space:]]/ { print }
	' "$1" | grep -E '=>[[:space:]]*[^./[:space:]][^[:space:]]*[[:space:]]+v[0-9]' || true
}

build_kube() {
	local dir="$cache/build/kubernetes"
	rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
	cat >go.mod <<EOF
module fleetc.test/kubebuild

go 1.26

require k8s.io/kubernetes $K8S
EOF
	local gomod
	gomod="$(gomod_of "k8s.io/kubernetes@$K8S")"
	# ./staging/src/k8s.io/<m> → k8s.io/<m> $STAGING
	sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\)[[:space:]]*=>[[:space:]]*\./staging/src/k8s.io/.*#replace \1 => \1 '"$STAGING"'#p' "$gomod" >>go.mod
	cat >tools.go <<'EOF'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
EOF
	go mod tidy -e
	local minor=${K8S#v1.}
	minor=${minor%%.*}
	local ld=""
	for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		ld="$ld -X $pkg.gitVersion=$K8S -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
	done
	go build -trimpath -ldflags "$ld" -o "$cache/bin/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver
	mv "$cache/bin/kube-apiserver.tmp" "$cache/bin/kube-apiserver"
	go build -trimpath -ldflags "$ld" -o "$cache/bin/kubectl.tmp" k8s.io/kubernetes/cmd/kubectl
	mv "$cache/bin/kubectl.tmp" "$cache/bin/kubectl"
}

build_etcd() {
	local dir="$cache/build/etcd"
	rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
	cat >go.mod <<EOF
module fleetc.test/etcdbuild

go 1.26

require go.etcd.io/etcd/server/v3 $ETCD
EOF
	cat >tools.go <<'EOF'
//go:build tools

package tools

import _ "go.etcd.io/etcd/server/v3"
EOF
	go mod tidy -e
	go build -trimpath -o "$cache/bin/etcd.tmp" go.etcd.io/etcd/server/v3
	mv "$cache/bin/etcd.tmp" "$cache/bin/etcd"
}

# build_flux NAME VERSION [EXTRA REPLACE LINES…]
build_flux() {
	local name=$1 version=$2
	shift 2
	local mod="github.com/fluxcd/$name"
	local dir="$cache/build/$name"
	rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
	local gomod
	gomod="$(gomod_of "$mod@$version")"
	cat >go.mod <<EOF
module fleetc.test/${name//-/}build

go 1.26

require (
	$mod $version
	$mod/api $version
)
EOF
	versioned_replaces "$gomod" | grep -v "^replace $mod/api " >>go.mod || true
	local extra
	for extra in "$@"; do echo "$extra" >>go.mod; done
	cat >tools.go <<EOF
//go:build tools

package tools

import _ "$mod"
EOF
	go mod tidy -e
	go build -trimpath -o "$cache/bin/$name.tmp" "$mod"
	mv "$cache/bin/$name.tmp" "$cache/bin/$name"
	cp "$modcache/$mod@$version"/config/crd/bases/*.yaml "$cache/crds/"
	chmod u+w "$cache/crds/"*.yaml
}

# run NAME BINARY FUNC ARGS…: build in the background unless BINARY exists.
pids=()
names=()
run() {
	local name=$1 bin=$2
	shift 2
	if [[ -x "$cache/bin/$bin" ]]; then
		return
	fi
	(
		start=$(date +%s)
		if "$@" >"$cache/logs/$name.log" 2>&1; then
			log "built $name in $(($(date +%s) - start))s"
		else
			log "building $name failed after $(($(date +%s) - start))s; last lines of $cache/logs/$name.log:"
			tail -n 30 "$cache/logs/$name.log" >&2
			exit 1
		fi
	) &
	pids+=($!)
	names+=("$name")
}

total=$(date +%s)
run etcd etcd build_etcd
run kubernetes kubectl build_kube
run source-controller source-controller build_flux source-controller "$SOURCE" \
	"replace github.com/fluxcd/pkg/artifact => github.com/fluxcd/pkg/artifact $SOURCE_ARTIFACT"
run kustomize-controller kustomize-controller build_flux kustomize-controller "$KUSTOMIZE"
run helm-controller helm-controller build_flux helm-controller "$HELM"

failed=0
for i in "${!pids[@]}"; do
	wait "${pids[$i]}" || failed=1
done
if [[ $failed -ne 0 ]]; then
	log "some components failed to build (logs in $cache/logs)"
	exit 1
fi
if [[ ${#pids[@]} -gt 0 ]]; then
	log "all components ready in $(($(date +%s) - total))s"
fi
{
	echo "kube-apiserver kubectl $K8S (staging $STAGING)"
	echo "etcd $ETCD"
	echo "source-controller $SOURCE (pkg/artifact $SOURCE_ARTIFACT)"
	echo "kustomize-controller $KUSTOMIZE"
	echo "helm-controller $HELM"
} >"$cache/VERSIONS"
rm -rf "$cache/build"
echo "$cache"
