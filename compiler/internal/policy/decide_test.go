package policy

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fleetc/fleetc/compiler/internal/model"
)

func TestDecideBundled(t *testing.T) {
	e := mustLoad(t, "") // embedded bundle
	std := everyDay("06:00", "22:00")
	chicago := store("chi-0001", "America/Chicago", "US", "IL", std)
	newYork := store("nyc-0001", "America/New_York", "US", "NY", std)
	phoenix := store("phx-0001", "America/Phoenix", "US", "AZ", std)
	chiNoHours := store("chi-0002", "America/Chicago", "US", "IL", nil)
	laNoHours := store("lax-0001", "America/Los_Angeles", "US", "CA", nil)
	montreal := store("mtl-0001", "America/Toronto", "CA", "QC", nil)
	thanksgiving := &model.Freeze{Name: "thanksgiving", Local: true, Start: "2026-11-26T00:00", End: "2026-11-27T00:00", Signoff: []string{"ops-leads"}}
	override := &model.Override{ID: "tg-hotfix", Kind: "freeze", Freeze: "thanksgiving", Reason: "pos crash", Ticket: "OPS-7"}
	chain := &model.Ring{Name: "chain", Order: 3, Signoff: []string{"release-managers"}}
	upgrade := Change{From: "1.0.0", To: "1.1.0", Kind: Upgrade}
	seen := History{RingHasVersion: true, JurisdictionHasApp: true}

	tests := []struct {
		name      string
		sc        scenario
		now       string
		approved  []string
		verdict   Verdict
		until     string
		teams     []string
		rules     []string // rule ids of the reasons, in order
		msgSubstr string
	}{
		{name: "inside window across midnight", sc: scenario{store: chicago, app: "pos", change: upgrade, history: seen},
			now: "2026-06-10T06:00:00Z", verdict: Allow},
		{name: "outside window defers to the next opening", sc: scenario{store: chicago, app: "pos", change: upgrade, history: seen},
			now: "2026-06-10T17:00:00Z", verdict: Defer, until: "2026-06-11T03:30:00Z", rules: []string{"window.defer_window"},
			msgSubstr: "next window opens at 2026-06-11T03:30:00Z"},
		{name: "no change is never deferred", sc: scenario{store: chicago, app: "pos", change: Change{From: "1.0.0", To: "1.0.0", Kind: None}, history: seen},
			now: "2026-06-10T17:00:00Z", verdict: Allow},
		{name: "chicago spring forward inside until 05:00 CDT", sc: scenario{store: chicago, app: "pos", change: upgrade, history: seen},
			now: "2026-03-08T09:59:00Z", verdict: Allow},
		{name: "chicago spring forward closed at 05:00 CDT", sc: scenario{store: chicago, app: "pos", change: upgrade, history: seen},
			now: "2026-03-08T10:00:00Z", verdict: Defer, until: "2026-03-09T03:30:00Z", rules: []string{"window.defer_window"}},
		{name: "chicago fall back 04:30 CST inside", sc: scenario{store: chicago, app: "pos", change: upgrade, history: seen},
			now: "2026-11-01T10:30:00Z", verdict: Allow},
		{name: "new york fall back 05:00 EST closed", sc: scenario{store: newYork, app: "pos", change: upgrade, history: seen},
			now: "2026-11-01T10:00:00Z", verdict: Defer, until: "2026-11-02T03:30:00Z", rules: []string{"window.defer_window"}},
		{name: "new york spring forward inside", sc: scenario{store: newYork, app: "pos", change: upgrade, history: seen},
			now: "2026-03-08T08:59:00Z", verdict: Allow},
		{name: "phoenix keeps -7 on the change day", sc: scenario{store: phoenix, app: "pos", change: upgrade, history: seen},
			now: "2026-03-08T11:59:00Z", verdict: Allow},
		{name: "phoenix closed at 05:00 MST", sc: scenario{store: phoenix, app: "pos", change: upgrade, history: seen},
			now: "2026-03-08T12:00:00Z", verdict: Defer, until: "2026-03-09T05:30:00Z", rules: []string{"window.defer_window"}},
		// Thanksgiving is store-local: midnight is 06:00Z in Chicago, 08:00Z in Los Angeles.
		{name: "freeze not yet started in chicago", sc: scenario{store: chiNoHours, app: "pos", change: upgrade, history: seen, freezes: []*model.Freeze{thanksgiving}},
			now: "2026-11-26T05:59:00Z", verdict: Allow},
		{name: "freeze starts at chicago midnight", sc: scenario{store: chiNoHours, app: "pos", change: upgrade, history: seen, freezes: []*model.Freeze{thanksgiving}},
			now: "2026-11-26T06:00:00Z", verdict: Defer, until: "2026-11-27T06:00:00Z", rules: []string{"freeze.defer_freeze"},
			msgSubstr: "freeze thanksgiving is in force until 2026-11-27T06:00:00Z"},
		{name: "same instant los angeles not frozen", sc: scenario{store: laNoHours, app: "pos", change: upgrade, history: seen, freezes: []*model.Freeze{thanksgiving}},
			now: "2026-11-26T07:00:00Z", verdict: Allow},
		{name: "freeze over at chicago midnight", sc: scenario{store: chiNoHours, app: "pos", change: upgrade, history: seen, freezes: []*model.Freeze{thanksgiving}},
			now: "2026-11-27T06:00:00Z", verdict: Allow},
		{name: "los angeles still frozen then", sc: scenario{store: laNoHours, app: "pos", change: upgrade, history: seen, freezes: []*model.Freeze{thanksgiving}},
			now: "2026-11-27T06:00:00Z", verdict: Defer, until: "2026-11-27T08:00:00Z", rules: []string{"freeze.defer_freeze"}},
		{name: "freeze and window: the later until", sc: scenario{store: chicago, app: "pos", change: upgrade, history: seen, freezes: []*model.Freeze{thanksgiving}},
			now: "2026-11-26T18:00:00Z", verdict: Defer, until: "2026-11-27T06:00:00Z", rules: []string{"freeze.defer_freeze", "window.defer_window"}},
		{name: "override without sign-off", sc: scenario{store: chiNoHours, app: "pos", change: upgrade, history: seen, freezes: []*model.Freeze{thanksgiving}, overrides: []*model.Override{override}},
			now: "2026-11-26T12:00:00Z", verdict: NeedsSignoff, teams: []string{"ops-leads"}, rules: []string{"freeze.signoff_freeze_override"},
			msgSubstr: "override tg-hotfix lets changes through freeze thanksgiving"},
		{name: "override with sign-off", sc: scenario{store: chiNoHours, app: "pos", change: upgrade, history: seen, freezes: []*model.Freeze{thanksgiving}, overrides: []*model.Override{override}},
			now: "2026-11-26T12:00:00Z", approved: []string{"ops-leads"}, verdict: Allow, rules: []string{"freeze.signoff_freeze_override"}},
		{name: "override signed by another team", sc: scenario{store: chiNoHours, app: "pos", change: upgrade, history: seen, freezes: []*model.Freeze{thanksgiving}, overrides: []*model.Override{override}},
			now: "2026-11-26T12:00:00Z", approved: []string{"legal"}, verdict: NeedsSignoff, teams: []string{"ops-leads"}, rules: []string{"freeze.signoff_freeze_override"}},
		{name: "legal deny of an app already running", sc: scenario{store: chicago, app: "drive-thru-vision", change: Change{From: "2.0.0", To: "2.0.0", Kind: None}, history: seen},
			now: "2026-06-10T17:00:00Z", verdict: Deny, rules: []string{"legal.deny_bipa"},
			msgSubstr: "may not run in Illinois"},
		{name: "legal deny beats freeze and window", sc: scenario{store: chicago, app: "drive-thru-vision", change: Change{From: "2.0.0", To: "2.1.0", Kind: Upgrade}, history: seen, freezes: []*model.Freeze{thanksgiving}},
			now: "2026-11-26T18:00:00Z", verdict: Deny, rules: []string{"freeze.defer_freeze", "legal.deny_bipa", "window.defer_window"}},
		{name: "removal of the denied app in the window", sc: scenario{store: chicago, app: "drive-thru-vision", change: Change{From: "2.0.0", To: "", Kind: Remove}, history: seen},
			now: "2026-06-10T06:00:00Z", verdict: Allow},
		{name: "quebec menu board in english", sc: scenario{store: montreal, app: "menu-boards", change: upgrade, history: seen, values: map[string]any{"language": "en"}},
			now: "2026-06-10T17:00:00Z", verdict: Deny, rules: []string{"legal.deny_quebec_french"}},
		{name: "quebec menu board in french", sc: scenario{store: montreal, app: "menu-boards", change: upgrade, history: seen, values: map[string]any{"languages": []any{"fr", "en"}}},
			now: "2026-06-10T17:00:00Z", verdict: Allow},
		{name: "first version in the chain ring", sc: scenario{store: chiNoHours, app: "pos", ring: chain, change: upgrade, history: History{JurisdictionHasApp: true}},
			now: "2026-06-10T17:00:00Z", verdict: NeedsSignoff, teams: []string{"release-managers"}, rules: []string{"signoff.signoff_ring_entry"},
			msgSubstr: "pos 1.1.0 enters ring chain for the first time"},
		{name: "new app in a jurisdiction and ring", sc: scenario{store: chiNoHours, app: "pos", ring: chain, change: Change{To: "1.0.0", Kind: Install}},
			now: "2026-06-10T17:00:00Z", approved: []string{"release-managers"}, verdict: NeedsSignoff, teams: []string{"legal"},
			rules: []string{"signoff.signoff_new_jurisdiction", "signoff.signoff_ring_entry"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			now := utc(tc.now)
			ds, err := e.Decide(context.Background(), []Input{tc.sc.input(t, now)}, EvalOptions{Now: now, Workers: 1, Approvals: ApprovalSet{Teams: tc.approved}})
			if err != nil {
				t.Fatal(err)
			}
			d := ds[0]
			var rules []string
			for _, r := range d.Reasons {
				rules = append(rules, r.Rule)
				if !r.Pos.IsValid() || !strings.HasPrefix(r.Pos.File, "policies/") || r.Pos.Line == 0 {
					t.Errorf("reason %s has position %q", r.Rule, r.Pos)
				}
			}
			var until string
			if !d.Until.IsZero() {
				until = d.Until.Format(time.RFC3339)
			}
			if d.Verdict != tc.verdict || until != tc.until || !slices.Equal(d.Teams, tc.teams) || !slices.Equal(rules, tc.rules) {
				t.Errorf("got %s until=%q teams=%v rules=%v; want %s until=%q teams=%v rules=%v\nreasons: %+v",
					d.Verdict, until, d.Teams, rules, tc.verdict, tc.until, tc.teams, tc.rules, d.Reasons)
			}
			if tc.msgSubstr != "" && !slices.ContainsFunc(d.Reasons, func(r Reason) bool { return strings.Contains(r.Msg, tc.msgSubstr) }) {
				t.Errorf("no reason mentions %q: %+v", tc.msgSubstr, d.Reasons)
			}
		})
	}
}

func TestReasonPositions(t *testing.T) {
	e := mustLoad(t, "")
	got := map[string]string{}
	for _, r := range e.Rules() {
		got[r.ID] = string(r.Verdict) + " " + r.Pos.String()
	}
	want := map[string]string{
		"legal.deny_bipa":            "deny policies/legal.rego:17:1",
		"window.defer_window":        "defer policies/window.rego:17:1",
		"freeze.defer_freeze":        "defer policies/freeze.rego:16:1",
		"signoff.signoff_ring_entry": "needs-signoff policies/signoff.rego:14:1",
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s: got %q, want %q", id, got[id], w)
		}
	}
	if len(got) != 9 {
		t.Errorf("got %d rules, want 9: %v", len(got), got)
	}
}

func TestDecideRequiresNow(t *testing.T) {
	e := mustLoad(t, "")
	if _, err := e.Decide(context.Background(), nil, EvalOptions{}); err == nil {
		t.Fatal("want an error without Now")
	}
}
