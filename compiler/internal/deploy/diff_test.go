package deploy

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

func stateOf(stores map[string]*StoreState, ids ...string) *State {
	st := NewState()
	for _, id := range ids {
		app, version, _, _ := SplitVariantID(id)
		st.Variants[id] = &Variant{App: app, Version: version, Namespace: app}
	}
	st.Stores = stores
	return st
}

func TestDiff(t *testing.T) {
	const (
		pos1  = "pos@1.0.0-aaaaaaaaaa"
		pos1b = "pos@1.0.0-bbbbbbbbbb"
		pos2  = "pos@2.0.0-cccccccccc"
		menu1 = "menu@1.0.0-dddddddddd"
	)
	old := stateOf(map[string]*StoreState{
		"s1":   {Ring: "canary", Apps: map[string]string{"pos": pos1, "menu": menu1}},
		"s2":   {Ring: "chain", Apps: map[string]string{"pos": pos1}},
		"s3":   {Ring: "chain", Apps: map[string]string{"pos": pos2}},
		"s4":   {Ring: "chain", Apps: map[string]string{"pos": pos1}},
		"s5":   {Ring: "chain", Apps: map[string]string{"pos": pos1}},
		"gone": {Ring: "chain", Apps: map[string]string{"pos": pos1}},
	}, pos1, pos2, menu1)
	new := stateOf(map[string]*StoreState{
		"s1":  {Ring: "canary", Apps: map[string]string{"pos": pos2}},                // pos upgraded, menu removed
		"s2":  {Ring: "chain", Apps: map[string]string{"pos": pos2}},                 // upgraded
		"s3":  {Ring: "chain", Apps: map[string]string{"pos": pos1}},                 // downgraded
		"s4":  {Ring: "chain", Apps: map[string]string{"pos": pos1b}},                // reconfigured
		"s5":  {Ring: "pilot", Apps: map[string]string{"pos": pos1}},                 // moved ring only
		"new": {Ring: "canary", Apps: map[string]string{"pos": pos2, "menu": menu1}}, // added store
	}, pos1, pos1b, pos2, menu1)

	p := Diff(old, new)
	if fmt.Sprint(p.StoresAdded) != "[new]" || fmt.Sprint(p.StoresRemoved) != "[gone]" ||
		fmt.Sprint(p.RingMoves) != "[{s5 chain pilot}]" {
		t.Errorf("stores: added %v removed %v moves %v", p.StoresAdded, p.StoresRemoved, p.RingMoves)
	}
	s := p.Summary
	if s.FleetStores != 7 || s.StoresTouched != 7 || s.Share != 1 {
		t.Errorf("fleet %d touched %d share %v", s.FleetStores, s.StoresTouched, s.Share)
	}
	if want := (Counts{Added: 2, Upgraded: 2, Downgraded: 1, Reconfigured: 1, Removed: 2, Unchanged: 1}); s.Counts != want {
		t.Errorf("counts %+v, want %+v", s.Counts, want)
	}
	var got []string
	for _, a := range s.Apps {
		for _, r := range a.Rings {
			for _, tr := range r.Transitions {
				got = append(got, fmt.Sprintf("%s/%s %s %s->%s %d %v", a.App, r.Ring, tr.Kind, tr.From, tr.To, tr.Count, tr.Stores))
			}
		}
	}
	want := []string{
		"menu/canary added ->1.0.0 1 [new]",
		"menu/canary removed 1.0.0-> 1 [s1]",
		"pos/canary added ->2.0.0 1 [new]",
		"pos/canary upgraded 1.0.0->2.0.0 1 [s1]",
		"pos/chain upgraded 1.0.0->2.0.0 1 [s2]",
		"pos/chain downgraded 2.0.0->1.0.0 1 [s3]",
		"pos/chain reconfigured 1.0.0->1.0.0 1 [s4]",
		"pos/chain removed 1.0.0-> 1 [gone]",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("transitions:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if pilot := s.Apps[1].Rings[2]; pilot.Ring != "pilot" || pilot.Counts.Unchanged != 1 || len(pilot.Transitions) != 0 {
		t.Errorf("pos/pilot: %+v", pilot)
	}
	if s.Apps[1].Counts != (Counts{Added: 1, Upgraded: 2, Downgraded: 1, Reconfigured: 1, Removed: 1, Unchanged: 1}) {
		t.Errorf("pos counts %+v", s.Apps[1].Counts)
	}
	if len(p.Changes) != 8 || p.Changes[0] != (Change{Store: "gone", App: "pos", Ring: "chain", Kind: Removed, From: "1.0.0", FromVariant: pos1}) {
		t.Errorf("changes: %d, first %+v", len(p.Changes), p.Changes[0])
	}
	// JSON form: summary and store lists, no flat change list.
	js, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(js), `"changes"`) || !strings.Contains(string(js), `"kind":"reconfigured","from":"1.0.0","to":"1.0.0","count":1,"stores":["s4"]`) {
		t.Errorf("plan JSON: %s", js)
	}
	// Deterministic.
	js2, _ := json.Marshal(Diff(old, new))
	if string(js) != string(js2) {
		t.Error("two diffs of the same states differ")
	}
}

func TestDiffEmpty(t *testing.T) {
	st := stateOf(map[string]*StoreState{"s": {Ring: "r", Apps: map[string]string{"a": "a@1.0.0-x"}}}, "a@1.0.0-x")
	p := Diff(st, st)
	if !p.Empty() || p.Summary.Counts.Unchanged != 1 || p.Summary.Share != 0 || len(p.Changes) != 0 {
		t.Errorf("same state: %+v", p.Summary)
	}
	p = Diff(nil, nil)
	if !p.Empty() || p.Summary.FleetStores != 0 || p.StoresAdded == nil {
		t.Errorf("nil states: %+v", p)
	}
	p = Diff(nil, st)
	if p.Empty() || p.Summary.Counts.Added != 1 || fmt.Sprint(p.StoresAdded) != "[s]" {
		t.Errorf("from nothing: %+v", p.Summary)
	}
}

// diffReference is Diff written the plain way (every pair classified
// afresh, apps sorted by name per store): Diff must give the same plan.
func diffReference(old, new *State) *Plan {
	p := &Plan{StoresAdded: []string{}, StoresRemoved: []string{}, RingMoves: []RingMove{}}
	ids := unionKeys(old.Stores, new.Stores)
	groups := map[groupKey]*Transition{}
	ringCounts := map[ringKey]*Counts{}
	for _, id := range ids {
		os, ns := old.Stores[id], new.Stores[id]
		var oldApps, newApps map[string]string
		var ring string
		touched := false
		switch {
		case os == nil:
			p.StoresAdded = append(p.StoresAdded, id)
			newApps, ring, touched = ns.Apps, ns.Ring, true
		case ns == nil:
			p.StoresRemoved = append(p.StoresRemoved, id)
			oldApps, ring, touched = os.Apps, os.Ring, true
		default:
			oldApps, newApps, ring = os.Apps, ns.Apps, ns.Ring
			if os.Ring != ns.Ring {
				p.RingMoves = append(p.RingMoves, RingMove{Store: id, From: os.Ring, To: ns.Ring})
				touched = true
			}
		}
		for _, app := range unionKeys(oldApps, newApps) {
			c := Change{Store: id, App: app, Ring: ring, FromVariant: oldApps[app], ToVariant: newApps[app]}
			if c.FromVariant != "" {
				c.From = old.VariantVersion(c.FromVariant)
			}
			if c.ToVariant != "" {
				c.To = new.VariantVersion(c.ToVariant)
			}
			c.Kind = classify(c)
			rk := ringKey{app, ring}
			if ringCounts[rk] == nil {
				ringCounts[rk] = &Counts{}
			}
			ringCounts[rk].add(c.Kind)
			p.Summary.Counts.add(c.Kind)
			if c.Kind == Unchanged {
				continue
			}
			touched = true
			p.Changes = append(p.Changes, c)
			gk := groupKey{app, ring, c.Kind, c.From, c.To}
			if groups[gk] == nil {
				groups[gk] = &Transition{Kind: c.Kind, From: c.From, To: c.To}
			}
			groups[gk].Count++
			groups[gk].Stores = append(groups[gk].Stores, id)
		}
		if touched {
			p.Summary.StoresTouched++
		}
	}
	p.Summary.FleetStores = len(ids)
	if len(ids) > 0 {
		p.Summary.Share = float64(p.Summary.StoresTouched) / float64(len(ids))
	}
	p.Summary.Apps = summarise(ringCounts, groups)
	return p
}

// randomStates builds two states over few stores, rings, apps and
// variants, so every kind of change, shared profile maps and stores naming
// variants a state does not list (Diff's slow path) all occur.
func randomStates(r *rand.Rand) (old, new *State) {
	old, new = NewState(), NewState()
	apps := []string{"menu", "pos", "pay", "kds", "zz-unlisted"}
	versions := []string{"1.0.0", "1.2.0", "2.0.0"}
	variant := func(app string) string {
		return fmt.Sprintf("%s@%s-%c", app, versions[r.IntN(len(versions))], 'a'+rune(r.IntN(2)))
	}
	rings := []string{"canary", "wave", "chain"}
	for _, s := range []*State{old, new} {
		for _, app := range apps[:4] { // zz-unlisted has no variant entry
			for _, v := range versions {
				for _, h := range "ab" {
					if r.IntN(4) > 0 {
						id := fmt.Sprintf("%s@%s-%c", app, v, h)
						s.Variants[id] = &Variant{App: app, Version: v}
					}
				}
			}
		}
		var shared []map[string]string
		for range 3 {
			m := map[string]string{}
			for _, app := range apps {
				if r.IntN(3) > 0 {
					m[app] = variant(app)
				}
			}
			shared = append(shared, m)
		}
		for i := range 40 {
			if r.IntN(6) == 0 {
				continue
			}
			apps := shared[r.IntN(len(shared))]
			if r.IntN(2) == 0 { // a map of its own, as the gate makes
				own := map[string]string{}
				for app, v := range apps {
					if r.IntN(8) > 0 {
						own[app] = v
					}
				}
				apps = own
			}
			s.Stores[fmt.Sprintf("s%02d", i)] = &StoreState{Ring: rings[r.IntN(len(rings))], Apps: apps}
		}
	}
	return old, new
}

func TestDiffMatchesReference(t *testing.T) {
	for seed := range uint64(300) {
		old, new := randomStates(rand.New(rand.NewPCG(seed, 7)))
		got, want := Diff(old, new), diffReference(old, new)
		if !reflect.DeepEqual(got, want) {
			gj, _ := json.Marshal(got)
			wj, _ := json.Marshal(want)
			t.Fatalf("seed %d: Diff differs from the reference\n got %s %v\nwant %s %v", seed, gj, got.Changes, wj, want.Changes)
		}
		// Summarize is the same plan without the change list.
		sum := Summarize(old, new)
		if sum.Changes != nil {
			t.Fatalf("seed %d: Summarize kept %d changes", seed, len(sum.Changes))
		}
		want.Changes = nil
		if !reflect.DeepEqual(sum, want) {
			t.Fatalf("seed %d: Summarize differs from Diff without its changes", seed)
		}
	}
}
