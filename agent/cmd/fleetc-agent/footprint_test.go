package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestFootprint measures what docs/agent.md reports: the size of the
// release build, and its RSS and CPU time per cycle while it runs against
// the fake API server and collector at a 2s interval for
// $FLEETC_AGENT_FOOTPRINT (e.g. 2m). Skipped when that is unset.
//
//	FLEETC_AGENT_FOOTPRINT=2m go test -run TestFootprint -v ./agent/cmd/fleetc-agent
func TestFootprint(t *testing.T) {
	dur, err := time.ParseDuration(os.Getenv("FLEETC_AGENT_FOOTPRINT"))
	if err != nil {
		t.Skip("set FLEETC_AGENT_FOOTPRINT=2m to measure the footprint")
	}
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	bin := filepath.Join(t.TempDir(), "fleetc-agent")
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	fi, err := os.Stat(bin)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("binary: %d bytes (%.1f MiB), CGO_ENABLED=0 -trimpath -ldflags='-s -w', %s", fi.Size(), float64(fi.Size())/(1<<20), runtime.Version())

	_, col, stateDir, kc := setupStore(t)
	cmd := exec.Command(bin, "run", "--kubeconfig", kc, "--store", "store-1", "--collector", col.URL,
		"--state-dir", stateDir, "--interval", "2s", "--jitter", "0")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	warm := 10 * time.Second
	time.Sleep(warm)
	cpu0, n0 := cpuTime(t, pid), len(col.seqs())
	var maxRSS, sum, samples int
	for end := time.Now().Add(dur - warm); time.Now().Before(end); time.Sleep(time.Second) {
		rss := procStatus(t, pid, "VmRSS")
		maxRSS, sum, samples = max(maxRSS, rss), sum+rss, samples+1
	}
	cpu1, n1 := cpuTime(t, pid), len(col.seqs())
	hwm := procStatus(t, pid, "VmHWM")
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	cycles := n1 - n0
	if cycles == 0 {
		t.Fatal("no report delivered while measuring")
	}
	t.Logf("run for %v at --interval 2s: %d reports (%d bytes of lists per cycle from kubefake)", dur, n1, listBytes(t))
	t.Logf("VmRSS after %v warm-up: mean %.1f MiB, max %.1f MiB over %d samples; VmHWM %.1f MiB",
		warm, float64(sum)/float64(samples)/1024, float64(maxRSS)/1024, samples, float64(hwm)/1024)
	t.Logf("CPU (user+sys): %v over %d cycles = %v per cycle (read 3 lists over TLS, sign, fsync spool, POST)",
		cpu1-cpu0, cycles, (cpu1-cpu0)/time.Duration(cycles))
}

// procStatus reads a kB field of /proc/PID/status.
func procStatus(t *testing.T, pid int, field string) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// cpuTime is utime+stime of /proc/PID/stat (clock ticks of 1/100 s).
func cpuTime(t *testing.T, pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.Atoi(f[11])
	st, _ := strconv.Atoi(f[12])
	return time.Duration(ut+st) * 10 * time.Millisecond
}

func listBytes(t *testing.T) int {
	n := 0
	for _, f := range []string{"nodes.json", "kustomizations.json", "helmreleases.json"} {
		fi, err := os.Stat(filepath.Join("..", "..", "internal", "kubefake", "testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		n += int(fi.Size())
	}
	return n
}
