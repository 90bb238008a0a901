package gate

import (
	"context"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fleetc/fleetc/compiler/internal/model"
	"github.com/fleetc/fleetc/compiler/internal/policy"
	"github.com/fleetc/fleetc/compiler/internal/target"
)

// Run does not build one policy input per (store, app) pair. Stores are
// first put into classes: stores that look the same to the policies
// (session.StoreClass, session.WindowClass) and share the freeze set, the
// override set, the ring and the jurisdiction give equal inputs for equal
// (app, previous variant, target variant). A pair is then its class key
// (store class, app, from, to): four small integers, looked up in a map.
// Each distinct key is one input, built from a representative store and
// decided once through the policy session (whose own memo merges keys the
// policies cannot tell apart further). Verdicts, reasons, rules and times
// are computed per key and shared by every pair of the key.

// varInfo is one variant id known to the target or the previous state.
type varInfo struct {
	id       string
	app      int32           // index in classifier.apps
	toV      string          // version as a target ("" when not a target variant)
	fromV    string          // version as the previous state reads it
	target   *target.Variant // nil when only the previous state has it
	prevVals map[string]any  // values of the previous state's spec
}

// storeClass is what the pairs of a class share besides the app.
type storeClass struct {
	rep   int // a store of the class
	facts *policy.StoreFacts
	ring  string
	juris string
}

type storeClassKey struct{ store, window, freezes, overrides, ring, juris int32 }

// pairKey identifies a class of pairs; from and to are variant indexes,
// -1 for none.
type pairKey struct{ class, app, from, to int32 }

// entry is one class of pairs and its verdict.
type entry struct {
	key  pairKey
	kind policy.ChangeKind
	d    policy.Decision

	runs     int32 // variant run after the gate (store not paused); -1 none
	recorded bool
	// outside: at the compile's now the store is outside its window or a
	// freeze on the app is in force; a change allowed anyway (an override)
	// must not be held by the store's agent either (Unheld).
	outside bool
	rules   []string
	until   *time.Time
}

// classifier holds the tables of one Run.
type classifier struct {
	b       *builder
	session *policy.Session
	workers int

	// Variants and apps by index. The ...Known maps are filled before
	// classification and only read after; ids first seen while classifying
	// (variants the previous state names but does not hold, apps no
	// longer declared) go to the other maps under varMu.
	varMu    sync.Mutex
	vars     []varInfo
	varKnown map[string]int32
	varByID  map[string]int32
	varByPtr map[*target.Variant][2]int32 // variant, app
	apps     []*model.App
	appKnown map[string]int32
	appByID  map[string]int32

	storeCls []int32 // by store index; -1 not included
	classes  []storeClass

	mu      sync.Mutex
	entries []entry
	byKey   map[pairKey]int32
}

func newClassifier(b *builder, session *policy.Session, workers int) *classifier {
	c := &classifier{b: b, session: session, workers: workers,
		varByID: map[string]int32{}, varByPtr: map[*target.Variant][2]int32{}, appByID: map[string]int32{}, byKey: map[pairKey]int32{}}
	if c.workers <= 0 {
		c.workers = runtime.GOMAXPROCS(0)
	}
	for _, a := range b.f.Apps {
		c.appIndex(a.ID)
	}
	for id, v := range b.t.Variants {
		i := c.varIndex(id)
		c.vars[i].target, c.vars[i].toV = v, v.Version
		c.vars[i].app = c.appIndex(v.App)
		c.varByPtr[v] = [2]int32{i, c.vars[i].app}
	}
	for id := range b.prev.Variants {
		c.varIndex(id)
	}
	c.varKnown, c.varByID = c.varByID, map[string]int32{}
	c.appKnown, c.appByID = c.appByID, map[string]int32{}
	return c
}

// appIndex returns the index of an app id, adding a stub for an app no
// longer declared (its removal still goes through the policies). Callers
// hold varMu once classification runs in parallel.
func (c *classifier) appIndex(id string) int32 {
	if i, ok := c.appKnown[id]; ok {
		return i
	}
	if i, ok := c.appByID[id]; ok {
		return i
	}
	i := int32(len(c.apps))
	c.apps = append(c.apps, c.b.app(id))
	c.appByID[id] = i
	return i
}

// varIndex returns the index of a variant id, adding it when new. Callers
// hold varMu once classification runs in parallel.
func (c *classifier) varIndex(id string) int32 {
	if i, ok := c.varKnown[id]; ok {
		return i
	}
	if i, ok := c.varByID[id]; ok {
		return i
	}
	i := int32(len(c.vars))
	v := varInfo{id: id, app: -1, fromV: c.b.prev.VariantVersion(id)}
	if pv := c.b.prev.Variants[id]; pv != nil {
		v.prevVals = pv.Values
	}
	c.vars = append(c.vars, v)
	c.varByID[id] = i
	return i
}

// classifyStores gives every included store its class.
func (c *classifier) classifyStores() {
	b := c.b
	n := len(b.t.Stores)
	c.storeCls = make([]int32, n)
	keys := make([]storeClassKey, n)
	forChunks(context.Background(), n, 1024, c.workers, func(lo, hi int) error {
		for i := lo; i < hi; i++ {
			if !b.included(i) {
				continue
			}
			keys[i].store = c.session.StoreClass(b.facts(i))
			keys[i].window = c.session.WindowClass(b.windows[i])
		}
		return nil
	})
	rings := map[string]int32{}
	juris := map[model.Jurisdiction]int32{}
	ids := map[storeClassKey]int32{}
	for i := range b.t.Stores {
		if !b.included(i) {
			c.storeCls[i] = -1
			continue
		}
		st := &b.t.Stores[i]
		k := &keys[i]
		k.freezes, k.overrides = b.freezeSet[i], b.overrideSet[i]
		r, ok := rings[st.Ring]
		if !ok {
			r = int32(len(rings))
			rings[st.Ring] = r
		}
		jk := model.Jurisdiction{Country: st.Store.Jurisdiction.Country, Region: st.Store.Jurisdiction.Region}
		j, ok := juris[jk]
		if !ok {
			j = int32(len(juris))
			juris[jk] = j
		}
		k.ring, k.juris = r, j
		id, ok := ids[*k]
		if !ok {
			id = int32(len(c.classes))
			ids[*k] = id
			c.classes = append(c.classes, storeClass{rep: i, facts: b.facts(i), ring: st.Ring, juris: jurisdiction(st.Store)})
		}
		c.storeCls[i] = id
	}
}

// cand is one pair of a store while it is classified.
type cand struct {
	app      int32
	appID    string
	from, to int32
}

// classifyPairs lists store i's pairs, in app order, as entry indexes
// appended to out.
func (c *classifier) classifyPairs(i int, buf []cand, local map[pairKey]int32, out []int32) ([]cand, []int32) {
	b := c.b
	st := &b.t.Stores[i]
	prev := b.prev.Stores[st.Store.ID]
	buf = buf[:0]
	matched := 0
	for _, a := range st.Apps {
		va, ok := c.varByPtr[a.Variant]
		if !ok { // not in Targets.Variants: a target built by hand
			c.varMu.Lock()
			va = [2]int32{c.varIndex(a.Variant.ID), c.appIndex(a.App.ID)}
			c.vars[va[0]].target, c.vars[va[0]].toV = a.Variant, a.Variant.Version
			c.varMu.Unlock()
		}
		cd := cand{app: va[1], appID: a.App.ID, from: -1, to: va[0]}
		if prev != nil {
			if vid, ok := prev.Apps[a.App.ID]; ok {
				cd.from = c.lookupVar(vid)
				matched++
			}
		}
		buf = append(buf, cd)
	}
	sorted := slices.IsSortedFunc(buf, func(x, y cand) int { return strings.Compare(x.appID, y.appID) })
	if prev != nil && matched < len(prev.Apps) {
		for app, vid := range prev.Apps {
			if slices.ContainsFunc(st.Apps, func(a target.Assignment) bool { return a.App.ID == app }) {
				continue
			}
			buf = append(buf, cand{app: c.lookupApp(app), appID: app, from: c.lookupVar(vid), to: -1})
		}
		sorted = false
	}
	if !sorted {
		slices.SortFunc(buf, func(x, y cand) int { return strings.Compare(x.appID, y.appID) })
	}
	cls := c.storeCls[i]
	for _, cd := range buf {
		k := pairKey{cls, cd.app, cd.from, cd.to}
		e, ok := local[k]
		if !ok {
			c.mu.Lock()
			if e, ok = c.byKey[k]; !ok {
				e = int32(len(c.entries))
				c.byKey[k] = e
				c.entries = append(c.entries, entry{key: k})
			}
			c.mu.Unlock()
			local[k] = e
		}
		out = append(out, e)
	}
	return buf, out
}

// lookupVar and lookupApp are varIndex and appIndex while classifying.
func (c *classifier) lookupVar(id string) int32 {
	if i, ok := c.varKnown[id]; ok {
		return i
	}
	c.varMu.Lock()
	defer c.varMu.Unlock()
	return c.varIndex(id)
}

func (c *classifier) lookupApp(id string) int32 {
	if i, ok := c.appKnown[id]; ok {
		return i
	}
	c.varMu.Lock()
	defer c.varMu.Unlock()
	return c.appIndex(id)
}

// input builds the policy input of an entry from its class's
// representative store.
func (c *classifier) input(e *entry) policy.Input {
	b := c.b
	cls := &c.classes[e.key.class]
	i := cls.rep
	app := c.apps[e.key.app]
	var from, to *varInfo
	p := pair{store: i, app: app.ID}
	if e.key.from >= 0 {
		from = &c.vars[e.key.from]
		p.from, p.fromV = from.id, from.fromV
	}
	var values map[string]any
	if e.key.to >= 0 {
		to = &c.vars[e.key.to]
		p.to, p.toV = to.id, to.toV
		values = to.target.Values
	}
	if values == nil && from != nil {
		values = from.prevVals
	}
	e.kind = changeKind(p)
	freezes := scopedFreezes(b.freezes(i), app.ID)
	e.outside = !b.windows[i].Open || slices.ContainsFunc(freezes, func(f policy.Freeze) bool { return f.Active })
	return policy.Input{
		Store:     cls.facts,
		App:       app,
		Ring:      b.f.RingByID[cls.ring],
		Change:    policy.Change{From: p.fromV, To: p.toV, Kind: e.kind},
		Values:    values,
		Window:    b.windows[i],
		Freezes:   freezes,
		Overrides: scopedOverrides(b.overrides(i), app.ID),
		History:   b.history(cls.ring, cls.juris, app.ID, p.toV),
	}
}

// settle records the verdict of an entry and what follows from it.
func (c *classifier) settle(e *entry, d policy.Decision) {
	e.d = d
	e.runs = e.key.to
	switch d.Verdict {
	case policy.Deny:
		e.runs = -1
	case policy.Defer:
		e.runs = e.key.from
	case policy.NeedsSignoff:
		if !c.b.propose {
			e.runs = e.key.from
		}
	}
	e.recorded = e.kind != policy.None || d.Verdict == policy.Deny || c.b.recordAll
	e.rules = ruleIDs(d.Reasons)
	if d.Verdict == policy.Defer && !d.Until.IsZero() {
		u := d.Until.UTC()
		e.until = &u
	}
}

// version of a variant as the store runs it after the gate.
func (c *classifier) version(v int32) string {
	if v < 0 {
		return ""
	}
	if vi := &c.vars[v]; vi.target != nil {
		return vi.toV
	}
	return c.vars[v].fromV
}

func ruleIDs(reasons []policy.Reason) []string {
	var rules []string
	for _, r := range reasons {
		if !slices.Contains(rules, r.Rule) {
			rules = append(rules, r.Rule)
		}
	}
	return rules
}

// forChunks calls fn on [lo, hi) chunks of [0, n) on workers goroutines;
// the first error stops the rest and is returned.
func forChunks(ctx context.Context, n, chunk, workers int, fn func(lo, hi int) error) error {
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
		failed   atomic.Bool
	)
	for range max(1, min(workers, (n+chunk-1)/chunk)) {
		wg.Go(func() {
			for !failed.Load() {
				lo := int(next.Add(int64(chunk))) - chunk
				if lo >= n {
					return
				}
				err := ctx.Err()
				if err == nil {
					err = fn(lo, min(lo+chunk, n))
				}
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					failed.Store(true)
					return
				}
			}
		})
	}
	wg.Wait()
	return firstErr
}
