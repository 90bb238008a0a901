package compiler

import (
	"runtime/debug"
	"testing"
)

// TestCompileGC: the policy applies, afterLoad only ever raises the limit,
// and restore puts back what was there.
func TestCompileGC(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	before := debug.SetGCPercent(-1)
	debug.SetGCPercent(before)
	beforeLimit := debug.SetMemoryLimit(-1)

	afterLoad, restore := compileGC()
	if p := debug.SetGCPercent(-1); p != compileGCPercent {
		t.Errorf("GOGC during a compile = %d, want %d", p, compileGCPercent)
	} else {
		debug.SetGCPercent(p)
	}
	afterLoad()
	if l := debug.SetMemoryLimit(-1); l < compileMemLimit {
		t.Errorf("memory limit after load = %d, want at least %d", l, compileMemLimit)
	}
	restore()
	if p := debug.SetGCPercent(-1); p != before {
		t.Errorf("GOGC after restore = %d, want %d", p, before)
	} else {
		debug.SetGCPercent(p)
	}
	if l := debug.SetMemoryLimit(-1); l != beforeLimit {
		t.Errorf("memory limit after restore = %d, want %d", l, beforeLimit)
	}
}

// TestCompileGCUserSetting: GOGC from the environment wins.
func TestCompileGCUserSetting(t *testing.T) {
	t.Setenv("GOGC", "100")
	before := debug.SetGCPercent(-1)
	debug.SetGCPercent(before)
	_, restore := compileGC()
	defer restore()
	if p := debug.SetGCPercent(-1); p != before {
		t.Errorf("GOGC = %d with GOGC set by the user, want %d untouched", p, before)
	} else {
		debug.SetGCPercent(p)
	}
}
