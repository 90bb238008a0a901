package selector

import (
	"slices"
	"strconv"
	"testing"

	"github.com/fleetc/fleetc/compiler/internal/model"
)

// byteSource turns fuzz input into choices; it yields zeros when drained.
type byteSource struct {
	b []byte
}

func (s *byteSource) next() int {
	if len(s.b) == 0 {
		return 0
	}
	c := s.b[0]
	s.b = s.b[1:]
	return int(c)
}

func (s *byteSource) pick(vocab []string) string { return vocab[s.next()%len(vocab)] }

func (s *byteSource) pickN(vocab []string, max int) []string {
	n := s.next() % (max + 1)
	var out []string
	for range n {
		out = append(out, s.pick(vocab))
	}
	return out
}

var (
	fuzzWords = []string{"", "a", "b", "us", "us/ne", "us/ne/ny", "1", "2", "-3", "x1", "corporate", "acme3000", "en"}
	fuzzKeys  = append(Keys(), "label.a", "label.b", "label.", "nope", "")
	fuzzOps   = []model.Operator{model.In, model.NotIn, model.Exists, model.DoesNotExist, model.Gt, model.Lt, "Bad"}
)

func fuzzStore(s *byteSource) (*model.Store, []string) {
	st := &model.Store{
		ID: s.pick(fuzzWords), Name: s.pick(fuzzWords), Geo: s.pick(fuzzWords), Timezone: s.pick(fuzzWords),
		Jurisdiction: model.Jurisdiction{Country: s.pick(fuzzWords), Region: s.pick(fuzzWords), City: s.pick(fuzzWords)},
		Attributes: model.Attributes{
			Owner: s.pick(fuzzWords), Franchisee: s.pick(fuzzWords), Format: s.pick(fuzzWords),
			DriveThruLanes:   s.next()%5 - 1,
			Devices:          s.pickN(fuzzWords, 3),
			DeliveryPartners: s.pickN(fuzzWords, 2),
			Languages:        s.pickN(fuzzWords, 2),
		},
		Cluster: model.Cluster{Nodes: s.next() % 4},
	}
	if n := s.next() % 3; n > 0 {
		st.Attributes.Labels = map[string]string{}
		for range n {
			st.Attributes.Labels[s.pick([]string{"a", "b"})] = s.pick(fuzzWords)
		}
	}
	return st, s.pickN(fuzzWords, 3)
}

func fuzzSelector(s *byteSource) *model.Selector {
	if s.next()%8 == 0 {
		return nil
	}
	sel := &model.Selector{}
	for range s.next() % 4 {
		var t model.Term
		for range s.next() % 4 {
			t.Match = append(t.Match, model.Requirement{
				Key: s.pick(fuzzKeys), Operator: fuzzOps[s.next()%len(fuzzOps)], Values: s.pickN(fuzzWords, 3),
			})
		}
		sel.Terms = append(sel.Terms, t)
	}
	return sel
}

func FuzzSelector(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("a selector that matches something"))
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 1, 1, 1, 0, 3, 1, 0, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		src := &byteSource{b: data}
		store, groups := fuzzStore(src)
		sel := fuzzSelector(src)
		facts := NewFacts(store, groups)

		probs := Check(sel)
		m, err := Compile(sel)
		if (err != nil) != (len(probs) > 0) {
			t.Fatalf("Compile error %v but Check found %d problems", err, len(probs))
		}
		if err != nil {
			return
		}
		got := m.Matches(facts)
		e := m.Explain(facts)
		if e.Matched != got {
			t.Fatalf("Matches = %v but Explain.Matched = %v\n%s", got, e.Matched, e)
		}
		anyTerm := sel == nil
		for ti, te := range e.Terms {
			all := len(te.Requirements) > 0
			for _, re := range te.Requirements {
				all = all && re.Matched
				if re.Reason == "" {
					t.Fatalf("term %d: empty reason for %s %s", ti, re.Key, re.Operator)
				}
			}
			if all != te.Matched {
				t.Fatalf("term %d: Matched = %v, AND of requirements = %v", ti, te.Matched, all)
			}
			// A selector of this term alone matches exactly when the term does.
			single, err := Compile(&model.Selector{Terms: []model.Term{sel.Terms[ti]}})
			if err != nil {
				t.Fatal(err)
			}
			if single.Matches(facts) != te.Matched {
				t.Fatalf("term %d alone: %v, in the selector: %v", ti, single.Matches(facts), te.Matched)
			}
			anyTerm = anyTerm || te.Matched
		}
		if anyTerm != got {
			t.Fatalf("Matches = %v, OR of terms = %v", got, anyTerm)
		}
		if sel == nil {
			return
		}
		// Requirement order inside a term does not matter.
		rev := &model.Selector{}
		for _, term := range sel.Terms {
			rs := slices.Clone(term.Match)
			slices.Reverse(rs)
			rev.Terms = append(rev.Terms, model.Term{Match: rs})
		}
		if mr, _ := Compile(rev); mr.Matches(facts) != got {
			t.Fatal("reversing requirements changed the result")
		}
		for _, term := range sel.Terms {
			for _, r := range term.Match {
				checkOperatorLaws(t, facts, r)
			}
		}
	})
}

// checkOperatorLaws compares a requirement with its complementary forms.
func checkOperatorLaws(t *testing.T, facts *Facts, r model.Requirement) {
	t.Helper()
	match := func(op model.Operator, vals ...string) bool {
		m, err := Compile(one(model.Requirement{Key: r.Key, Operator: op, Values: vals}))
		if err != nil {
			t.Fatalf("%s %s %q: %v", r.Key, op, vals, err)
		}
		return m.Matches(facts)
	}
	vals, _ := facts.Values(r.Key)
	if match(model.Exists) == match(model.DoesNotExist) {
		t.Fatalf("%s: Exists == DoesNotExist", r.Key)
	}
	if match(model.Exists) != (len(vals) > 0) {
		t.Fatalf("%s: Exists = %v with values %q", r.Key, match(model.Exists), vals)
	}
	switch r.Operator {
	case model.In, model.NotIn:
		in, notIn := match(model.In, r.Values...), match(model.NotIn, r.Values...)
		if len(vals) <= 1 && in == notIn {
			t.Fatalf("%s %q with values %q: In == NotIn == %v", r.Key, r.Values, vals, in)
		}
		if len(vals) > 1 && in && notIn {
			t.Fatalf("%s %q: In and NotIn both hold", r.Key, r.Values)
		}
		if len(vals) == 0 && in {
			t.Fatalf("%s %q: In holds for an absent key", r.Key, r.Values)
		}
	case model.Gt, model.Lt:
		n, _ := parseInt(r.Values[0])
		gt, lt := match(model.Gt, r.Values[0]), match(model.Lt, r.Values[0])
		if gt && lt {
			t.Fatalf("%s: both Gt and Lt %d", r.Key, n)
		}
		iv := intOf(vals)
		if want := iv.ok && iv.n > n; gt != want {
			t.Fatalf("%s Gt %d = %v with values %q", r.Key, n, gt, vals)
		}
		if iv.ok && iv.n == n && (gt || lt) {
			t.Fatalf("%s = %d: Gt or Lt %d holds", r.Key, iv.n, n)
		}
		if iv.ok && n > -1<<62 && n < 1<<62 {
			if match(model.Gt, strconv.FormatInt(n-1, 10)) != (iv.n >= n) {
				t.Fatalf("%s: Gt %d disagrees with >= %d", r.Key, n-1, n)
			}
		}
	}
}
