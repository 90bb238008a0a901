package signoff

import (
	"fmt"
	"slices"
	"strings"

	"github.com/fleetc/fleetc/compiler/internal/forge"
	"github.com/fleetc/fleetc/compiler/internal/policy"
)

// Contexts of the summary statuses fleetc posts on a head: a handful per
// commit, never one per store.
const (
	ContextPolicy  = "fleetc/policy"
	ContextSignoff = "fleetc/signoff"
)

// maxDescription is the longest status description every forge keeps.
const maxDescription = 140

// Statuses are the summary statuses for a head. fleetc/policy is success
// whenever the compile ran and recorded its decisions: denials and
// deferrals are informational. fleetc/signoff is success when every
// required team approved the head, else failure naming the missing teams.
func Statuses(req *Requirements, v *Verdict, targetURL string) []forge.Status {
	return []forge.Status{
		{Context: ContextPolicy, State: forge.Success, Description: clip(policyDescription(req)), TargetURL: targetURL},
		{Context: ContextSignoff, State: signoffState(v), Description: clip(signoffDescription(v)), TargetURL: targetURL},
	}
}

// ErrorStatuses are posted when the head's decisions cannot be read.
func ErrorStatuses(problem, targetURL string) []forge.Status {
	return []forge.Status{
		{Context: ContextPolicy, State: forge.Error, Description: clip(problem), TargetURL: targetURL},
		{Context: ContextSignoff, State: forge.Error, Description: clip("cannot check sign-off: " + problem), TargetURL: targetURL},
	}
}

func signoffState(v *Verdict) forge.StatusState {
	if v.Green() {
		return forge.Success
	}
	return forge.Failure
}

// verdictOrder lists verdicts most important first.
var verdictOrder = []policy.Verdict{policy.NeedsSignoff, policy.Deny, policy.Defer, policy.Allow}

func policyDescription(req *Requirements) string {
	if req.Decisions == 0 {
		return "compiled: no changes held or denied"
	}
	var parts []string
	seen := map[string]bool{}
	for _, v := range verdictOrder {
		if n := req.ByVerdict[string(v)]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, v))
			seen[string(v)] = true
		}
	}
	others := make([]string, 0)
	for v := range req.ByVerdict {
		if !seen[v] {
			others = append(others, v)
		}
	}
	slices.Sort(others)
	for _, v := range others {
		parts = append(parts, fmt.Sprintf("%d %s", req.ByVerdict[v], v))
	}
	return fmt.Sprintf("compiled: %d decisions (%s)", req.Decisions, strings.Join(parts, ", "))
}

func signoffDescription(v *Verdict) string {
	if len(v.Required) == 0 {
		return "no sign-off needed"
	}
	if !v.Green() {
		return "needs sign-off from " + list(v.Missing, maxDescription-len("needs sign-off from "))
	}
	parts := make([]string, 0, len(v.Required))
	for _, t := range v.Required {
		parts = append(parts, t+" ("+strings.Join(v.Approved[t], ", ")+")")
	}
	return "signed off: " + list(parts, maxDescription-len("signed off: "))
}

// list joins items with ", " within n bytes, ending in "+k more" when cut.
func list(items []string, n int) string {
	var b strings.Builder
	for i, it := range items {
		sep := ""
		if i > 0 {
			sep = ", "
		}
		more := fmt.Sprintf(", +%d more", len(items)-i)
		if b.Len()+len(sep)+len(it) > n-len(more) && i < len(items)-1 || b.Len()+len(sep)+len(it) > n {
			if i == 0 {
				return fmt.Sprintf("%d teams", len(items))
			}
			b.WriteString(more)
			return b.String()
		}
		b.WriteString(sep + it)
	}
	return b.String()
}

// clip keeps s within maxDescription runes.
func clip(s string) string {
	r := []rune(s)
	if len(r) <= maxDescription {
		return s
	}
	return string(r[:maxDescription-1]) + "…"
}
