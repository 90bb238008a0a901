package target

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/fleetc/fleetc/compiler/internal/diag"
	"github.com/fleetc/fleetc/compiler/internal/model"
	"github.com/fleetc/fleetc/compiler/internal/selector"
)

// index is the fleet prepared for per-store evaluation: selectors
// compiled once, explicit lists and geo prefixes inverted into maps.
type index struct {
	stores []*model.Store // unique ids, id order

	groups      []*model.Group // name order
	groupByName map[string]int
	groupSel    []*selector.Matcher // nil: no selector part (absent or invalid)
	groupListed map[string][]int32  // store id -> groups listing it
	groupGeo    map[string][]int32  // geo prefix -> groups naming it

	rings       []*model.Ring // ring order
	ringSel     []*selector.Matcher
	ringListed  map[string][]int32 // store id -> rings listing it
	ringOfGroup [][]int32          // group -> rings naming it

	apps      []*model.App // id order
	appByID   map[string]int
	appTarget []*selector.Matcher // nil: invalid target, matches no store
}

// newIndex compiles every selector and reports malformed ones.
func newIndex(f *model.Fleet, diags *diag.List) *index {
	ix := &index{
		groupByName: map[string]int{},
		groupListed: map[string][]int32{},
		groupGeo:    map[string][]int32{},
		ringListed:  map[string][]int32{},
		appByID:     map[string]int{},
	}
	for _, s := range f.Stores {
		if f.StoreByID[s.ID] == s {
			ix.stores = append(ix.stores, s)
		}
	}
	slices.SortFunc(ix.stores, func(a, b *model.Store) int { return cmp.Compare(a.ID, b.ID) })

	for _, g := range f.Groups {
		if _, dup := ix.groupByName[g.Name]; !dup {
			ix.groupByName[g.Name] = -1
			ix.groups = append(ix.groups, g)
		}
	}
	slices.SortFunc(ix.groups, func(a, b *model.Group) int { return cmp.Compare(a.Name, b.Name) })
	ix.groupSel = make([]*selector.Matcher, len(ix.groups))
	for gi, g := range ix.groups {
		ix.groupByName[g.Name] = gi
		for _, id := range g.Stores {
			ix.groupListed[id] = appendOnce(ix.groupListed[id], int32(gi))
		}
		for _, p := range g.Geo {
			p = strings.Trim(p, "/")
			ix.groupGeo[p] = appendOnce(ix.groupGeo[p], int32(gi))
		}
		path := entityPath("groups", g.Name, "selector")
		m := compileChecked(g.Selector, g.Pos, g.Refs, path, diags)
		if m != nil && m.UsesGroups() {
			for ti, t := range g.Selector.Terms {
				for ri, r := range t.Match {
					if r.Key == "group" {
						p := path + "." + reqPath(ti, ri) + ".key"
						diags.Errorf(selectorPos(g.Refs, g.Pos, p), p, "selector",
							"a group's selector may not test group membership; describe the stores by their attributes or list the other group's criteria")
					}
				}
			}
			m = nil
		}
		ix.groupSel[gi] = m
	}

	ix.rings = slices.Clone(f.Rings)
	slices.SortStableFunc(ix.rings, func(a, b *model.Ring) int {
		return cmp.Or(cmp.Compare(a.Order, b.Order), cmp.Compare(a.Name, b.Name))
	})
	ix.ringSel = make([]*selector.Matcher, len(ix.rings))
	ix.ringOfGroup = make([][]int32, len(ix.groups))
	for ri, r := range ix.rings {
		for _, id := range r.Stores {
			ix.ringListed[id] = appendOnce(ix.ringListed[id], int32(ri))
		}
		for _, g := range r.Groups {
			if gi, ok := ix.groupByName[g]; ok {
				ix.ringOfGroup[gi] = appendOnce(ix.ringOfGroup[gi], int32(ri))
			}
		}
		ix.ringSel[ri] = compileChecked(r.Selector, r.Pos, r.Refs, entityPath("rings", r.Name, "selector"), diags)
	}

	for _, a := range f.Apps {
		if _, dup := ix.appByID[a.ID]; !dup {
			ix.appByID[a.ID] = -1
			ix.apps = append(ix.apps, a)
		}
	}
	slices.SortFunc(ix.apps, func(a, b *model.App) int { return cmp.Compare(a.ID, b.ID) })
	ix.appTarget = make([]*selector.Matcher, len(ix.apps))
	for ai, a := range ix.apps {
		ix.appByID[a.ID] = ai
		if a.Target == nil {
			ix.appTarget[ai] = selector.MatchAll()
			continue
		}
		ix.appTarget[ai] = compileChecked(a.Target, a.Pos, a.Refs, entityPath("apps", a.ID, "target"), diags)
	}

	// Freezes and overrides are evaluated later (policy); check them here
	// so every selector problem is reported in one place.
	for _, fr := range f.Freezes {
		compileChecked(fr.Stores, fr.Pos, fr.Refs, entityPath("freezes", fr.Name, "stores"), diags)
	}
	for _, o := range f.Overrides {
		compileChecked(o.Stores, o.Pos, o.Refs, entityPath("overrides", o.ID, "stores"), diags)
	}
	return ix
}

// compileChecked compiles a selector, reporting its problems at the best
// position known (see selectorPos); nil for an absent or invalid selector.
func compileChecked(sel *model.Selector, pos diag.Pos, refs []model.Ref, path string, diags *diag.List) *selector.Matcher {
	if sel == nil {
		return nil
	}
	probs := selector.Check(sel)
	for _, p := range probs {
		full := path + "." + p.Path
		diags.Errorf(selectorPos(refs, pos, full), full, "selector", "%s", p.Message)
	}
	if len(probs) > 0 {
		return nil
	}
	m, err := selector.Compile(sel)
	if err != nil { // Check passed, so this is a bug
		diags.Errorf(pos, path, "selector", "%v", err)
		return nil
	}
	return m
}

// selectorPos is where to report a problem at a selector's field path.
// The model keeps positions only for the values of `key: group`
// requirements (as references); a problem at or inside such a value gets
// that value's position, a problem elsewhere in the same requirement the
// position of its first value (on the requirement's line in the usual
// one-line form). Anything else is reported at the entity; the path
// names the field exactly.
func selectorPos(refs []model.Ref, entity diag.Pos, path string) diag.Pos {
	req := path
	if i := strings.LastIndex(req, "].match["); i >= 0 {
		if j := strings.IndexByte(req[i+len("].match["):], ']'); j >= 0 {
			req = req[:i+len("].match[")+j+1]
		}
	}
	var first diag.Pos
	for _, r := range refs {
		if !r.Pos.IsValid() {
			continue
		}
		if r.Path == path || strings.HasSuffix(path, ".values") && strings.HasPrefix(r.Path, path+"[") {
			return r.Pos
		}
		if !first.IsValid() && strings.HasPrefix(r.Path, req+".") {
			first = r.Pos
		}
	}
	if first.IsValid() {
		return first
	}
	return entity
}

func reqPath(ti, ri int) string {
	return "terms[" + strconv.Itoa(ti) + "].match[" + strconv.Itoa(ri) + "]"
}

func appendOnce(s []int32, v int32) []int32 {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}

// entityPath is a field path in CUE syntax: kind.name.field, with the name
// quoted unless it is an identifier (stores."nyc-0001").
func entityPath(kind, name, field string) string {
	p := kind + "." + quoteLabel(name)
	if field != "" {
		p += "." + field
	}
	return p
}

func quoteLabel(s string) string {
	for i, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '$' || r == '_' && i > 0 || r >= '0' && r <= '9' && i > 0
		if !ok {
			return strconv.Quote(s)
		}
	}
	if s == "" {
		return `""`
	}
	return s
}
