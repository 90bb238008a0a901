package gate

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/fleetc/fleetc/compiler/internal/deploy"
	"github.com/fleetc/fleetc/compiler/internal/model"
	"github.com/fleetc/fleetc/compiler/internal/policy"
	"github.com/fleetc/fleetc/compiler/internal/target"
)

// sameResult fails unless got and want hold the same decisions, the same
// desired state and the same count of pairs.
func sameResult(t *testing.T, got, want *Result) {
	t.Helper()
	if got.Evaluated != want.Evaluated {
		t.Errorf("evaluated %d pairs, reference %d", got.Evaluated, want.Evaluated)
	}
	if len(got.Decisions) != len(want.Decisions) {
		t.Errorf("%d decisions, reference %d", len(got.Decisions), len(want.Decisions))
	}
	for i := range min(len(got.Decisions), len(want.Decisions)) {
		if !reflect.DeepEqual(got.Decisions[i], want.Decisions[i]) {
			t.Errorf("decision %d:\ngot       %+v\nreference %+v", i, got.Decisions[i], want.Decisions[i])
			break
		}
	}
	if !reflect.DeepEqual(got.Desired, want.Desired) {
		for id, ss := range want.Desired.Stores {
			if g := got.Desired.Stores[id]; !reflect.DeepEqual(g, ss) {
				t.Errorf("store %s: got %+v, reference %+v", id, g, ss)
				break
			}
		}
		t.Errorf("desired state differs: %d stores, %d variants; reference %d stores, %d variants",
			len(got.Desired.Stores), len(got.Desired.Variants), len(want.Desired.Stores), len(want.Desired.Variants))
	}
}

// randomPrevious is a previous state in which each store runs a random
// mix of its target variants, older versions of them, apps it no longer
// gets (some no longer declared), stored under its ring or another; plus
// a store that left the fleet.
func randomPrevious(rng *rand.Rand, tr *target.Result) *deploy.State {
	st := deploy.NewState()
	rings := []string{"lab", "canary", "pilot", "early", "chain"}
	add := func(id string, v *deploy.Variant) string {
		if _, ok := st.Variants[id]; !ok {
			st.Variants[id] = v
		}
		return id
	}
	for _, s := range tr.Stores {
		if rng.IntN(10) == 0 {
			continue // a new store
		}
		ss := &deploy.StoreState{Ring: s.Ring, Apps: map[string]string{}}
		if rng.IntN(20) == 0 {
			ss.Ring = rings[rng.IntN(len(rings))]
		}
		for _, a := range s.Apps {
			v := a.Variant
			switch rng.IntN(6) {
			case 0: // not installed yet
			case 1: // an older version
				ss.Apps[a.App.ID] = add(v.App+"@0.9.0-"+v.ID[len(v.ID)-10:], &deploy.Variant{App: v.App, Version: "0.9.0", Namespace: v.Namespace, Values: map[string]any{"language": "en"}})
			case 2: // a newer version: a downgrade
				ss.Apps[a.App.ID] = add(v.App+"@9.0.0-"+v.ID[len(v.ID)-10:], &deploy.Variant{App: v.App, Version: "9.0.0", Namespace: v.Namespace})
			default:
				ss.Apps[a.App.ID] = add(v.ID, &deploy.Variant{App: v.App, Version: v.Version, Namespace: v.Namespace, Source: v.Source, DependsOn: v.DependsOn, Values: v.Values})
			}
		}
		if rng.IntN(8) == 0 {
			ss.Apps["coupons"] = add("coupons@3.1.0-bbbbbbbbbb", &deploy.Variant{App: "coupons", Version: "3.1.0", Namespace: "coupons", Values: map[string]any{"previous": true}})
		}
		if rng.IntN(8) == 0 && len(s.Apps) > 0 {
			// an app the store no longer gets, at a version only the state knows
			ss.Apps["app-03"] = add("app-03@1.3.0-cccccccccc", &deploy.Variant{App: "app-03", Version: "1.3.0", Namespace: "app-03"})
		}
		st.Stores[s.Store.ID] = ss
	}
	st.Stores["gone-1"] = &deploy.StoreState{Ring: "chain", Apps: map[string]string{"app-02": add("app-02@1.2.0-dddddddddd", &deploy.Variant{App: "app-02", Version: "1.2.0"})}}
	return st
}

// TestRunMatchesReference: on randomized fleets, previous states, clocks
// and approvals, Run (classes, shared decisions, one evaluation per class)
// gives exactly what evaluating every pair on its own gives.
func TestRunMatchesReference(t *testing.T) {
	e := defaultEngine(t)
	clocks := []time.Time{
		now, // Tuesday 09:00Z: menu-refresh and franchise-audit in force
		time.Date(2026, 11, 26, 7, 30, 0, 0, time.UTC), // Thanksgiving in the eastern zones only
		time.Date(2026, 11, 28, 20, 0, 0, 0, time.UTC), // no freeze; stores open
	}
	approvals := []policy.ApprovalSet{
		{},
		{Users: []string{"dokafor"}, Teams: []string{"ops"}},
		{Users: []string{"dokafor", "hweiss"}, Teams: []string{"legal", "ops"}},
	}
	for seed := range uint64(4) {
		t.Run(fmt.Sprint("seed-", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 42))
			f := synthFleet(200+rng.IntN(200), 6+rng.IntN(6), rng)
			f.Settings.Agent.EnforceWindows = seed%2 == 1
			tr := resolve(t, f)
			prevs := map[string]*deploy.State{
				"empty":  deploy.NewState(),
				"target": targetState(tr),
				"bumped": bumpedState(tr, "app-04"),
				"random": randomPrevious(rng, tr),
			}
			for name, prev := range prevs {
				opts := Options{
					Targets: tr, Previous: prev, Engine: e, Now: clocks[rng.IntN(len(clocks))],
					Approvals: approvals[rng.IntN(len(approvals))], Workers: 1 + rng.IntN(3),
					Propose: rng.IntN(3) == 0, RecordAll: rng.IntN(4) == 0,
				}
				if rng.IntN(4) == 0 {
					opts.Only = []string{tr.Stores[rng.IntN(len(tr.Stores))].Store.ID, "s-00003", "unknown"}
				}
				t.Run(name, func(t *testing.T) {
					got, diags, err := Run(context.Background(), opts)
					if err != nil || diags.HasErrors() {
						t.Fatal(err, diags)
					}
					want, err := runReference(context.Background(), opts)
					if err != nil {
						t.Fatal(err)
					}
					if got.Evaluated == 0 {
						t.Fatal("no pairs evaluated")
					}
					sameResult(t, got, want)
				})
			}
		})
	}
}

// TestClassesSeparate: in a fleet of stores that share one class, a
// change to anything a policy reads about one store (or its pair) changes
// that store's decision, and only that store's; the reference agrees.
func TestClassesSeparate(t *testing.T) {
	const odd = "s-07"
	base := func() *model.Fleet {
		f := testFleet()
		f.Stores = nil
		for i := range 12 {
			f.Stores = append(f.Stores, fleetStore(fmt.Sprintf("s-%02d", i), "WI", "America/Chicago", i+1))
		}
		f.Apps = append(f.Apps, &model.App{ID: "menu-boards", Namespace: "menu", Version: "1.0.0",
			Source: f.Apps[0].Source, Values: map[string]any{"language": "en"}})
		f.Rings = []*model.Ring{
			{Name: "chain", Order: 1, Selector: term(req("owner", model.In, "corporate"))},
			{Name: "vip", Order: 2, Signoff: []string{"ops"}, Selector: term(req("owner", model.In, "vip"))},
		}
		return f
	}
	// Every store runs its target: nothing changes unless a case says so.
	steady := func(tr *target.Result) *deploy.State { return targetState(tr) }
	tests := []struct {
		name      string
		fleet     func(f *model.Fleet, s *model.Store)
		prev      func(tr *target.Result) *deploy.State
		approvals policy.ApprovalSet
		app       string
		base      policy.Verdict // the other stores' verdict ("" = not recorded)
		want      policy.Verdict // the odd store's
	}{
		{
			name: "jurisdiction: Illinois denies drive-thru-vision", app: "drive-thru-vision", base: "", want: policy.Deny,
			fleet: func(_ *model.Fleet, s *model.Store) { s.Jurisdiction.Region = "IL" },
		},
		{
			name: "jurisdiction: Quebec denies English menu boards", app: "menu-boards", base: "", want: policy.Deny,
			fleet: func(_ *model.Fleet, s *model.Store) { s.Jurisdiction = model.Jurisdiction{Country: "CA", Region: "QC"} },
		},
		{
			name: "values: French store values satisfy Quebec", app: "menu-boards", base: policy.Deny, want: "",
			fleet: func(f *model.Fleet, s *model.Store) {
				for _, st := range f.Stores {
					st.Jurisdiction = model.Jurisdiction{Country: "CA", Region: "QC"}
				}
				s.Values = map[string]map[string]any{"menu-boards": {"language": "fr-CA"}}
			},
		},
		{
			name: "window: hours put the odd store outside its window", app: "pos", base: policy.Allow, want: policy.Defer,
			prev: func(tr *target.Result) *deploy.State { return bumpedState(tr, "pos") },
			fleet: func(_ *model.Fleet, s *model.Store) {
				s.Hours = synthHours("02:00", "23:00") // 03:00 Chicago: open, so no window
			},
		},
		{
			name: "freeze: a freeze scoped to the odd store defers", app: "pos", base: policy.Allow, want: policy.Defer,
			prev: func(tr *target.Result) *deploy.State { return bumpedState(tr, "pos") },
			fleet: func(f *model.Fleet, s *model.Store) {
				s.Attributes.Format = "frozen"
				f.Freezes = []*model.Freeze{{Name: "local", Start: "2026-11-24T00:00:00Z", End: "2026-11-25T00:00:00Z", Stores: term(req("format", model.In, "frozen"))}}
			},
		},
		{
			name: "override: a freeze override scoped to the odd store needs sign-off", app: "pos", base: policy.Defer, want: policy.NeedsSignoff,
			prev: func(tr *target.Result) *deploy.State { return bumpedState(tr, "pos") },
			fleet: func(f *model.Fleet, s *model.Store) {
				s.Attributes.Format = "special"
				freezeNow(f)
				f.Overrides = []*model.Override{{ID: "o-1", Kind: "freeze", Freeze: "peak", Stores: term(req("format", model.In, "special")), Reason: "r", Ticket: "T-1"}}
			},
		},
		{
			name: "ring: the odd store's ring needs sign-off", app: "pos", base: policy.Allow, want: policy.NeedsSignoff,
			prev:  func(tr *target.Result) *deploy.State { return bumpedState(tr, "pos") },
			fleet: func(_ *model.Fleet, s *model.Store) { s.Attributes.Owner = "vip" },
		},
		{
			name: "approvals: ops approves the ring entry", app: "pos", base: policy.Allow, want: policy.Allow,
			approvals: policy.ApprovalSet{Users: []string{"dokafor"}, Teams: []string{"ops"}},
			prev:      func(tr *target.Result) *deploy.State { return bumpedState(tr, "pos") },
			fleet:     func(_ *model.Fleet, s *model.Store) { s.Attributes.Owner = "vip" },
		},
		{
			name: "history: the first store of a jurisdiction needs legal", app: "pos", base: "", want: policy.NeedsSignoff,
			prev: func(tr *target.Result) *deploy.State {
				st := targetState(tr)
				delete(st.Stores[odd].Apps, "pos")
				return st
			},
			fleet: func(_ *model.Fleet, s *model.Store) { s.Jurisdiction.Region = "MN" },
		},
		{
			name: "history: an install where the jurisdiction has the app needs no sign-off", app: "pos", base: "", want: policy.Allow,
			prev: func(tr *target.Result) *deploy.State {
				st := targetState(tr)
				delete(st.Stores[odd].Apps, "pos")
				return st
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := base()
			var s *model.Store
			for _, st := range f.Stores {
				if st.ID == odd {
					s = st
				}
			}
			if tc.fleet != nil {
				tc.fleet(f, s)
			}
			tr := resolve(t, f)
			prev := steady
			if tc.prev != nil {
				prev = tc.prev
			}
			opts := Options{Targets: tr, Previous: prev(tr), Engine: defaultEngine(t), Now: now, Approvals: tc.approvals}
			got, diags, err := Run(context.Background(), opts)
			if err != nil || diags.HasErrors() {
				t.Fatal(err, diags)
			}
			want, err := runReference(context.Background(), opts)
			if err != nil {
				t.Fatal(err)
			}
			sameResult(t, got, want)
			for _, st := range tr.Stores {
				id := st.Store.ID
				v := policy.Verdict("")
				if d := decisionOf(got, id, tc.app); d != nil {
					v = d.Verdict
				}
				wantV := tc.base
				if id == odd {
					wantV = tc.want
				}
				if v != wantV {
					t.Errorf("%s %s: verdict %q, want %q", id, tc.app, v, wantV)
				}
			}
		})
	}
}
