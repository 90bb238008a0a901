package gate

import (
	"cmp"
	"slices"
	"time"

	"github.com/fleetc/fleetc/compiler/internal/diag"
	"github.com/fleetc/fleetc/compiler/internal/model"
	"github.com/fleetc/fleetc/compiler/internal/policy"
)

// Summary groups recorded decisions for people: how many pairs got each
// verdict, and per verdict the rules behind it.
type Summary struct {
	Verdicts map[policy.Verdict]int `json:"verdicts"` // recorded pairs by verdict
	Rules    []RuleSummary          `json:"rules"`    // deny, defer, needs-signoff, then allow; by pairs
}

// RuleSummary is one rule's share of one verdict.
type RuleSummary struct {
	Verdict policy.Verdict `json:"verdict"`
	Rule    string         `json:"rule"`
	Pos     diag.Pos       `json:"pos,omitzero"` // absent for allowed-by-no-rule
	Pairs   int            `json:"pairs"`        // (store, app) pairs
	Stores  []string       `json:"stores"`       // sorted, distinct
	Apps    []string       `json:"apps"`         // sorted, distinct
	Teams   []string       `json:"teams,omitempty"`
	Example string         `json:"example"` // one message, e.g. the first store's
	// For defers: the earliest time any of them may go ahead, and that
	// store's local wall clock with its UTC offset and zone
	// ("2026-11-24 02:00 -08:00 America/Los_Angeles"). Only decisions this
	// rule alone defers count: a pair's Until is the latest of its
	// reasons', so with two defer rules it may be the other rule's.
	Next      *time.Time `json:"next,omitempty"`
	NextLocal string     `json:"nextLocal,omitempty"`
	NextStore string     `json:"nextStore,omitempty"`
	// Unknown lists the stores this rule alone defers with no known end
	// (no window ahead at all): they must not hide behind another store's
	// next time.
	Unknown []string `json:"unknown,omitempty"`
}

var verdictOrder = map[policy.Verdict]int{policy.Deny: 0, policy.Defer: 1, policy.NeedsSignoff: 2, policy.Allow: 3}

// Summarize groups decisions by verdict and rule. A decision counts under
// each of its reasons that carry its verdict (a pair deferred by a window
// and a freeze shows under both); pairs allowed by no rule count under
// rule "" of verdict allow.
func Summarize(ds []Decision, f *model.Fleet) *Summary {
	sum := &Summary{Verdicts: map[policy.Verdict]int{}}
	type key struct {
		v    policy.Verdict
		rule string
	}
	groups := map[key]*RuleSummary{}
	stores := map[key]map[string]bool{}
	apps := map[key]map[string]bool{}
	for i := range ds {
		d := &ds[i]
		if d.Store == "" {
			continue // a fleet-level record (a halt, a mass change): not a pair
		}
		sum.Verdicts[d.Verdict]++
		matched := false
		for _, r := range d.Reasons {
			if r.Verdict != d.Verdict {
				continue
			}
			matched = true
			k := key{d.Verdict, r.Rule}
			g := groups[k]
			if g == nil {
				g = &RuleSummary{Verdict: d.Verdict, Rule: r.Rule, Pos: r.Pos, Example: d.Store + ": " + d.App + ": " + r.Msg}
				groups[k] = g
				stores[k], apps[k] = map[string]bool{}, map[string]bool{}
			}
			g.Pairs++
			stores[k][d.Store] = true
			apps[k][d.App] = true
			for _, t := range r.Teams {
				if !slices.Contains(g.Teams, t) {
					g.Teams = append(g.Teams, t)
				}
			}
			switch {
			case d.Verdict != policy.Defer || !soleReason(d):
			case d.Until == nil:
				if !slices.Contains(g.Unknown, d.Store) {
					g.Unknown = append(g.Unknown, d.Store)
				}
			case g.Next == nil || d.Until.Before(*g.Next):
				u := *d.Until
				g.Next, g.NextStore = &u, d.Store
			}
		}
		if !matched && d.Verdict == policy.Allow {
			k := key{policy.Allow, ""}
			if groups[k] == nil {
				groups[k] = &RuleSummary{Verdict: policy.Allow, Example: "no policy objected"}
				stores[k], apps[k] = map[string]bool{}, map[string]bool{}
			}
			groups[k].Pairs++
			stores[k][d.Store] = true
			apps[k][d.App] = true
		}
	}
	for k, g := range groups {
		g.Stores = sortedKeys(stores[k])
		g.Apps = sortedKeys(apps[k])
		slices.Sort(g.Teams)
		slices.Sort(g.Unknown)
		if g.Next != nil {
			if s := f.StoreByID[g.NextStore]; s != nil {
				if loc, err := time.LoadLocation(s.Timezone); err == nil {
					g.NextLocal = g.Next.In(loc).Format("2006-01-02 15:04 -07:00") + " " + s.Timezone
				}
			}
		}
		sum.Rules = append(sum.Rules, *g)
	}
	slices.SortFunc(sum.Rules, func(a, b RuleSummary) int {
		if c := cmp.Compare(verdictOrder[a.Verdict], verdictOrder[b.Verdict]); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Pairs, a.Pairs); c != 0 {
			return c
		}
		return cmp.Compare(a.Rule, b.Rule)
	})
	return sum
}

// soleReason reports whether exactly one reason carries the decision's
// verdict, so the decision's Until is that reason's.
func soleReason(d *Decision) bool {
	n := 0
	for _, r := range d.Reasons {
		if r.Verdict == d.Verdict {
			n++
		}
	}
	return n == 1
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
