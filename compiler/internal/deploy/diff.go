package deploy

import (
	"cmp"
	"slices"
)

// Kind is what happens to one app on one store.
type Kind string

const (
	Added        Kind = "added"        // the store did not run the app
	Removed      Kind = "removed"      // the store stops running the app
	Upgraded     Kind = "upgraded"     // to a higher version
	Downgraded   Kind = "downgraded"   // to a lower version (rollback)
	Reconfigured Kind = "reconfigured" // same version, another variant (values, source, namespace)
	Unchanged    Kind = "unchanged"
)

// kindOrder is the order transitions are listed in.
var kindOrder = map[Kind]int{Added: 0, Upgraded: 1, Downgraded: 2, Reconfigured: 3, Removed: 4, Unchanged: 5}

// Change is one (store, app) pair that differs between two states.
type Change struct {
	Store       string `json:"store"`
	App         string `json:"app"`
	Ring        string `json:"ring"` // the store's new ring; its old one when the store is removed
	Kind        Kind   `json:"kind"`
	From        string `json:"from,omitempty"` // version; empty when added
	To          string `json:"to,omitempty"`   // version; empty when removed
	FromVariant string `json:"fromVariant,omitempty"`
	ToVariant   string `json:"toVariant,omitempty"`
}

// Counts counts (store, app) pairs by kind.
type Counts struct {
	Added        int `json:"added"`
	Upgraded     int `json:"upgraded"`
	Downgraded   int `json:"downgraded"`
	Reconfigured int `json:"reconfigured"`
	Removed      int `json:"removed"`
	Unchanged    int `json:"unchanged"`
}

func (c *Counts) add(k Kind) {
	switch k {
	case Added:
		c.Added++
	case Upgraded:
		c.Upgraded++
	case Downgraded:
		c.Downgraded++
	case Reconfigured:
		c.Reconfigured++
	case Removed:
		c.Removed++
	case Unchanged:
		c.Unchanged++
	}
}

// Changed is the number of pairs that are not unchanged.
func (c Counts) Changed() int {
	return c.Added + c.Upgraded + c.Downgraded + c.Reconfigured + c.Removed
}

// Transition groups the stores of one ring that make the same change to
// one app: kind and from → to version.
type Transition struct {
	Kind   Kind     `json:"kind"`
	From   string   `json:"from,omitempty"`
	To     string   `json:"to,omitempty"`
	Count  int      `json:"count"`
	Stores []string `json:"stores"` // sorted
}

// RingSummary is one app's changes in one ring.
type RingSummary struct {
	Ring        string       `json:"ring"`
	Counts      Counts       `json:"counts"`
	Transitions []Transition `json:"transitions,omitempty"` // unchanged pairs are counted, not listed
}

// AppSummary is one app's changes, per ring in ring-name order.
type AppSummary struct {
	App    string        `json:"app"`
	Counts Counts        `json:"counts"`
	Rings  []RingSummary `json:"rings"`
}

// Summary aggregates a plan for people: per app, per ring, per transition.
type Summary struct {
	// FleetStores is the number of stores in either state.
	FleetStores int `json:"fleetStores"`
	// StoresTouched counts stores added, removed, moved to another ring or
	// with at least one app changed.
	StoresTouched int `json:"storesTouched"`
	// Share is StoresTouched / FleetStores (0 for an empty fleet).
	Share  float64      `json:"share"`
	Counts Counts       `json:"counts"` // whole fleet, per (store, app) pair
	Apps   []AppSummary `json:"apps"`   // by app id
}

// RingMove is a store that moved from one ring to another.
type RingMove struct {
	Store string `json:"store"`
	From  string `json:"from"`
	To    string `json:"to"`
}

// Plan is what a new state changes against the previous one.
type Plan struct {
	Summary       Summary    `json:"summary"`
	StoresAdded   []string   `json:"storesAdded"`
	StoresRemoved []string   `json:"storesRemoved"`
	RingMoves     []RingMove `json:"ringMoves"`
	// Changes lists every changed pair by store then app. It is not part
	// of the JSON form: Summary lists the same pairs grouped, and at fleet
	// scale the flat list is a million entries; Summarize, which a
	// compile uses, leaves it nil.
	Changes []Change `json:"-"`
}

// Empty reports whether the plan changes nothing.
func (p *Plan) Empty() bool {
	return p.Summary.StoresTouched == 0
}

// Diff compares two states. Either may be nil (an empty state). The result
// is deterministic: stores, apps, rings and transitions are sorted.
//
// At 60,000 stores × 20 apps it visits 1.2M pairs, so the per-pair work is
// kept to a few comparisons: apps are ranked once (a store's pairs are put
// in app order by sorting small integers, not strings), counts live in a
// (ring, app) array, and each (ring, app) remembers the last variant pair
// it classified, which is what the next store of the same profile has.
func Diff(old, new *State) *Plan {
	return diff(old, new, true)
}

// Summarize is Diff without Plan.Changes, which only publish reads: a
// compile's plan output needs the summary, and a first compile's change
// list is 1.2M entries (~150 MB at 60,000 stores).
func Summarize(old, new *State) *Plan {
	return diff(old, new, false)
}

func diff(old, new *State, keepChanges bool) *Plan {
	if old == nil {
		old = NewState()
	}
	if new == nil {
		new = NewState()
	}
	p := &Plan{StoresAdded: []string{}, StoresRemoved: []string{}, RingMoves: []RingMove{}}
	ids := unionKeys(old.Stores, new.Stores)
	d := newDiffer(old, new, keepChanges)
	touched := 0
	for _, id := range ids {
		os, ns := old.Stores[id], new.Stores[id]
		var oldApps, newApps map[string]string
		ring := ""
		storeTouched := false
		switch {
		case os == nil:
			p.StoresAdded = append(p.StoresAdded, id)
			newApps, ring = ns.Apps, ns.Ring
			storeTouched = true
		case ns == nil:
			p.StoresRemoved = append(p.StoresRemoved, id)
			oldApps, ring = os.Apps, os.Ring
			storeTouched = true
		default:
			oldApps, newApps, ring = os.Apps, ns.Apps, ns.Ring
			if os.Ring != ns.Ring {
				p.RingMoves = append(p.RingMoves, RingMove{Store: id, From: os.Ring, To: ns.Ring})
				storeTouched = true
			}
		}
		if d.store(id, ring, oldApps, newApps) {
			storeTouched = true
		}
		if storeTouched {
			touched++
		}
	}
	if keepChanges {
		p.Changes = d.changes.all()
	}
	p.Summary.Counts = d.total
	p.Summary.FleetStores = len(ids)
	p.Summary.StoresTouched = touched
	if len(ids) > 0 {
		p.Summary.Share = float64(touched) / float64(len(ids))
	}
	p.Summary.Apps = summarise(d.ringCounts(), d.groups)
	return p
}

type ringKey struct{ app, ring string }

type groupKey struct {
	app, ring string
	kind      Kind
	from, to  string
}

func classify(c Change) Kind {
	switch {
	case c.FromVariant == "":
		return Added
	case c.ToVariant == "":
		return Removed
	case c.FromVariant == c.ToVariant:
		return Unchanged
	}
	switch v := CompareVersions(c.From, c.To); {
	case v < 0:
		return Upgraded
	case v > 0:
		return Downgraded
	}
	return Reconfigured
}

// summarise nests counts and transitions per app and ring, sorted.
func summarise(ringCounts map[ringKey]*Counts, groups map[groupKey]*Transition) []AppSummary {
	byRing := make(map[ringKey]*RingSummary, len(ringCounts))
	for k, c := range ringCounts {
		byRing[k] = &RingSummary{Ring: k.ring, Counts: *c}
	}
	for k, t := range groups {
		rs := byRing[ringKey{k.app, k.ring}]
		rs.Transitions = append(rs.Transitions, *t)
	}
	byApp := map[string]*AppSummary{}
	for k, rs := range byRing {
		as := byApp[k.app]
		if as == nil {
			as = &AppSummary{App: k.app}
			byApp[k.app] = as
		}
		slices.SortFunc(rs.Transitions, func(a, b Transition) int {
			if c := cmp.Compare(kindOrder[a.Kind], kindOrder[b.Kind]); c != 0 {
				return c
			}
			if c := CompareVersions(a.From, b.From); c != 0 {
				return c
			}
			if c := CompareVersions(a.To, b.To); c != 0 {
				return c
			}
			// Equal precedence, other build metadata: keep the order total.
			return cmp.Or(cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To))
		})
		as.Rings = append(as.Rings, *rs)
		as.Counts = addCounts(as.Counts, rs.Counts)
	}
	apps := make([]AppSummary, 0, len(byApp))
	for _, as := range byApp {
		slices.SortFunc(as.Rings, func(a, b RingSummary) int { return cmp.Compare(a.Ring, b.Ring) })
		apps = append(apps, *as)
	}
	slices.SortFunc(apps, func(a, b AppSummary) int { return cmp.Compare(a.App, b.App) })
	return apps
}

func addCounts(a, b Counts) Counts {
	return Counts{
		Added: a.Added + b.Added, Upgraded: a.Upgraded + b.Upgraded, Downgraded: a.Downgraded + b.Downgraded,
		Reconfigured: a.Reconfigured + b.Reconfigured, Removed: a.Removed + b.Removed, Unchanged: a.Unchanged + b.Unchanged,
	}
}

// unionKeys returns the keys of a and b, sorted, without duplicates.
func unionKeys[V any](a, b map[string]V) []string {
	keys := make([]string, 0, max(len(a), len(b)))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}
