package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// benchStores is the fleet size of the write benchmarks: the 60,000-store
// tree of issue 4. FLEETC_BENCH_STORES overrides it for a quick run;
// FLEETC_BENCH_WORKERS sets writeWorkers.
func benchStores(b *testing.B) int {
	n := 60000
	if s := os.Getenv("FLEETC_BENCH_STORES"); s != "" {
		if _, err := fmt.Sscan(s, &n); err != nil {
			b.Fatalf("FLEETC_BENCH_STORES=%q: %v", s, err)
		}
	}
	if s := os.Getenv("FLEETC_BENCH_WORKERS"); s != "" {
		if _, err := fmt.Sscan(s, &writeWorkers); err != nil {
			b.Fatalf("FLEETC_BENCH_WORKERS=%q: %v", s, err)
		}
	}
	return n
}

// syntheticTree is shaped like the rendered 60,000-store tree: one
// ~480-byte entry point per store in its own directory, one profile
// directory (two files, apps.yaml ~11 KB) per 13 stores, 72 release
// directories of three files, state.json (~7 MB at 60,000 stores) and
// decisions.jsonl (~7 MB here; the real one is being shrunk). version
// varies the profiles' apps.yaml and one app's releases, as a one-app bump
// does.
func syntheticTree(stores, version int) *Tree {
	profiles := max(1, stores/13)
	t := NewTree(stores + 2*profiles + 72*3 + 3)
	entry := strings.Repeat("# store entry point padding line\n", 12)
	for i := range stores {
		id := fmt.Sprintf("on-store-%05d", i)
		t.Files["clusters/"+id+"/kustomization.yaml"] = fmt.Appendf(nil,
			"# Source: store %s\nresources:\n- ../../profiles/p-%05d\n%s", id, i%profiles, entry)
	}
	app := strings.Repeat("  kustomization of one app with its labels and paths\n", 220)
	for i := range profiles {
		dir := fmt.Sprintf("profiles/p-%05d/", i)
		t.Files[dir+"kustomization.yaml"] = []byte("resources:\n- apps.yaml\n")
		v := 0
		if i%2 == 0 { // half the profiles run the bumped app
			v = version
		}
		t.Files[dir+"apps.yaml"] = fmt.Appendf(nil, "# profile %d runs pos %d\n%s", i, v, app)
	}
	for a := range 24 {
		for r := range 3 {
			v := r
			if a == 0 {
				v += 100 * version
			}
			dir := fmt.Sprintf("releases/app-%02d/1.%d.0-0123456789/", a, v)
			for _, f := range []string{"kustomization.yaml", "source.yaml", "release.yaml"} {
				t.Files[dir+f] = fmt.Appendf(nil, "# %s of app %d\n%s", f, a, app[:1500])
			}
		}
	}
	line := strings.Repeat("x", 110)
	var state, decisions strings.Builder
	for i := range stores {
		fmt.Fprintf(&state, "%q:%q,\n", fmt.Sprintf("on-store-%05d", i), fmt.Sprintf("p-%05d-%d", i%profiles, version))
		fmt.Fprintf(&decisions, "{\"store\":%d,\"v\":%d,%q}\n", i, version, line[:i%8])
	}
	for range 60 {
		state.WriteString(line[:100] + "\n")
	}
	t.Files[StatePath] = []byte(state.String())
	t.Files[".fleetc/decisions.jsonl"] = []byte(decisions.String())
	t.Files[IgnorePath] = []byte(IgnoreContent)
	return t
}

// cpuTime is the user and system CPU time this process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkWriteCold writes the tree into a new directory (staging and
// rename); BenchmarkWriteWarm then applies a one-app bump (~2,300 changed
// files at 60,000 stores) through the journal. Both report CPU seconds
// (user+sys of the whole process) next to wall time. Run with
// -benchtime=1x -count=3: one iteration writes 69,000 files.
func BenchmarkWriteCold(b *testing.B) {
	t1 := syntheticTree(benchStores(b), 1)
	root := b.TempDir()
	var cpu time.Duration
	n := 0
	for b.Loop() {
		b.StopTimer()
		dir := filepath.Join(root, fmt.Sprint(n))
		n++
		c0 := cpuTime(b)
		b.StartTimer()
		stats, err := Write(dir, t1)
		b.StopTimer()
		cpu += cpuTime(b) - c0
		if err != nil || stats.Written != len(t1.Files) {
			b.Fatalf("cold write: %+v %v", stats, err)
		}
		os.RemoveAll(dir)
		b.StartTimer()
	}
	b.ReportMetric(cpu.Seconds()/float64(n), "cpu-s/op")
}

func BenchmarkWriteWarm(b *testing.B) {
	stores := benchStores(b)
	trees := []*Tree{syntheticTree(stores, 1), syntheticTree(stores, 2)}
	dir := filepath.Join(b.TempDir(), "repo")
	if _, err := Write(dir, trees[0]); err != nil {
		b.Fatal(err)
	}
	var cpu time.Duration
	n := 0
	for b.Loop() {
		b.StopTimer()
		next := trees[(n+1)%2]
		n++
		c0 := cpuTime(b)
		b.StartTimer()
		stats, err := Write(dir, next)
		b.StopTimer()
		cpu += cpuTime(b) - c0
		if err != nil || stats.Written == 0 || stats.Written > len(next.Files)/10 {
			b.Fatalf("warm write: %+v %v", stats, err)
		}
		b.StartTimer()
	}
	b.ReportMetric(cpu.Seconds()/float64(n), "cpu-s/op")
}

// syntheticStates is a previous state shaped like a read state.json (the
// stores of one profile share one Apps map: 60,000 stores × 20 apps in
// 4,615 profiles over 4 rings) and a desired state shaped like the gate's
// (a map per store) where half the stores moved app-00 to a new version.
func syntheticStates(stores int) (prev, next *State) {
	prev, next = NewState(), NewState()
	for a := range 20 {
		for v := range 3 {
			for _, s := range []*State{prev, next} {
				id := fmt.Sprintf("app-%02d@1.%d.0-0123456789", a, v)
				s.Variants[id] = &Variant{App: fmt.Sprintf("app-%02d", a), Version: fmt.Sprintf("1.%d.0", v)}
			}
		}
	}
	profiles := max(1, stores/13)
	shared := make([]map[string]string, profiles)
	for p := range shared {
		shared[p] = map[string]string{}
		for a := range 20 {
			shared[p][fmt.Sprintf("app-%02d", a)] = fmt.Sprintf("app-%02d@1.%d.0-0123456789", a, (p/(a+1))%2)
		}
	}
	rings := []string{"canary", "wave-1", "wave-2", "chain"}
	for i := range stores {
		id := fmt.Sprintf("on-store-%05d", i)
		p := i % profiles
		ring := rings[p%len(rings)]
		prev.Stores[id] = &StoreState{Ring: ring, Apps: shared[p], Profile: fmt.Sprint(p)}
		apps := make(map[string]string, 20)
		for a, v := range shared[p] {
			apps[a] = v
		}
		if i%2 == 0 {
			apps["app-00"] = "app-00@1.2.0-0123456789"
		}
		next.Stores[id] = &StoreState{Ring: ring, Apps: apps}
	}
	return prev, next
}

// BenchmarkDiff compares a 60,000-store desired state with no previous
// state (a cold compile: 1.2M pairs added) and with a previous one (a
// one-app bump on half the stores).
func BenchmarkDiff(b *testing.B) {
	prev, next := syntheticStates(benchStores(b))
	for _, bc := range []struct {
		name string
		old  *State
	}{{"cold", nil}, {"bump", prev}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			var cpu time.Duration
			n := 0
			for b.Loop() {
				c0 := cpuTime(b)
				p := Diff(bc.old, next)
				cpu += cpuTime(b) - c0
				n++
				if p.Summary.FleetStores != len(next.Stores) {
					b.Fatalf("plan of %d stores", p.Summary.FleetStores)
				}
			}
			b.ReportMetric(cpu.Seconds()/float64(n), "cpu-s/op")
		})
	}
}

// BenchmarkWriteRerun writes the same tree again: a rerun with nothing
// new, the cost of finding that nothing on disk differs from the index.
func BenchmarkWriteRerun(b *testing.B) {
	tr := syntheticTree(benchStores(b), 1)
	dir := filepath.Join(b.TempDir(), "repo")
	if _, err := Write(dir, tr); err != nil {
		b.Fatal(err)
	}
	var cpu time.Duration
	n := 0
	for b.Loop() {
		c0 := cpuTime(b)
		stats, err := Write(dir, tr)
		cpu += cpuTime(b) - c0
		n++
		if err != nil || stats.Written != 0 || stats.Removed != 0 {
			b.Fatalf("rerun: %+v %v", stats, err)
		}
	}
	b.ReportMetric(cpu.Seconds()/float64(n), "cpu-s/op")
}
