package target

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/fleetc/fleetc/compiler/internal/model"
	"github.com/fleetc/fleetc/compiler/internal/selector"
	"github.com/fleetc/fleetc/compiler/internal/suggest"
)

// Explanation answers "why is app X (not) on store Y".
type Explanation struct {
	Store string `json:"store"`
	App   string `json:"app"`
	// Groups the store is in, each with why.
	Groups []Membership `json:"groups"`
	// Ring is the store's ring ("" when it is not in exactly one);
	// Rings lists every ring that includes the store, with why.
	Ring  string       `json:"ring"`
	Rings []Membership `json:"rings"`
	// Target explains the app's target selector term by term.
	Target   selector.Explanation `json:"target"`
	Assigned bool                 `json:"assigned"`
	Summary  string               `json:"summary"`
	// Set when assigned.
	Version     string `json:"version,omitempty"`
	VersionFrom string `json:"versionFrom,omitempty"`
	Variant     string `json:"variant,omitempty"`
	// The app's group overrides in declared order, and whether the
	// store's groups select them.
	Overrides []OverrideUse `json:"overrides,omitempty"`
	// Every merged value leaf with the layer it came from.
	Values []ValueSource `json:"values,omitempty"`
	// The app's dependencies and whether the store gets them.
	Dependencies []DependencyUse `json:"dependencies,omitempty"`
}

// Membership is a group or ring that includes the store, and why.
type Membership struct {
	Name    string   `json:"name"`
	Reasons []string `json:"reasons"`
}

// OverrideUse is one of the app's group overrides.
type OverrideUse struct {
	Group   string `json:"group"`
	Applied bool   `json:"applied"`
}

// ValueSource is one merged value: its path, the layer that set it
// ("app", "group:<name>", "store") and the value as JSON.
type ValueSource struct {
	Path  string `json:"path"`
	Layer string `json:"layer"`
	Value string `json:"value"`
}

// DependencyUse is one app dependency.
type DependencyUse struct {
	App      string `json:"app"`
	Assigned bool   `json:"assigned"`
}

// UnknownError is returned by Explain for an id it does not know; it
// suggests close names.
type UnknownError struct {
	Kind        string // "store" or "app"
	Name        string
	Suggestions []string
}

func (e *UnknownError) Error() string {
	msg := fmt.Sprintf("unknown %s %q", e.Kind, e.Name)
	if len(e.Suggestions) > 0 {
		msg += "; did you mean " + strings.Join(e.Suggestions, ", ") + "?"
	}
	return msg
}

// Explain says why an app is or is not on a store: the store's groups and
// ring with reasons, the app's target selector term by term, the version
// and where it came from, and each value with its layer.
func (r *Result) Explain(storeID, appID string) (*Explanation, error) {
	ix := r.idx
	si, ok := slices.BinarySearchFunc(ix.stores, storeID, func(s *model.Store, id string) int { return cmp.Compare(s.ID, id) })
	if !ok {
		return nil, &UnknownError{Kind: "store", Name: storeID, Suggestions: closeNames(storeID, len(ix.stores), func(i int) string { return ix.stores[i].ID })}
	}
	ai, ok := ix.appByID[appID]
	if !ok {
		return nil, &UnknownError{Kind: "app", Name: appID, Suggestions: closeNames(appID, len(ix.apps), func(i int) string { return ix.apps[i].ID })}
	}
	s, app, st := ix.stores[si], ix.apps[ai], r.Stores[si]
	facts, groups := r.Facts[s.ID], r.StoreGroups[s.ID]
	e := &Explanation{Store: s.ID, App: app.ID, Ring: st.Ring}
	for _, g := range groups {
		gi := ix.groupByName[g]
		e.Groups = append(e.Groups, Membership{Name: g, Reasons: groupReasons(ix, gi, s, facts)})
	}
	for ri, ring := range ix.rings {
		if why := ringReasons(ix, ri, s, facts, groups); len(why) > 0 {
			e.Rings = append(e.Rings, Membership{Name: ring.Name, Reasons: why})
		}
	}
	var applied []int
	for k, o := range app.Overrides {
		_, in := slices.BinarySearch(groups, o.Group)
		e.Overrides = append(e.Overrides, OverrideUse{Group: o.Group, Applied: in})
		if in {
			applied = append(applied, k)
		}
	}
	var assigned *Assignment
	for k := range st.Apps {
		if st.Apps[k].App.ID == app.ID {
			assigned = &st.Apps[k]
		}
	}
	for _, dep := range app.DependsOn {
		has := slices.ContainsFunc(st.Apps, func(a Assignment) bool { return a.App.ID == dep })
		e.Dependencies = append(e.Dependencies, DependencyUse{App: dep, Assigned: has})
	}
	m := ix.appTarget[ai]
	if m == nil {
		e.Summary = fmt.Sprintf("app %s is not targeted at store %s: its target selector is invalid and matches no store", app.ID, s.ID)
		return e, nil
	}
	e.Target = m.Explain(facts)
	if assigned == nil {
		e.Summary = fmt.Sprintf("app %s is not targeted at store %s: its target selector does not match", app.ID, s.ID)
		return e, nil
	}
	e.Assigned = true
	e.Version, e.VersionFrom, e.Variant = assigned.Version, assigned.VersionFrom, assigned.Variant.ID
	why := "its target selector matches"
	if e.Target.All {
		why = "it has no target selector, so every store gets it"
	}
	e.Summary = fmt.Sprintf("app %s is targeted at store %s at %s (from %s): %s", app.ID, s.ID, e.Version, e.VersionFrom, why)
	values, prov := mergeLayers(layersFor(app, applied, s.Values[app.ID]))
	walkLeaves(values, "", func(path string, v any) {
		js, err := canonicalJSON(v)
		if err != nil {
			js = fmt.Sprint(v)
		}
		e.Values = append(e.Values, ValueSource{Path: path, Layer: prov[path], Value: js})
	})
	return e, nil
}

// walkLeaves visits every leaf (non-map value or empty map) in key order.
func walkLeaves(m map[string]any, prefix string, fn func(path string, v any)) {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		p := joinPath(prefix, k)
		if sm, ok := m[k].(map[string]any); ok && len(sm) > 0 {
			walkLeaves(sm, p, fn)
			continue
		}
		fn(p, m[k])
	}
}

// groupReasons says why store s is in group gi.
func groupReasons(ix *index, gi int, s *model.Store, facts *selector.Facts) []string {
	g := ix.groups[gi]
	var why []string
	if slices.Contains(g.Stores, s.ID) {
		why = append(why, "listed in the group's stores")
	}
	for _, p := range g.Geo {
		p = strings.Trim(p, "/")
		if s.Geo == p || strings.HasPrefix(s.Geo, p+"/") {
			why = append(why, fmt.Sprintf("geo %s is under %s", s.Geo, p))
		}
	}
	if m := ix.groupSel[gi]; m != nil {
		why = append(why, matchedTerms(m.Explain(facts))...)
	}
	return why
}

// ringReasons says why ring ri includes store s; empty when it does not.
func ringReasons(ix *index, ri int, s *model.Store, facts *selector.Facts, groups []string) []string {
	ring := ix.rings[ri]
	var why []string
	if slices.Contains(ring.Stores, s.ID) {
		why = append(why, "listed in the ring's stores")
	}
	for _, g := range ring.Groups {
		if _, ok := slices.BinarySearch(groups, g); ok {
			why = append(why, "member of group "+g)
		}
	}
	if m := ix.ringSel[ri]; m != nil {
		why = append(why, matchedTerms(m.Explain(facts))...)
	}
	return why
}

// matchedTerms describes each matching term, e.g.
// "selector term 1 matched: owner In [corporate], nodes Gt [1]".
func matchedTerms(e selector.Explanation) []string {
	var why []string
	for ti, t := range e.Terms {
		if !t.Matched {
			continue
		}
		reqs := make([]string, len(t.Requirements))
		for k, q := range t.Requirements {
			reqs[k] = fmt.Sprintf("%s %s", q.Key, q.Operator)
			if len(q.Values) > 0 {
				reqs[k] += " [" + strings.Join(q.Values, " ") + "]"
			}
		}
		why = append(why, fmt.Sprintf("selector term %d matched: %s", ti+1, strings.Join(reqs, ", ")))
	}
	return why
}

// closeNames suggests up to five names near name: those containing it or
// contained in it, and those a few edits away, closest first.
func closeNames(name string, n int, at func(int) string) []string {
	type cand struct {
		name string
		d    int
	}
	var cs []cand
	limit := max(2, len(name)/3)
	for i := range n {
		c := at(i)
		switch {
		case name != "" && (strings.Contains(c, name) || strings.Contains(name, c)):
			cs = append(cs, cand{c, abs(len(c) - len(name))})
		default:
			if abs(len(c)-len(name)) > limit {
				continue
			}
			if d := suggest.Distance(name, c); d <= limit {
				cs = append(cs, cand{c, d})
			}
		}
	}
	slices.SortFunc(cs, func(a, b cand) int {
		return cmp.Or(cmp.Compare(a.d, b.d), cmp.Compare(a.name, b.name))
	})
	var out []string
	for _, c := range cs[:min(len(cs), maxExamples)] {
		out = append(out, c.name)
	}
	return out
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// String renders the explanation for people, one fact a line.
func (e *Explanation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", e.Summary)
	fmt.Fprintf(&b, "groups of %s:", e.Store)
	if len(e.Groups) == 0 {
		b.WriteString(" none")
	}
	for _, g := range e.Groups {
		fmt.Fprintf(&b, "\n  %s: %s", g.Name, strings.Join(g.Reasons, "; "))
	}
	ring := e.Ring
	if ring == "" {
		ring = "(not exactly one ring)"
	}
	fmt.Fprintf(&b, "\nring: %s", ring)
	for _, r := range e.Rings {
		fmt.Fprintf(&b, "\n  %s: %s", r.Name, strings.Join(r.Reasons, "; "))
	}
	fmt.Fprintf(&b, "\ntarget of %s: %s", e.App, strings.ReplaceAll(e.Target.String(), "\n", "\n  "))
	for _, o := range e.Overrides {
		state := "not applied (store not in group)"
		if o.Applied {
			state = "applied"
		}
		fmt.Fprintf(&b, "\noverride group %s: %s", o.Group, state)
	}
	for _, d := range e.Dependencies {
		state := "missing on this store"
		if d.Assigned {
			state = "present"
		}
		fmt.Fprintf(&b, "\ndepends on %s: %s", d.App, state)
	}
	if e.Assigned {
		fmt.Fprintf(&b, "\nvariant: %s", e.Variant)
		for _, v := range e.Values {
			fmt.Fprintf(&b, "\n  %s = %s (%s)", v.Path, v.Value, v.Layer)
		}
	}
	return b.String()
}
