package gate

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fleetc/fleetc/compiler/internal/deploy"
	"github.com/fleetc/fleetc/compiler/internal/model"
	"github.com/fleetc/fleetc/compiler/internal/policy"
	"github.com/fleetc/fleetc/compiler/internal/target"
)

// Rule positions in the embedded bundle.
var (
	bipaPos      = fpos("policies/legal.rego", 17)
	freezePos    = fpos("policies/freeze.rego", 16)
	ringEntryPos = fpos("policies/signoff.rego", 14)
	jurisPos     = fpos("policies/signoff.rego", 22)
)

const bipaMsg = "drive-thru-vision collects biometric identifiers and may not run in Illinois (BIPA, 740 ILCS 14)"

// sameJSON compares as the audit log would write them, so unexported
// fields (a reason's until) do not matter and failures print readably.
func sameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	w, err := json.MarshalIndent(want, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if string(g) != string(w) {
		t.Errorf("%s:\ngot  %s\nwant %s", what, g, w)
	}
}

func utcTime(s string) *time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return &t
}

// freezeNow is a fleet-wide freeze in force at now, ending 2026-11-25T00:00Z.
func freezeNow(f *model.Fleet) {
	f.Freezes = append(f.Freezes, &model.Freeze{
		Name: "peak", Start: "2026-11-24T00:00:00Z", End: "2026-11-25T00:00:00Z",
		Signoff: []string{"ops"}, Pos: fpos("rings/calendar.cue", 1),
	})
}

func TestRunVerdicts(t *testing.T) {
	type ids struct{ pos, dtv string }
	tests := []struct {
		name      string
		fleet     func(f *model.Fleet)
		prev      func(tr *target.Result, v ids) *deploy.State
		approvals policy.ApprovalSet
		// wantApps is every store's desired apps (app -> variant id).
		wantApps      func(v ids) map[string]map[string]string
		wantDecisions []Decision
		wantEvaluated int
	}{
		{
			name: "deny removes an app the store already runs",
			prev: func(tr *target.Result, v ids) *deploy.State {
				return prevState(tr, nil, map[string][]string{
					"il-1": {v.pos, v.dtv}, "wi-1": {v.pos, v.dtv}, "wi-2": {v.pos, v.dtv}, "ca-1": {v.pos, v.dtv},
				})
			},
			wantApps: func(v ids) map[string]map[string]string {
				return map[string]map[string]string{
					"il-1": {"pos": v.pos},
					"wi-1": {"pos": v.pos, "drive-thru-vision": v.dtv},
					"wi-2": {"pos": v.pos, "drive-thru-vision": v.dtv},
					"ca-1": {"pos": v.pos, "drive-thru-vision": v.dtv},
				}
			},
			wantDecisions: []Decision{{
				Store: "il-1", App: "drive-thru-vision", Ring: "chain", Kind: policy.Remove, From: "0.9.3",
				Verdict: policy.Deny, Rules: []string{"legal.deny_bipa"},
				Reasons: []policy.Reason{{Rule: "legal.deny_bipa", Verdict: policy.Deny, Msg: bipaMsg, Pos: bipaPos}},
			}},
			wantEvaluated: 8,
		},
		{
			name:  "defer keeps the exact previous variant; a deny still removes during a freeze",
			fleet: freezeNow,
			prev: func(tr *target.Result, v ids) *deploy.State {
				return prevState(tr, nil, map[string][]string{
					"il-1": {v.pos, v.dtv}, "wi-1": {v.pos, v.dtv}, "wi-2": {posOld, v.dtv}, "ca-1": {v.pos, v.dtv},
				})
			},
			approvals: allTeams,
			wantApps: func(v ids) map[string]map[string]string {
				return map[string]map[string]string{
					"il-1": {"pos": v.pos},
					"wi-1": {"pos": v.pos, "drive-thru-vision": v.dtv},
					"wi-2": {"pos": posOld, "drive-thru-vision": v.dtv},
					"ca-1": {"pos": v.pos, "drive-thru-vision": v.dtv},
				}
			},
			wantDecisions: []Decision{
				{
					Store: "il-1", App: "drive-thru-vision", Ring: "chain", Kind: policy.Remove, From: "0.9.3",
					Verdict: policy.Deny, Rules: []string{"legal.deny_bipa"},
					Reasons: []policy.Reason{{Rule: "legal.deny_bipa", Verdict: policy.Deny, Msg: bipaMsg, Pos: bipaPos}},
				},
				{
					Store: "wi-2", App: "pos", Ring: "chain", Kind: policy.Upgrade, From: "1.0.0", To: "2.0.0",
					Verdict: policy.Defer, Rules: []string{"freeze.defer_freeze"},
					Reasons: []policy.Reason{{Rule: "freeze.defer_freeze", Verdict: policy.Defer, Msg: "freeze peak is in force until 2026-11-25T00:00:00Z", Pos: freezePos}},
					Until:   utcTime("2026-11-25T00:00:00Z"), Runs: "1.0.0",
				},
			},
			wantEvaluated: 8,
		},
		{
			name:  "a new store that is deferred gets nothing",
			fleet: freezeNow,
			prev: func(tr *target.Result, v ids) *deploy.State {
				return prevState(tr, nil, map[string][]string{"wi-1": {v.pos, v.dtv}, "wi-2": {v.pos, v.dtv}, "ca-1": {v.pos, v.dtv}})
			},
			approvals: allTeams,
			wantApps: func(v ids) map[string]map[string]string {
				return map[string]map[string]string{
					"il-1": {},
					"wi-1": {"pos": v.pos, "drive-thru-vision": v.dtv},
					"wi-2": {"pos": v.pos, "drive-thru-vision": v.dtv},
					"ca-1": {"pos": v.pos, "drive-thru-vision": v.dtv},
				}
			},
			wantDecisions: []Decision{
				{
					// deny outranks the freeze: an install that may not run is denied, not deferred
					Store: "il-1", App: "drive-thru-vision", Ring: "chain", Kind: policy.Install, To: "0.9.3",
					// (legal approved, so the new-jurisdiction sign-off is satisfied: allow)
					Verdict: policy.Deny, Rules: []string{"freeze.defer_freeze", "legal.deny_bipa", "signoff.signoff_new_jurisdiction"},
					Reasons: []policy.Reason{
						{Rule: "freeze.defer_freeze", Verdict: policy.Defer, Msg: "freeze peak is in force until 2026-11-25T00:00:00Z", Pos: freezePos},
						{Rule: "legal.deny_bipa", Verdict: policy.Deny, Msg: bipaMsg, Pos: bipaPos},
						{Rule: "signoff.signoff_new_jurisdiction", Verdict: policy.Allow, Msg: "drive-thru-vision is new in US-IL", Teams: []string{"legal"}, Pos: jurisPos},
					},
				},
				{
					Store: "il-1", App: "pos", Ring: "chain", Kind: policy.Install, To: "2.0.0",
					Verdict: policy.Defer, Rules: []string{"freeze.defer_freeze", "signoff.signoff_new_jurisdiction"},
					Reasons: []policy.Reason{
						{Rule: "freeze.defer_freeze", Verdict: policy.Defer, Msg: "freeze peak is in force until 2026-11-25T00:00:00Z", Pos: freezePos},
						{Rule: "signoff.signoff_new_jurisdiction", Verdict: policy.Allow, Msg: "pos is new in US-IL", Teams: []string{"legal"}, Pos: jurisPos},
					},
					Until: utcTime("2026-11-25T00:00:00Z"),
				},
			},
			wantEvaluated: 8,
		},
		{
			name: "app removed from the fleet: its removal goes through the policies",
			prev: func(tr *target.Result, v ids) *deploy.State {
				return prevState(tr, nil, map[string][]string{
					"il-1": {v.pos}, "wi-1": {v.pos, v.dtv, gone}, "wi-2": {v.pos, v.dtv}, "ca-1": {v.pos, v.dtv},
				})
			},
			wantApps: func(v ids) map[string]map[string]string {
				return map[string]map[string]string{
					"il-1": {"pos": v.pos},
					"wi-1": {"pos": v.pos, "drive-thru-vision": v.dtv},
					"wi-2": {"pos": v.pos, "drive-thru-vision": v.dtv},
					"ca-1": {"pos": v.pos, "drive-thru-vision": v.dtv},
				}
			},
			wantDecisions: []Decision{
				{
					Store: "il-1", App: "drive-thru-vision", Ring: "chain", Kind: policy.Install, To: "0.9.3",
					Verdict: policy.Deny, Rules: []string{"legal.deny_bipa", "signoff.signoff_new_jurisdiction"},
					Reasons: []policy.Reason{
						{Rule: "legal.deny_bipa", Verdict: policy.Deny, Msg: bipaMsg, Pos: bipaPos},
						{Rule: "signoff.signoff_new_jurisdiction", Verdict: policy.NeedsSignoff, Msg: "drive-thru-vision is new in US-IL", Teams: []string{"legal"}, Pos: jurisPos},
					},
				},
				{Store: "wi-1", App: "coupons", Ring: "canary", Kind: policy.Remove, From: "3.1.0", Verdict: policy.Allow},
			},
			wantEvaluated: 9,
		},
		{
			name:  "app removed from the fleet: a freeze holds the removal",
			fleet: freezeNow,
			prev: func(tr *target.Result, v ids) *deploy.State {
				return prevState(tr, nil, map[string][]string{
					"il-1": {v.pos}, "wi-1": {v.pos, v.dtv, gone}, "wi-2": {v.pos, v.dtv}, "ca-1": {v.pos, v.dtv},
				})
			},
			wantApps: func(v ids) map[string]map[string]string {
				return map[string]map[string]string{
					"il-1": {"pos": v.pos},
					"wi-1": {"pos": v.pos, "drive-thru-vision": v.dtv, "coupons": gone},
					"wi-2": {"pos": v.pos, "drive-thru-vision": v.dtv},
					"ca-1": {"pos": v.pos, "drive-thru-vision": v.dtv},
				}
			},
			wantDecisions: []Decision{
				{
					Store: "il-1", App: "drive-thru-vision", Ring: "chain", Kind: policy.Install, To: "0.9.3",
					Verdict: policy.Deny, Rules: []string{"freeze.defer_freeze", "legal.deny_bipa", "signoff.signoff_new_jurisdiction"},
					Reasons: []policy.Reason{
						{Rule: "freeze.defer_freeze", Verdict: policy.Defer, Msg: "freeze peak is in force until 2026-11-25T00:00:00Z", Pos: freezePos},
						{Rule: "legal.deny_bipa", Verdict: policy.Deny, Msg: bipaMsg, Pos: bipaPos},
						{Rule: "signoff.signoff_new_jurisdiction", Verdict: policy.NeedsSignoff, Msg: "drive-thru-vision is new in US-IL", Teams: []string{"legal"}, Pos: jurisPos},
					},
				},
				{
					Store: "wi-1", App: "coupons", Ring: "canary", Kind: policy.Remove, From: "3.1.0",
					Verdict: policy.Defer, Rules: []string{"freeze.defer_freeze"},
					Reasons: []policy.Reason{{Rule: "freeze.defer_freeze", Verdict: policy.Defer, Msg: "freeze peak is in force until 2026-11-25T00:00:00Z", Pos: freezePos}},
					Until:   utcTime("2026-11-25T00:00:00Z"), Runs: "3.1.0",
				},
			},
			wantEvaluated: 9,
		},
		{
			name: "paused store holds an upgrade and an install, a deny still removes",
			fleet: func(f *model.Fleet) {
				f.Stores[0].Pause = &model.Pause{Reason: "remodel", Until: "2026-12-01T00:00:00Z"}
			},
			prev: func(tr *target.Result, v ids) *deploy.State {
				return prevState(tr, nil, map[string][]string{"il-1": {v.dtv}, "wi-1": {v.pos, v.dtv}, "wi-2": {posOld, v.dtv}, "ca-1": {v.pos, v.dtv}})
			},
			approvals: allTeams,
			wantApps: func(v ids) map[string]map[string]string {
				return map[string]map[string]string{
					"il-1": {},
					"wi-1": {"pos": v.pos, "drive-thru-vision": v.dtv},
					"wi-2": {"pos": v.pos, "drive-thru-vision": v.dtv},
					"ca-1": {"pos": v.pos, "drive-thru-vision": v.dtv},
				}
			},
			wantDecisions: []Decision{
				{
					Store: "il-1", App: "drive-thru-vision", Ring: "chain", Kind: policy.Remove, From: "0.9.3",
					Verdict: policy.Deny, Rules: []string{"legal.deny_bipa"},
					Reasons: []policy.Reason{{Rule: "legal.deny_bipa", Verdict: policy.Deny, Msg: bipaMsg, Pos: bipaPos}},
				},
				{
					// the sign-off was given; the pause alone holds it
					Store: "il-1", App: "pos", Ring: "chain", Kind: policy.Install, To: "2.0.0",
					Verdict: policy.Defer, Rules: []string{"signoff.signoff_new_jurisdiction", "fleetc.paused"},
					Reasons: []policy.Reason{
						{Rule: "signoff.signoff_new_jurisdiction", Verdict: policy.Allow, Msg: "pos is new in US-IL", Teams: []string{"legal"}, Pos: jurisPos},
						{Rule: "fleetc.paused", Verdict: policy.Defer, Msg: "store is paused: remodel", Pos: fpos("inventory/stores.cue", 1)},
					},
				},
				{
					Store: "wi-2", App: "pos", Ring: "chain", Kind: policy.Upgrade, From: "1.0.0", To: "2.0.0",
					Verdict: policy.Allow, Runs: "2.0.0",
				},
			},
			wantEvaluated: 8,
		},
		{
			name: "a pause that has ended holds nothing",
			fleet: func(f *model.Fleet) {
				f.Stores[1].Pause = &model.Pause{Reason: "remodel", Until: "2026-11-24T09:00:00Z"} // wi-1, ends at now
			},
			prev: func(tr *target.Result, v ids) *deploy.State {
				return prevState(tr, nil, map[string][]string{"il-1": {v.pos}, "wi-1": {posOld, v.dtv}, "wi-2": {v.pos, v.dtv}, "ca-1": {v.pos, v.dtv}})
			},
			wantApps: func(v ids) map[string]map[string]string {
				return map[string]map[string]string{
					"il-1": {"pos": v.pos},
					"wi-1": {"pos": v.pos, "drive-thru-vision": v.dtv},
					"wi-2": {"pos": v.pos, "drive-thru-vision": v.dtv},
					"ca-1": {"pos": v.pos, "drive-thru-vision": v.dtv},
				}
			},
			wantDecisions: []Decision{
				{
					Store: "il-1", App: "drive-thru-vision", Ring: "chain", Kind: policy.Install, To: "0.9.3",
					Verdict: policy.Deny, Rules: []string{"legal.deny_bipa", "signoff.signoff_new_jurisdiction"},
					Reasons: []policy.Reason{
						{Rule: "legal.deny_bipa", Verdict: policy.Deny, Msg: bipaMsg, Pos: bipaPos},
						{Rule: "signoff.signoff_new_jurisdiction", Verdict: policy.NeedsSignoff, Msg: "drive-thru-vision is new in US-IL", Teams: []string{"legal"}, Pos: jurisPos},
					},
				},
				{Store: "wi-1", App: "pos", Ring: "canary", Kind: policy.Upgrade, From: "1.0.0", To: "2.0.0", Verdict: policy.Allow, Runs: "2.0.0"},
			},
			wantEvaluated: 8,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := testFleet()
			if tc.fleet != nil {
				tc.fleet(f)
			}
			tr := resolve(t, f)
			v := ids{pos: variantOf(t, tr, "wi-1", "pos"), dtv: variantOf(t, tr, "wi-1", "drive-thru-vision")}
			prev := tc.prev(tr, v)
			res := run(t, Options{Targets: tr, Previous: prev, Approvals: tc.approvals})

			gotApps := map[string]map[string]string{}
			for id, ss := range res.Desired.Stores {
				gotApps[id] = ss.Apps
				if want := tr.StoreRing[id]; ss.Ring != want {
					t.Errorf("store %s ring %q, want %q", id, ss.Ring, want)
				}
			}
			sameJSON(t, "desired apps", gotApps, tc.wantApps(v))
			sameJSON(t, "decisions", res.Decisions, tc.wantDecisions)
			if res.Evaluated != tc.wantEvaluated {
				t.Errorf("evaluated %d pairs, want %d", res.Evaluated, tc.wantEvaluated)
			}
			// Desired.Variants holds exactly the variants some store runs,
			// each spec from the target or, when kept, from the previous state.
			used := map[string]bool{}
			for _, ss := range res.Desired.Stores {
				for _, id := range ss.Apps {
					used[id] = true
				}
			}
			if got, want := slices.Sorted(maps.Keys(res.Desired.Variants)), slices.Sorted(maps.Keys(used)); !slices.Equal(got, want) {
				t.Errorf("desired variants %v, want %v", got, want)
			}
			for id, spec := range res.Desired.Variants {
				if tv, ok := tr.Variants[id]; ok {
					sameJSON(t, "variant "+id, spec, &deploy.Variant{App: tv.App, Version: tv.Version, Namespace: tv.Namespace, Source: tv.Source, DependsOn: tv.DependsOn, Values: tv.Values})
				} else if spec != prev.Variants[id] {
					t.Errorf("kept variant %s: spec %+v is not the previous state's %+v", id, spec, prev.Variants[id])
				}
			}
		})
	}
}

func TestRunSignoff(t *testing.T) {
	ringEntry := func(verdict policy.Verdict) []policy.Reason {
		return []policy.Reason{{Rule: "signoff.signoff_ring_entry", Verdict: verdict, Msg: "pos 2.0.0 enters ring chain for the first time", Teams: []string{"ops"}, Pos: ringEntryPos}}
	}
	upgrade := func(store string, verdict policy.Verdict, runs string, teams []string, reasons []policy.Reason) Decision {
		d := Decision{Store: store, App: "pos", Ring: "chain", Kind: policy.Upgrade, From: "1.0.0", To: "2.0.0", Verdict: verdict, Teams: teams, Runs: runs, Reasons: reasons}
		if reasons != nil {
			d.Rules = []string{"signoff.signoff_ring_entry"}
		}
		return d
	}
	held := func(store string) Decision {
		return upgrade(store, policy.NeedsSignoff, "1.0.0", []string{"ops"}, ringEntry(policy.NeedsSignoff))
	}
	tests := []struct {
		name      string
		chainRuns string // what wi-2 (chain) ran before; il-1 and ca-1 ran posOld
		approvals policy.ApprovalSet
		wantPos   string // "new" = the target variant, else the id kept
		want      []Decision
	}{
		{
			name: "no approvals: held at the previous variant", chainRuns: posOld, wantPos: posOld,
			want: []Decision{held("ca-1"), held("il-1"), held("wi-2")},
		},
		{
			name: "another team's approval does not count", chainRuns: posOld, wantPos: posOld,
			approvals: policy.ApprovalSet{Users: []string{"hweiss"}, Teams: []string{"legal"}},
			want:      []Decision{held("ca-1"), held("il-1"), held("wi-2")},
		},
		{
			name: "ops approved: allowed, the reason stays with verdict allow", chainRuns: posOld, wantPos: "new",
			approvals: policy.ApprovalSet{Users: []string{"dokafor"}, Teams: []string{"ops"}},
			want: []Decision{
				upgrade("ca-1", policy.Allow, "2.0.0", nil, ringEntry(policy.Allow)),
				upgrade("il-1", policy.Allow, "2.0.0", nil, ringEntry(policy.Allow)),
				upgrade("wi-2", policy.Allow, "2.0.0", nil, ringEntry(policy.Allow)),
			},
		},
		{
			name: "a store of the ring already runs the version: no sign-off", chainRuns: "new", wantPos: "new",
			want: []Decision{
				upgrade("ca-1", policy.Allow, "2.0.0", nil, nil),
				upgrade("il-1", policy.Allow, "2.0.0", nil, nil),
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := testFleet()
			f.Apps = f.Apps[:1] // pos only
			f.Rings[1].Signoff = []string{"ops"}
			tr := resolve(t, f)
			newPos := variantOf(t, tr, "wi-1", "pos")
			chainRuns := tc.chainRuns
			if chainRuns == "new" {
				chainRuns = newPos
			}
			prev := prevState(tr, nil, map[string][]string{"il-1": {posOld}, "wi-1": {newPos}, "wi-2": {chainRuns}, "ca-1": {posOld}})
			res := run(t, Options{Targets: tr, Previous: prev, Approvals: tc.approvals})
			sameJSON(t, "decisions", res.Decisions, tc.want)
			wantPos := tc.wantPos
			if wantPos == "new" {
				wantPos = newPos
			}
			for _, id := range []string{"il-1", "wi-2", "ca-1"} {
				if got := res.Desired.Stores[id].Apps["pos"]; got != wantPos {
					t.Errorf("%s runs pos %s, want %s", id, got, wantPos)
				}
			}
			if got := res.Desired.Stores["wi-1"].Apps["pos"]; got != newPos {
				t.Errorf("wi-1 (canary, unchanged) runs pos %s, want %s", got, newPos)
			}
		})
	}
}

func TestRunOnlyAndRecordAll(t *testing.T) {
	tests := []struct {
		name      string
		only      []string
		recordAll bool
		want      []Decision
		wantEval  int
	}{
		{
			name: "every store, unchanged pairs not recorded", wantEval: 4,
			want: []Decision{{Store: "il-1", App: "pos", Ring: "chain", Kind: policy.Upgrade, From: "1.0.0", To: "2.0.0", Verdict: policy.Allow, Runs: "2.0.0"}},
		},
		{
			name: "one store, unchanged pair not recorded", only: []string{"il-1"}, wantEval: 1,
			want: []Decision{{Store: "il-1", App: "pos", Ring: "chain", Kind: policy.Upgrade, From: "1.0.0", To: "2.0.0", Verdict: policy.Allow, Runs: "2.0.0"}},
		},
		{
			name: "one unchanged store, nothing recorded", only: []string{"wi-2"}, wantEval: 1,
		},
		{
			name: "one unchanged store with RecordAll", only: []string{"wi-2"}, recordAll: true, wantEval: 1,
			want: []Decision{{Store: "wi-2", App: "pos", Ring: "chain", Kind: policy.None, From: "2.0.0", To: "2.0.0", Verdict: policy.Allow, Runs: "2.0.0"}},
		},
		{
			name: "two stores with RecordAll", only: []string{"wi-2", "il-1"}, recordAll: true, wantEval: 2,
			want: []Decision{
				{Store: "il-1", App: "pos", Ring: "chain", Kind: policy.Upgrade, From: "1.0.0", To: "2.0.0", Verdict: policy.Allow, Runs: "2.0.0"},
				{Store: "wi-2", App: "pos", Ring: "chain", Kind: policy.None, From: "2.0.0", To: "2.0.0", Verdict: policy.Allow, Runs: "2.0.0"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := testFleet()
			f.Apps = f.Apps[:1]
			// chain needs ops: il-1's upgrade is allowed only because wi-2,
			// a chain store outside Only, already runs 2.0.0 (history is
			// read from the whole previous state).
			f.Rings[1].Signoff = []string{"ops"}
			tr := resolve(t, f)
			newPos := variantOf(t, tr, "wi-1", "pos")
			prev := prevState(tr, nil, map[string][]string{"il-1": {posOld}, "wi-1": {newPos}, "wi-2": {newPos}, "ca-1": {newPos}})
			res := run(t, Options{Targets: tr, Previous: prev, Only: tc.only, RecordAll: tc.recordAll})
			sameJSON(t, "decisions", res.Decisions, tc.want)
			if res.Evaluated != tc.wantEval {
				t.Errorf("evaluated %d, want %d", res.Evaluated, tc.wantEval)
			}
			stores := slices.Sorted(maps.Keys(res.Desired.Stores))
			want := slices.Clone(tc.only)
			if want == nil {
				want = []string{"ca-1", "il-1", "wi-1", "wi-2"}
			}
			slices.Sort(want)
			if !slices.Equal(stores, want) {
				t.Errorf("desired stores %v, want %v", stores, want)
			}
		})
	}
}

// A ring the rollout holds keeps what it runs, recorded as a defer with the
// rollout's reason, also when --signoff propose would render a change that
// needs sign-off (it did before: propose let a held ring through), and a
// paused store's change that needs sign-off is held under propose too.
func TestRunHoldUnderPropose(t *testing.T) {
	f := testFleet()
	f.Apps = f.Apps[:1] // pos only
	f.Rings[1].Signoff = []string{"ops"}
	tr := resolve(t, f)
	prev := prevState(tr, nil, map[string][]string{"il-1": {posOld}, "wi-1": {posOld}, "wi-2": {posOld}, "ca-1": {posOld}})
	holdReason := policy.Reason{Rule: "fleetc.rollout", Verdict: policy.Defer, Msg: "rollout of 2.0.0: chain waits for canary"}
	hold := func(app, ring, version string) (policy.Reason, *time.Time, bool) {
		return holdReason, nil, ring == "chain"
	}
	for _, propose := range []bool{false, true} {
		res := run(t, Options{Targets: tr, Previous: prev, Propose: propose, Hold: hold})
		for _, id := range []string{"il-1", "wi-2", "ca-1"} { // the chain ring
			if got := res.Desired.Stores[id].Apps["pos"]; got != posOld {
				t.Errorf("propose=%v: %s runs %s, want the held %s", propose, id, got, posOld)
			}
			d := decisionOf(res, id, "pos")
			if !propose {
				continue // needs-signoff holds it anyway
			}
			if d == nil || d.Verdict != policy.Defer || d.Runs != "1.0.0" || !slices.Contains(d.Rules, "fleetc.rollout") {
				t.Errorf("propose: %s decision %+v, want a defer by fleetc.rollout", id, d)
			}
		}
		if got := res.Desired.Stores["wi-1"].Apps["pos"]; got == posOld {
			t.Errorf("propose=%v: canary held though the rollout opened it", propose)
		}
	}
}

// countdownCtx is cancelled after its Err has been asked n times: a gate
// cancelled at any point of its work.
type countdownCtx struct {
	context.Context
	left atomic.Int64
}

func (c *countdownCtx) Err() error {
	if c.left.Add(-1) < 0 {
		return context.Canceled
	}
	return nil
}

// However late it is cancelled, the gate returns an error or the whole
// result, never a partial desired state with a nil error (assemble ignored
// its pool's error before).
func TestRunCancelledNeverPartial(t *testing.T) {
	f := testFleet()
	tr := resolve(t, f)
	prev := prevState(tr, nil, nil)
	full := run(t, Options{Targets: tr, Previous: prev, Workers: 1})
	for n := int64(0); n < 64; n++ {
		ctx := &countdownCtx{Context: context.Background()}
		ctx.left.Store(n)
		res, _, err := Run(ctx, Options{Targets: tr, Previous: prev, Engine: defaultEngine(t), Now: now, Workers: 1})
		if err != nil {
			continue
		}
		if len(res.Desired.Stores) != len(full.Desired.Stores) || len(res.Decisions) != len(full.Decisions) {
			t.Fatalf("cancelled after %d checks: nil error with %d of %d stores, %d of %d decisions",
				n, len(res.Desired.Stores), len(full.Desired.Stores), len(res.Decisions), len(full.Decisions))
		}
	}
}

// A halt keeps the stores of the rings it names on exactly what they run —
// an upgrade, an install and a removal of an app no longer targeted are
// all held, recorded as defers by fleetc.halt — except a removal a policy
// denies (BIPA in Illinois), which goes ahead; stores outside the halt
// change as usual.
func TestRunHaltHoldsEveryChangeButDenies(t *testing.T) {
	f := testFleet()
	tr := resolve(t, f)
	dtv := variantOf(t, tr, "il-1", "drive-thru-vision")
	prev := prevState(tr, nil, map[string][]string{
		"il-1": {posOld, gone, dtv}, "wi-1": {posOld, gone}, "wi-2": {posOld, gone}, "ca-1": {posOld, gone},
	})
	halt := func(app, ring string) (policy.Reason, bool) {
		return policy.Reason{Rule: "fleetc.halt", Verdict: policy.Defer, Msg: "the line is stopped"}, ring == "chain"
	}
	res := run(t, Options{Targets: tr, Previous: prev, Approvals: allTeams, Halt: halt})
	for _, id := range []string{"il-1", "wi-2", "ca-1"} {
		got := res.Desired.Stores[id].Apps
		if got["pos"] != posOld || got["coupons"] != gone {
			t.Errorf("%s runs %v, want pos and coupons held at %s, %s", id, got, posOld, gone)
		}
		for _, app := range []string{"pos", "coupons"} {
			if d := decisionOf(res, id, app); d == nil || d.Verdict != policy.Defer || !slices.Contains(d.Rules, "fleetc.halt") {
				t.Errorf("%s %s: decision %+v, want a defer by fleetc.halt", id, app, d)
			}
		}
	}
	if _, ok := res.Desired.Stores["il-1"].Apps["drive-thru-vision"]; ok {
		t.Error("il-1 keeps drive-thru-vision: a halt must not hold a removal the legal policy denies")
	}
	for _, id := range []string{"wi-2", "ca-1"} {
		if _, ok := res.Desired.Stores[id].Apps["drive-thru-vision"]; ok {
			t.Errorf("%s installs drive-thru-vision under the halt", id)
		}
	}
	got := res.Desired.Stores["wi-1"].Apps // canary: not halted
	if got["pos"] == posOld || got["coupons"] != "" || got["drive-thru-vision"] == "" {
		t.Errorf("canary wi-1 runs %v, want the upgrade, the removal and the install", got)
	}
}
