package publish

import (
	"fmt"
	"slices"
	"strings"

	"github.com/fleetc/fleetc/compiler/internal/deploy"
	"github.com/fleetc/fleetc/compiler/internal/policy"
)

// maxSubjectApps is how many apps a subject names before "+N apps".
const maxSubjectApps = 2

// maxMessageLines caps the transition lines of a commit message body.
const maxMessageLines = 40

// Subject is the one-line summary used as commit subject and merge request
// title, e.g. "fleetc: pos 5.12.0 → chain (29 stores), 4 denied, 10 deferred".
func (r *Report) Subject() string {
	var b strings.Builder
	b.WriteString("fleetc: ")
	s := r.Plan.Summary
	var apps []string
	rings := map[string]bool{}
	for _, a := range s.Apps {
		if a.Counts.Changed() == 0 {
			continue
		}
		apps = append(apps, appHeadline(a))
		for _, rs := range a.Rings {
			if rs.Counts.Changed() > 0 {
				rings[rs.Ring] = true
			}
		}
	}
	switch {
	case len(apps) == 0 && s.StoresTouched == 0:
		b.WriteString("no store changes")
	case len(apps) == 0:
		fmt.Fprintf(&b, "%s moved (%s)", plural(s.StoresTouched, "store"), storesWord(s.StoresTouched))
	default:
		shown := apps[:min(len(apps), maxSubjectApps)]
		b.WriteString(strings.Join(shown, ", "))
		if more := len(apps) - len(shown); more > 0 {
			fmt.Fprintf(&b, " +%s", plural(more, "app"))
		}
		fmt.Fprintf(&b, " → %s (%s)", r.ringSpan(rings), storesWord(s.StoresTouched))
	}
	v := r.Verdicts.Verdicts
	for _, p := range []struct {
		n    int
		word string
	}{{v[policy.Deny], "denied"}, {v[policy.Defer], "deferred"}, {v[policy.NeedsSignoff], "need sign-off"}} {
		if p.n > 0 {
			fmt.Fprintf(&b, ", %d %s", p.n, p.word)
		}
	}
	return b.String()
}

func storesWord(n int) string { return plural(n, "store") }

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// appHeadline is "pos 5.12.0" (the versions stores move to), "pos
// 5.12.0/5.11.3", "pos 3 versions" or "pos removed".
func appHeadline(a deploy.AppSummary) string {
	var to []string
	for _, rs := range a.Rings {
		for _, t := range rs.Transitions {
			if t.To != "" && !slices.Contains(to, t.To) {
				to = append(to, t.To)
			}
		}
	}
	switch {
	case len(to) == 0:
		return a.App + " removed"
	case len(to) <= 2:
		return a.App + " " + strings.Join(to, "/")
	}
	return fmt.Sprintf("%s %d versions", a.App, len(to))
}

// ringSpan names the rings in rollout order: "chain", "canary, pilot" or
// "lab…chain" for more than two.
func (r *Report) ringSpan(set map[string]bool) string {
	var rings []string
	for _, rs := range r.Rings {
		if set[rs.Ring] {
			rings = append(rings, rs.Ring)
		}
	}
	if len(rings) > 2 {
		return rings[0] + "…" + rings[len(rings)-1]
	}
	return strings.Join(rings, ", ")
}

// CommitMessage is the subject, a blank line and a plain-text body: totals,
// one line per app, ring and transition (at most maxMessageLines, then how
// many more), verdict counts and the teams whose sign-off is missing.
func (r *Report) CommitMessage() string {
	var b strings.Builder
	b.WriteString(r.Subject())
	b.WriteString("\n\n")
	s := r.Plan.Summary
	fmt.Fprintf(&b, "%d of %d stores touched (%s): %d added, %d upgraded, %d downgraded, %d reconfigured, %d removed\n",
		s.StoresTouched, s.FleetStores, percent(s.StoresTouched, s.FleetStores),
		s.Counts.Added, s.Counts.Upgraded, s.Counts.Downgraded, s.Counts.Reconfigured, s.Counts.Removed)
	lines, total := 0, 0
	for _, a := range s.Apps {
		for _, rs := range a.Rings {
			for _, t := range rs.Transitions {
				total++
				if lines < maxMessageLines {
					lines++
					fmt.Fprintf(&b, "  %s %s %s %s: %s\n", a.App, rs.Ring, t.Kind, transitionText(t), storesWord(t.Count))
				}
			}
		}
	}
	if total > lines {
		fmt.Fprintf(&b, "  … and %d more transitions\n", total-lines)
	}
	v := r.Verdicts.Verdicts
	fmt.Fprintf(&b, "verdicts: %d allowed, %d denied, %d deferred, %d need sign-off\n",
		v[policy.Allow], v[policy.Deny], v[policy.Defer], v[policy.NeedsSignoff])
	if teams := r.missingTeams(); len(teams) > 0 {
		names := make([]string, len(teams))
		for i, t := range teams {
			names[i] = t.Team
		}
		fmt.Fprintf(&b, "sign-off needed from: %s\n", strings.Join(names, ", "))
	}
	return b.String()
}

func transitionText(t deploy.Transition) string {
	switch {
	case t.From == "":
		return "→ " + t.To
	case t.To == "":
		return t.From + " →"
	}
	return t.From + " → " + t.To
}

// percent formats n/total with enough digits to not show 0% for a few stores.
func percent(n, total int) string {
	if total == 0 {
		return "0%"
	}
	p := 100 * float64(n) / float64(total)
	switch {
	case p == 0 || p >= 10:
		return fmt.Sprintf("%.0f%%", p)
	case p >= 1:
		return fmt.Sprintf("%.1f%%", p)
	}
	return fmt.Sprintf("%.2f%%", p)
}
