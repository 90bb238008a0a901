package compiler

import (
	"os"
	"runtime"
	"runtime/debug"
)

// The collector during a compile. A compile allocates a lot that dies
// young (per-pair candidates, rendered files) next to a heap that lives
// for the whole run (the fleet, the targets, the desired state); at the
// default GOGC=100 the collector costs a fifth of a warm compile's CPU at
// 60,000 stores. compileGC runs it at GOGC=400 under a soft memory limit
// instead: the limit, not the percentage, decides the peak. GOGC or
// GOMEMLIMIT set by the user leave everything alone.
const (
	compileGCPercent = 400
	// compileMemLimit is the soft limit for fleets whose live heap is
	// small against it (60,000 stores × 20 apps: ~250 MB after loading,
	// ~650 MB at the peak of a first compile).
	compileMemLimit = 1000 << 20
	// liveFactor raises the limit for larger fleets to this multiple of
	// the heap in use after loading, so the collector never runs back to
	// back against a limit the live heap already fills.
	liveFactor = 3
)

// compileGC applies the policy and returns afterLoad, to be called once
// the fleet is loaded, and restore.
func compileGC() (afterLoad, restore func()) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}, func() {}
	}
	percent := debug.SetGCPercent(compileGCPercent)
	limit := debug.SetMemoryLimit(compileMemLimit)
	afterLoad = func() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if need := int64(ms.HeapInuse) * liveFactor; need > compileMemLimit {
			debug.SetMemoryLimit(need)
		}
	}
	restore = func() {
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(limit)
	}
	return afterLoad, restore
}
