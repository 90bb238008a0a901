package gate

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/fleetc/fleetc/compiler/internal/deploy"
	"github.com/fleetc/fleetc/compiler/internal/diag"
	"github.com/fleetc/fleetc/compiler/internal/policy"
)

func encoderJSONL(t *testing.T, ds []Decision) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for i := range ds {
		if err := enc.Encode(&ds[i]); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

func TestAppendJSONL(t *testing.T) {
	until := utcTime("2026-11-24T10:00:00Z")
	shared := []policy.Reason{{Rule: "window.defer_window", Verdict: policy.Defer, Msg: "opens at 10:00 <soon> & \"then\"", Pos: diag.Pos{File: "policies/window.rego", Line: 17, Col: 1}}}
	tests := []struct {
		name string
		ds   []Decision
	}{
		{"empty", nil},
		{"minimal", []Decision{{Store: "s-1", App: "pos", Ring: "chain", Kind: policy.None, Verdict: policy.Allow}}},
		{"every field, shared slices", []Decision{
			{Store: "s-1", App: "pos", Ring: "chain", Kind: policy.Upgrade, From: "1.0.0", To: "2.0.0", Verdict: policy.Defer,
				Rules: []string{"window.defer_window"}, Reasons: shared, Teams: []string{"ops"}, Until: until, Runs: "1.0.0"},
			{Store: "s-2", App: "pos", Ring: "chain", Kind: policy.Upgrade, From: "1.0.0", To: "2.0.0", Verdict: policy.Defer,
				Rules: []string{"window.defer_window"}, Reasons: shared, Until: until, Runs: "1.0.0"},
		}},
		{"escapes, unicode and empty non-nil slices", []Decision{
			{Store: "s-<1>&\"\\", App: "caf\u00e9\u2028\t\x01", Ring: "r\x7f\xff", Kind: policy.Install, Verdict: policy.NeedsSignoff,
				Rules: []string{}, Reasons: []policy.Reason{}, Teams: []string{"a\nb"}, Runs: "2.0.0"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := AppendJSONL(nil, tc.ds)
			if want := encoderJSONL(t, tc.ds); !bytes.Equal(got, want) {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// The decisions of real runs (first compile, random previous states,
// paused stores) encode exactly as encoding/json encodes them.
func TestAppendJSONLRuns(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	f := synthFleet(300, 8, rng)
	tr := resolve(t, f)
	for _, prev := range []*deploy.State{deploy.NewState(), randomPrevious(rng, tr)} {
		res := run(t, Options{Targets: tr, Previous: prev, RecordAll: true})
		if len(res.Decisions) == 0 {
			t.Fatal("no decisions")
		}
		got := AppendJSONL(nil, res.Decisions)
		if want := encoderJSONL(t, res.Decisions); !bytes.Equal(got, want) {
			t.Errorf("%d decisions: encodings differ", len(res.Decisions))
		}
	}
}

func FuzzAppendJSONL(f *testing.F) {
	f.Add("s-1", "pos", "1.0.0", "msg <b>")
	f.Add("\xff\x00", "\u2029", "", "\"\\")
	f.Fuzz(func(t *testing.T, store, app, version, msg string) {
		ds := []Decision{{Store: store, App: app, Ring: store, Kind: policy.Upgrade, From: version, To: app, Verdict: policy.Deny,
			Rules: []string{msg}, Reasons: []policy.Reason{{Rule: msg, Verdict: policy.Deny, Msg: msg, Teams: []string{app}}}, Runs: version}}
		if got, want := AppendJSONL(nil, ds), encoderJSONL(t, ds); !bytes.Equal(got, want) {
			t.Errorf("got\n%q\nwant\n%q", got, want)
		}
	})
}
