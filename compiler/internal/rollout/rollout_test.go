package rollout

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fleetc/fleetc/compiler/internal/deploy"
	"github.com/fleetc/fleetc/compiler/internal/load"
	"github.com/fleetc/fleetc/compiler/internal/target"
)

// A fleet of six stores in three rings: lab (1 store), canary (2), chain
// (3), one app.
const fleetCUE = `package fleet

stores: {
	for id in ["l1", "c1", "c2", "m1", "m2", "m3"] {
		(id): {name: id, geo: "us", timezone: "UTC", jurisdiction: country: "US", attributes: owner: "corporate"}
	}
}
rings: {
	lab: {order: 0, stores: ["l1"], bakeTime: "2h"}
	canary: {order: 1, stores: ["c1", "c2"], successThreshold: 1, failureBudget: 0, bakeTime: "1h"}
	chain: {order: 2, stores: ["m1", "m2", "m3"]}
}
apps: pos: {source: helm: {repository: "https://charts.example", chart: "pos"}, version: "VERSION"}
`

func targets(t *testing.T, version string) *target.Result {
	t.Helper()
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "fleet.cue"), []byte(strings.Replace(fleetCUE, "VERSION", version, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	f, diags, err := load.Load(context.Background(), load.Options{Root: root})
	if err != nil || diags.HasErrors() {
		t.Fatalf("load: %v %v", err, diags.Err())
	}
	res, diags := target.Resolve(context.Background(), f, target.Options{})
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	return res
}

// applied is the state after a compile that gave every store of rings
// opened by r the target and left the others on what prev gave them.
func applied(tr *target.Result, r *Result, prev *deploy.State) *deploy.State {
	st := deploy.NewState()
	st.Rollouts = r.Rollouts
	for _, s := range tr.Stores {
		ss := &deploy.StoreState{Ring: s.Ring, Apps: map[string]string{}}
		for _, a := range s.Apps {
			if _, held := r.Hold(a.App.ID, s.Ring, a.Version); held {
				if p := prev.Stores[s.Store.ID]; p != nil && p.Apps[a.App.ID] != "" {
					ss.Apps[a.App.ID] = p.Apps[a.App.ID]
					st.Variants[p.Apps[a.App.ID]] = prev.Variants[p.Apps[a.App.ID]]
				}
				continue
			}
			ss.Apps[a.App.ID] = a.Variant.ID
			st.Variants[a.Variant.ID] = &deploy.Variant{App: a.App.ID, Version: a.Version}
		}
		st.Stores[s.Store.ID] = ss
	}
	return st
}

// report is the snapshot at `at` of stores Ready for two hours, but the
// ones ready names ("false", "unknown", "offline": no report).
func report(st *deploy.State, at time.Time, ready map[string]string) *Snapshot {
	s := SnapshotFromState(st, at, at.Add(-2*time.Hour))
	for id, r := range ready {
		if r == "offline" {
			delete(s.Stores, id)
			continue
		}
		for _, a := range s.Stores[id].Apps {
			a.Ready = r
			if r == "false" {
				a.Reason, a.Message = "InstallFailed", "chart refused"
			}
		}
	}
	return s
}

var t0 = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

func opened(r *Result) []string {
	var out []string
	for _, rr := range r.Rollouts["pos"].Rings {
		if rr.Opened != nil {
			out = append(out, rr.Ring)
		}
	}
	return out
}

func TestWalkHappyPath(t *testing.T) {
	tr := targets(t, "1.0.0")
	prev := deploy.NewState()
	// A first compile opens lab only, even with an all-Ready snapshot.
	r := Run(Options{Targets: tr, Previous: prev, Now: t0, Feedback: report(prev, t0, nil)})
	if got := strings.Join(opened(r), ","); got != "lab" {
		t.Fatalf("first compile opened %s, want lab", got)
	}
	if _, held := r.Hold("pos", "canary", "1.0.0"); !held {
		t.Fatal("canary not held")
	}
	st := applied(tr, r, prev)
	// Lab Ready, but not baked (2h, counted from when lab was opened: its
	// Ready since predates that): canary stays closed, the ETA is when lab
	// has baked.
	r = Run(Options{Targets: tr, Previous: st, Now: t0.Add(time.Hour), Feedback: report(st, t0.Add(time.Hour), nil)})
	h, held := r.Hold("pos", "canary", "1.0.0")
	if !held || h.Until == nil || !h.Until.Equal(t0.Add(2*time.Hour)) || !strings.Contains(h.Msg, "lab baked 1h of 2h") {
		t.Fatalf("canary hold = %+v, want lab baked 1h of 2h until %v", h, t0.Add(2*time.Hour))
	}
	st = applied(tr, r, st)
	// Baked: canary opens; chain waits for canary.
	r = Run(Options{Targets: tr, Previous: st, Now: t0.Add(3 * time.Hour), Feedback: report(st, t0.Add(3*time.Hour), nil)})
	if got := strings.Join(opened(r), ","); got != "lab,canary" {
		t.Fatalf("after bake opened %s, want lab,canary", got)
	}
	st = applied(tr, r, st)
	r = Run(Options{Targets: tr, Previous: st, Now: t0.Add(5 * time.Hour), Feedback: report(st, t0.Add(5*time.Hour), nil)})
	if got := strings.Join(opened(r), ","); got != "lab,canary,chain" {
		t.Fatalf("opened %s, want every ring", got)
	}
	if lkg := r.Rollouts["pos"].Rings[0].LastKnownGood; lkg != "1.0.0" {
		t.Errorf("lab last-known-good %q", lkg)
	}
	// A new version starts over in lab; the rings keep their LKG.
	st = applied(tr, r, st)
	tr2 := targets(t, "1.1.0")
	r = Run(Options{Targets: tr2, Previous: st, Now: t0.Add(6 * time.Hour), Feedback: report(st, t0.Add(6*time.Hour), nil)})
	if got := strings.Join(opened(r), ","); got != "lab" || r.Rollouts["pos"].Rings[1].LastKnownGood != "1.0.0" {
		t.Fatalf("new version: opened %s, canary LKG %q", got, r.Rollouts["pos"].Rings[1].LastKnownGood)
	}
}

// walkTo returns the state once lab and canary run the target.
func walkTo(t *testing.T, tr *target.Result) (*deploy.State, time.Time) {
	t.Helper()
	st := deploy.NewState()
	now := t0
	for i := 0; i < 2; i++ {
		r := Run(Options{Targets: tr, Previous: st, Now: now, Feedback: report(st, now, nil)})
		st = applied(tr, r, st)
		now = now.Add(3 * time.Hour)
	}
	return st, now
}

func TestGateRules(t *testing.T) {
	tr := targets(t, "1.0.0")
	st, now := walkTo(t, tr)
	if st.Stores["c1"].Apps["pos"] == "" || st.Stores["m1"].Apps["pos"] != "" {
		t.Fatalf("walk did not stop at canary: %+v %+v", st.Stores["c1"], st.Stores["m1"])
	}
	for _, tt := range []struct {
		name   string
		canary map[string]string // store -> ready, "offline"
		gate   string            // the hold message on chain contains this; "" = chain opens
		halted bool
	}{
		{"all ready", nil, "", false},
		{"one failing over budget halts", map[string]string{"c2": "false"}, "halted in canary: 1 failing stores exceed the failure budget of 0", true},
		{"offline is not failing: coverage floor", map[string]string{"c2": "offline"}, "1 of 2 stores in canary report (50%), below the 80% coverage floor; 1 offline", false},
		{"unknown is pending, not failing", map[string]string{"c2": "unknown"}, "1 of 2 stores in canary Ready at 1.0.0, 2 needed", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := Run(Options{Targets: tr, Previous: st, Now: now, Feedback: report(st, now, tt.canary)})
			h, held := r.Hold("pos", "chain", "1.0.0")
			switch {
			case tt.gate == "" && held:
				t.Fatalf("chain held: %s", h.Msg)
			case tt.gate != "" && (!held || !strings.Contains(h.Msg, tt.gate)):
				t.Fatalf("chain hold = %+v, want it to say %q", h, tt.gate)
			}
			if got := r.Rollouts["pos"].Halted != nil; got != tt.halted {
				t.Errorf("halted = %v, want %v", got, tt.halted)
			}
			if tt.halted && r.Rollouts["pos"].Halted.Failing[0] != "c2: InstallFailed: chart refused" {
				t.Errorf("failing = %v", r.Rollouts["pos"].Halted.Failing)
			}
		})
	}
	// No snapshot: no ring beyond those already open.
	r := Run(Options{Targets: tr, Previous: st, Now: now})
	if h, held := r.Hold("pos", "chain", "1.0.0"); !held || !strings.Contains(h.Msg, "no feedback on 1.0.0 in canary") {
		t.Fatalf("without feedback chain hold = %+v", h)
	}
	// A halt sticks: a later all-Ready snapshot does not reopen the walk.
	halted := Run(Options{Targets: tr, Previous: st, Now: now, Feedback: report(st, now, map[string]string{"c2": "false"})})
	st.Rollouts = halted.Rollouts
	r = Run(Options{Targets: tr, Previous: st, Now: now.Add(time.Hour), Feedback: report(st, now.Add(time.Hour), nil)})
	if _, held := r.Hold("pos", "chain", "1.0.0"); !held || r.Rollouts["pos"].Halted == nil {
		t.Fatal("a halted rollout reopened on a healthy snapshot")
	}
	// A stale report is offline.
	r = Run(Options{Targets: tr, Previous: st, Now: now.Add(2 * time.Hour), Feedback: report(deploy.NewState(), now, nil)})
	if len(r.Apps) != 1 || r.Apps[0].Rings[1].Offline != 2 {
		t.Fatalf("stale reports not offline: %+v", r.Apps)
	}
}

// A deferred store (here: one that has not received the target) is left
// out of its ring's denominator: the ring is judged on the stores that run it.
func TestNotReceivedLeftOut(t *testing.T) {
	tr := targets(t, "1.0.0")
	st, now := walkTo(t, tr)
	delete(st.Stores["c2"].Apps, "pos") // as if c2's window had kept it back
	r := Run(Options{Targets: tr, Previous: st, Now: now, Feedback: report(st, now, nil)})
	if _, held := r.Hold("pos", "chain", "1.0.0"); held {
		t.Fatal("a store waiting for its window kept the next ring closed")
	}
	if rs := r.Apps[0].Rings[1]; rs.Stores != 2 || rs.Received != 1 || rs.Ready != 1 {
		t.Fatalf("canary = %+v", rs)
	}
}

func TestReadSnapshot(t *testing.T) {
	tr := targets(t, "1.0.0")
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, "f.json")
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ok := `{"schema":"fleetc.dev/feedback/v1","generatedAt":"2026-11-24T09:00:00Z","stores":{
"l1":{"reportedAt":"2026-11-24T09:00:00Z","apps":{"pos":{"version":"1.0.0","ready":"true"},"gone":{"version":"1","ready":"true"}}},
"zz-closed":{"reportedAt":"2026-11-24T09:00:00Z","apps":{}}}}`
	s, diags := ReadSnapshot(write(ok), tr.Fleet)
	if s == nil || diags.HasErrors() || len(diags) != 2 || s.Stores["zz-closed"] != nil || s.Stores["l1"].Apps["gone"] != nil {
		t.Fatalf("unknown store and app must be warnings and dropped: %v %v", s, diags)
	}
	for name, bad := range map[string]string{
		"syntax":       "{\n\"schema\": ,}",
		"schema":       `{"schema":"v0","stores":{}}`,
		"ready":        `{"schema":"fleetc.dev/feedback/v1","stores":{"l1":{"reportedAt":"2026-11-24T09:00:00Z","apps":{"pos":{"version":"1.0.0","ready":"yes"}}}}}`,
		"no time":      `{"schema":"fleetc.dev/feedback/v1","stores":{"l1":{"apps":{}}}}`,
		"unknown keys": `{"schema":"fleetc.dev/feedback/v1","stores":{},"extra":1}`,
	} {
		if s, diags := ReadSnapshot(write(bad), tr.Fleet); s != nil || !diags.HasErrors() {
			t.Errorf("%s: read %v, %v; want an error", name, s, diags)
		}
	}
	if _, diags := ReadSnapshot(write("{\n\"schema\": ,}"), tr.Fleet); diags[0].Pos.Line != 2 {
		t.Errorf("syntax error position = %+v, want line 2", diags[0].Pos)
	}
}

// A state whose first ring is recorded closed (edited by hand) opens it
// instead of crashing the compile.
func TestFirstRingRecordedClosed(t *testing.T) {
	tr := targets(t, "1.0.0")
	r := Run(Options{Targets: tr, Previous: deploy.NewState(), Now: t0})
	st := applied(tr, r, deploy.NewState())
	st.Rollouts["pos"].Rings[0].Opened = nil
	r = Run(Options{Targets: tr, Previous: st, Now: t0})
	if got := strings.Join(opened(r), ","); got != "lab" {
		t.Fatalf("opened %q, want lab", got)
	}
}
