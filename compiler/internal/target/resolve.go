package target

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/fleetc/fleetc/compiler/internal/diag"
	"github.com/fleetc/fleetc/compiler/internal/model"
	"github.com/fleetc/fleetc/compiler/internal/selector"
)

// Ring slot values besides a ring index.
const (
	noRing    = -1
	manyRings = -2
)

// resolver holds the per-store working state of one Resolve. Slices are
// indexed by store (and app) position; parallel passes write disjoint
// slots only.
type resolver struct {
	ix    *index
	opts  Options
	diags diag.List

	facts    []*selector.Facts
	groupSet []int32 // store -> interned group set
	sets     []groupSet
	ring     []int32    // store -> ring index, noRing or manyRings
	matched  []bool     // store*apps + app -> target matches
	storeVal [][]string // store -> per app canonical JSON of its values ("" = none); nil when none at all
}

// groupSet is one distinct combination of groups, shared by its stores.
type groupSet struct {
	names []string
	idx   []int32 // group indexes, name order
	rings []int32 // rings that include these stores through their groups
}

// Resolve computes group membership, rings and per-store assignments.
// Findings (malformed selectors, ring membership, missing dependencies)
// come back as diagnostics; the result is still filled in as far as it
// can be. It expects an indexed fleet (model.Fleet.Index) and indexes one
// that is not.
func Resolve(ctx context.Context, f *model.Fleet, opts Options) (*Result, diag.List) {
	if f.StoreByID == nil {
		f.Index()
	}
	r := &resolver{opts: opts}
	r.ix = newIndex(f, &r.diags)
	steps := []func(context.Context) error{r.memberships, r.ringsAndTargets}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			r.diags.Errorf(diag.Pos{}, "", "canceled", "target: %v", err)
			return nil, r.diags
		}
	}
	res, err := r.assign(ctx)
	if err != nil {
		r.diags.Errorf(diag.Pos{}, "", "canceled", "target: %v", err)
		return nil, r.diags
	}
	res.Fleet = f
	r.reportRings()
	r.diags.Sort()
	return res, r.diags
}

// memberships computes every store's facts and groups.
func (r *resolver) memberships(ctx context.Context) error {
	ix := r.ix
	n, words := len(ix.stores), (len(ix.groups)+63)/64
	base := make([]*selector.Facts, n)
	bits := make([]uint64, n*words)
	err := parallel(ctx, r.opts.Workers, n, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			s := ix.stores[i]
			f := selector.NewFacts(s, nil)
			base[i] = f
			w := bits[i*words : (i+1)*words]
			for _, g := range ix.groupListed[s.ID] {
				w[g/64] |= 1 << (g % 64)
			}
			geo, _ := f.Values("geo")
			for _, p := range geo {
				for _, g := range ix.groupGeo[p] {
					w[g/64] |= 1 << (g % 64)
				}
			}
			for g, m := range ix.groupSel {
				if m != nil && m.Matches(f) {
					w[g/64] |= 1 << (g % 64)
				}
			}
		}
	})
	if err != nil {
		return err
	}
	// Intern the distinct group sets (sequential: few thousand at most).
	r.groupSet = make([]int32, n)
	byKey := map[string]int32{}
	key := make([]byte, words*8)
	for i := range n {
		w := bits[i*words : (i+1)*words]
		for j, x := range w {
			binary.LittleEndian.PutUint64(key[j*8:], x)
		}
		id, ok := byKey[string(key)]
		if !ok {
			id = int32(len(r.sets))
			byKey[string(key)] = id
			r.sets = append(r.sets, r.newGroupSet(w))
		}
		r.groupSet[i] = id
	}
	r.facts = make([]*selector.Facts, n)
	return parallel(ctx, r.opts.Workers, n, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			r.facts[i] = base[i].WithGroups(r.sets[r.groupSet[i]].names)
		}
	})
}

func (r *resolver) newGroupSet(w []uint64) groupSet {
	var gs groupSet
	for g := range r.ix.groups {
		if w[g/64]&(1<<(g%64)) != 0 {
			gs.names = append(gs.names, r.ix.groups[g].Name)
			gs.idx = append(gs.idx, int32(g))
			for _, ri := range r.ix.ringOfGroup[g] {
				gs.rings = appendOnce(gs.rings, ri)
			}
		}
	}
	return gs
}

// ringsAndTargets finds each store's ring and the apps it gets.
func (r *resolver) ringsAndTargets(ctx context.Context) error {
	ix := r.ix
	n, na := len(ix.stores), len(ix.apps)
	r.ring = make([]int32, n)
	r.matched = make([]bool, n*na)
	r.storeVal = make([][]string, n)
	var encErr = make([]error, n)
	err := parallel(ctx, r.opts.Workers, n, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			s, f := ix.stores[i], r.facts[i]
			r.ring[i] = r.ringOf(i)
			for a, m := range ix.appTarget {
				if m == nil || !m.Matches(f) {
					continue
				}
				r.matched[i*na+a] = true
				vals, ok := s.Values[ix.apps[a].ID]
				if !ok {
					continue
				}
				js, err := canonicalJSON(vals)
				if err != nil {
					encErr[i] = fmt.Errorf("encode values for app %q: %w", ix.apps[a].ID, err)
					continue
				}
				if r.storeVal[i] == nil {
					r.storeVal[i] = make([]string, na)
				}
				r.storeVal[i][a] = "store:" + js
			}
		}
	})
	for i, e := range encErr {
		if e != nil {
			r.diags.Errorf(ix.stores[i].Pos, entityPath("stores", ix.stores[i].ID, "values"), "values", "%v", e)
		}
	}
	return err
}

// ringOf returns the store's ring index, noRing or manyRings.
func (r *resolver) ringOf(i int) int32 {
	found := int32(noRing)
	add := func(ri int32) {
		if found == noRing || found == ri {
			found = ri
		} else {
			found = manyRings
		}
	}
	ix := r.ix
	for _, ri := range ix.ringListed[ix.stores[i].ID] {
		add(ri)
	}
	for _, ri := range r.sets[r.groupSet[i]].rings {
		add(ri)
	}
	for ri, m := range ix.ringSel {
		if found != manyRings && m != nil && m.Matches(r.facts[i]) {
			add(int32(ri))
		}
	}
	return found
}

// ringNames lists, in ring order, every ring that includes store i.
func (r *resolver) ringNames(i int) []string {
	var names []string
	for ri, ring := range r.ix.rings {
		if len(ringReasons(r.ix, ri, r.ix.stores[i], r.facts[i], r.sets[r.groupSet[i]].names)) > 0 {
			names = append(names, ring.Name)
		}
	}
	return names
}

// reportRings reports every store that is not in exactly one ring.
func (r *resolver) reportRings() {
	var all []string
	for _, ring := range r.ix.rings {
		all = append(all, ring.Name)
	}
	for i, ring := range r.ring {
		if ring >= 0 {
			continue
		}
		s := r.ix.stores[i]
		path := entityPath("stores", s.ID, "")
		switch ring {
		case noRing:
			have := "no rings are declared"
			if len(all) > 0 {
				have = "rings: " + strings.Join(all, ", ")
			}
			r.diags.Errorf(s.Pos, path, "ring-membership",
				"store %s is in no ring; every store must be in exactly one (%s)", s.ID, have)
		case manyRings:
			r.diags.Errorf(s.Pos, path, "ring-membership",
				"store %s is in %d rings (%s); every store must be in exactly one",
				s.ID, len(r.ringNames(i)), strings.Join(r.ringNames(i), ", "))
		}
	}
}
