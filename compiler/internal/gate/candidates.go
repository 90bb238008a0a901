package gate

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fleetc/fleetc/compiler/internal/calendar"
	"github.com/fleetc/fleetc/compiler/internal/deploy"
	"github.com/fleetc/fleetc/compiler/internal/diag"
	"github.com/fleetc/fleetc/compiler/internal/model"
	"github.com/fleetc/fleetc/compiler/internal/policy"
	"github.com/fleetc/fleetc/compiler/internal/selector"
	"github.com/fleetc/fleetc/compiler/internal/target"
)

// builder precomputes what is shared between candidates: per store its
// window (memoised by zone, hours and group window), the set of freezes
// whose store scope covers it and the set of overrides (both interned, so
// stores share them), and from the previous state the history the
// sign-off rules read.
type builder struct {
	t    *target.Result
	f    *model.Fleet
	prev *deploy.State
	now  time.Time

	apps    map[string]*model.App // including stubs for apps no longer declared
	windows []calendar.Window     // by store index
	// schedules and freezeTexts are what the store's agent enforces
	// (settings.agent.enforceWindows; nil otherwise): the window's text by
	// store index, and by freeze set the freezes that hold every app.
	schedules    []string
	freezeTexts  []string
	freezeSet    []int32           // by store index: index into freezeSets
	freezeSets   [][]policy.Freeze // distinct sets of freezes whose store scope covers a store
	overrideSet  []int32           // by store index: index into overrideSets
	overrideSets [][]*model.Override
	hist         *History
	only         map[string]bool // nil = every store
	recordAll    bool
	propose      bool
	hold         func(app, ring, version string) (policy.Reason, *time.Time, bool)
	halt         func(app, ring string) (policy.Reason, bool)
}

func (b *builder) included(i int) bool {
	return b.only == nil || b.only[b.t.Stores[i].Store.ID]
}

// freezes and overrides of store i (shared slices: read only).
func (b *builder) freezes(i int) []policy.Freeze     { return b.freezeSets[b.freezeSet[i]] }
func (b *builder) overrides(i int) []*model.Override { return b.overrideSets[b.overrideSet[i]] }

// facts is the policy view of store i.
func (b *builder) facts(i int) *policy.StoreFacts {
	s := b.t.Stores[i].Store
	return policy.NewStoreFacts(s, b.t.StoreGroups[s.ID])
}

func newBuilder(opts Options) (*builder, diag.List) {
	t := opts.Targets
	b := &builder{t: t, f: t.Fleet, prev: opts.Previous, now: opts.Now, apps: map[string]*model.App{}, recordAll: opts.RecordAll, propose: opts.Propose, hold: opts.Hold, halt: opts.Halt}
	if b.prev == nil {
		b.prev = deploy.NewState()
	}
	for _, a := range b.f.Apps {
		b.apps[a.ID] = a
	}
	if opts.Only != nil {
		b.only = map[string]bool{}
		for _, id := range opts.Only {
			b.only[id] = true
		}
	}
	var diags diag.List
	n := len(t.Stores)
	b.windows = make([]calendar.Window, n)
	b.freezeSet = make([]int32, n)
	b.overrideSet = make([]int32, n)
	b.freezeSets = [][]policy.Freeze{nil}
	b.overrideSets = [][]*model.Override{nil}

	freezeSel := make([]*selector.Matcher, len(b.f.Freezes))
	for i, fz := range b.f.Freezes {
		freezeSel[i] = compileOrNone(fz.Stores)
	}
	overrideSel := make([]*selector.Matcher, len(b.f.Overrides))
	for i, o := range b.f.Overrides {
		if o.Kind == "mass-change" {
			continue // the mass-change guard's, not the policies' (nil: matches no store)
		}
		overrideSel[i] = compileOrNone(o.Stores)
	}
	windowGroups := map[string]*model.Group{}
	for _, g := range b.f.Groups {
		if g.Window != nil {
			windowGroups[g.Name] = g
		}
	}
	type zone struct {
		loc     *time.Location
		freezes []freezeAt // by freeze index, computed on first use
	}
	zones := map[string]*zone{}
	windows := map[string]calendar.Window{}
	schedules := map[string]string{}
	if b.f.Settings.Agent.EnforceWindows {
		b.schedules = make([]string, n)
	}
	freezeSets := map[string]int32{"": 0}
	overrideSets := map[string]int32{"": 0}
	var key []byte
	for i := range t.Stores {
		if !b.included(i) {
			continue
		}
		st := &t.Stores[i]
		s := st.Store
		groups := t.StoreGroups[s.ID]
		var gw []*model.Group
		for _, g := range groups {
			if w, ok := windowGroups[g]; ok {
				gw = append(gw, w)
			}
		}
		key = windowCacheKey(key[:0], s, gw)
		w, ok := windows[string(key)]
		if !ok {
			var err error
			w, err = calendar.StoreGroupWindow(s, gw, b.f.Settings.Window, b.now)
			if err != nil {
				diags.Errorf(s.Pos, fmt.Sprintf("stores.%s", s.ID), "window", "deployment window: %v", err)
			} else {
				windows[string(key)] = w
			}
		}
		b.windows[i] = w
		if b.schedules != nil {
			text, ok := schedules[string(key)]
			if !ok {
				var groupWindow *model.GroupWindow
				if g := calendar.GroupFor(gw); g != nil {
					groupWindow = g.Window
				}
				text = calendar.Schedule(s, groupWindow, b.f.Settings.Window).Text()
				schedules[string(key)] = text
			}
			b.schedules[i] = text
		}
		z := zones[s.Timezone]
		if z == nil {
			loc, err := time.LoadLocation(s.Timezone)
			if err != nil {
				diags.Errorf(s.Pos, fmt.Sprintf("stores.%s.timezone", s.ID), "timezone", "%v", err)
				loc = time.UTC
			}
			z = &zone{loc: loc, freezes: make([]freezeAt, len(b.f.Freezes))}
			zones[s.Timezone] = z
		}
		facts := t.Facts[s.ID]
		key = key[:0]
		var fs []policy.Freeze
		for j, fz := range b.f.Freezes {
			if facts == nil || freezeSel[j] == nil || !freezeSel[j].Matches(facts) {
				continue
			}
			at := &z.freezes[j]
			if !at.done {
				at.done = true
				active, start, end, err := calendar.FreezeActive(fz, z.loc, b.now)
				at.err = err
				at.f = policy.Freeze{Freeze: fz, Active: active, Start: start, End: end}
			}
			if at.err != nil {
				diags.Errorf(fz.Pos, fmt.Sprintf("freezes.%s", fz.Name), "freeze", "%v", at.err)
				continue
			}
			fs = append(fs, at.f)
			key = binary.AppendUvarint(key, uint64(j))
			key = binary.AppendVarint(key, at.f.Start.Unix())
			key = binary.AppendVarint(key, at.f.End.Unix())
			if at.f.Active {
				key = append(key, 1)
			} else {
				key = append(key, 0)
			}
		}
		b.freezeSet[i] = internSet(freezeSets, &b.freezeSets, key, fs)
		key = key[:0]
		var os []*model.Override
		for j, o := range b.f.Overrides {
			if facts != nil && overrideSel[j] != nil && overrideSel[j].Matches(facts) {
				os = append(os, o)
				key = binary.AppendUvarint(key, uint64(j))
			}
		}
		b.overrideSet[i] = internSet(overrideSets, &b.overrideSets, key, os)
	}
	if b.schedules != nil {
		b.freezeTexts = make([]string, len(b.freezeSets))
		for id, set := range b.freezeSets {
			b.freezeTexts[id] = freezeText(set, b.now)
		}
	}
	if b.hist = opts.History; b.hist == nil {
		b.hist = b.indexHistory()
	}
	return b, diags
}

// freezeText lists the freezes of a store that hold every app and have
// not ended at now, as "start/end" RFC 3339 UTC pairs separated by commas,
// in start order: the store's agent holds the window gate shut while one
// is in force. Freezes on some apps only are enforced by the compile
// alone (the agent's gate is per store).
func freezeText(set []policy.Freeze, now time.Time) string {
	var spans []string
	for _, f := range set {
		if len(f.Freeze.Apps) > 0 || !f.End.After(now) {
			continue
		}
		spans = append(spans, f.Start.UTC().Format(time.RFC3339)+"/"+f.End.UTC().Format(time.RFC3339))
	}
	slices.Sort(spans)
	return strings.Join(slices.Compact(spans), ",")
}

// freezeAt is a freeze resolved in one zone.
type freezeAt struct {
	done bool
	f    policy.Freeze
	err  error
}

// internSet returns the id of the set with this key, adding set when new.
func internSet[T any](ids map[string]int32, sets *[][]T, key []byte, set []T) int32 {
	if id, ok := ids[string(key)]; ok {
		return id
	}
	id := int32(len(*sets))
	*sets = append(*sets, set)
	ids[string(key)] = id
	return id
}

// windowCacheKey identifies what a store's window depends on besides the
// clock: its zone and opening hours, or the group window that replaces
// them.
func windowCacheKey(b []byte, s *model.Store, gw []*model.Group) []byte {
	b = append(b, s.Timezone...)
	b = append(b, 0)
	var pick *model.Group
	for _, g := range gw {
		if pick == nil || g.Name < pick.Name {
			pick = g
		}
	}
	if pick != nil {
		// the window is the group's, as written
		return append(append(b, 'g'), pick.Name...)
	}
	b = append(b, 'h')
	for _, d := range weekdays {
		h, ok := s.Hours[d]
		if !ok {
			b = append(b, '-')
			continue
		}
		b = append(b, h.Open...)
		b = append(b, '/')
		b = append(b, h.Close...)
		b = append(b, ';')
	}
	for d := range s.Hours { // days outside mon..sun make the store its own class
		if !slices.Contains(weekdays[:], d) {
			return append(append(b, '!'), s.ID...)
		}
	}
	return b
}

var weekdays = [7]string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}

// compileOrNone compiles a scope selector; an invalid one (reported by
// target) matches no store.
func compileOrNone(sel *model.Selector) *selector.Matcher {
	m, err := selector.Compile(sel)
	if err != nil {
		return nil
	}
	return m
}

// indexHistory records, from the previous state, which versions each ring
// has run and which apps each jurisdiction has, for first-time sign-offs.
// It reads every pair of the previous state once: variants and rings are
// counted by index and the few distinct combinations become the maps.
func (b *builder) indexHistory() *History {
	vids := make(map[string]int32, len(b.prev.Variants))
	type vinfo struct{ app, version string }
	var vars []vinfo
	vidx := func(id, app string) int32 {
		if i, ok := vids[id]; ok {
			return i
		}
		i := int32(len(vars))
		vids[id] = i
		vars = append(vars, vinfo{app, b.prev.VariantVersion(id)})
		return i
	}
	rings := map[string]int32{}
	var ringNames []string
	juris := map[model.Jurisdiction]int32{}
	var jurisNames []string
	type ringVar struct{ ring, v int32 }
	type jurisVar struct{ juris, v int32 }
	ringSeen := map[ringVar]bool{}
	jurisSeen := map[jurisVar]bool{}
	for id, ss := range b.prev.Stores {
		r, ok := rings[ss.Ring]
		if !ok {
			r = int32(len(ringNames))
			rings[ss.Ring] = r
			ringNames = append(ringNames, ss.Ring)
		}
		j := int32(-1)
		if s := b.f.StoreByID[id]; s != nil {
			k := model.Jurisdiction{Country: s.Jurisdiction.Country, Region: s.Jurisdiction.Region}
			if j, ok = juris[k]; !ok {
				j = int32(len(jurisNames))
				juris[k] = j
				jurisNames = append(jurisNames, jurisdiction(s))
			}
		}
		for app, vid := range ss.Apps {
			v := vidx(vid, app)
			if vars[v].app != app { // a variant id under another app's key
				v = vidx(app+"\x00"+vid, app)
				vars[v].version = b.prev.VariantVersion(vid)
			}
			ringSeen[ringVar{r, v}] = true
			if j >= 0 {
				jurisSeen[jurisVar{j, v}] = true
			}
		}
	}
	h := &History{ring: make(map[[3]string]bool, len(ringSeen)), juris: make(map[[2]string]bool, len(jurisSeen))}
	for k := range ringSeen {
		h.ring[[3]string{ringNames[k.ring], vars[k.v].app, vars[k.v].version}] = true
	}
	for k := range jurisSeen {
		h.juris[[2]string{jurisNames[k.juris], vars[k.v].app}] = true
	}
	return h
}

// history is what the sign-off rules read of the previous state for a
// store of ring and jurisdiction getting app at version to.
func (b *builder) history(ring, juris, app, to string) policy.History {
	return b.hist.lookup(ring, juris, app, to)
}

func jurisdiction(s *model.Store) string {
	return s.Jurisdiction.Country + "-" + s.Jurisdiction.Region
}

// candidates builds one policy input per (store, app) pair the store runs
// now or should run, in store then app order: the straightforward form of
// what Run does by class (see classes.go), kept as the reference its
// equivalence test compares against.
func (b *builder) candidates() ([]policy.Input, []pair) {
	var inputs []policy.Input
	var pairs []pair
	for i := range b.t.Stores {
		if !b.included(i) {
			continue
		}
		st := &b.t.Stores[i]
		prev := b.prev.Stores[st.Store.ID]
		ids := make([]string, 0, len(st.Apps))
		to := make(map[string]*target.Variant, len(st.Apps))
		for _, a := range st.Apps {
			ids = append(ids, a.App.ID)
			to[a.App.ID] = a.Variant
		}
		if prev != nil {
			for app := range prev.Apps {
				if _, ok := to[app]; !ok {
					ids = append(ids, app)
				}
			}
		}
		slices.Sort(ids)
		ring := b.f.RingByID[st.Ring]
		facts := b.facts(i)
		for _, app := range ids {
			p := pair{store: i, app: app}
			var values map[string]any
			if v := to[app]; v != nil {
				p.to, p.toV, values = v.ID, v.Version, v.Values
			}
			if prev != nil {
				if vid, ok := prev.Apps[app]; ok {
					p.from, p.fromV = vid, b.prev.VariantVersion(vid)
					if values == nil {
						if pv := b.prev.Variants[vid]; pv != nil {
							values = pv.Values
						}
					}
				}
			}
			change := policy.Change{From: p.fromV, To: p.toV, Kind: changeKind(p)}
			inputs = append(inputs, policy.Input{
				Store:     facts,
				App:       b.app(app),
				Ring:      ring,
				Change:    change,
				Values:    values,
				Window:    b.windows[i],
				Freezes:   scopedFreezes(b.freezes(i), app),
				Overrides: scopedOverrides(b.overrides(i), app),
				History:   b.history(st.Ring, jurisdiction(st.Store), app, p.toV),
			})
			pairs = append(pairs, p)
		}
	}
	return inputs, pairs
}

func changeKind(p pair) policy.ChangeKind {
	switch {
	case p.from == p.to:
		return policy.None
	case p.from == "":
		return policy.Install
	case p.to == "":
		return policy.Remove
	}
	switch c := deploy.CompareVersions(p.toV, p.fromV); {
	case c > 0:
		return policy.Upgrade
	case c < 0:
		return policy.Downgrade
	}
	return policy.Reconfigure
}

// app returns the model app, or a stub for an app no longer declared
// (its removal still goes through the policies).
func (b *builder) app(id string) *model.App {
	if a, ok := b.apps[id]; ok {
		return a
	}
	a := &model.App{ID: id}
	b.apps[id] = a
	return a
}

// scopedFreezes keeps the freezes whose app scope covers app. The slice is
// shared when every freeze covers every app.
func scopedFreezes(fs []policy.Freeze, app string) []policy.Freeze {
	all := true
	for _, f := range fs {
		if len(f.Freeze.Apps) > 0 {
			all = false
			break
		}
	}
	if all {
		return fs
	}
	var out []policy.Freeze
	for _, f := range fs {
		if len(f.Freeze.Apps) == 0 || slices.Contains(f.Freeze.Apps, app) {
			out = append(out, f)
		}
	}
	return out
}

func scopedOverrides(os []*model.Override, app string) []*model.Override {
	var out []*model.Override
	for _, o := range os {
		if len(o.Apps) == 0 || slices.Contains(o.Apps, app) {
			out = append(out, o)
		}
	}
	return out
}

// String of a pair for debugging.
func (p pair) String() string {
	return strings.Join([]string{p.app, p.from, p.to}, " ")
}
