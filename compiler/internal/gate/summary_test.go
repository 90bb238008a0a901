package gate

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fleetc/fleetc/compiler/internal/diag"
	"github.com/fleetc/fleetc/compiler/internal/policy"
)

func TestSummarize(t *testing.T) {
	f := testFleet()
	f.Index()
	winPos := fpos("policies/window.rego", 17)
	window := func(opens string) policy.Reason {
		return policy.Reason{Rule: "window.defer_window", Verdict: policy.Defer, Msg: "outside the window; opens at " + opens, Pos: winPos}
	}
	freeze := policy.Reason{Rule: "freeze.defer_freeze", Verdict: policy.Defer, Msg: "freeze peak is in force", Pos: freezePos}
	ring := func(v policy.Verdict, teams ...string) policy.Reason {
		return policy.Reason{Rule: "signoff.signoff_ring_entry", Verdict: v, Msg: "pos 2.0.0 enters ring chain for the first time", Teams: teams, Pos: ringEntryPos}
	}
	juris := func(v policy.Verdict) policy.Reason {
		return policy.Reason{Rule: "signoff.signoff_new_jurisdiction", Verdict: v, Msg: "pos is new in US-WI", Teams: []string{"legal"}, Pos: jurisPos}
	}
	bipa := policy.Reason{Rule: "legal.deny_bipa", Verdict: policy.Deny, Msg: bipaMsg, Pos: bipaPos}
	warn := policy.Reason{Rule: "freeze.warn_freeze_override_without_signoff", Verdict: policy.Warn, Msg: "freeze peak is overridden"}

	ds := []Decision{
		// deny outranks a defer reason: counted under the deny rule only
		{Store: "il-1", App: "drive-thru-vision", Verdict: policy.Deny, Reasons: []policy.Reason{freeze, bipa}},
		// 03:00 Chicago (09:00Z) is earlier than 02:00 Los Angeles (10:00Z),
		// but wi-1 is deferred by two rules and its Until may be either's:
		// it does not count for either rule's next time.
		{Store: "ca-1", App: "pos", Verdict: policy.Defer, Reasons: []policy.Reason{window("2026-11-24T10:00:00Z")}, Until: utcTime("2026-11-24T10:00:00Z")},
		{Store: "wi-1", App: "pos", Verdict: policy.Defer, Reasons: []policy.Reason{freeze, window("2026-11-24T09:00:00Z")}, Until: utcTime("2026-11-24T09:00:00Z")},
		// one team approved (allow), one did not: only the missing one counts
		{Store: "wi-2", App: "pos", Verdict: policy.NeedsSignoff, Reasons: []policy.Reason{juris(policy.Allow), ring(policy.NeedsSignoff, "ops")}, Teams: []string{"ops"}},
		{Store: "il-1", App: "pos", Verdict: policy.NeedsSignoff, Reasons: []policy.Reason{ring(policy.NeedsSignoff, "franchise-relations", "ops")}, Teams: []string{"franchise-relations", "ops"}},
		// allowed by a satisfied sign-off, and allowed with only a warning
		{Store: "wi-2", App: "drive-thru-vision", Verdict: policy.Allow, Reasons: []policy.Reason{juris(policy.Allow)}},
		{Store: "ca-1", App: "drive-thru-vision", Verdict: policy.Allow, Reasons: []policy.Reason{warn}},
		{Store: "wi-1", App: "drive-thru-vision", Verdict: policy.Allow},
	}
	got := Summarize(ds, f)
	la10 := utcTime("2026-11-24T10:00:00Z")
	want := &Summary{
		Verdicts: map[policy.Verdict]int{policy.Deny: 1, policy.Defer: 2, policy.NeedsSignoff: 2, policy.Allow: 3},
		Rules: []RuleSummary{
			{Verdict: policy.Deny, Rule: "legal.deny_bipa", Pos: bipaPos, Pairs: 1, Stores: []string{"il-1"}, Apps: []string{"drive-thru-vision"},
				Example: "il-1: drive-thru-vision: " + bipaMsg},
			{Verdict: policy.Defer, Rule: "window.defer_window", Pos: winPos, Pairs: 2, Stores: []string{"ca-1", "wi-1"}, Apps: []string{"pos"},
				Example: "ca-1: pos: outside the window; opens at 2026-11-24T10:00:00Z",
				Next:    la10, NextLocal: "2026-11-24 02:00 -08:00 America/Los_Angeles", NextStore: "ca-1"},
			{Verdict: policy.Defer, Rule: "freeze.defer_freeze", Pos: freezePos, Pairs: 1, Stores: []string{"wi-1"}, Apps: []string{"pos"},
				Example: "wi-1: pos: freeze peak is in force"},
			{Verdict: policy.NeedsSignoff, Rule: "signoff.signoff_ring_entry", Pos: ringEntryPos, Pairs: 2, Stores: []string{"il-1", "wi-2"}, Apps: []string{"pos"},
				Teams: []string{"franchise-relations", "ops"}, Example: "wi-2: pos: pos 2.0.0 enters ring chain for the first time"},
			{Verdict: policy.Allow, Rule: "", Pairs: 2, Stores: []string{"ca-1", "wi-1"}, Apps: []string{"drive-thru-vision"}, Example: "no policy objected"},
			{Verdict: policy.Allow, Rule: "signoff.signoff_new_jurisdiction", Pos: jurisPos, Pairs: 1, Stores: []string{"wi-2"}, Apps: []string{"drive-thru-vision"},
				Teams: []string{"legal"}, Example: "wi-2: drive-thru-vision: pos is new in US-WI"},
		},
	}
	sameJSON(t, "summary", got, want)
	// The allowed-by-no-rule row has no position, and says so by leaving
	// the key out rather than writing "pos": {}.
	b, err := json.Marshal(got.Rules[4])
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), `"pos"`) {
		t.Errorf("rule without a position marshals a pos: %s", b)
	}
	if b, _ := json.Marshal(got.Rules[0]); !strings.Contains(string(b), `"pos":{"file":"policies/legal.rego"`) {
		t.Errorf("rule with a position: %s", b)
	}
}

func TestSummarizeNextLocal(t *testing.T) {
	f := testFleet()
	f.Stores = append(f.Stores, fleetStore("bad-1", "WI", "Mars/Olympus", 5))
	f.Index()
	tests := []struct {
		name  string
		store string
		until string
		want  string
	}{
		{"los angeles", "ca-1", "2026-11-24T10:00:00Z", "2026-11-24 02:00 -08:00 America/Los_Angeles"},
		{"chicago across midnight", "il-1", "2026-11-25T05:30:00Z", "2026-11-24 23:30 -06:00 America/Chicago"},
		{"chicago on the fall-back day, first 01:30", "il-1", "2026-11-01T06:30:00Z", "2026-11-01 01:30 -05:00 America/Chicago"},
		{"chicago on the fall-back day, second 01:30", "il-1", "2026-11-01T07:30:00Z", "2026-11-01 01:30 -06:00 America/Chicago"},
		{"unknown zone: no local time", "bad-1", "2026-11-24T10:00:00Z", ""},
		{"store no longer in the fleet", "gone-1", "2026-11-24T10:00:00Z", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, _ := time.Parse(time.RFC3339, tc.until)
			ds := []Decision{{Store: tc.store, App: "pos", Verdict: policy.Defer, Until: &u,
				Reasons: []policy.Reason{{Rule: "window.defer_window", Verdict: policy.Defer, Msg: "m", Pos: diag.Pos{File: "p"}}}}}
			sum := Summarize(ds, f)
			if len(sum.Rules) != 1 {
				t.Fatalf("%d rules, want 1", len(sum.Rules))
			}
			r := sum.Rules[0]
			if r.NextLocal != tc.want || r.NextStore != tc.store || !r.Next.Equal(u) {
				t.Errorf("next %v %q (%s), want %v %q (%s)", r.Next, r.NextLocal, r.NextStore, u, tc.want, tc.store)
			}
		})
	}
}

// TestSummarizeUnknownNext: a store deferred with no window ahead at all
// (no Until) is listed as such, not hidden under another store's next
// time (it was, in plan's "the next may go ahead" line).
func TestSummarizeUnknownNext(t *testing.T) {
	f := testFleet()
	win := policy.Reason{Rule: "window.defer_window", Verdict: policy.Defer, Msg: "outside the window"}
	ds := []Decision{
		{Store: "ca-1", App: "pos", Verdict: policy.Defer, Reasons: []policy.Reason{win}, Until: utcTime("2026-11-24T10:00:00Z")},
		{Store: "wi-1", App: "pos", Verdict: policy.Defer, Reasons: []policy.Reason{win}},
		{Store: "wi-1", App: "kds", Verdict: policy.Defer, Reasons: []policy.Reason{win}},
	}
	got := Summarize(ds, f)
	if len(got.Rules) != 1 {
		t.Fatalf("rules: %+v", got.Rules)
	}
	r := got.Rules[0]
	if r.NextStore != "ca-1" || !slices.Equal(r.Unknown, []string{"wi-1"}) {
		t.Errorf("next %q, unknown %q; want ca-1 and [wi-1]", r.NextStore, r.Unknown)
	}
}
