package guard

import (
	"cmp"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"unsafe"

	"github.com/fleetc/fleetc/compiler/internal/deploy"
	"github.com/fleetc/fleetc/compiler/internal/diag"
	"github.com/fleetc/fleetc/compiler/internal/gate"
	"github.com/fleetc/fleetc/compiler/internal/model"
	"github.com/fleetc/fleetc/compiler/internal/policy"
	"github.com/fleetc/fleetc/compiler/internal/suggest"
	"github.com/fleetc/fleetc/compiler/internal/target"
)

// MassInput is what the mass-change guard compares.
type MassInput struct {
	Fleet     *model.Fleet
	Targets   *target.Result
	Previous  *deploy.State
	Desired   *deploy.State
	Decisions []gate.Decision // the gate's, for the rules behind denies
	Approvals policy.ApprovalSet
	Propose   bool
}

// Mass is what the mass-change guard found.
type Mass struct {
	FleetStores int // stores in the previous state
	// Affected are the stores that lose an app or stop being rendered;
	// Gone those no longer rendered at all.
	Affected, Gone int
	Limit          int // most stores a compile may affect without an override
	// Apps lists, per app that loses stores, how many of how many.
	Apps []AppLoss
	// Tripped: more than Limit stores overall, or an app over its limit.
	Tripped bool
	// Override is the mass-change override that let a tripped change
	// through ("" = none); Missing the teams the sign-off gate still needs.
	Override string
	Missing  []string
	// Decisions: a decommission for every (store, app) of a store that
	// left the inventory, and the mass change let through.
	Decisions []gate.Decision
}

// AppLoss is one app's removals.
type AppLoss struct {
	App     string
	Removed int // stores that ran it and no longer do
	Ran     int // stores that ran it before
	Limit   int
	Causes  []Cause // most stores first
}

// Cause is one reason stores lost an app.
type Cause struct {
	What   string   // e.g. "left the inventory"
	Stores int      // how many
	First  []string // the first few store ids
	Pos    diag.Pos // where to look, when known
}

const (
	causeGone       = "left the inventory"
	causeUndeclared = "the app is no longer declared"
	causeUntargeted = "no longer targeted"
	causeDenied     = "denied by policy"
	causeOther      = "not rendered"
)

// CheckMass compares the desired state with the previous one. A compile
// that would remove apps from, or stop rendering, more than
// max(floor, share × stores) stores overall, or more than that share of
// an app's stores, fails with an error naming the causes, unless the fleet
// declares a mass-change override whose sign-off
// (settings.guard.massChange.signoff) the approvals give — or, with
// Propose, the sign-off gate will require. A first compile (no previous
// state) is not guarded.
func CheckMass(in MassInput) (*Mass, diag.List) {
	var diags diag.List
	m := &Mass{}
	prev := in.Previous
	if prev == nil || len(prev.Stores) == 0 {
		return m, warnUnused(in.Fleet, nil)
	}
	set := in.Fleet.Settings.Guard.MassChange
	// The floor lets a small fleet or app change a few stores; losing
	// more than half of the fleet's stores at once trips whatever the
	// floor (an emptied inventory is not a decommission).
	limit := func(n int) int { return max(set.Floor, int(math.Floor(set.Share*float64(n)))) }
	m.FleetStores = len(prev.Stores)
	m.Limit = limit(m.FleetStores)

	type loss struct {
		removed, ran int
		causes       map[string]*Cause
	}
	losses := map[string]*loss{}
	lossOf := func(app string) *loss {
		l := losses[app]
		if l == nil {
			l = &loss{causes: map[string]*Cause{}}
			losses[app] = l
		}
		return l
	}
	denied := deniedRules(in.Decisions)
	// Stores read from a previous state share their profile's apps map:
	// how many stores ran each app is counted once per map.
	perMap := map[unsafe.Pointer]int{}
	maps := map[unsafe.Pointer]map[string]string{}
	for id, ps := range prev.Stores {
		p := reflect.ValueOf(ps.Apps).UnsafePointer()
		perMap[p]++
		maps[p] = ps.Apps
		ds := in.Desired.Stores[id]
		lost := ds == nil
		if ds != nil {
			for app := range ps.Apps {
				if _, ok := ds.Apps[app]; !ok {
					lost = true
					break
				}
			}
		}
		if !lost {
			continue
		}
		m.Affected++
		for app := range ps.Apps {
			if ds != nil {
				if _, ok := ds.Apps[app]; ok {
					continue
				}
			}
			l := lossOf(app)
			l.removed++
			what, pos := in.cause(id, app, ds == nil, denied)
			c := l.causes[what]
			if c == nil {
				c = &Cause{What: what, Pos: pos}
				l.causes[what] = c
			}
			c.Stores++
			c.First = keepFirst(c.First, id)
		}
		if ds == nil {
			m.Gone++
			if in.Fleet.StoreByID[id] == nil {
				m.Decisions = append(m.Decisions, decommissions(id, ps, prev)...)
			}
		}
	}
	for p, n := range perMap {
		for app := range maps[p] {
			if l := losses[app]; l != nil {
				l.ran += n
			}
		}
	}
	slices.SortFunc(m.Decisions, func(a, b gate.Decision) int { return cmp.Or(cmp.Compare(a.Store, b.Store), cmp.Compare(a.App, b.App)) })
	for app, l := range losses {
		if l.removed == 0 {
			continue
		}
		a := AppLoss{App: app, Removed: l.removed, Ran: l.ran, Limit: limit(l.ran)}
		for _, c := range l.causes {
			a.Causes = append(a.Causes, *c)
		}
		slices.SortFunc(a.Causes, func(x, y Cause) int { return cmp.Or(cmp.Compare(y.Stores, x.Stores), cmp.Compare(x.What, y.What)) })
		m.Apps = append(m.Apps, a)
		if a.Removed > a.Limit {
			m.Tripped = true
		}
	}
	slices.SortFunc(m.Apps, func(x, y AppLoss) int { return cmp.Or(cmp.Compare(y.Removed, x.Removed), cmp.Compare(x.App, y.App)) })
	if m.Affected > m.Limit || m.mostGone() {
		m.Tripped = true
	}
	if !m.Tripped {
		return m, warnUnused(in.Fleet, nil)
	}

	ov := massOverride(in.Fleet)
	if ov == nil {
		diags.Add(diag.Diagnostic{Pos: m.firstPos(), Code: "mass-change",
			Message: m.message(set) + "; if the change is meant, add an override of kind \"mass-change\" with reason and ticket, approved by " +
				strings.Join(set.Signoff, ", ") + " (docs/guards.md)"})
		return m, diags
	}
	m.Missing = missingTeams(set.Signoff, in.Approvals)
	if len(m.Missing) > 0 && !in.Propose {
		diags.Add(diag.Diagnostic{Pos: ov.Pos, Path: "overrides." + ov.ID, Code: "mass-change-signoff",
			Message: m.message(set) + fmt.Sprintf("; override %s covers it once %s sign off (settings.guard.massChange.signoff)", ov.ID, strings.Join(m.Missing, ", "))})
		return m, diags
	}
	m.Override = ov.ID
	r := policy.Reason{Rule: RuleMassChange, Verdict: policy.Allow, Pos: ov.Pos,
		Msg: fmt.Sprintf("%s; let through by override %s: %s (%s)", m.message(set), ov.ID, ov.Reason, ov.Ticket)}
	d := gate.Decision{Kind: KindMassChange, Verdict: policy.Allow, Rules: []string{RuleMassChange}}
	if len(m.Missing) > 0 {
		r.Verdict, r.Teams = policy.NeedsSignoff, m.Missing
		d.Verdict, d.Teams = policy.NeedsSignoff, m.Missing
	}
	d.Reasons = []policy.Reason{r}
	m.Decisions = append(m.Decisions, d)
	diags.Add(diag.Diagnostic{Severity: diag.Warning, Pos: ov.Pos, Path: "overrides." + ov.ID, Code: "mass-change-override",
		Message: fmt.Sprintf("override %s lets a mass change through (%d of %d stores); remove it once this change has landed, so it cannot cover another", ov.ID, m.Affected, m.FleetStores)})
	return m, diags
}

// message says what trips the guard and why, the largest causes first.
func (m *Mass) message(set model.MassChangeSettings) string {
	var b strings.Builder
	fmt.Fprintf(&b, "mass change: this compile removes apps from or stops rendering %d of %d stores (%s; the guard allows %d: settings.guard.massChange share %.4g%%, floor %d)",
		m.Affected, m.FleetStores, pct(m.Affected, m.FleetStores), m.Limit, set.Share*100, set.Floor)
	if m.Gone > 0 {
		fmt.Fprintf(&b, "; %s no longer rendered", plural(m.Gone, "store is", "stores are"))
		if m.mostGone() {
			b.WriteString(", more than half the fleet (never allowed without an override)")
		}
	}
	n := 0
	for _, a := range m.Apps {
		if n == 5 {
			fmt.Fprintf(&b, "; and %d more apps", len(m.Apps)-n)
			break
		}
		over := ""
		if a.Removed > a.Limit {
			over = fmt.Sprintf(", over its limit of %d", a.Limit)
		}
		fmt.Fprintf(&b, "; %s leaves %d of its %s%s:", a.App, a.Removed, plural(a.Ran, "store", "stores"), over)
		for i, c := range a.Causes {
			if i == 3 {
				fmt.Fprintf(&b, " …")
				break
			}
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, " %d %s (%s", c.Stores, c.What, strings.Join(c.First, ", "))
			if c.Stores > len(c.First) {
				b.WriteString(", …")
			}
			b.WriteByte(')')
			if c.Pos.File != "" {
				fmt.Fprintf(&b, " see %s", c.Pos)
			}
		}
		n++
	}
	return b.String()
}

// mostGone: more than half of the fleet's stores would stop being
// rendered.
func (m *Mass) mostGone() bool { return m.Gone*2 > m.FleetStores }

// firstPos is where to point the error: the largest cause with a position.
func (m *Mass) firstPos() diag.Pos {
	best := Cause{}
	for _, a := range m.Apps {
		for _, c := range a.Causes {
			if c.Pos.File != "" && c.Stores > best.Stores {
				best = c
			}
		}
	}
	return best.Pos
}

// cause says why store id no longer runs app, and where to look.
func (in *MassInput) cause(id, app string, gone bool, denied map[[2]string][]string) (string, diag.Pos) {
	s := in.Fleet.StoreByID[id]
	a := in.Fleet.AppByID[app]
	switch {
	case s == nil:
		return causeGone, diag.Pos{}
	case a == nil:
		what := causeUndeclared
		if near := suggest.Closest(app, appIDs(in.Fleet)); near != "" {
			what += fmt.Sprintf(" (renamed to %s?)", near)
		}
		return what, diag.Pos{}
	}
	if rules, ok := denied[[2]string{id, app}]; ok {
		return causeDenied + " (" + strings.Join(rules, ", ") + ")", diag.Pos{}
	}
	if st := in.storeTarget(id); st != nil && !slices.ContainsFunc(st.Apps, func(x target.Assignment) bool { return x.App.ID == app }) {
		return causeUntargeted + " by " + app, a.Pos
	}
	if gone {
		return causeOther, s.Pos
	}
	return causeOther, a.Pos
}

func (in *MassInput) storeTarget(id string) *target.StoreTarget {
	i, ok := slices.BinarySearchFunc(in.Targets.Stores, id, func(st target.StoreTarget, id string) int { return cmp.Compare(st.Store.ID, id) })
	if !ok {
		return nil
	}
	return &in.Targets.Stores[i]
}

// deniedRules are the rules behind each (store, app) deny.
func deniedRules(ds []gate.Decision) map[[2]string][]string {
	m := map[[2]string][]string{}
	for i := range ds {
		if d := &ds[i]; d.Verdict == policy.Deny {
			m[[2]string{d.Store, d.App}] = d.Rules
		}
	}
	return m
}

// decommissions records each app of a store that left the inventory (a
// store that ran none: one decision without an app).
func decommissions(id string, ps *deploy.StoreState, prev *deploy.State) []gate.Decision {
	apps := make([]string, 0, len(ps.Apps))
	for app := range ps.Apps {
		apps = append(apps, app)
	}
	slices.Sort(apps)
	if len(apps) == 0 { // its entry point still goes: one line for the store
		return []gate.Decision{{Store: id, Ring: ps.Ring, Kind: KindDecommission, Verdict: policy.Allow, Rules: decommissionRules, Reasons: decommissionReasons}}
	}
	out := make([]gate.Decision, 0, len(apps))
	for _, app := range apps {
		out = append(out, gate.Decision{Store: id, App: app, Ring: ps.Ring, Kind: KindDecommission, From: prev.VariantVersion(ps.Apps[app]),
			Verdict: policy.Allow, Rules: decommissionRules, Reasons: decommissionReasons})
	}
	return out
}

// Shared by every decommission: decisions.jsonl groups them by identity.
var (
	decommissionRules   = []string{RuleDecommission}
	decommissionReasons = []policy.Reason{{Rule: RuleDecommission, Verdict: policy.Allow,
		Msg: "the store left the inventory: its entry point and apps are removed"}}
)

// keepFirst keeps the three smallest store ids, whatever the order in
// which they come.
func keepFirst(first []string, id string) []string {
	i, _ := slices.BinarySearch(first, id)
	if i >= 3 {
		return first
	}
	first = slices.Insert(first, i, id)
	return first[:min(len(first), 3)]
}

func massOverride(f *model.Fleet) *model.Override {
	for _, o := range f.Overrides {
		if o.Kind == "mass-change" {
			return o
		}
	}
	return nil
}

// warnUnused warns about a mass-change override no change needs.
func warnUnused(f *model.Fleet, diags diag.List) diag.List {
	if o := massOverride(f); o != nil {
		diags.Add(diag.Diagnostic{Severity: diag.Warning, Pos: o.Pos, Path: "overrides." + o.ID, Code: "mass-change-unused",
			Message: fmt.Sprintf("override %s is not needed: this compile is within the mass-change guard; remove it so it cannot cover a later change", o.ID)})
	}
	return diags
}

func appIDs(f *model.Fleet) []string {
	ids := make([]string, len(f.Apps))
	for i, a := range f.Apps {
		ids[i] = a.ID
	}
	return ids
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func pct(n, of int) string {
	if of == 0 {
		return "0%"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(of))
}

// Summary is the guard stage's progress line.
func (m *Mass) Summary(halts int) string {
	s := fmt.Sprintf("%d of %d stores lose an app or stop being rendered (limit %d)", m.Affected, m.FleetStores, m.Limit)
	if m.Override != "" {
		s += ", let through by override " + m.Override
	}
	if halts > 0 {
		s += fmt.Sprintf("; %d halts in force", halts)
	}
	return s
}
