package target

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	"github.com/fleetc/fleetc/compiler/internal/diag"
	"github.com/fleetc/fleetc/compiler/internal/selector"
)

// variantKey is everything a variant depends on besides the app's own
// fields: the version, which of the app's overrides apply (interned per
// app) and the store's own values for the app as canonical JSON.
type variantKey struct {
	app     int32
	version string
	ov      int32
	store   string
}

// overrideSets interns, per app, which of its overrides a group set
// selects: of[app][groupSet] is an id into applied[app].
type overrideSets struct {
	of      [][]int32
	applied [][][]int
}

func (r *resolver) overrideSets() overrideSets {
	ix := r.ix
	o := overrideSets{of: make([][]int32, len(ix.apps)), applied: make([][][]int, len(ix.apps))}
	for a, app := range ix.apps {
		o.of[a] = make([]int32, len(r.sets))
		ids := map[string]int32{}
		for gs, set := range r.sets {
			var applied []int
			var key strings.Builder
			for k, ov := range app.Overrides {
				if _, ok := slices.BinarySearch(set.names, ov.Group); ok {
					applied = append(applied, k)
					fmt.Fprintf(&key, "%d,", k)
				}
			}
			id, ok := ids[key.String()]
			if !ok {
				id = int32(len(o.applied[a]))
				ids[key.String()] = id
				o.applied[a] = append(o.applied[a], applied)
			}
			o.of[a][gs] = id
		}
	}
	return o
}

// version returns the version of app a in ring ri and where it came from.
func (r *resolver) version(a int, ri int32) (string, string) {
	app := r.ix.apps[a]
	if ri >= 0 {
		ring := r.ix.rings[ri].Name
		if v, ok := app.Versions[ring]; ok && v != "" {
			return v, "ring pin " + ring
		}
	}
	return app.Version, "app"
}

// assign builds variants (each distinct one merged once) and every
// store's assignments, and checks dependencies.
func (r *resolver) assign(ctx context.Context) (*Result, error) {
	ix := r.ix
	n, na := len(ix.stores), len(ix.apps)
	ovs := r.overrideSets()

	// Pass 1 (sequential, map lookups only): give every (store, app) its
	// variant key and remember one store per distinct key.
	slot := make([]int32, n*na)
	keyIdx := map[variantKey]int32{}
	var keys []variantKey
	var sample []int32
	for i := range n {
		for a := range na {
			if !r.matched[i*na+a] {
				slot[i*na+a] = -1
				continue
			}
			v, _ := r.version(a, r.ring[i])
			k := variantKey{app: int32(a), version: v, ov: ovs.of[a][r.groupSet[i]]}
			if r.storeVal[i] != nil {
				k.store = r.storeVal[i][a]
			}
			id, ok := keyIdx[k]
			if !ok {
				id = int32(len(keys))
				keyIdx[k] = id
				keys = append(keys, k)
				sample = append(sample, int32(i))
			}
			slot[i*na+a] = id
		}
	}

	// Pass 2 (parallel): merge and hash each distinct variant once.
	variants := make([]*Variant, len(keys))
	errs := make([]error, len(keys))
	err := parallel(ctx, r.opts.Workers, len(keys), func(lo, hi int) {
		for k := lo; k < hi; k++ {
			key := keys[k]
			app := ix.apps[key.app]
			var store map[string]any
			if key.store != "" {
				store = ix.stores[sample[k]].Values[app.ID]
			}
			variants[k], errs[k] = newVariant(app, key.version, layersFor(app, ovs.applied[key.app][key.ov], store))
		}
	})
	if err != nil {
		return nil, err
	}
	// Different keys can merge to the same values: one pointer per id,
	// the first in store order.
	res := &Result{Variants: map[string]*Variant{}}
	canon := make([]int32, len(keys))
	byID := map[string]int32{}
	for k, v := range variants {
		if errs[k] != nil {
			s := ix.stores[sample[k]]
			r.diags.Errorf(s.Pos, entityPath("stores", s.ID, "values"), "values", "%v", errs[k])
			canon[k] = -1
			continue
		}
		c, ok := byID[v.ID]
		if !ok {
			c = int32(k)
			byID[v.ID] = c
			res.Variants[v.ID] = v
		}
		canon[k] = c
	}

	// Pass 3 (sequential): assignments, shared between stores whose
	// ring and variants are identical; dependencies; the lookup maps.
	r.fillMaps(res)
	res.Stores = make([]StoreTarget, n)
	shared := map[string][]Assignment{}
	deps := newDependencyCheck(ix)
	key := make([]byte, 0, 4+8*na)
	for i := range n {
		key = binary.LittleEndian.AppendUint32(key[:0], uint32(r.ring[i]))
		for a := range na {
			if k := slot[i*na+a]; k >= 0 && canon[k] >= 0 {
				key = binary.LittleEndian.AppendUint32(key, uint32(a))
				key = binary.LittleEndian.AppendUint32(key, uint32(canon[k]))
				deps.check(i, a, slot[i*na:(i+1)*na])
			}
		}
		apps, ok := shared[string(key)]
		if !ok {
			apps = r.assignments(i, slot[i*na:(i+1)*na], canon, variants)
			shared[string(key)] = apps
		}
		res.Stores[i] = StoreTarget{Store: ix.stores[i], Ring: r.ringName(i), Apps: apps}
	}
	deps.report(&r.diags)
	res.idx = ix
	return res, nil
}

func (r *resolver) assignments(i int, slots []int32, canon []int32, variants []*Variant) []Assignment {
	var out []Assignment
	for a, k := range slots {
		if k < 0 || canon[k] < 0 {
			continue
		}
		v, from := r.version(a, r.ring[i])
		out = append(out, Assignment{App: r.ix.apps[a], Version: v, VersionFrom: from, Variant: variants[canon[k]]})
	}
	return out
}

func (r *resolver) ringName(i int) string {
	if ri := r.ring[i]; ri >= 0 {
		return r.ix.rings[ri].Name
	}
	return ""
}

// fillMaps builds the per-store and per-group lookup maps.
func (r *resolver) fillMaps(res *Result) {
	ix := r.ix
	n := len(ix.stores)
	res.StoreGroups = make(map[string][]string, n)
	res.StoreRing = make(map[string]string, n)
	res.Facts = make(map[string]*selector.Facts, n)
	res.GroupStores = make(map[string][]string, len(ix.groups))
	counts := make([]int, len(ix.groups))
	for i := range n {
		for _, g := range r.sets[r.groupSet[i]].idx {
			counts[g]++
		}
	}
	for g, grp := range ix.groups {
		res.GroupStores[grp.Name] = make([]string, 0, counts[g])
	}
	for i, s := range ix.stores {
		set := r.sets[r.groupSet[i]]
		res.StoreGroups[s.ID] = set.names
		res.StoreRing[s.ID] = r.ringName(i)
		res.Facts[s.ID] = r.facts[i]
		for _, g := range set.idx {
			name := ix.groups[g].Name
			res.GroupStores[name] = append(res.GroupStores[name], s.ID)
		}
	}
}

// dependencyCheck counts, per (app, dependency), the stores that get the
// app without the dependency.
type dependencyCheck struct {
	ix      *index
	deps    [][]dependency // app -> its known dependencies
	missing map[[2]int32]*missingDep
}

type dependency struct {
	app int32 // index of the dependency
	at  int   // index in DependsOn, for the field path
}

type missingDep struct {
	count    int
	examples []string
}

func newDependencyCheck(ix *index) *dependencyCheck {
	d := &dependencyCheck{ix: ix, deps: make([][]dependency, len(ix.apps)), missing: map[[2]int32]*missingDep{}}
	for a, app := range ix.apps {
		for at, dep := range app.DependsOn {
			if b, ok := ix.appByID[dep]; ok {
				d.deps[a] = append(d.deps[a], dependency{int32(b), at})
			}
		}
	}
	return d
}

// check records store i, which gets app a, for every dependency of a it
// does not get.
func (d *dependencyCheck) check(i, a int, slots []int32) {
	for j, dep := range d.deps[a] {
		if slots[dep.app] >= 0 {
			continue
		}
		k := [2]int32{int32(a), int32(j)}
		m := d.missing[k]
		if m == nil {
			m = &missingDep{}
			d.missing[k] = m
		}
		m.count++
		if len(m.examples) < maxExamples {
			m.examples = append(m.examples, d.ix.stores[i].ID)
		}
	}
}

// maxExamples is how many store ids a fleet-wide finding names.
const maxExamples = 5

func (d *dependencyCheck) report(diags *diag.List) {
	for a, deps := range d.deps {
		app := d.ix.apps[a]
		for j, dep := range deps {
			m := d.missing[[2]int32{int32(a), int32(j)}]
			if m == nil {
				continue
			}
			name := d.ix.apps[dep.app].ID
			stores := "1 store gets"
			if m.count > 1 {
				stores = fmt.Sprintf("%d stores get", m.count)
			}
			eg := strings.Join(m.examples, ", ")
			if m.count > len(m.examples) {
				eg += ", ..."
			}
			diags.Errorf(app.Pos, entityPath("apps", app.ID, fmt.Sprintf("dependsOn[%d]", dep.at)), "dependency",
				"app %s depends on %s, but %s %s without %s (%s); widen %s's target or narrow %s's",
				app.ID, name, stores, app.ID, name, eg, name, app.ID)
		}
	}
}
