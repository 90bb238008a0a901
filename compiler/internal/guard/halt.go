package guard

import (
	"fmt"
	"slices"
	"strings"

	"github.com/fleetc/fleetc/compiler/internal/deploy"
	"github.com/fleetc/fleetc/compiler/internal/diag"
	"github.com/fleetc/fleetc/compiler/internal/gate"
	"github.com/fleetc/fleetc/compiler/internal/model"
	"github.com/fleetc/fleetc/compiler/internal/policy"
)

// The decision kinds and rules the guards record in decisions.jsonl.
const (
	KindHalt         policy.ChangeKind = "halt"
	KindMassChange   policy.ChangeKind = "mass-change"
	KindDecommission policy.ChangeKind = "decommission"

	RuleHalt         = "fleetc.halt"
	RuleHaltLift     = "fleetc.halt-lift"
	RuleMassChange   = "fleetc.mass-change"
	RuleDecommission = "fleetc.decommission"
)

// Halt is one halt in force after this compile.
type Halt struct {
	ID     string
	Record deploy.HaltRecord
	Pos    diag.Pos // where the fleet declares it; zero when only the previous state does
	// Lift is set when the fleet no longer declares the halt (or narrowed
	// it) and the lift waits for these teams' sign-off.
	Lift []string
}

// Halts is the result of ResolveHalts.
type Halts struct {
	InForce []Halt // id order
	// Lifted are the halts this compile lifts (sign-off given, or
	// proposed for the sign-off gate), id order.
	Lifted []Lifted
	// Decisions record every halt in force and every lift.
	Decisions []gate.Decision
}

// Lifted is a halt this compile lifts.
type Lifted struct {
	ID      string
	Record  deploy.HaltRecord
	Missing []string // teams the sign-off gate still needs (Propose)
}

// ResolveHalts decides which halts are in force: every halt the fleet
// declares, and every halt the previous state recorded that the fleet no
// longer declares, or declares with less scope, until the teams of
// settings.guard.haltLiftSignoff approve (with propose, the lift is
// rendered and the sign-off gate holds the merge request until they do).
// A halt in force while narrowed holds the union of both scopes.
func ResolveHalts(f *model.Fleet, prev *deploy.State, approvals policy.ApprovalSet, propose bool) (*Halts, diag.List) {
	var diags diag.List
	res := &Halts{}
	liftTeams := f.Settings.Guard.HaltLiftSignoff
	missing := missingTeams(liftTeams, approvals)
	declared := map[string]*model.Halt{}
	for _, h := range f.Halts {
		declared[h.ID] = h
	}
	var previous map[string]*deploy.HaltRecord
	if prev != nil {
		previous = prev.Halts
	}
	ids := make([]string, 0, len(declared)+len(previous))
	for id := range declared {
		ids = append(ids, id)
	}
	for id := range previous {
		if declared[id] == nil {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		d, p := declared[id], previous[id]
		var cur *deploy.HaltRecord
		var pos diag.Pos
		if d != nil {
			cur = &deploy.HaltRecord{Apps: sorted(d.Apps), Rings: sorted(d.Rings), Reason: d.Reason, Ticket: d.Ticket, By: d.By, Since: d.Since}
			pos = d.Pos
		}
		if p == nil || (cur != nil && covers(cur, p)) {
			res.InForce = append(res.InForce, Halt{ID: id, Record: *cur, Pos: pos})
			continue
		}
		// The fleet drops or narrows a halt in force: a lift.
		what := "removes halt " + id
		if cur != nil {
			what = fmt.Sprintf("narrows halt %s (%s → %s)", id, scope(p), scope(cur))
		}
		if len(missing) == 0 || propose {
			res.Lifted = append(res.Lifted, Lifted{ID: id, Record: *p, Missing: missing})
			if cur != nil {
				res.InForce = append(res.InForce, Halt{ID: id, Record: *cur, Pos: pos})
			}
			continue
		}
		held := *p
		if cur != nil {
			held = union(cur, p)
		}
		res.InForce = append(res.InForce, Halt{ID: id, Record: held, Pos: pos, Lift: missing})
		diags.Add(diag.Diagnostic{Severity: diag.Warning, Pos: pos, Path: "halts." + id, Code: "halt-lift-signoff",
			Message: fmt.Sprintf("this change %s, stopped by %s since %s (%s); the lift needs sign-off from %s (settings.guard.haltLiftSignoff), so the halt stays in force",
				what, p.By, p.Since, p.Ticket, strings.Join(missing, ", "))})
	}
	for _, h := range res.InForce {
		res.Decisions = append(res.Decisions, h.decision())
	}
	for _, l := range res.Lifted {
		d := gate.Decision{App: strings.Join(l.Record.Apps, ","), Ring: strings.Join(l.Record.Rings, ","), Kind: KindHalt,
			Verdict: policy.Allow, Rules: []string{RuleHaltLift},
			Reasons: []policy.Reason{{Rule: RuleHaltLift, Verdict: policy.Allow, Msg: fmt.Sprintf("halt %s lifted (stopped by %s since %s: %s, %s)", l.ID, l.Record.By, l.Record.Since, l.Record.Reason, l.Record.Ticket)}}}
		if len(l.Missing) > 0 {
			d.Verdict, d.Teams = policy.NeedsSignoff, l.Missing
			d.Reasons[0].Verdict, d.Reasons[0].Teams = policy.NeedsSignoff, l.Missing
			d.Reasons[0].Msg = fmt.Sprintf("halt %s is lifted once %s sign off (stopped by %s since %s: %s, %s)", l.ID, strings.Join(l.Missing, ", "), l.Record.By, l.Record.Since, l.Record.Reason, l.Record.Ticket)
		}
		res.Decisions = append(res.Decisions, d)
	}
	return res, diags
}

// Records are the halts in force, for the desired state; nil when none.
func (h *Halts) Records() map[string]*deploy.HaltRecord {
	if h == nil || len(h.InForce) == 0 {
		return nil
	}
	m := make(map[string]*deploy.HaltRecord, len(h.InForce))
	for i := range h.InForce {
		r := h.InForce[i].Record
		m[h.InForce[i].ID] = &r
	}
	return m
}

// Hold is the gate's Halt hook: the first halt in force that stops app
// in ring, as the reason the gate records; false when none does.
func (h *Halts) Hold() func(app, ring string) (policy.Reason, bool) {
	if h == nil || len(h.InForce) == 0 {
		return nil
	}
	return func(app, ring string) (policy.Reason, bool) {
		for i := range h.InForce {
			x := &h.InForce[i]
			if stops(&x.Record, app, ring) {
				return policy.Reason{Rule: RuleHalt, Verdict: policy.Defer, Pos: x.Pos,
					Msg: fmt.Sprintf("the line is stopped: halt %s by %s since %s: %s (%s)", x.ID, x.Record.By, x.Record.Since, x.Record.Reason, x.Record.Ticket)}, true
			}
		}
		return policy.Reason{}, false
	}
}

func (x *Halt) decision() gate.Decision {
	msg := fmt.Sprintf("halt %s in force (%s): stopped by %s since %s: %s (%s)", x.ID, scope(&x.Record), x.Record.By, x.Record.Since, x.Record.Reason, x.Record.Ticket)
	if len(x.Lift) > 0 {
		msg += "; its lift waits for sign-off from " + strings.Join(x.Lift, ", ")
	}
	return gate.Decision{App: strings.Join(x.Record.Apps, ","), Ring: strings.Join(x.Record.Rings, ","), Kind: KindHalt,
		Verdict: policy.Defer, Rules: []string{RuleHalt},
		Reasons: []policy.Reason{{Rule: RuleHalt, Verdict: policy.Defer, Msg: msg, Pos: x.Pos}}}
}

// stops reports whether r stops app in ring (an empty list is all).
func stops(r *deploy.HaltRecord, app, ring string) bool {
	return (len(r.Apps) == 0 || slices.Contains(r.Apps, app)) && (len(r.Rings) == 0 || slices.Contains(r.Rings, ring))
}

// covers reports whether a stops at least everything b stops.
func covers(a, b *deploy.HaltRecord) bool {
	return coversList(a.Apps, b.Apps) && coversList(a.Rings, b.Rings)
}

func coversList(a, b []string) bool {
	if len(a) == 0 {
		return true
	}
	if len(b) == 0 {
		return false
	}
	for _, x := range b {
		if !slices.Contains(a, x) {
			return false
		}
	}
	return true
}

// union is a halt stopping at least what a and b stop (apps × rings of
// both lists: conservative), described by a.
func union(a, b *deploy.HaltRecord) deploy.HaltRecord {
	u := *a
	u.Apps, u.Rings = unionList(a.Apps, b.Apps), unionList(a.Rings, b.Rings)
	return u
}

func unionList(a, b []string) []string {
	if len(a) == 0 || len(b) == 0 {
		return nil
	}
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}

// Scope says what a halt stops, e.g. "pos in rings chain".
func Scope(r *deploy.HaltRecord) string { return scope(r) }

func scope(r *deploy.HaltRecord) string {
	apps, rings := "every app", "every ring"
	if len(r.Apps) > 0 {
		apps = strings.Join(r.Apps, ", ")
	}
	if len(r.Rings) > 0 {
		rings = "rings " + strings.Join(r.Rings, ", ")
	}
	return apps + " in " + rings
}

func sorted(xs []string) []string {
	if len(xs) == 0 {
		return nil
	}
	out := slices.Clone(xs)
	slices.Sort(out)
	return slices.Compact(out)
}

// missingTeams are the teams of want the approvals do not include.
func missingTeams(want []string, approvals policy.ApprovalSet) []string {
	var missing []string
	for _, t := range want {
		if !slices.Contains(approvals.Teams, t) && !slices.Contains(missing, t) {
			missing = append(missing, t)
		}
	}
	return missing
}
