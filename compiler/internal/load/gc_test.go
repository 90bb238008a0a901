package load

import (
	"context"
	"math"
	"runtime/debug"
	"testing"
)

// TestLoadRestoresGC: Load tunes the collector only while it runs.
func TestLoadRestoresGC(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	defer debug.SetGCPercent(debug.SetGCPercent(123))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(1 << 40))
	if _, _, err := Load(context.Background(), Options{Root: "../../.."}); err != nil {
		t.Fatal(err)
	}
	if got := debug.SetGCPercent(123); got != 123 {
		t.Errorf("GC percent after Load = %d, want 123", got)
	}
	if got := debug.SetMemoryLimit(-1); got != 1<<40 {
		t.Errorf("memory limit after Load = %d, want %d", got, int64(1<<40))
	}
}

// TestTuneGC checks the settings in force during a load, and that a GOGC
// chosen by the user is kept.
func TestTuneGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	t.Setenv("GOMEMLIMIT", "")
	t.Setenv("GOGC", "")
	restore := tuneGC()
	percent := debug.SetGCPercent(loadGCPercent)
	limit := debug.SetMemoryLimit(-1)
	restore()
	if percent != loadGCPercent || limit < loadHeadroom || limit > loadHeadroom+1<<30 {
		t.Errorf("during load: GC percent %d, memory limit %d", percent, limit)
	}
	t.Setenv("GOGC", "50")
	restore = tuneGC()
	percent = debug.SetGCPercent(100)
	restore()
	if percent != 100 {
		t.Errorf("with GOGC set: GC percent %d, want the caller's 100", percent)
	}
}
