#!/usr/bin/env bash
# skipped.sh FILE prints, at the end of make test, which suites did not run
# on this machine and the one command that enables each. FILE holds the
# lines testenv.Skip recorded: suite<TAB>enable<TAB>reason.
set -euo pipefail
file="${1:?usage: skipped.sh FILE}"
echo "== not part of make test: the end-to-end suite on real Flux and Kubernetes — run: make e2e"
if [[ -s "$file" ]]; then
	echo "== skipped on this machine (make test passed without them):"
	sort -t $'\t' -u -k1,1 "$file" | awk -F '\t' '{ printf "   %s: %s\n      enable: %s\n", $1, $3, $2 }'
else
	echo "== every suite of make test ran"
fi
