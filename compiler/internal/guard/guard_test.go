package guard

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/fleetc/fleetc/compiler/internal/deploy"
	"github.com/fleetc/fleetc/compiler/internal/diag"
	"github.com/fleetc/fleetc/compiler/internal/model"
	"github.com/fleetc/fleetc/compiler/internal/policy"
	"github.com/fleetc/fleetc/compiler/internal/target"
)

func settings() model.Settings {
	return model.Settings{Guard: model.GuardSettings{
		MassChange:      model.MassChangeSettings{Share: 0.05, Floor: 10, Signoff: []string{"platform"}},
		HaltLiftSignoff: []string{"ops"},
	}}
}

var (
	ops      = policy.ApprovalSet{Teams: []string{"ops"}}
	platform = policy.ApprovalSet{Teams: []string{"platform"}}
	none     = policy.ApprovalSet{}
)

func rec(apps, rings []string) *deploy.HaltRecord {
	return &deploy.HaltRecord{Apps: apps, Rings: rings, Reason: "r", Ticket: "T-1", By: "dokafor", Since: "2026-11-24T01:00:00Z"}
}

func TestResolveHalts(t *testing.T) {
	declared := func(apps, rings []string) []*model.Halt {
		return []*model.Halt{{ID: "h", Apps: apps, Rings: rings, Reason: "r", Ticket: "T-1", By: "dokafor", Since: "2026-11-24T01:00:00Z"}}
	}
	stateWith := func(r *deploy.HaltRecord) *deploy.State {
		st := deploy.NewState()
		if r != nil {
			st.Halts = map[string]*deploy.HaltRecord{"h": r}
		}
		return st
	}
	tests := []struct {
		name      string
		halts     []*model.Halt
		prev      *deploy.HaltRecord
		approvals policy.ApprovalSet
		propose   bool
		inForce   string // "apps/rings", "" = none
		lifted    bool
		warning   bool
	}{
		{"declared, new", declared([]string{"pos"}, nil), nil, none, false, "pos/", false, false},
		{"declared, kept", declared([]string{"pos"}, nil), rec([]string{"pos"}, nil), none, false, "pos/", false, false},
		{"widened needs nothing", declared(nil, nil), rec([]string{"pos"}, nil), none, false, "/", false, false},
		{"removed without ops stays", nil, rec([]string{"pos"}, []string{"chain"}), platform, false, "pos/chain", false, true},
		{"removed with ops lifts", nil, rec([]string{"pos"}, nil), ops, false, "", true, false},
		{"removed under propose lifts for the sign-off gate", nil, rec([]string{"pos"}, nil), none, true, "", true, false},
		{"narrowed without ops holds the union", declared([]string{"pos"}, nil), rec([]string{"kds"}, nil), none, false, "kds,pos/", false, true},
		{"narrowed across apps and rings holds both (conservatively all)", declared([]string{"pos"}, nil), rec(nil, []string{"chain"}), none, false, "/", false, true},
		{"narrowed with ops", declared([]string{"pos"}, nil), rec(nil, nil), ops, false, "pos/", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &model.Fleet{Settings: settings(), Halts: tt.halts}
			h, diags := ResolveHalts(f, stateWith(tt.prev), tt.approvals, tt.propose)
			got := ""
			for _, x := range h.InForce {
				got = strings.Join(x.Record.Apps, ",") + "/" + strings.Join(x.Record.Rings, ",")
			}
			if got != tt.inForce {
				t.Errorf("in force %q, want %q", got, tt.inForce)
			}
			if (len(h.Lifted) > 0) != tt.lifted {
				t.Errorf("lifted %v, want %v", h.Lifted, tt.lifted)
			}
			if tt.propose && len(h.Lifted) > 0 && !slices.Equal(h.Lifted[0].Missing, []string{"ops"}) {
				t.Errorf("propose: lift misses %v, want ops for the sign-off gate", h.Lifted[0].Missing)
			}
			warned := slices.ContainsFunc(diags, func(d diag.Diagnostic) bool { return d.Code == "halt-lift-signoff" })
			if warned != tt.warning {
				t.Errorf("warning %v, want %v: %v", warned, tt.warning, diags)
			}
			if n := len(h.InForce) + len(h.Lifted); len(h.Decisions) != n {
				t.Errorf("%d decisions, want %d (one per halt in force or lifted)", len(h.Decisions), n)
			}
			if tt.propose && len(h.Lifted) > 0 {
				if d := h.Decisions[len(h.Decisions)-1]; d.Verdict != policy.NeedsSignoff || !slices.Equal(d.Teams, []string{"ops"}) {
					t.Errorf("proposed lift recorded as %+v, want needs-signoff from ops", d)
				}
			}
		})
	}
}

func TestHaltHold(t *testing.T) {
	h := &Halts{InForce: []Halt{{ID: "h", Record: *rec([]string{"pos"}, []string{"chain"})}}}
	hold := h.Hold()
	for _, c := range []struct {
		app, ring string
		want      bool
	}{{"pos", "chain", true}, {"pos", "canary", false}, {"kds", "chain", false}} {
		if _, ok := hold(c.app, c.ring); ok != c.want {
			t.Errorf("hold(%s, %s) = %v, want %v", c.app, c.ring, ok, c.want)
		}
	}
	if (&Halts{}).Hold() != nil {
		t.Error("no halt in force must give no hook")
	}
}

// massFleet is n stores s-0000… in ring main; every store ran pos and
// the first ten also kds; remove lists the stores that left.
func massFleet(n int, gone func(i int) bool, untarget func(i int) bool) MassInput {
	f := &model.Fleet{Settings: settings()}
	pos := &model.App{ID: "pos", Pos: diag.Pos{File: "apps/pos.cue", Line: 3, Col: 7}}
	f.Apps = []*model.App{pos}
	prev, desired := deploy.NewState(), deploy.NewState()
	tr := &target.Result{}
	for i := range n {
		id := fmt.Sprintf("s-%04d", i)
		apps := map[string]string{"pos": "pos@1.0.0-a"}
		if i < 10 {
			apps["kds"] = "kds@1.0.0-a"
		}
		prev.Stores[id] = &deploy.StoreState{Ring: "main", Apps: apps}
		if gone(i) {
			continue
		}
		s := &model.Store{ID: id}
		f.Stores = append(f.Stores, s)
		st := target.StoreTarget{Store: s, Ring: "main"}
		ds := &deploy.StoreState{Ring: "main", Apps: map[string]string{}}
		if !untarget(i) {
			st.Apps = []target.Assignment{{App: pos}}
			ds.Apps["pos"] = "pos@1.0.0-a"
		}
		if i < 10 {
			ds.Apps["kds"] = "kds@1.0.0-a"
		}
		tr.Stores = append(tr.Stores, st)
		desired.Stores[id] = ds
	}
	prev.Variants["pos@1.0.0-a"] = &deploy.Variant{App: "pos", Version: "1.0.0"}
	f.Index()
	return MassInput{Fleet: f, Targets: tr, Previous: prev, Desired: desired}
}

func TestCheckMassLimits(t *testing.T) {
	never := func(int) bool { return false }
	tests := []struct {
		name     string
		n        int
		gone     func(int) bool
		untarget func(int) bool
		tripped  bool
	}{
		{"2,000 stores, 100 gone (5%) is allowed", 2000, func(i int) bool { return i >= 1900 }, never, false},
		{"2,000 stores, 101 gone trips", 2000, func(i int) bool { return i >= 1899 }, never, true},
		{"2,000 stores, 120 untargeted trips", 2000, never, func(i int) bool { return i >= 1880 }, true},
		{"40 stores, 10 gone is the floor", 40, func(i int) bool { return i >= 30 }, never, false},
		{"40 stores, 11 gone trips", 40, func(i int) bool { return i >= 29 }, never, true},
		{"6 stores, 3 gone is half", 6, func(i int) bool { return i >= 3 }, never, false},
		{"6 stores, 4 gone is most of the fleet", 6, func(i int) bool { return i >= 2 }, never, true},
		{"6 stores, every store gone", 6, func(int) bool { return true }, never, true},
		{"1 store retiring an app is within the floor", 1, never, func(int) bool { return true }, false},
		{"1 store gone is most of the fleet", 1, func(int) bool { return true }, never, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, diags := CheckMass(massFleet(tt.n, tt.gone, tt.untarget))
			if m.Tripped != tt.tripped || diags.HasErrors() != tt.tripped {
				t.Fatalf("tripped %v (errors %v), want %v: %v", m.Tripped, diags.HasErrors(), tt.tripped, diags)
			}
		})
	}
}

func TestCheckMassCausesAndOverride(t *testing.T) {
	in := massFleet(2000, func(i int) bool { return i >= 1800 }, func(i int) bool { return i < 50 })
	m, diags := CheckMass(in)
	if !diags.HasErrors() {
		t.Fatal("250 of 2,000 stores: want the guard to trip")
	}
	msg := diags[0].Message
	for _, want := range []string{
		"250 of 2000 stores (12.5%; the guard allows 100",
		"200 stores are no longer rendered",
		"pos leaves 250 of its 2000 stores, over its limit of 100: 200 left the inventory (s-1800, s-1801, s-1802, …), 50 no longer targeted by pos (s-0000, s-0001, s-0002, …) see apps/pos.cue:3:7",
		`add an override of kind "mass-change"`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	if diags[0].Pos.File != "apps/pos.cue" {
		t.Errorf("error at %v, want the app that untargets stores", diags[0].Pos)
	}
	if len(m.Decisions) != 200 || m.Decisions[0].Kind != KindDecommission {
		t.Errorf("%d decisions, want a decommission per (store, app) of the 200 stores gone", len(m.Decisions))
	}

	in.Fleet.Overrides = []*model.Override{{ID: "close", Kind: "mass-change", Reason: "closing", Ticket: "OPS-1"}}
	if _, diags := CheckMass(in); !diags.HasErrors() || diags[0].Code != "mass-change-signoff" {
		t.Errorf("override without platform's approval: %v, want mass-change-signoff", diags)
	}
	in.Propose = true
	m, diags = CheckMass(in)
	if diags.HasErrors() || m.Override != "close" || !slices.Equal(m.Missing, []string{"platform"}) {
		t.Errorf("propose: %v, override %q, missing %v; want it through, the sign-off gate asking platform", diags, m.Override, m.Missing)
	}
	if d := m.Decisions[len(m.Decisions)-1]; d.Kind != KindMassChange || d.Verdict != policy.NeedsSignoff {
		t.Errorf("propose: last decision %+v, want the mass change needing sign-off", d)
	}
	in.Propose, in.Approvals = false, platform
	if m, diags = CheckMass(in); diags.HasErrors() || m.Override != "close" {
		t.Errorf("approved override: %v", diags)
	}
}

func TestCheckMassFirstCompile(t *testing.T) {
	in := massFleet(10, func(int) bool { return false }, func(int) bool { return false })
	in.Previous = deploy.NewState()
	if m, diags := CheckMass(in); m.Tripped || diags.HasErrors() {
		t.Errorf("a first compile is not guarded: %v", diags)
	}
}
