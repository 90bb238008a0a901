#!/usr/bin/env bash
# gitea.sh builds a Gitea server for fleetc's forge tests and prints its path.
#
# Gitea v1.26.0 is built from the Go module proxy (module code.gitea.io/gitea)
# into a cache outside the repository and reused when present:
#
#   ${FLEETC_GITEA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fleetc-test/gitea-1.26.0}/gitea
#
# The build uses a throwaway wrapper module that requires code.gitea.io/gitea,
# copies Gitea's own go.mod replace lines as version replaces (a dependency's
# replaces do not apply to the main module), tidies and builds with sqlite.
# A cold build takes about five minutes on two cores.
#
# Usage: scripts/gitea.sh            build if missing, print the binary path
#        scripts/gitea.sh --force    rebuild
#        scripts/gitea.sh --static   print the static root (templates, locales)
#
# The Gitea tests find the binary at the same default path, or at $FLEETC_GITEA.
set -euo pipefail

version=v1.26.0
cache="${FLEETC_GITEA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fleetc-test/gitea-${version#v}}"
bin="$cache/gitea"

static_root() {
	local modcache
	modcache="$(go env GOMODCACHE)"
	echo "$modcache/code.gitea.io/gitea@$version"
}

case "${1:-}" in
--static)
	static_root
	exit 0
	;;
--force)
	rm -f "$bin"
	;;
"") ;;
*)
	echo "usage: $0 [--force|--static]" >&2
	exit 2
	;;
esac

if [[ -x "$bin" ]]; then
	echo "$bin"
	exit 0
fi

mkdir -p "$cache"
work="$cache/build"
rm -rf "$work"
mkdir -p "$work"
cd "$work"

export GOFLAGS=-mod=mod
export GOTOOLCHAIN=local

cat >go.mod <<EOF
module fleetc.test/giteabuild

go 1.26

require code.gitea.io/gitea $version

// A tool directive keeps the requirement through go mod tidy.
tool code.gitea.io/gitea
EOF

# Fetch the module to read its go.mod replace lines.
go mod download -json "code.gitea.io/gitea@$version" >download.json
gomod="$(sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p' download.json)"
if [[ -z "$gomod" || ! -f "$gomod" ]]; then
	echo "gitea.sh: cannot find go.mod of code.gitea.io/gitea@$version" >&2
	exit 1
fi

# Copy replace directives that point at module versions (skip local paths),
# both the one-line form and the block form.
awk '
	/^replace[[:space:]]*\($/ { inblock = 1; next }
	inblock && /^\)/ { inblock = 0; next }
	inblock { print "replace " $0; next }
	/^replace[[:space:]]/ { print }
' "$gomod" | grep -E '=>[[:space:]]*[^./[:space:]][^[:space:]]*[[:space:]]+v[0-9]' >>go.mod || true

go mod tidy
start=$(date +%s)
# main.Version: API clients check the server version (a bare build says
# "development").
go build -trimpath -tags 'sqlite sqlite_unlock_notify' -ldflags "-X main.Version=${version#v}" -o "$bin.tmp" code.gitea.io/gitea
mv "$bin.tmp" "$bin"
end=$(date +%s)
echo "gitea.sh: built $bin in $((end - start))s" >&2
echo "$bin"
