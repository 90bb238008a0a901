package gate

import (
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

// builder precomputes what is shared between candidates — per store facts,
// windows and scoped freezes; per app and ring the model pointers — so the
// policy engine's memo sees identical pointers for identical parts.
type builder struct {
	t    *target.Result
	f    *model.Fleet
	prev *deploy.State
	now  time.Time

	apps      map[string]*model.App // including stubs for apps no longer declared
	facts     []*policy.StoreFacts  // by store index
	windows   []calendar.Window     // by store index
	freezes   [][]policy.Freeze     // by store index: freezes whose store scope covers it
	overrides [][]*model.Override   // by store index
	ringHas   map[[3]string]bool    // ring, app, version some store of the ring ran
	jurisHas  map[[2]string]bool    // "country-region", app some store ran
	only      map[string]bool       // nil = every store
	recordAll bool
	propose   bool
}

func (b *builder) included(i int) bool {
	return b.only == nil || b.only[b.t.Stores[i].Store.ID]
}

func newBuilder(opts Options) (*builder, diag.List) {
	t := opts.Targets
	b := &builder{t: t, f: t.Fleet, prev: opts.Previous, now: opts.Now, apps: map[string]*model.App{}, recordAll: opts.RecordAll, propose: opts.Propose}
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
	b.facts = make([]*policy.StoreFacts, n)
	b.windows = make([]calendar.Window, n)
	b.freezes = make([][]policy.Freeze, n)
	b.overrides = make([][]*model.Override, n)

	freezeSel := make([]*selector.Matcher, len(b.f.Freezes))
	for i, fz := range b.f.Freezes {
		freezeSel[i] = compileOrNone(fz.Stores)
	}
	overrideSel := make([]*selector.Matcher, len(b.f.Overrides))
	for i, o := range b.f.Overrides {
		overrideSel[i] = compileOrNone(o.Stores)
	}
	windowGroups := map[string]*model.Group{}
	for _, g := range b.f.Groups {
		if g.Window != nil {
			windowGroups[g.Name] = g
		}
	}
	locs := map[string]*time.Location{}
	for i := range t.Stores {
		if !b.included(i) {
			continue
		}
		st := &t.Stores[i]
		s := st.Store
		groups := t.StoreGroups[s.ID]
		b.facts[i] = policy.NewStoreFacts(s, groups)
		var gw []*model.Group
		for _, g := range groups {
			if w, ok := windowGroups[g]; ok {
				gw = append(gw, w)
			}
		}
		w, err := calendar.StoreGroupWindow(s, gw, b.f.Settings.Window, b.now)
		if err != nil {
			diags.Errorf(s.Pos, fmt.Sprintf("stores.%s", s.ID), "window", "deployment window: %v", err)
		}
		b.windows[i] = w
		loc, ok := locs[s.Timezone]
		if !ok {
			loc, err = time.LoadLocation(s.Timezone)
			if err != nil {
				diags.Errorf(s.Pos, fmt.Sprintf("stores.%s.timezone", s.ID), "timezone", "%v", err)
				loc = time.UTC
			}
			locs[s.Timezone] = loc
		}
		facts := t.Facts[s.ID]
		for j, fz := range b.f.Freezes {
			if facts == nil || freezeSel[j] == nil || !freezeSel[j].Matches(facts) {
				continue
			}
			active, start, end, err := calendar.FreezeActive(fz, loc, b.now)
			if err != nil {
				diags.Errorf(fz.Pos, fmt.Sprintf("freezes.%s", fz.Name), "freeze", "%v", err)
				continue
			}
			b.freezes[i] = append(b.freezes[i], policy.Freeze{Freeze: fz, Active: active, Start: start, End: end})
		}
		for j, o := range b.f.Overrides {
			if facts != nil && overrideSel[j] != nil && overrideSel[j].Matches(facts) {
				b.overrides[i] = append(b.overrides[i], o)
			}
		}
	}
	b.indexHistory()
	return b, diags
}

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
func (b *builder) indexHistory() {
	b.ringHas = map[[3]string]bool{}
	b.jurisHas = map[[2]string]bool{}
	for id, ss := range b.prev.Stores {
		s := b.f.StoreByID[id]
		for app, vid := range ss.Apps {
			b.ringHas[[3]string{ss.Ring, app, b.prev.VariantVersion(vid)}] = true
			if s != nil {
				b.jurisHas[[2]string{jurisdiction(s), app}] = true
			}
		}
	}
}

func jurisdiction(s *model.Store) string {
	return s.Jurisdiction.Country + "-" + s.Jurisdiction.Region
}

// candidates builds one policy input per (store, app) pair the store runs
// now or should run, in store then app order.
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
				Store:     b.facts[i],
				App:       b.app(app),
				Ring:      ring,
				Change:    change,
				Values:    values,
				Window:    b.windows[i],
				Freezes:   scopedFreezes(b.freezes[i], app),
				Overrides: scopedOverrides(b.overrides[i], app),
				History: policy.History{
					RingHasVersion:     p.toV != "" && b.ringHas[[3]string{st.Ring, app, p.toV}],
					JurisdictionHasApp: b.jurisHas[[2]string{jurisdiction(st.Store), app}],
				},
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
