package load

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/fleetc/fleetc/compiler/internal/diag"
	"github.com/fleetc/fleetc/compiler/internal/model"
)

func summaryFixture() *fileResult {
	store := func(id, country, region string) *model.Store {
		return &model.Store{ID: id, Jurisdiction: model.Jurisdiction{Country: country, Region: region, City: "x"}}
	}
	return &fileResult{File: "inventory/stores/a.cue", Stores: []*model.Store{
		store("ca-1", "CA", "QC"), store("us-1", "US", "IL"), store("us-2", "US", "IL"), store("us-3", "US", ""),
	}}
}

func TestSummaryRoundTrip(t *testing.T) {
	enc := encodeSummary(summarize(summaryFixture()))
	s, err := decodeSummary(enc)
	if err != nil {
		t.Fatal(err)
	}
	if s.other || s.len() != 4 || len(s.juris) != 3 {
		t.Fatalf("other %v, %d stores, juris %v", s.other, s.len(), s.juris)
	}
	for i, want := range []struct {
		id    string
		juris model.Jurisdiction
	}{{"ca-1", model.Jurisdiction{Country: "CA", Region: "QC"}}, {"us-1", model.Jurisdiction{Country: "US", Region: "IL"}},
		{"us-2", model.Jurisdiction{Country: "US", Region: "IL"}}, {"us-3", model.Jurisdiction{Country: "US"}}} {
		id, j := s.store(i)
		if id != want.id || s.juris[j] != want.juris {
			t.Errorf("store %d: %s %v, want %s %v", i, id, s.juris[j], want.id, want.juris)
		}
	}
	for id, want := range map[string]bool{"ca-1": true, "us-2": true, "us-3": true, "us-0": false, "zz": false, "": false} {
		if got := s.declares(id); got != want {
			t.Errorf("declares(%q) = %v", id, got)
		}
	}
	if again := encodeSummary(s); !bytes.Equal(again, enc) {
		t.Errorf("re-encoded summary differs")
	}
}

func TestSummaryOther(t *testing.T) {
	for name, change := range map[string]func(r *fileResult){
		"settings": func(r *fileResult) { r.Settings = &model.Settings{} },
		"group":    func(r *fileResult) { r.Groups = []*model.Group{{Name: "g"}} },
		"team":     func(r *fileResult) { r.Teams = []*model.Team{{Name: "t"}} },
		"invalid":  func(r *fileResult) { r.Invalid = []entityKey{{model.RefStore, "bad"}} },
		"findings": func(r *fileResult) { r.Diags.Errorf(diag.Pos{File: r.File}, "", "schema", "bad") },
	} {
		r := summaryFixture()
		change(r)
		s, err := decodeSummary(encodeSummary(summarize(r)))
		if err != nil || !s.other {
			t.Errorf("%s: other %v, err %v", name, s.other, err)
		}
	}
}

func TestSummaryCorrupt(t *testing.T) {
	good := encodeSummary(summarize(summaryFixture()))
	unsorted := encodeSummary(summarize(&fileResult{Stores: []*model.Store{{ID: "b"}, {ID: "a"}}}))
	cases := map[string][]byte{
		"empty":         nil,
		"bad flag":      append([]byte{2}, good[1:]...),
		"truncated":     good[:len(good)-1],
		"trailing byte": append(bytes.Clone(good), 0),
		"unsorted ids":  unsorted,
		"juris index":   append(bytes.Clone(good[:len(good)-1]), 9),
	}
	for name, b := range cases {
		if _, err := decodeSummary(b); !errors.Is(err, errCorrupt) {
			t.Errorf("%s: err %v, want errCorrupt", name, err)
		}
	}
}

func FuzzDecodeSummary(f *testing.F) {
	f.Add(encodeSummary(summarize(summaryFixture())))
	f.Add(encodeSummary(summarize(&fileResult{})))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeSummary(b)
		if err != nil {
			return
		}
		for i := range s.len() {
			id, j := s.store(i)
			if j >= len(s.juris) || !s.declares(id) {
				t.Fatalf("store %d: %q juris %d of %d", i, id, j, len(s.juris))
			}
		}
		// Lengths may be written in longer varints than encodeSummary
		// writes; the content must survive a round trip.
		again, err := decodeSummary(encodeSummary(s))
		if err != nil || again.other != s.other || !slices.Equal(again.juris, s.juris) || again.body != s.body {
			t.Fatalf("round trip: %v", err)
		}
	})
}
