package gate

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/fleetc/fleetc/compiler/internal/diag"
	"github.com/fleetc/fleetc/compiler/internal/policy"
)

func TestDecodeJSONL(t *testing.T) {
	reasons := []policy.Reason{{Rule: "signoff.ring_entry", Verdict: policy.NeedsSignoff, Msg: "m", Teams: []string{"ops"}, Pos: diag.Pos{File: "p.rego", Line: 3}}}
	until := utcTime("2026-11-24T10:00:00Z")
	tests := []struct {
		name string
		in   string
		want []Decision
		err  string
	}{
		{name: "empty", in: "", want: nil},
		{
			name: "grouped, in store then app order",
			in: `{"stores":["s-1","s-3"],"app":"pos","ring":"main","kind":"install","to":"1.0.0","verdict":"needs-signoff","rules":["signoff.ring_entry"],"reasons":[{"rule":"signoff.ring_entry","verdict":"needs-signoff","msg":"m","teams":["ops"],"pos":{"file":"p.rego","line":3}}],"teams":["ops"]}` + "\n\n" +
				`{"stores":["s-2"],"app":"kds","ring":"main","kind":"upgrade","from":"1.0.0","to":"2.0.0","verdict":"defer","until":"2026-11-24T10:00:00Z","runs":"1.0.0"}` + "\n" +
				`{"stores":["s-1"],"app":"kds","ring":"main","kind":"none","verdict":"allow","runs":"2.0.0"}`,
			want: []Decision{
				{Store: "s-1", App: "kds", Ring: "main", Kind: policy.None, Verdict: policy.Allow, Runs: "2.0.0"},
				{Store: "s-1", App: "pos", Ring: "main", Kind: policy.Install, To: "1.0.0", Verdict: policy.NeedsSignoff, Rules: []string{"signoff.ring_entry"}, Reasons: reasons, Teams: []string{"ops"}},
				{Store: "s-2", App: "kds", Ring: "main", Kind: policy.Upgrade, From: "1.0.0", To: "2.0.0", Verdict: policy.Defer, Until: until, Runs: "1.0.0"},
				{Store: "s-3", App: "pos", Ring: "main", Kind: policy.Install, To: "1.0.0", Verdict: policy.NeedsSignoff, Rules: []string{"signoff.ring_entry"}, Reasons: reasons, Teams: []string{"ops"}},
			},
		},
		{
			name: "one store a line (older fleetc), out of order, and grouped lines mixed in",
			in: `{"store":"s-2","app":"pos","ring":"main","kind":"install","to":"1.0.0","verdict":"allow","runs":"1.0.0"}` + "\n" +
				`{"store":"s-1","app":"pos","ring":"main","kind":"install","to":"1.0.0","verdict":"allow","runs":"1.0.0"}` + "\n" +
				`{"stores":["s-1"],"app":"kds","ring":"main","kind":"none","verdict":"allow","runs":"2.0.0"}` + "\n",
			want: []Decision{
				{Store: "s-1", App: "kds", Ring: "main", Kind: policy.None, Verdict: policy.Allow, Runs: "2.0.0"},
				{Store: "s-1", App: "pos", Ring: "main", Kind: policy.Install, To: "1.0.0", Verdict: policy.Allow, Runs: "1.0.0"},
				{Store: "s-2", App: "pos", Ring: "main", Kind: policy.Install, To: "1.0.0", Verdict: policy.Allow, Runs: "1.0.0"},
			},
		},
		{name: "bad json", in: `{"store":"s-1","verdict":"allow"}` + "\n{broken\n", err: "decisions line 2: invalid character 'b' looking for beginning of object key string"},
		{name: "store and stores", in: `{"store":"s-1","stores":["s-2"],"verdict":"allow"}`, err: `decisions line 1: both "store" and "stores"`},
		{name: "empty stores", in: "\n" + `{"stores":[],"verdict":"allow"}`, err: `decisions line 2: empty "stores"`},
		{name: "no store", in: `{"app":"pos","verdict":"allow"}`, err: `decisions line 1: no "store" or "stores"`},
		{name: "null", in: "null", err: `decisions line 1: no "store" or "stores"`},
		{name: "stores not a list", in: `{"stores":"s-1"}`, err: "decisions line 1: json: cannot unmarshal string into Go struct field jsonlLine.stores of type []string"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeJSONL(strings.NewReader(tc.in))
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// The decisions of one line share their slices.
func TestDecodeJSONLShares(t *testing.T) {
	ds, err := DecodeJSONL(strings.NewReader(`{"stores":["s-1","s-2"],"app":"pos","ring":"main","kind":"upgrade","verdict":"defer","rules":["r"],"reasons":[{"rule":"r","verdict":"defer","msg":"m"}],"teams":["ops"],"until":"2026-11-24T10:00:00Z"}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 2 || ds[0].Store != "s-1" || ds[1].Store != "s-2" {
		t.Fatalf("got %+v", ds)
	}
	if unsafe.SliceData(ds[0].Rules) != unsafe.SliceData(ds[1].Rules) || unsafe.SliceData(ds[0].Reasons) != unsafe.SliceData(ds[1].Reasons) ||
		unsafe.SliceData(ds[0].Teams) != unsafe.SliceData(ds[1].Teams) || ds[0].Until != ds[1].Until {
		t.Errorf("decisions of one line do not share their slices")
	}
}

// Writing then reading gives the decisions back, in either format and in
// any order of the old format's lines.
func TestDecodeJSONLRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, ds := range runDecisions(t) {
		want := encoderJSONL(t, ds)
		old := strings.SplitAfter(string(want), "\n")
		rng.Shuffle(len(old), func(i, j int) { old[i], old[j] = old[j], old[i] })
		for name, file := range map[string][]byte{
			"grouped":             AppendJSONL(nil, ds),
			"one store a line":    want,
			"shuffled, old lines": []byte(strings.Join(old, "")),
		} {
			got, err := DecodeJSONL(bytes.NewReader(file))
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if enc := encoderJSONL(t, got); !bytes.Equal(enc, want) {
				t.Errorf("%s: %d decisions read back differ from the %d written", name, len(got), len(ds))
			}
		}
	}
}

func FuzzDecodeJSONL(f *testing.F) {
	f.Add(`{"stores":["s-1","s-0"],"app":"pos","ring":"main","kind":"install","to":"1.0.0","verdict":"allow","until":"2026-11-24T10:00:00.500+01:00"}` + "\n" +
		`{"store":"s-1","app":"kds","verdict":"defer","reasons":[{"rule":"r","verdict":"defer","msg":"m","teams":["a"],"pos":{"line":2}}],"rules":[]}`)
	f.Add(`{"stores":["\u00e9","<"],"app":"\ufffd"}` + "\n" + `{"store":"","stores":null}`)
	f.Add("{\"stores\":[\"x\"]}\n{\"stores\":[]}\n")
	f.Fuzz(func(t *testing.T, in string) {
		ds, err := DecodeJSONL(strings.NewReader(in))
		if err != nil {
			return
		}
		if !slices.IsSortedFunc(ds, func(a, b Decision) int { return cmp.Or(cmp.Compare(a.Store, b.Store), cmp.Compare(a.App, b.App)) }) {
			t.Fatalf("decisions not in store then app order: %+v", ds)
		}
		// What the writer makes of them reads back to the same file.
		file := AppendJSONL(nil, ds)
		again, err := DecodeJSONL(bytes.NewReader(file))
		if err != nil {
			t.Fatalf("reading %q: %v", file, err)
		}
		if len(again) != len(ds) {
			t.Fatalf("%d decisions read back as %d", len(ds), len(again))
		}
		if file2 := AppendJSONL(nil, again); !bytes.Equal(file2, file) {
			t.Fatalf("round trip changed the file:\n%s\n%s", file, file2)
		}
	})
}

// TestScanJSONL: each line's stores as it names them (nil for none), the
// decision without a store, and an error from fn named by its line.
func TestScanJSONL(t *testing.T) {
	in := "{\"stores\":[\"a\",\"b\"],\"app\":\"pos\",\"verdict\":\"allow\"}\n\n{\"store\":\"c\",\"app\":\"pos\",\"verdict\":\"deny\"}\n{\"app\":\"pos\",\"verdict\":\"defer\"}\n"
	var got []string
	err := ScanJSONL(strings.NewReader(in), func(d *Decision, stores []string) error {
		got = append(got, fmt.Sprintf("%s %s %q %v", d.App, d.Verdict, d.Store, stores))
		return nil
	})
	want := []string{`pos allow "" [a b]`, `pos deny "" [c]`, `pos defer "" []`}
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("got %q, %v\nwant %q", got, err, want)
	}
	err = ScanJSONL(strings.NewReader(in), func(d *Decision, stores []string) error {
		if stores == nil {
			return errors.New("no store")
		}
		return nil
	})
	if err == nil || err.Error() != "decisions line 4: no store" {
		t.Fatalf("err = %v, want the fourth line named", err)
	}
}
