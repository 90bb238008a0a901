package gen

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/fleetc/fleetc/compiler/internal/model"
)

// membership evaluates groups and rings in Go, independently of the
// compiler's selector package, with the keys documented in ARCHITECTURE.md.
// It is the test oracle for "every store is in exactly one ring".
type membership struct {
	fl      *model.Fleet
	groups  map[string]map[string]bool // group -> store ids
	pending map[string]bool            // cycle detection
}

func newMembership(fl *model.Fleet) *membership {
	return &membership{fl: fl, groups: map[string]map[string]bool{}, pending: map[string]bool{}}
}

// group returns the members of a group, evaluating groups it refers to first.
func (m *membership) group(name string) (map[string]bool, error) {
	if g, ok := m.groups[name]; ok {
		return g, nil
	}
	g := m.fl.GroupByID[name]
	if g == nil {
		return nil, fmt.Errorf("unknown group %q", name)
	}
	if m.pending[name] {
		return nil, fmt.Errorf("group %q refers to itself", name)
	}
	m.pending[name] = true
	defer delete(m.pending, name)
	set := map[string]bool{}
	for _, id := range g.Stores {
		if m.fl.StoreByID[id] == nil {
			return nil, fmt.Errorf("group %q: unknown store %q", name, id)
		}
		set[id] = true
	}
	for _, s := range m.fl.Stores {
		if hasGeoPrefix(s.Geo, g.Geo) {
			set[s.ID] = true
		}
		if g.Selector != nil {
			ok, err := m.matches(s, g.Selector)
			if err != nil {
				return nil, fmt.Errorf("group %q: %w", name, err)
			}
			if ok {
				set[s.ID] = true
			}
		}
	}
	m.groups[name] = set
	return set, nil
}

func hasGeoPrefix(geo string, prefixes []string) bool {
	for _, p := range prefixes {
		if geo == p || strings.HasPrefix(geo, p+"/") {
			return true
		}
	}
	return false
}

// ring returns the ids of the stores a ring declares.
func (m *membership) ring(r *model.Ring) (map[string]bool, error) {
	set := map[string]bool{}
	for _, id := range r.Stores {
		if m.fl.StoreByID[id] == nil {
			return nil, fmt.Errorf("ring %q: unknown store %q", r.Name, id)
		}
		set[id] = true
	}
	for _, name := range r.Groups {
		g, err := m.group(name)
		if err != nil {
			return nil, fmt.Errorf("ring %q: %w", r.Name, err)
		}
		for id := range g {
			set[id] = true
		}
	}
	if r.Selector != nil {
		for _, s := range m.fl.Stores {
			ok, err := m.matches(s, r.Selector)
			if err != nil {
				return nil, fmt.Errorf("ring %q: %w", r.Name, err)
			}
			if ok {
				set[s.ID] = true
			}
		}
	}
	return set, nil
}

func (m *membership) matches(s *model.Store, sel *model.Selector) (bool, error) {
	for _, term := range sel.Terms {
		all := true
		for _, req := range term.Match {
			ok, err := m.requirement(s, req)
			if err != nil {
				return false, err
			}
			if !ok {
				all = false
				break
			}
		}
		if all {
			return true, nil
		}
	}
	return false, nil
}

func (m *membership) requirement(s *model.Store, req model.Requirement) (bool, error) {
	vals, err := m.values(s, req.Key)
	if err != nil {
		return false, err
	}
	switch req.Operator {
	case model.Exists:
		return len(vals) > 0, nil
	case model.DoesNotExist:
		return len(vals) == 0, nil
	case model.In, model.NotIn:
		any := false
		for _, v := range vals {
			if slices.Contains(req.Values, v) {
				any = true
				break
			}
		}
		return any == (req.Operator == model.In), nil
	case model.Gt, model.Lt:
		if len(vals) != 1 || len(req.Values) != 1 {
			return false, nil
		}
		have, err1 := strconv.Atoi(vals[0])
		want, err2 := strconv.Atoi(req.Values[0])
		if err1 != nil || err2 != nil {
			return false, fmt.Errorf("key %q: Gt/Lt need integers", req.Key)
		}
		if req.Operator == model.Gt {
			return have > want, nil
		}
		return have < want, nil
	}
	return false, fmt.Errorf("unknown operator %q", req.Operator)
}

// values lists what a store has under a selector key; none = absent.
func (m *membership) values(s *model.Store, key string) ([]string, error) {
	one := func(v string) []string {
		if v == "" {
			return nil
		}
		return []string{v}
	}
	a := s.Attributes
	switch key {
	case "id":
		return one(s.ID), nil
	case "geo":
		var out []string
		parts := strings.Split(s.Geo, "/")
		for i := range parts {
			out = append(out, strings.Join(parts[:i+1], "/"))
		}
		return out, nil
	case "country":
		return one(s.Jurisdiction.Country), nil
	case "region":
		return one(s.Jurisdiction.Region), nil
	case "city":
		return one(s.Jurisdiction.City), nil
	case "owner":
		return one(a.Owner), nil
	case "franchisee":
		return one(a.Franchisee), nil
	case "format":
		return one(a.Format), nil
	case "driveThruLanes":
		return []string{strconv.Itoa(a.DriveThruLanes)}, nil
	case "nodes":
		return []string{strconv.Itoa(s.Cluster.Nodes)}, nil
	case "devices":
		return a.Devices, nil
	case "deliveryPartners":
		return a.DeliveryPartners, nil
	case "languages":
		return a.Languages, nil
	case "group":
		var out []string
		for _, g := range m.fl.Groups {
			set, err := m.group(g.Name)
			if err != nil {
				return nil, err
			}
			if set[s.ID] {
				out = append(out, g.Name)
			}
		}
		return out, nil
	}
	if name, ok := strings.CutPrefix(key, "label."); ok {
		if v, ok := a.Labels[name]; ok {
			return []string{v}, nil
		}
		return nil, nil
	}
	return nil, fmt.Errorf("unknown selector key %q", key)
}

// ringOf maps every store to the rings it is in; a correct fleet has
// exactly one per store.
func ringOf(t testing.TB, fl *model.Fleet) map[string][]string {
	t.Helper()
	m := newMembership(fl)
	out := map[string][]string{}
	for _, r := range fl.Rings {
		set, err := m.ring(r)
		if err != nil {
			t.Fatal(err)
		}
		for id := range set {
			out[id] = append(out[id], r.Name)
		}
	}
	return out
}

// checkReferences reports references to groups, apps, rings, teams and
// freezes that the fleet does not declare, and dependency cycles.
func checkReferences(t testing.TB, fl *model.Fleet) {
	t.Helper()
	m := newMembership(fl)
	for _, g := range fl.Groups {
		if _, err := m.group(g.Name); err != nil {
			t.Error(err)
		}
	}
	freezes := map[string]bool{}
	for _, f := range fl.Freezes {
		freezes[f.Name] = true
		for _, team := range f.Signoff {
			if fl.TeamByID[team] == nil {
				t.Errorf("freeze %s: unknown team %q", f.Name, team)
			}
		}
		for _, app := range f.Apps {
			if fl.AppByID[app] == nil {
				t.Errorf("freeze %s: unknown app %q", f.Name, app)
			}
		}
	}
	for _, o := range fl.Overrides {
		if o.Freeze != "" && !freezes[o.Freeze] {
			t.Errorf("override %s: unknown freeze %q", o.ID, o.Freeze)
		}
		for _, app := range o.Apps {
			if fl.AppByID[app] == nil {
				t.Errorf("override %s: unknown app %q", o.ID, app)
			}
		}
	}
	for _, r := range fl.Rings {
		for _, team := range r.Signoff {
			if fl.TeamByID[team] == nil {
				t.Errorf("ring %s: unknown team %q", r.Name, team)
			}
		}
	}
	for _, s := range fl.Stores {
		for app := range s.Values {
			if fl.AppByID[app] == nil {
				t.Errorf("store %s: values for unknown app %q", s.ID, app)
			}
		}
	}
	for _, a := range fl.Apps {
		for _, o := range a.Overrides {
			if fl.GroupByID[o.Group] == nil {
				t.Errorf("app %s: override for unknown group %q", a.ID, o.Group)
			}
		}
		for ring := range a.Versions {
			if fl.RingByID[ring] == nil {
				t.Errorf("app %s: version pin for unknown ring %q", a.ID, ring)
			}
		}
		if (a.Source.Helm == nil) == (a.Source.Kustomize == nil) {
			t.Errorf("app %s: source must be exactly one of helm, kustomize", a.ID)
		}
		for _, d := range a.DependsOn {
			if fl.AppByID[d] == nil {
				t.Errorf("app %s: depends on unknown app %q", a.ID, d)
			}
		}
		if a.Target != nil {
			for _, s := range fl.Stores {
				if _, err := m.matches(s, a.Target); err != nil {
					t.Errorf("app %s: %v", a.ID, err)
					break
				}
			}
		}
	}
	// Cycles: depth-first with colours.
	state := map[string]int{}
	var visit func(id string, path []string)
	visit = func(id string, path []string) {
		switch state[id] {
		case 1:
			t.Errorf("dependency cycle: %s -> %s", strings.Join(path, " -> "), id)
			return
		case 2:
			return
		}
		state[id] = 1
		if a := fl.AppByID[id]; a != nil {
			for _, d := range a.DependsOn {
				visit(d, append(path, id))
			}
		}
		state[id] = 2
	}
	for _, a := range fl.Apps {
		visit(a.ID, nil)
	}
}
