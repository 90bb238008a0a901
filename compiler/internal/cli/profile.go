package cli

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
)

// startProfiles starts the CPU profile named by FLEETC_CPUPROFILE and
// arranges the heap profile named by FLEETC_MEMPROFILE (both for
// docs/perf.md's measurements; unset, they cost nothing). The returned
// function stops and writes them.
func startProfiles(stderr io.Writer) func() {
	cpu, mem := os.Getenv("FLEETC_CPUPROFILE"), os.Getenv("FLEETC_MEMPROFILE")
	if cpu == "" && mem == "" {
		return func() {}
	}
	var cf *os.File
	if cpu != "" {
		f, err := os.Create(cpu)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintf(stderr, "fleetc: FLEETC_CPUPROFILE: %v\n", err)
		} else {
			cf = f
		}
	}
	if mem != "" {
		runtime.MemProfileRate = 64 << 10
	}
	return func() {
		if cf != nil {
			pprof.StopCPUProfile()
			cf.Close()
		}
		if mem != "" {
			f, err := os.Create(mem)
			if err == nil {
				err = pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
			if err != nil {
				fmt.Fprintf(stderr, "fleetc: FLEETC_MEMPROFILE: %v\n", err)
			}
		}
	}
}
