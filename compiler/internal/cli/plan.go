package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/fleetc/fleetc/compiler"
	"github.com/fleetc/fleetc/compiler/internal/deploy"
	"github.com/fleetc/fleetc/compiler/internal/gate"
	"github.com/fleetc/fleetc/compiler/internal/guard"
	"github.com/fleetc/fleetc/compiler/internal/policy"
	"github.com/fleetc/fleetc/compiler/internal/rollout"
)

// maxListed is how many store ids a text line lists before it summarises.
const maxListed = 5

// printPlan writes the plan for people: totals, then per app, ring and
// transition the number of stores and the first few of them.
func printPlan(w io.Writer, res *compiler.Result, dryRun bool) {
	p := res.Plan
	s := p.Summary
	verb := "compiled"
	if dryRun {
		verb = "plan"
	}
	printHalts(w, res.Halts)
	fmt.Fprintf(w, "%s: %d of %d stores touched (%.1f%%): %d added, %d upgraded, %d downgraded, %d reconfigured, %d removed, %d unchanged\n",
		verb, s.StoresTouched, s.FleetStores, 100*s.Share,
		s.Counts.Added, s.Counts.Upgraded, s.Counts.Downgraded, s.Counts.Reconfigured, s.Counts.Removed, s.Counts.Unchanged)
	if len(p.StoresAdded) > 0 {
		fmt.Fprintf(w, "  stores added:   %s\n", listStores(p.StoresAdded, len(p.StoresAdded)))
	}
	if len(p.StoresRemoved) > 0 {
		fmt.Fprintf(w, "  stores removed: %s\n", listStores(p.StoresRemoved, len(p.StoresRemoved)))
	}
	for _, m := range p.RingMoves {
		fmt.Fprintf(w, "  ring move: %s %s -> %s\n", m.Store, m.From, m.To)
	}
	for _, a := range s.Apps {
		if a.Counts.Changed() == 0 {
			continue
		}
		fmt.Fprintf(w, "%s\n", a.App)
		for _, r := range a.Rings {
			for _, t := range r.Transitions {
				fmt.Fprintf(w, "  %-8s %-12s %-20s %5d  %s\n", r.Ring, t.Kind, transition(t), t.Count, listStores(t.Stores, t.Count))
			}
		}
	}
	printVerdicts(w, res.Verdicts)
	printRollout(w, res.Rollout)
	if p.Empty() {
		line := "no changes to what stores run"
		if held := heldBack(res.Verdicts); held > 0 {
			line += fmt.Sprintf("; %s held back by policy or the rollout (see verdicts)", plural(held, "change", "changes"))
		}
		fmt.Fprintln(w, line)
	}
	if h := res.StaleLock; h != nil {
		fmt.Fprintf(w, "took over the lock of %s, which died holding it\n", h)
	}
	if res.Recovered != "" {
		fmt.Fprintf(w, "recovered: %s\n", res.Recovered)
	}
	if ws := res.Written; ws != nil {
		if ws.Repaired > 0 {
			more := ""
			if ws.Repaired > len(ws.RepairedPaths) {
				more = ", …"
			}
			fmt.Fprintf(w, "repaired %s that fleetc wrote but were deleted, edited or torn on disk: %s%s\n",
				plural(ws.Repaired, "file", "files"), strings.Join(ws.RepairedPaths, ", "), more)
		}
		if ws.Unchanged == ws.Files {
			fmt.Fprintf(w, "wrote nothing new (%s unchanged)\n", plural(ws.Files, "file", "files"))
		} else {
			fmt.Fprintf(w, "wrote %s (%d new or changed, %d unchanged)\n", plural(ws.Files, "file", "files"), ws.Files-ws.Unchanged, ws.Unchanged)
		}
	}
}

// printHalts writes the halts in force and lifted, first in every plan
// (docs/guards.md, "Stop the line").
func printHalts(w io.Writer, h *guard.Halts) {
	if h == nil {
		return
	}
	for _, x := range h.InForce {
		fmt.Fprintf(w, "LINE STOPPED by halt %s (%s): %s since %s: %s (%s)\n", x.ID, guard.Scope(&x.Record), x.Record.By, x.Record.Since, x.Record.Reason, x.Record.Ticket)
		if len(x.Lift) > 0 {
			fmt.Fprintf(w, "  its lift waits for sign-off from %s\n", strings.Join(x.Lift, ", "))
		}
	}
	for _, l := range h.Lifted {
		line := fmt.Sprintf("halt %s lifted (%s; stopped by %s since %s)", l.ID, guard.Scope(&l.Record), l.Record.By, l.Record.Since)
		if len(l.Missing) > 0 {
			line += "; the deploy merge request waits for sign-off from " + strings.Join(l.Missing, ", ")
		}
		fmt.Fprintln(w, line)
	}
}

// haltJSON is a halt in --format json.
type haltJSON struct {
	ID     string   `json:"id"`
	Apps   []string `json:"apps,omitempty"`
	Rings  []string `json:"rings,omitempty"`
	Reason string   `json:"reason"`
	Ticket string   `json:"ticket"`
	By     string   `json:"by"`
	Since  string   `json:"since"`
	// State is "in-force", or "lifted" by this compile.
	State string `json:"state"`
	// Signoff lists the teams the lift still waits for.
	Signoff []string `json:"signoff,omitempty"`
}

func haltsJSON(h *guard.Halts) []haltJSON {
	if h == nil {
		return nil
	}
	var out []haltJSON
	add := func(id string, r deploy.HaltRecord, state string, teams []string) {
		out = append(out, haltJSON{ID: id, Apps: r.Apps, Rings: r.Rings, Reason: r.Reason, Ticket: r.Ticket, By: r.By, Since: r.Since, State: state, Signoff: teams})
	}
	for _, x := range h.InForce {
		add(x.ID, x.Record, "in-force", x.Lift)
	}
	for _, l := range h.Lifted {
		add(l.ID, l.Record, "lifted", l.Missing)
	}
	return out
}

// printRollout writes one line per app whose rollout is halted or has a
// ring still closed: the rings open, the first one waiting and why, and
// when it opens if health holds (docs/rollout.md).
func printRollout(w io.Writer, ro *rollout.Result) {
	if ro == nil {
		return
	}
	header := false
	for _, a := range ro.Apps {
		var open []string
		line := ""
		for k, r := range a.Rings {
			if r.Open {
				open = append(open, r.Ring)
				continue
			}
			before := a.Rings[k-1]
			line = fmt.Sprintf("%s waits for %s: %s", r.Ring, before.Ring, before.Gate)
			if before.OpensAt != nil {
				line += fmt.Sprintf(" (opens %s if health holds)", before.OpensAt.UTC().Format("2006-01-02 15:04 UTC"))
			}
			break
		}
		if a.Halted != nil {
			line = fmt.Sprintf("HALTED in %s since %s: %s", a.Halted.Ring, a.Halted.At.UTC().Format("2006-01-02 15:04 UTC"), a.Halted.Reason)
			if len(a.Halted.Failing) > 0 {
				line += ": " + listStores(a.Halted.Failing, len(a.Halted.Failing))
			}
		}
		if line == "" {
			continue
		}
		if !header {
			fmt.Fprintln(w, "rollout:")
			header = true
		}
		fmt.Fprintf(w, "  %s %s: open in %s; %s\n", a.App, a.Target, strings.Join(open, ", "), line)
	}
}

// heldBack counts the recorded changes a policy kept from happening.
func heldBack(v *gate.Summary) int {
	if v == nil {
		return 0
	}
	return v.Verdicts[policy.Deny] + v.Verdicts[policy.Defer] + v.Verdicts[policy.NeedsSignoff]
}

func transition(t deploy.Transition) string {
	switch {
	case t.From == "":
		return "-> " + t.To
	case t.To == "":
		return t.From + " ->"
	}
	return t.From + " -> " + t.To
}

// listStores shows up to maxListed ids and says how many more there are,
// so long lists are summarised, never cut silently.
func listStores(ids []string, total int) string {
	if len(ids) <= maxListed {
		return strings.Join(ids, ", ")
	}
	return fmt.Sprintf("%s, … and %d more", strings.Join(ids[:maxListed], ", "), total-maxListed)
}

// printVerdicts lists, per verdict and rule, how many (store, app) pairs
// and stores it holds, with one example message, the teams a sign-off
// needs and when the next deferred store may go ahead.
func printVerdicts(w io.Writer, v *gate.Summary) {
	if v == nil || len(v.Rules) == 0 {
		return
	}
	fmt.Fprintf(w, "verdicts: %d allowed, %d denied, %d deferred, %d need sign-off\n",
		v.Verdicts[policy.Allow], v.Verdicts[policy.Deny], v.Verdicts[policy.Defer], v.Verdicts[policy.NeedsSignoff])
	for _, r := range v.Rules {
		if r.Rule == "" {
			continue // allowed with no policy objecting: counted above, listed in JSON
		}
		fmt.Fprintf(w, "  %-13s %-34s %s on %s (%s)\n", r.Verdict, r.Rule, plural(r.Pairs, "pair", "pairs"), plural(len(r.Stores), "store", "stores"), strings.Join(r.Apps, ", "))
		fmt.Fprintf(w, "      e.g. %s\n", r.Example)
		if len(r.Teams) > 0 {
			label := "sign-off needed from"
			if r.Verdict == policy.Allow {
				label = "signed off by"
			}
			fmt.Fprintf(w, "      %s: %s\n", label, strings.Join(r.Teams, ", "))
		}
		if r.NextLocal != "" {
			fmt.Fprintf(w, "      the next may go ahead at %s (%s)\n", r.NextLocal, r.NextStore)
		}
		if len(r.Unknown) > 0 {
			fmt.Fprintf(w, "      no known time to go ahead for %s: %s\n", plural(len(r.Unknown), "store", "stores"), listStores(r.Unknown, len(r.Unknown)))
		}
		if r.Pos.IsValid() {
			fmt.Fprintf(w, "      rule at %s\n", r.Pos)
		}
	}
}
