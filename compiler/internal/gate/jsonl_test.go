package gate

import (
	"bytes"
	"cmp"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/fleetc/fleetc/compiler/internal/deploy"
	"github.com/fleetc/fleetc/compiler/internal/diag"
	"github.com/fleetc/fleetc/compiler/internal/policy"
)

// encoderJSONL is what encoding/json writes for each decision: the
// one-store-per-line format of fleetc before the grouping.
func encoderJSONL(t testing.TB, ds []Decision) []byte {
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

// refJSONL is the grouped format by its definition, built on
// encoding/json: each decision's line without its store is its group's
// key; lines are ordered by app, ring, first store, then the rest.
func refJSONL(t testing.TB, ds []Decision) []byte {
	t.Helper()
	type store struct{ id, quoted string }
	type group struct {
		app, ring, rest string
		stores          []store
	}
	byRest := map[string]*group{}
	lines := strings.SplitAfter(string(encoderJSONL(t, ds)), "\n")
	for i := range ds {
		line := lines[i]
		dec := json.NewDecoder(strings.NewReader(line))
		for range 3 { // {, "store", its value
			if _, err := dec.Token(); err != nil {
				t.Fatal(err)
			}
		}
		end := int(dec.InputOffset())
		quoted, rest := line[len(`{"store":`):end], line[end:]
		g := byRest[rest]
		if g == nil {
			g = &group{app: ds[i].App, ring: ds[i].Ring, rest: rest}
			byRest[rest] = g
		}
		g.stores = append(g.stores, store{ds[i].Store, quoted})
	}
	var groups []*group
	for _, g := range byRest {
		slices.SortFunc(g.stores, func(a, b store) int { return cmp.Compare(a.id, b.id) })
		groups = append(groups, g)
	}
	slices.SortFunc(groups, func(a, b *group) int {
		return cmp.Or(cmp.Compare(a.app, b.app), cmp.Compare(a.ring, b.ring), cmp.Compare(a.stores[0].id, b.stores[0].id), cmp.Compare(a.rest, b.rest))
	})
	var out bytes.Buffer
	for _, g := range groups {
		out.WriteString(`{"stores":[`)
		for j, s := range g.stores {
			if j > 0 {
				out.WriteByte(',')
			}
			out.WriteString(s.quoted)
		}
		out.WriteString("]" + g.rest)
	}
	return out.Bytes()
}

func TestAppendJSONL(t *testing.T) {
	until := utcTime("2026-11-24T10:00:00Z")
	later := utcTime("2026-11-24T11:00:00Z")
	shared := []policy.Reason{{Rule: "window.defer_window", Verdict: policy.Defer, Msg: "opens at 10:00 <soon> & \"then\"", Pos: diag.Pos{File: "policies/window.rego", Line: 17, Col: 1}}}
	rules := []string{"window.defer_window"}
	deferred := func(store string) Decision {
		return Decision{Store: store, App: "pos", Ring: "chain", Kind: policy.Upgrade, From: "1.0.0", To: "2.0.0", Verdict: policy.Defer,
			Rules: rules, Reasons: shared, Until: until, Runs: "1.0.0"}
	}
	const deferRest = `,"app":"pos","ring":"chain","kind":"upgrade","from":"1.0.0","to":"2.0.0","verdict":"defer","rules":["window.defer_window"],` +
		`"reasons":[{"rule":"window.defer_window","verdict":"defer","msg":"opens at 10:00 \u003csoon\u003e \u0026 \"then\"","pos":{"file":"policies/window.rego","line":17,"col":1}}],` +
		`"until":"2026-11-24T10:00:00Z","runs":"1.0.0"}` + "\n"
	tests := []struct {
		name string
		ds   []Decision
		want string
	}{
		{"empty", nil, ""},
		{"minimal", []Decision{{Store: "s-1", App: "pos", Ring: "chain", Kind: policy.None, Verdict: policy.Allow}},
			`{"stores":["s-1"],"app":"pos","ring":"chain","kind":"none","verdict":"allow"}` + "\n"},
		{"equal decisions of many stores are one line, stores sorted", []Decision{deferred("s-3"), deferred("s-1"), deferred("s-2")},
			`{"stores":["s-1","s-2","s-3"]` + deferRest},
		{"equal content in other slices merges", func() []Decision {
			d := deferred("s-2")
			d.Rules, d.Reasons, d.Until = slices.Clone(rules), slices.Clone(shared), utcTime("2026-11-24T10:00:00Z")
			return []Decision{deferred("s-1"), d}
		}(), `{"stores":["s-1","s-2"]` + deferRest},
		{"nil and empty slices are the same", []Decision{
			{Store: "s-2", App: "pos", Ring: "r", Kind: policy.Install, To: "1.0.0", Verdict: policy.Allow, Rules: []string{}, Reasons: []policy.Reason{}, Teams: []string{}},
			{Store: "s-1", App: "pos", Ring: "r", Kind: policy.Install, To: "1.0.0", Verdict: policy.Allow},
		}, `{"stores":["s-1","s-2"],"app":"pos","ring":"r","kind":"install","to":"1.0.0","verdict":"allow"}` + "\n"},
		{"differing reasons, until and runs are separate lines", func() []Decision {
			other := deferred("s-2")
			other.Reasons = []policy.Reason{{Rule: "window.defer_window", Verdict: policy.Defer, Msg: "opens at 11:00"}}
			late := deferred("s-3")
			late.Until = later
			runs := deferred("s-4")
			runs.Runs = ""
			return []Decision{deferred("s-1"), other, late, runs, deferred("s-5")}
		}(),
			`{"stores":["s-1","s-5"]` + deferRest +
				`{"stores":["s-2"],"app":"pos","ring":"chain","kind":"upgrade","from":"1.0.0","to":"2.0.0","verdict":"defer","rules":["window.defer_window"],` +
				`"reasons":[{"rule":"window.defer_window","verdict":"defer","msg":"opens at 11:00","pos":{}}],"until":"2026-11-24T10:00:00Z","runs":"1.0.0"}` + "\n" +
				`{"stores":["s-3"]` + strings.Replace(deferRest, "10:00:00Z", "11:00:00Z", 1) +
				`{"stores":["s-4"]` + strings.Replace(deferRest, `,"runs":"1.0.0"`, "", 1)},
		{"lines by app, ring, then first store", []Decision{
			{Store: "s-1", App: "pos", Ring: "main", Kind: policy.Install, To: "2.0.0", Verdict: policy.Allow},
			{Store: "s-1", App: "kds", Ring: "main", Kind: policy.Install, To: "1.0.0", Verdict: policy.Allow},
			{Store: "s-0", App: "pos", Ring: "main", Kind: policy.Install, To: "1.0.0", Verdict: policy.Allow},
			{Store: "s-9", App: "pos", Ring: "early", Kind: policy.Install, To: "2.0.0", Verdict: policy.Allow},
		},
			`{"stores":["s-1"],"app":"kds","ring":"main","kind":"install","to":"1.0.0","verdict":"allow"}` + "\n" +
				`{"stores":["s-9"],"app":"pos","ring":"early","kind":"install","to":"2.0.0","verdict":"allow"}` + "\n" +
				`{"stores":["s-0"],"app":"pos","ring":"main","kind":"install","to":"1.0.0","verdict":"allow"}` + "\n" +
				`{"stores":["s-1"],"app":"pos","ring":"main","kind":"install","to":"2.0.0","verdict":"allow"}` + "\n"},
		{"escapes, unicode and empty non-nil slices", []Decision{
			{Store: "s-<1>&\"\\", App: "caf\u00e9\u2028\t\x01", Ring: "r\x7f\xff", Kind: policy.Install, Verdict: policy.NeedsSignoff,
				Rules: []string{}, Reasons: []policy.Reason{}, Teams: []string{"a\nb"}, Runs: "2.0.0"},
		}, `{"stores":["s-\u003c1\u003e\u0026\"\\"],"app":"café\u2028\t\u0001","ring":"r` + "\x7f" + `\ufffd","kind":"install","verdict":"needs-signoff","teams":["a\nb"],"runs":"2.0.0"}` + "\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := AppendJSONL(nil, tc.ds)
			if string(got) != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
			if ref := refJSONL(t, tc.ds); !bytes.Equal(got, ref) {
				t.Errorf("differs from encoding/json grouped:\n%s\nwant\n%s", got, ref)
			}
			if got := AppendJSONL([]byte("x"), tc.ds); string(got) != "x"+tc.want {
				t.Errorf("appending to x: got %q", got)
			}
		})
	}
}

// runDecisions are the decisions of real runs: a first compile and a
// random previous state over a fleet with paused stores, every pair
// recorded.
func runDecisions(t *testing.T) [][]Decision {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 7))
	f := synthFleet(300, 8, rng)
	tr := resolve(t, f)
	var out [][]Decision
	for _, prev := range []*deploy.State{deploy.NewState(), randomPrevious(rng, tr)} {
		res := run(t, Options{Targets: tr, Previous: prev, RecordAll: true})
		if len(res.Decisions) == 0 {
			t.Fatal("no decisions")
		}
		out = append(out, res.Decisions)
	}
	return out
}

// Real runs encode as encoding/json grouped, in far fewer lines, the same
// bytes in any order of the decisions and with any of their shared slices
// copied.
func TestAppendJSONLRuns(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, ds := range runDecisions(t) {
		got := AppendJSONL(nil, ds)
		if want := refJSONL(t, ds); !bytes.Equal(got, want) {
			t.Fatalf("%d decisions: encodings differ", len(ds))
		}
		if lines := bytes.Count(got, []byte("\n")); lines*4 > len(ds) {
			t.Errorf("%d decisions in %d lines, want at most a quarter", len(ds), lines)
		}
		for range 3 {
			shuffled := slices.Clone(ds)
			rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			for i := range shuffled {
				if rng.IntN(2) == 0 {
					d := &shuffled[i]
					d.Rules, d.Reasons, d.Teams = slices.Clone(d.Rules), slices.Clone(d.Reasons), slices.Clone(d.Teams)
					if d.Until != nil {
						u := *d.Until
						d.Until = &u
					}
				}
			}
			if again := AppendJSONL(nil, shuffled); !bytes.Equal(again, got) {
				t.Fatalf("%d decisions shuffled and copied: encodings differ", len(ds))
			}
		}
	}
}

func FuzzAppendJSONL(f *testing.F) {
	f.Add("s-1", "s-2", "pos", "1.0.0", "msg <b>", false)
	f.Add("\xff\x00", "\xff\x00", "\u2029", "", "\"\\", true)
	f.Fuzz(func(t *testing.T, store, other, app, version, msg string, differ bool) {
		ds := []Decision{{Store: store, App: app, Ring: store, Kind: policy.Upgrade, From: version, To: app, Verdict: policy.Deny,
			Rules: []string{msg}, Reasons: []policy.Reason{{Rule: msg, Verdict: policy.Deny, Msg: msg, Teams: []string{app}}}, Runs: version}}
		d := ds[0]
		d.Store, d.Rules = other, []string{msg}
		if differ {
			d.Runs += "x"
		}
		ds = append(ds, d)
		if got, want := AppendJSONL(nil, ds), refJSONL(t, ds); !bytes.Equal(got, want) {
			t.Errorf("got\n%q\nwant\n%q", got, want)
		}
	})
}
