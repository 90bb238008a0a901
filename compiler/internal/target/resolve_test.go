package target

import (
	"context"
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/fleetc/fleetc/compiler/internal/diag"
	"github.com/fleetc/fleetc/compiler/internal/model"
)

func resolve(t *testing.T, f *model.Fleet) (*Result, diag.List) {
	t.Helper()
	res, diags := Resolve(context.Background(), f, Options{Workers: 2})
	if res == nil {
		t.Fatalf("no result: %v", diags)
	}
	return res, diags
}

func assignment(t *testing.T, res *Result, storeID, appID string) *Assignment {
	t.Helper()
	for _, st := range res.Stores {
		if st.Store.ID != storeID {
			continue
		}
		for i := range st.Apps {
			if st.Apps[i].App.ID == appID {
				return &st.Apps[i]
			}
		}
	}
	return nil
}

func TestMemberships(t *testing.T) {
	res, _ := resolve(t, testFleet())
	wantGroups := map[string][]string{
		"nyc-0001": {"acme", "flagship", "northeast"},
		"nyc-0002": {"acme", "northeast", "spanish"},
		"nyc-0003": {"acme", "northeast"},
		"nyc-0004": {"acme", "northeast", "spanish"},
		"bos-0001": {"acme", "flagship", "northeast"},
		"chi-0001": nil,
		"lab-0001": {"lab-stores"},
	}
	if !reflect.DeepEqual(res.StoreGroups, wantGroups) {
		t.Errorf("StoreGroups = %v\nwant %v", res.StoreGroups, wantGroups)
	}
	wantStores := map[string][]string{
		"acme":       {"bos-0001", "nyc-0001", "nyc-0002", "nyc-0003", "nyc-0004"},
		"flagship":   {"bos-0001", "nyc-0001"},
		"lab-stores": {"lab-0001"},
		"northeast":  {"bos-0001", "nyc-0001", "nyc-0002", "nyc-0003", "nyc-0004"},
		"spanish":    {"nyc-0002", "nyc-0004"},
	}
	if !reflect.DeepEqual(res.GroupStores, wantStores) {
		t.Errorf("GroupStores = %v\nwant %v", res.GroupStores, wantStores)
	}
	wantRing := map[string]string{
		"nyc-0001": "chain", "nyc-0002": "chain", "nyc-0003": "chain", "nyc-0004": "chain",
		"bos-0001": "canary", "chi-0001": "chain", "lab-0001": "lab",
	}
	if !reflect.DeepEqual(res.StoreRing, wantRing) {
		t.Errorf("StoreRing = %v\nwant %v", res.StoreRing, wantRing)
	}
	if got, _ := res.Facts["nyc-0002"].Values("group"); !slices.Equal(got, wantGroups["nyc-0002"]) {
		t.Errorf("facts of nyc-0002 have groups %v", got)
	}
	var ids []string
	for _, st := range res.Stores {
		ids = append(ids, st.Store.ID)
	}
	if want := []string{"bos-0001", "chi-0001", "lab-0001", "nyc-0001", "nyc-0002", "nyc-0003", "nyc-0004"}; !slices.Equal(ids, want) {
		t.Errorf("store order %v, want %v", ids, want)
	}
}

func TestAssignmentsAndLayering(t *testing.T) {
	res, _ := resolve(t, testFleet())
	tests := []struct {
		name        string
		store, app  string
		version     string
		versionFrom string
		values      string
		provenance  map[string]string
	}{
		{
			name: "app then both overrides in declared order then store", store: "nyc-0001", app: "pos",
			version: "2.0.0", versionFrom: "app",
			values:     `{"features":["b","c"],"timeout":45,"ui":{"language":"en-GB","theme":"dark"}}`,
			provenance: map[string]string{"features": "group:northeast", "timeout": "group:flagship", "ui.language": "group:flagship", "ui.theme": "store"},
		},
		{
			name: "ring pin and both overrides", store: "bos-0001", app: "pos",
			version: "2.1.0", versionFrom: "ring pin canary",
			values:     `{"features":["b","c"],"timeout":45,"ui":{"language":"en-GB","theme":"light"}}`,
			provenance: map[string]string{"features": "group:northeast", "timeout": "group:flagship", "ui.language": "group:flagship", "ui.theme": "app"},
		},
		{
			name: "one override", store: "nyc-0002", app: "pos",
			version: "2.0.0", versionFrom: "app",
			values:     `{"features":["b","c"],"timeout":30,"ui":{"language":"en-US","theme":"light"}}`,
			provenance: map[string]string{"features": "group:northeast", "timeout": "app", "ui.language": "group:northeast", "ui.theme": "app"},
		},
		{
			name: "app values only", store: "chi-0001", app: "pos",
			version: "2.0.0", versionFrom: "app",
			values:     `{"features":["a"],"timeout":30,"ui":{"language":"en","theme":"light"}}`,
			provenance: map[string]string{"features": "app", "timeout": "app", "ui.language": "app", "ui.theme": "app"},
		},
		{
			name: "no values at all", store: "nyc-0003", app: "grill",
			version: "1.0.0", versionFrom: "app", values: `{}`, provenance: map[string]string{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := assignment(t, res, tc.store, tc.app)
			if a == nil {
				t.Fatalf("%s not assigned to %s", tc.app, tc.store)
			}
			if a.Version != tc.version || a.VersionFrom != tc.versionFrom {
				t.Errorf("version %s from %q, want %s from %q", a.Version, a.VersionFrom, tc.version, tc.versionFrom)
			}
			js, _ := json.Marshal(a.Variant.Values)
			if string(js) != tc.values {
				t.Errorf("values %s\nwant   %s", js, tc.values)
			}
			if !maps.Equal(a.Variant.Provenance, tc.provenance) {
				t.Errorf("provenance %v\nwant       %v", a.Variant.Provenance, tc.provenance)
			}
			if v := a.Variant; v.App != tc.app || v.Version != tc.version || !strings.HasPrefix(v.ID, tc.app+"@"+tc.version+"-") || len(v.ID) != len(tc.app+"@"+tc.version+"-")+10 {
				t.Errorf("variant %s for %s@%s", v.ID, v.App, v.Version)
			}
			if res.Variants[a.Variant.ID] != a.Variant {
				t.Errorf("Variants[%s] is not the assigned pointer", a.Variant.ID)
			}
		})
	}
}

func TestTargets(t *testing.T) {
	res, _ := resolve(t, testFleet())
	want := map[string][]string{
		"bos-0001": {"grill", "loyalty", "pos"},
		"chi-0001": {"loyalty", "pos"},
		"lab-0001": {"loyalty", "pos"},
		"nyc-0001": {"grill", "loyalty", "pos"},
		"nyc-0002": {"grill", "pos"},
		"nyc-0003": {"grill", "pos"},
		"nyc-0004": {"grill", "pos"},
	}
	for _, st := range res.Stores {
		var got []string
		for _, a := range st.Apps {
			got = append(got, a.App.ID)
		}
		if !slices.Equal(got, want[st.Store.ID]) {
			t.Errorf("%s gets %v, want %v", st.Store.ID, got, want[st.Store.ID])
		}
	}
}

func TestVariantSharing(t *testing.T) {
	f := testFleet()
	res, _ := resolve(t, f)
	tests := []struct {
		name  string
		a, b  string
		app   string
		share bool
	}{
		{"same groups", "nyc-0002", "nyc-0004", "pos", true},
		{"different groups, same overrides apply", "nyc-0002", "nyc-0003", "pos", true},
		{"different overrides apply", "nyc-0002", "chi-0001", "pos", false},
		{"store values make their own variant", "nyc-0001", "bos-0001", "pos", false},
		{"different rings, no pin for this app", "bos-0001", "nyc-0001", "grill", true},
		{"no values, different groups", "nyc-0003", "bos-0001", "grill", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			va, vb := assignment(t, res, tc.a, tc.app).Variant, assignment(t, res, tc.b, tc.app).Variant
			if (va == vb) != tc.share {
				t.Errorf("%s and %s share %s variant: %v (%s, %s), want %v", tc.a, tc.b, tc.app, va == vb, va.ID, vb.ID, tc.share)
			}
			if (va.ID == vb.ID) != tc.share {
				t.Errorf("ids %s, %s", va.ID, vb.ID)
			}
		})
	}
	// Stores with identical assignments share one Apps slice.
	by := map[string][]Assignment{}
	for _, st := range res.Stores {
		by[st.Store.ID] = st.Apps
	}
	if &by["nyc-0002"][0] != &by["nyc-0003"][0] {
		t.Error("nyc-0002 and nyc-0003 do not share their assignments")
	}
	if len(res.Variants) != 6 {
		t.Errorf("%d variants, want 6: %v", len(res.Variants), slices.Sorted(maps.Keys(res.Variants)))
	}
	// A store whose values equal what it would get anyway shares the
	// variant: identical inputs, one id, one pointer.
	f2 := testFleet()
	f2.StoreByID["nyc-0003"].Values = map[string]map[string]any{"pos": {"ui": map[string]any{"language": "en-US"}}}
	res2, _ := resolve(t, f2)
	if assignment(t, res2, "nyc-0003", "pos").Variant != assignment(t, res2, "nyc-0002", "pos").Variant {
		t.Error("equal merged values did not share one variant")
	}
}

func TestVariantIDIsStable(t *testing.T) {
	a := assignment(t, func() *Result { r, _ := resolve(t, testFleet()); return r }(), "chi-0001", "pos").Variant.ID
	f := testFleet()
	// The same values written with float64 instead of json.Number hash the same.
	f.AppByID["pos"].Values["timeout"] = float64(30)
	b := assignment(t, func() *Result { r, _ := resolve(t, f); return r }(), "chi-0001", "pos").Variant.ID
	if a != b {
		t.Errorf("ids differ: %s vs %s", a, b)
	}
	f.AppByID["pos"].Values["timeout"] = json.Number("31")
	c := assignment(t, func() *Result { r, _ := resolve(t, f); return r }(), "chi-0001", "pos").Variant.ID
	if c == a {
		t.Errorf("changing a value kept id %s", c)
	}
	// Inputs are not modified by merging.
	if f.AppByID["pos"].Values["ui"].(map[string]any)["language"] != "en" {
		t.Error("merge modified the app's values")
	}
}

func TestRingErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(f *model.Fleet)
		want   []string
	}{
		{
			name:   "valid",
			change: func(f *model.Fleet) {},
		},
		{
			name: "store in no ring",
			change: func(f *model.Fleet) {
				f.RingByID["lab"].Groups = nil
			},
			want: []string{"inventory/stores.cue:70:1: stores.\"lab-0001\": store lab-0001 is in no ring; every store must be in exactly one (rings: lab, canary, chain)"},
		},
		{
			name: "store in two rings",
			change: func(f *model.Fleet) {
				f.RingByID["canary"].Stores = []string{"bos-0001", "chi-0001"}
				f.RingByID["lab"].Selector = term(rq("geo", model.In, "us/lab", "us/midwest"))
			},
			want: []string{"inventory/stores.cue:60:1: stores.\"chi-0001\": store chi-0001 is in 3 rings (lab, canary, chain); every store must be in exactly one"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := testFleet()
			tc.change(f)
			res, diags := resolve(t, f)
			var got []string
			for _, d := range diags {
				if d.Code == "ring-membership" {
					got = append(got, d.String())
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if len(tc.want) > 0 {
				id := strings.Split(strings.Split(tc.want[0], `"`)[1], `"`)[0]
				if r := res.StoreRing[id]; r != "" {
					t.Errorf("StoreRing[%s] = %q, want empty", id, r)
				}
			}
		})
	}
}

func TestDependencyErrors(t *testing.T) {
	_, diags := resolve(t, testFleet())
	want := []string{
		"apps/loyalty.cue:1:1: apps.loyalty.dependsOn[1]: app loyalty depends on grill, but 2 stores get loyalty without grill (chi-0001, lab-0001); widen grill's target or narrow loyalty's",
	}
	var got []string
	for _, d := range diags {
		got = append(got, d.String())
		if d.Code != "dependency" || d.Severity != diag.Error {
			t.Errorf("code %q severity %q", d.Code, d.Severity)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Many stores: a count and five examples.
	f := synthFleet(2000, 4)
	f.AppByID["app-01"].Target = nil
	f.AppByID["app-01"].DependsOn = []string{"app-02"}
	f.AppByID["app-02"].Target = term(rq("id", model.In, "s-00000"))
	_, diags = resolve(t, f)
	var dep []string
	for _, d := range diags {
		if d.Code == "dependency" {
			dep = append(dep, d.Message)
		}
	}
	wantMsg := "app app-01 depends on app-02, but 1999 stores get app-01 without app-02 (s-00001, s-00002, s-00003, s-00004, s-00005, ...); widen app-02's target or narrow app-01's"
	if !slices.Contains(dep, wantMsg) {
		t.Errorf("dependency findings %q\nwant one of them %q", dep, wantMsg)
	}
}

func TestSelectorDiagnostics(t *testing.T) {
	f := testFleet()
	f.GroupByID["acme"].Selector = term(rq("devices", model.In, "acme3000"), rq("group", model.In, "northeast"))
	f.GroupByID["acme"].Refs = []model.Ref{{Kind: model.RefGroup, Name: "northeast", Path: "groups.acme.selector.terms[0].match[1].values[0]", Pos: diag.Pos{File: "inventory/groups.cue", Line: 7, Col: 61}}}
	f.AppByID["grill"].Target = term(rq("devise", model.In, "acme3000"))
	f.RingByID["chain"].Selector.Terms = append(f.RingByID["chain"].Selector.Terms, model.Term{Match: []model.Requirement{rq("nodes", model.Gt)}})
	f.Freezes = []*model.Freeze{{Name: "holiday", Stores: term(rq("owner", model.Exists, "corporate")), Pos: pos("rings/freezes.cue", 4)}}
	f.Overrides = []*model.Override{{ID: "fix-1", Stores: &model.Selector{}, Pos: pos("rings/overrides.cue", 2)}}
	res, diags := resolve(t, f)
	var got []string
	for _, d := range diags {
		if d.Code == "selector" {
			got = append(got, d.String())
		}
	}
	want := []string{
		`apps/grill.cue:1:1: apps.grill.target.terms[0].match[0].key: unknown key "devise"; did you mean "devices"?`,
		`inventory/groups.cue:7:61: groups.acme.selector.terms[0].match[1].key: a group's selector may not test group membership; describe the stores by their attributes or list the other group's criteria`,
		`rings/freezes.cue:4:1: freezes.holiday.stores.terms[0].match[0].values: Exists takes no values, got [corporate]`,
		`rings/overrides.cue:2:1: overrides."fix-1".stores.terms: selector has no terms and would match no store; leave the selector out to match every store`,
		`rings/rings.cue:3:1: rings.chain.selector.terms[1].match[0].values: Gt needs exactly one integer value, got 0 values`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Invalid selectors contribute nothing: the group is empty, the app
	// goes nowhere.
	if n := len(res.GroupStores["acme"]); n != 0 {
		t.Errorf("group with an invalid selector has %d stores", n)
	}
	if a := assignment(t, res, "nyc-0001", "grill"); a != nil {
		t.Error("app with an invalid target was assigned")
	}
}

func TestWorkersGiveIdenticalResults(t *testing.T) {
	f := synthFleet(3000, 6)
	r1, d1 := Resolve(context.Background(), f, Options{Workers: 1})
	r4, d4 := Resolve(context.Background(), f, Options{Workers: 4})
	if !reflect.DeepEqual(r1, r4) {
		t.Error("Workers 1 and 4 give different results")
	}
	if !reflect.DeepEqual(d1, d4) {
		t.Errorf("Workers 1 and 4 give different diagnostics:\n%v\n%v", d1, d4)
	}
	if d1.HasErrors() {
		t.Errorf("synthetic fleet has errors: %v", d1[:min(3, len(d1))])
	}
	if len(r1.Stores) != 3000 || len(r1.Variants) < 6 {
		t.Errorf("%d stores, %d variants", len(r1.Stores), len(r1.Variants))
	}
}

func TestCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, diags := Resolve(ctx, synthFleet(1000, 2), Options{})
	if res != nil || len(diags) != 1 || diags[0].Code != "canceled" {
		t.Errorf("canceled resolve: %v, %v", res != nil, diags)
	}
}

func TestSelectorPos(t *testing.T) {
	entity := diag.Pos{File: "rings/rings.cue", Line: 3, Col: 1}
	v0 := diag.Pos{File: "rings/rings.cue", Line: 5, Col: 40}
	v1 := diag.Pos{File: "rings/rings.cue", Line: 5, Col: 52}
	refs := []model.Ref{
		{Kind: model.RefGroup, Name: "lab", Path: "rings.chain.selector.terms[0].match[1].values[0]", Pos: v0},
		{Kind: model.RefGroup, Name: "pilot", Path: "rings.chain.selector.terms[0].match[1].values[1]", Pos: v1},
		{Kind: model.RefGroup, Name: "gen", Path: "rings.chain.selector.terms[1].match[0].values[0]"}, // no position
	}
	for _, tc := range []struct {
		name, path string
		want       diag.Pos
	}{
		{"value itself", "rings.chain.selector.terms[0].match[1].values[1]", v1},
		{"values list", "rings.chain.selector.terms[0].match[1].values", v0},
		{"key of the same requirement", "rings.chain.selector.terms[0].match[1].key", v0},
		{"operator of the same requirement", "rings.chain.selector.terms[0].match[1].operator", v0},
		{"other requirement", "rings.chain.selector.terms[0].match[0].key", entity},
		{"match[1] is not match[10]", "rings.chain.selector.terms[0].match[10].key", entity},
		{"reference without position", "rings.chain.selector.terms[1].match[0].key", entity},
		{"whole selector", "rings.chain.selector.terms", entity},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := selectorPos(refs, entity, tc.path); got != tc.want {
				t.Errorf("selectorPos(%s) = %v, want %v", tc.path, got, tc.want)
			}
		})
	}
}
