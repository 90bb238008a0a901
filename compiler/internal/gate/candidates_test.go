package gate

import (
	"fmt"
	"strings"
	"testing"

	"github.com/fleetc/fleetc/compiler/internal/policy"
)

// candidateLines renders each candidate as
// "store app kind from->to ring=<ring_has_version> juris=<jurisdiction_has_app>".
func candidateLines(b *builder, inputs []policy.Input, pairs []pair) string {
	var s strings.Builder
	for i, p := range pairs {
		in := inputs[i]
		fmt.Fprintf(&s, "%s %s %s %s->%s ring=%t juris=%t\n", b.t.Stores[p.store].Store.ID, p.app, in.Change.Kind,
			in.Change.From, in.Change.To, in.History.RingHasVersion, in.History.JurisdictionHasApp)
	}
	return s.String()
}

func TestCandidatesHistory(t *testing.T) {
	tests := []struct {
		name  string
		rings map[string]string // ring recorded in the previous state, when not the current one
		runs  func(pos string) map[string][]string
		want  string
	}{
		{
			name: "empty previous state: every flag false",
			runs: func(string) map[string][]string { return nil },
			want: `ca-1 pos install ->2.0.0 ring=false juris=false
il-1 pos install ->2.0.0 ring=false juris=false
wi-1 pos install ->2.0.0 ring=false juris=false
wi-2 pos install ->2.0.0 ring=false juris=false
`,
		},
		{
			name: "a canary store ran 2.0.0: its jurisdiction has the app, the chain ring has not the version",
			runs: func(pos string) map[string][]string { return map[string][]string{"wi-1": {pos}} },
			want: `ca-1 pos install ->2.0.0 ring=false juris=false
il-1 pos install ->2.0.0 ring=false juris=false
wi-1 pos none 2.0.0->2.0.0 ring=true juris=true
wi-2 pos install ->2.0.0 ring=false juris=true
`,
		},
		{
			name: "a chain store ran 2.0.0: every chain store sees the version",
			runs: func(pos string) map[string][]string { return map[string][]string{"ca-1": {pos}} },
			want: `ca-1 pos none 2.0.0->2.0.0 ring=true juris=true
il-1 pos install ->2.0.0 ring=true juris=false
wi-1 pos install ->2.0.0 ring=false juris=false
wi-2 pos install ->2.0.0 ring=true juris=false
`,
		},
		{
			name: "an older version in the ring does not count for the new one",
			runs: func(string) map[string][]string { return map[string][]string{"wi-2": {posOld}} },
			want: `ca-1 pos install ->2.0.0 ring=false juris=false
il-1 pos install ->2.0.0 ring=false juris=false
wi-1 pos install ->2.0.0 ring=false juris=true
wi-2 pos upgrade 1.0.0->2.0.0 ring=false juris=true
`,
		},
		{
			name:  "the ring comes from the previous state: wi-2 ran 2.0.0 while in canary",
			rings: map[string]string{"wi-2": "canary"},
			runs:  func(pos string) map[string][]string { return map[string][]string{"wi-2": {pos}} },
			want: `ca-1 pos install ->2.0.0 ring=false juris=false
il-1 pos install ->2.0.0 ring=false juris=false
wi-1 pos install ->2.0.0 ring=true juris=true
wi-2 pos none 2.0.0->2.0.0 ring=false juris=true
`,
		},
		{
			name: "a removal never has the version",
			runs: func(pos string) map[string][]string { return map[string][]string{"wi-1": {pos, gone}, "wi-2": {gone}} },
			want: `ca-1 pos install ->2.0.0 ring=false juris=false
il-1 pos install ->2.0.0 ring=false juris=false
wi-1 coupons remove 3.1.0-> ring=false juris=true
wi-1 pos none 2.0.0->2.0.0 ring=true juris=true
wi-2 coupons remove 3.1.0-> ring=false juris=true
wi-2 pos install ->2.0.0 ring=false juris=true
`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := testFleet()
			f.Apps = f.Apps[:1]
			tr := resolve(t, f)
			prev := prevState(tr, tc.rings, tc.runs(variantOf(t, tr, "wi-1", "pos")))
			b, diags := newBuilder(Options{Targets: tr, Previous: prev, Now: now})
			if len(diags) > 0 {
				t.Fatalf("builder: %v", diags)
			}
			inputs, pairs := b.candidates()
			if got := candidateLines(b, inputs, pairs); got != tc.want {
				t.Errorf("candidates:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

func TestChangeKind(t *testing.T) {
	tests := []struct {
		name string
		p    pair
		want policy.ChangeKind
	}{
		{"same variant", pair{from: "pos@2.0.0-a", to: "pos@2.0.0-a", fromV: "2.0.0", toV: "2.0.0"}, policy.None},
		{"install", pair{to: "pos@2.0.0-a", toV: "2.0.0"}, policy.Install},
		{"remove", pair{from: "pos@2.0.0-a", fromV: "2.0.0"}, policy.Remove},
		{"upgrade", pair{from: "pos@1.9.0-a", to: "pos@2.0.0-a", fromV: "1.9.0", toV: "2.0.0"}, policy.Upgrade},
		{"upgrade numerically, not by text", pair{from: "pos@1.9.0-a", to: "pos@1.10.0-a", fromV: "1.9.0", toV: "1.10.0"}, policy.Upgrade},
		{"downgrade", pair{from: "pos@2.0.0-a", to: "pos@1.9.0-a", fromV: "2.0.0", toV: "1.9.0"}, policy.Downgrade},
		{"same version, other values", pair{from: "pos@2.0.0-a", to: "pos@2.0.0-b", fromV: "2.0.0", toV: "2.0.0"}, policy.Reconfigure},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := changeKind(tc.p); got != tc.want {
				t.Errorf("changeKind(%v) = %s, want %s", tc.p, got, tc.want)
			}
		})
	}
}

// The policies see the values the store would get, or for a removal the
// values it ran with (from the previous state's variant spec).
func TestCandidatesValues(t *testing.T) {
	f := testFleet()
	tr := resolve(t, f)
	pos := variantOf(t, tr, "wi-1", "pos")
	prev := prevState(tr, nil, map[string][]string{"wi-1": {posOld, gone}})
	b, _ := newBuilder(Options{Targets: tr, Previous: prev, Now: now, Only: []string{"wi-1"}})
	inputs, pairs := b.candidates()
	got := map[string]string{}
	for i, p := range pairs {
		got[p.app] = fmt.Sprint(inputs[i].Values)
	}
	want := map[string]string{
		"coupons":           "map[previous:true]", // removal: the values it ran with
		"drive-thru-vision": "map[]",
		"pos":               fmt.Sprint(tr.Variants[pos].Values), // upgrade: the values it would get
	}
	sameJSON(t, "values", got, want)
	if got["pos"] != "map[lang:en]" {
		t.Errorf("pos values %s, want map[lang:en]", got["pos"])
	}
}
