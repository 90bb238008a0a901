package target

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestExplainAssigned(t *testing.T) {
	res, _ := resolve(t, testFleet())
	e, err := res.Explain("nyc-0001", "pos")
	if err != nil {
		t.Fatal(err)
	}
	wantGroups := []Membership{
		{"acme", []string{"selector term 1 matched: devices In [acme3000 acme3001]"}},
		{"flagship", []string{"selector term 1 matched: owner In [corporate], format In [large]"}},
		{"northeast", []string{"geo us/northeast/ny/albany is under us/northeast"}},
	}
	if !reflect.DeepEqual(e.Groups, wantGroups) {
		t.Errorf("groups %v\nwant   %v", e.Groups, wantGroups)
	}
	wantRings := []Membership{{"chain", []string{"selector term 1 matched: group NotIn [lab-stores], id NotIn [bos-0001]"}}}
	if e.Ring != "chain" || !reflect.DeepEqual(e.Rings, wantRings) {
		t.Errorf("ring %q %v", e.Ring, e.Rings)
	}
	if !e.Assigned || e.Version != "2.0.0" || e.VersionFrom != "app" || !e.Target.All {
		t.Errorf("assigned %v version %s from %s target all %v", e.Assigned, e.Version, e.VersionFrom, e.Target.All)
	}
	if e.Variant != assignment(t, res, "nyc-0001", "pos").Variant.ID {
		t.Errorf("variant %s", e.Variant)
	}
	wantValues := []ValueSource{
		{"features", "group:northeast", `["b","c"]`},
		{"timeout", "group:flagship", "45"},
		{"ui.language", "group:flagship", `"en-GB"`},
		{"ui.theme", "store", `"dark"`},
	}
	if !slices.Equal(e.Values, wantValues) {
		t.Errorf("values %v\nwant   %v", e.Values, wantValues)
	}
	if want := []OverrideUse{{"northeast", true}, {"flagship", true}}; !slices.Equal(e.Overrides, want) {
		t.Errorf("overrides %v", e.Overrides)
	}
	if e.Summary != "app pos is targeted at store nyc-0001 at 2.0.0 (from app): it has no target selector, so every store gets it" {
		t.Errorf("summary %q", e.Summary)
	}
}

func TestExplainNotAssigned(t *testing.T) {
	res, _ := resolve(t, testFleet())
	e, err := res.Explain("chi-0001", "grill")
	if err != nil {
		t.Fatal(err)
	}
	if e.Assigned || e.Version != "" || len(e.Values) != 0 || len(e.Groups) != 0 {
		t.Errorf("unassigned explanation carries assignment data: %+v", e)
	}
	if e.Summary != "app grill is not targeted at store chi-0001: its target selector does not match" {
		t.Errorf("summary %q", e.Summary)
	}
	r := e.Target.Terms[0].Requirements[0]
	if r.Matched || r.Reason != "devices has no value; none of [acme3000 acme3001]" {
		t.Errorf("requirement %+v", r)
	}
	want := `app grill is not targeted at store chi-0001: its target selector does not match
groups of chi-0001: none
ring: chain
  chain: selector term 1 matched: group NotIn [lab-stores], id NotIn [bos-0001]
target of grill: not matched
    term 1: not matched
      devices In [acme3000 acme3001]: not matched (devices has no value; none of [acme3000 acme3001])
depends on pos: present`
	if got := e.String(); got != want {
		t.Errorf("String:\n%s\nwant\n%s", got, want)
	}
}

func TestExplainRingPinAndMissingDependency(t *testing.T) {
	res, _ := resolve(t, testFleet())
	e, err := res.Explain("bos-0001", "pos")
	if err != nil {
		t.Fatal(err)
	}
	if e.Version != "2.1.0" || e.VersionFrom != "ring pin canary" || e.Rings[0].Reasons[0] != "listed in the ring's stores" {
		t.Errorf("version %s from %s, rings %v", e.Version, e.VersionFrom, e.Rings)
	}
	e, err = res.Explain("lab-0001", "loyalty")
	if err != nil {
		t.Fatal(err)
	}
	if want := []DependencyUse{{"pos", true}, {"grill", false}}; !slices.Equal(e.Dependencies, want) {
		t.Errorf("dependencies %v", e.Dependencies)
	}
	if e.Rings[0].Reasons[0] != "member of group lab-stores" || e.Groups[0].Reasons[0] != "listed in the group's stores" {
		t.Errorf("rings %v groups %v", e.Rings, e.Groups)
	}
	if !strings.Contains(e.String(), "depends on grill: missing on this store") {
		t.Errorf("String does not name the missing dependency:\n%s", e)
	}
}

func TestExplainUnknown(t *testing.T) {
	res, _ := resolve(t, testFleet())
	tests := []struct {
		name, store, app string
		kind             string
		suggestions      []string
	}{
		{"store missing a digit", "nyc-001", "pos", "store", []string{"nyc-0001", "nyc-0002", "nyc-0003", "nyc-0004"}},
		{"store typo", "bos-0002", "pos", "store", []string{"bos-0001"}},
		{"app typo", "nyc-0001", "loyalt", "app", []string{"loyalty"}},
		{"nothing close", "nyc-0001", "zzzzzzzzzzzz", "app", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := res.Explain(tc.store, tc.app)
			var ue *UnknownError
			if !errors.As(err, &ue) {
				t.Fatalf("error %v is not an UnknownError", err)
			}
			if ue.Kind != tc.kind || !slices.Equal(ue.Suggestions, tc.suggestions) {
				t.Errorf("kind %s suggestions %q, want %s %q", ue.Kind, ue.Suggestions, tc.kind, tc.suggestions)
			}
		})
	}
}
