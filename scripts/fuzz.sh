#!/usr/bin/env bash
# Runs every fuzz target of the module for FUZZTIME each (default 10s) and
# prints one line per target with its executions; exits non-zero on the
# first crash (go test leaves the input under testdata/fuzz/ to commit as a
# regression). make fuzz; FUZZTIME=10m scripts/fuzz.sh FuzzParseState for
# one long run (docs/reliability.md, "Fuzzing").
set -euo pipefail
cd "$(dirname "$0")/.."
time="${FUZZTIME:-10s}"
only="${1:-}"
grep -rl --include='*_test.go' '^func Fuzz' compiler agent internal | sort | while read -r file; do
	pkg="./$(dirname "$file")"
	for fn in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$file" | sed 's/^func //'); do
		[ -n "$only" ] && [ "$fn" != "$only" ] && continue
		log="$(mktemp)"
		if ! go test -run '^$' -fuzz "^${fn}\$" -fuzztime "$time" "$pkg" >"$log" 2>&1; then
			cat "$log"
			echo "FAIL $pkg $fn"
			exit 1
		fi
		execs="$(grep -o 'execs: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)"
		printf '%-48s %-28s %12s execs in %s\n' "$pkg" "$fn" "${execs:-?}" "$time"
		rm -f "$log"
	done
done
