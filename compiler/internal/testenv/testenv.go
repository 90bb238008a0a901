// Package testenv lets a test skip a suite for something this machine
// lacks and say so where a person reads it: make test prints every suite
// skipped this way at the end, with the command that enables it.
package testenv

import (
	"fmt"
	"os"
	"sync"
	"testing"
)

// SkippedFileEnv names the file Skip appends to (make test sets it).
const SkippedFileEnv = "FLEETC_SKIPPED_FILE"

var mu sync.Mutex

// Skip records "suite<TAB>enable<TAB>reason" in $FLEETC_SKIPPED_FILE, when
// set, and skips t with reason. suite names what did not run ("Gitea forge
// tests"); enable is the one command that makes it run.
func Skip(t testing.TB, suite, enable, reason string) {
	t.Helper()
	if name := os.Getenv(SkippedFileEnv); name != "" {
		mu.Lock()
		f, err := os.OpenFile(name, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			fmt.Fprintf(f, "%s\t%s\t%s\n", suite, enable, reason)
			f.Close()
		}
		mu.Unlock()
	}
	t.Skip(reason)
}
