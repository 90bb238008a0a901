package render

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fleetc/fleetc/compiler/internal/deploy"
)

// TestFleetPerf measures render and write at fleet scale on a real state
// (PERF-NOTES.md). It runs only with FLEETC_PERF_STATE=<state.json> and
// FLEETC_PERF_OUT=<dir to write trees into>:
//
//	FLEETC_PERF_STATE=/tmp/state.json FLEETC_PERF_OUT=/tmp/perf go test ./compiler/internal/render -run FleetPerf -v
func TestFleetPerf(t *testing.T) {
	statePath, out := os.Getenv("FLEETC_PERF_STATE"), os.Getenv("FLEETC_PERF_OUT")
	if statePath == "" || out == "" {
		t.Skip("set FLEETC_PERF_STATE and FLEETC_PERF_OUT")
	}
	data, err := os.ReadFile(statePath)
	if err != nil {
		t.Fatal(err)
	}
	facts := func(id string) StoreVars { return StoreVars{Name: "Store " + id, Timezone: "America/New_York"} }
	var cold, coldW, warm, warmW []time.Duration
	for run := range 3 {
		st, err := deploy.ParseState(data)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range st.Stores {
			s.Profile = "" // a cold compile: no previous tree
		}
		dir := filepath.Join(out, fmt.Sprintf("run%d", run))
		os.RemoveAll(dir)
		start := time.Now()
		tr, err := Render(context.Background(), st, facts, Options{})
		if err != nil {
			t.Fatal(err)
		}
		cold = append(cold, time.Since(start))
		start = time.Now()
		ws, err := deploy.Write(dir, tr)
		if err != nil {
			t.Fatal(err)
		}
		coldW = append(coldW, time.Since(start))
		profiles := 0
		for p := range tr.Files {
			if strings.HasPrefix(p, "profiles/") {
				profiles++
			}
		}
		t.Logf("cold run %d: render %v write %v: %d files, %d bytes, %d profile files, state.json %d bytes",
			run, cold[run], coldW[run], ws.Files, ws.Bytes, profiles, len(tr.Files[deploy.StatePath]))

		// Warm: one app version bump on every store that runs it.
		prev, err := deploy.ParseState(tr.Files[deploy.StatePath])
		if err != nil {
			t.Fatal(err)
		}
		next, err := deploy.ParseState(tr.Files[deploy.StatePath])
		if err != nil {
			t.Fatal(err)
		}
		bumped := map[string]string{}
		for _, vid := range slices.Sorted(maps.Keys(next.Variants)) {
			if v := next.Variants[vid]; v.App == "pos" {
				nv := *v
				nv.Version = v.Version + "-bump"
				_, _, dir, _ := deploy.SplitVariantID(vid)
				nid := "pos@" + nv.Version + "-" + dir[strings.LastIndexByte(dir, '-')+1:]
				next.Variants[nid] = &nv
				bumped[vid] = nid
			}
		}
		for id, s := range next.Stores {
			apps := make(map[string]string, len(s.Apps))
			for a, v := range s.Apps {
				if n, ok := bumped[v]; ok {
					v = n
				}
				apps[a] = v
			}
			next.Stores[id] = &deploy.StoreState{Ring: s.Ring, Apps: apps}
		}
		for old := range bumped {
			delete(next.Variants, old)
		}
		start = time.Now()
		tr2, err := Render(context.Background(), next, facts, Options{Previous: prev})
		if err != nil {
			t.Fatal(err)
		}
		warm = append(warm, time.Since(start))
		start = time.Now()
		ws, err = deploy.Write(dir, tr2)
		if err != nil {
			t.Fatal(err)
		}
		warmW = append(warmW, time.Since(start))
		t.Logf("warm run %d (bump pos on every store): render %v write %v: %d written, %d removed, %d unchanged",
			run, warm[run], warmW[run], ws.Written, ws.Removed, ws.Unchanged)
		if run < 2 {
			os.RemoveAll(dir)
		}
	}
	med := func(d []time.Duration) time.Duration { d = slices.Clone(d); slices.Sort(d); return d[len(d)/2] }
	t.Logf("medians: cold render %v, cold write %v, warm render %v, warm write %v", med(cold), med(coldW), med(warm), med(warmW))
}
