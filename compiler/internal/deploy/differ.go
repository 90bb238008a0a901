package deploy

import (
	"slices"
)

// differ holds what Diff learns once and reuses for every store.
type differ struct {
	old, new *State
	apps     []string         // every app named by a variant of either state, sorted
	rank     map[string]int32 // apps[rank[a]] == a
	rings    []string
	ringIdx  map[string]int
	counts   [][]Counts          // [ring][app rank]
	last     [][]lastPair        // [ring][app rank]: the variant pair classified last
	total    Counts              // whole fleet
	extra    map[ringKey]*Counts // apps without a rank (storeSlow)
	groups   map[groupKey]*Transition
	changes  changeChunks

	// Per-store scratch, indexed by app rank.
	oldV, newV []string
	seen       []bool
	order      []int32
}

// lastPair is one classified variant pair and the transition it joins.
type lastPair struct {
	from, to string // variant ids
	change   Change // Kind, From and To filled in
	group    *Transition
}

func newDiffer(old, new *State, keepChanges bool) *differ {
	d := &differ{old: old, new: new, rank: map[string]int32{}, ringIdx: map[string]int{}, groups: map[groupKey]*Transition{}}
	for _, s := range []*State{old, new} {
		for _, v := range s.Variants {
			if _, ok := d.rank[v.App]; !ok {
				d.rank[v.App] = 0
				d.apps = append(d.apps, v.App)
			}
		}
	}
	slices.Sort(d.apps)
	for i, a := range d.apps {
		d.rank[a] = int32(i)
	}
	n := len(d.apps)
	d.oldV, d.newV, d.seen = make([]string, n), make([]string, n), make([]bool, n)
	// Every pair of an added or removed store is a change: room for those
	// up front makes a cold compile's 1.2M changes one allocation.
	if !keepChanges {
		d.changes.off = true
		return d
	}
	sure := 0
	for _, pair := range [][2]*State{{old, new}, {new, old}} {
		for id, s := range pair[0].Stores {
			if pair[1].Stores[id] == nil {
				sure += len(s.Apps)
			}
		}
	}
	d.changes.cur = make([]Change, 0, sure)
	return d
}

// store compares one store's apps, counts every pair and records the
// changed ones; it reports whether any pair changed.
func (d *differ) store(id, ring string, oldApps, newApps map[string]string) bool {
	r, ok := d.ringIdx[ring]
	if !ok {
		r = len(d.rings)
		d.ringIdx[ring] = r
		d.rings = append(d.rings, ring)
		d.counts = append(d.counts, make([]Counts, len(d.apps)))
		d.last = append(d.last, make([]lastPair, len(d.apps)))
	}
	order, ok := d.collect(oldApps, newApps)
	if !ok {
		return d.storeSlow(id, ring, oldApps, newApps)
	}
	changed := false
	for _, a := range order {
		from, to := d.oldV[a], d.newV[a]
		d.oldV[a], d.newV[a], d.seen[a] = "", "", false
		lp := &d.last[r][a]
		if lp.change.Kind == "" || lp.from != from || lp.to != to {
			c := Change{App: d.apps[a], Ring: ring, FromVariant: from, ToVariant: to}
			g := d.classify(&c)
			*lp = lastPair{from: from, to: to, change: c, group: g}
		}
		d.counts[r][a].add(lp.change.Kind)
		d.total.add(lp.change.Kind)
		if lp.group == nil {
			continue
		}
		changed = true
		c := lp.change
		c.Store = id
		d.changes.add(c)
		lp.group.Count++
		lp.group.Stores = append(lp.group.Stores, id) // ids are visited in order
	}
	return changed
}

// collect spreads a store's variants over the per-rank scratch and returns
// the ranks present, sorted; ok is false when an app has no rank (a state
// whose stores name variants it does not list).
func (d *differ) collect(oldApps, newApps map[string]string) ([]int32, bool) {
	order := d.order[:0]
	for i, m := range []map[string]string{oldApps, newApps} {
		vs := d.oldV
		if i == 1 {
			vs = d.newV
		}
		for app, v := range m {
			a, ok := d.rank[app]
			if !ok {
				for _, a := range order {
					d.oldV[a], d.newV[a], d.seen[a] = "", "", false
				}
				d.order = order
				return nil, false
			}
			vs[a] = v
			if !d.seen[a] {
				d.seen[a] = true
				order = append(order, a)
			}
		}
	}
	slices.Sort(order)
	d.order = order
	return order, true
}

// classify fills in c's kind and versions and returns the transition it
// joins, nil when unchanged.
func (d *differ) classify(c *Change) *Transition {
	if c.FromVariant != "" {
		c.From = d.old.VariantVersion(c.FromVariant)
	}
	if c.ToVariant != "" {
		c.To = d.new.VariantVersion(c.ToVariant)
	}
	c.Kind = classify(*c)
	if c.Kind == Unchanged {
		return nil
	}
	gk := groupKey{c.App, c.Ring, c.Kind, c.From, c.To}
	g := d.groups[gk]
	if g == nil {
		g = &Transition{Kind: c.Kind, From: c.From, To: c.To}
		d.groups[gk] = g
	}
	return g
}

// storeSlow is store for a store with an app no variant names: it sorts
// the app names and classifies every pair afresh.
func (d *differ) storeSlow(id, ring string, oldApps, newApps map[string]string) bool {
	changed := false
	for _, app := range unionKeys(oldApps, newApps) {
		c := Change{Store: id, App: app, Ring: ring, FromVariant: oldApps[app], ToVariant: newApps[app]}
		g := d.classify(&c)
		d.slowCounts(app, ring).add(c.Kind)
		d.total.add(c.Kind)
		if g == nil {
			continue
		}
		changed = true
		d.changes.add(c)
		g.Count++
		g.Stores = append(g.Stores, id)
	}
	return changed
}

// slowCounts is the counter of one (ring, app) pair for storeSlow.
func (d *differ) slowCounts(app, ring string) *Counts {
	if a, ok := d.rank[app]; ok {
		return &d.counts[d.ringIdx[ring]][a]
	}
	k := ringKey{app, ring}
	c := d.extra[k]
	if c == nil {
		if d.extra == nil {
			d.extra = map[ringKey]*Counts{}
		}
		c = &Counts{}
		d.extra[k] = c
	}
	return c
}

// ringCounts returns the counts of every (app, ring) that has a pair.
func (d *differ) ringCounts() map[ringKey]*Counts {
	out := make(map[ringKey]*Counts, len(d.extra))
	for k, c := range d.extra {
		out[k] = c
	}
	for r, row := range d.counts {
		for a := range row {
			if c := &row[a]; *c != (Counts{}) {
				out[ringKey{d.apps[a], d.rings[r]}] = c
			}
		}
	}
	return out
}

// changeChunks collects a plan's changes in blocks, so 1.2M changes are
// copied at most once into a slice of the exact size instead of on every
// growth, and not at all when the first block was large enough.
type changeChunks struct {
	done [][]Change
	cur  []Change
	n    int
	off  bool // count only (Summarize)
}

func (c *changeChunks) add(ch Change) {
	if c.off {
		c.n++
		return
	}
	if len(c.cur) == cap(c.cur) {
		if c.cur != nil {
			c.done = append(c.done, c.cur)
		}
		c.cur = make([]Change, 0, min(max(2*cap(c.cur), 16), 1<<13))
	}
	c.cur = append(c.cur, ch)
	c.n++
}

// all returns every change in the order added; nil when there is none.
func (c *changeChunks) all() []Change {
	if len(c.done) == 0 {
		return c.cur
	}
	out := make([]Change, 0, c.n)
	for _, b := range c.done {
		out = append(out, b...)
	}
	return append(out, c.cur...)
}
