package deploy

import (
	"encoding/json"
	"fmt"
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
