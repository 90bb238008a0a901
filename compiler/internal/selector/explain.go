package selector

import (
	"fmt"
	"strings"

	"github.com/fleetc/fleetc/compiler/internal/model"
)

// Explanation says why a store did or did not match a selector.
type Explanation struct {
	Matched bool `json:"matched"`
	// All is set for a nil selector, which matches every store.
	All   bool              `json:"all,omitempty"`
	Terms []TermExplanation `json:"terms,omitempty"`
}

// TermExplanation covers one term: it matched when every requirement did.
type TermExplanation struct {
	Matched      bool                     `json:"matched"`
	Requirements []RequirementExplanation `json:"requirements"`
}

// RequirementExplanation covers one requirement, with the reason in words,
// e.g. "devices has [acme3000 camera]; none of [acme3001]".
type RequirementExplanation struct {
	Key      string         `json:"key"`
	Operator model.Operator `json:"operator"`
	Values   []string       `json:"values,omitempty"`
	Matched  bool           `json:"matched"`
	Reason   string         `json:"reason"`
}

// Explain evaluates every term and requirement (without stopping at the
// first decision) and says why each matched or not.
func (m *Matcher) Explain(f *Facts) Explanation {
	if m.all {
		return Explanation{Matched: true, All: true}
	}
	e := Explanation{Terms: make([]TermExplanation, len(m.terms))}
	for ti := range m.terms {
		t := &m.terms[ti]
		te := TermExplanation{Matched: len(t.reqs) > 0, Requirements: make([]RequirementExplanation, len(t.reqs))}
		for ri := range t.reqs {
			q := &t.reqs[ri]
			ok := q.matches(f)
			te.Requirements[ri] = RequirementExplanation{
				Key: q.keyStr, Operator: q.op, Values: q.values,
				Matched: ok, Reason: q.reason(f, ok),
			}
			te.Matched = te.Matched && ok
		}
		e.Terms[ti] = te
		e.Matched = e.Matched || te.Matched
	}
	return e
}

// reason puts a requirement's outcome into words.
func (q *req) reason(f *Facts, ok bool) string {
	var vals []string
	if q.k == keyLabel {
		if v, has := f.labels[q.label]; has {
			vals = []string{v}
		}
	} else {
		vals = f.vals[q.k]
	}
	has := q.describe(f, vals)
	switch q.op {
	case model.In, model.NotIn:
		if i := q.firstListed(vals); i >= 0 {
			return fmt.Sprintf("%s; %s is in %s", has, vals[i], list(q.list))
		}
		return fmt.Sprintf("%s; none of %s", has, list(q.list))
	case model.Exists, model.DoesNotExist:
		return has
	case model.Gt, model.Lt:
		iv := intOf(vals)
		if len(vals) == 0 {
			return has
		}
		if !iv.ok {
			return has + "; not a single integer"
		}
		sym := ">"
		if q.op == model.Lt {
			sym = "<"
		}
		if ok {
			return fmt.Sprintf("%s; %d %s %d", has, iv.n, sym, q.n)
		}
		return fmt.Sprintf("%s; %d is not %s %d", has, iv.n, sym, q.n)
	}
	return has
}

// describe says what values the key has, e.g. "devices has [a b]".
func (q *req) describe(f *Facts, vals []string) string {
	switch {
	case len(vals) == 0:
		return q.keyStr + " has no value"
	case q.k == keyGeo:
		return "geo is " + f.geo
	}
	return q.keyStr + " has " + list(vals)
}

// list renders values as [a b c]; an empty string shows as "".
func list(vals []string) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, v := range vals {
		if i > 0 {
			b.WriteByte(' ')
		}
		if v == "" {
			v = `""`
		}
		b.WriteString(v)
	}
	b.WriteByte(']')
	return b.String()
}

// String renders the explanation one line per requirement.
func (e Explanation) String() string {
	if e.All {
		return "no selector: matches every store"
	}
	var b strings.Builder
	if e.Matched {
		b.WriteString("matched")
	} else {
		b.WriteString("not matched")
	}
	for ti, t := range e.Terms {
		fmt.Fprintf(&b, "\n  term %d: %s", ti+1, yesNo(t.Matched))
		for _, r := range t.Requirements {
			vals := ""
			if len(r.Values) > 0 {
				vals = " " + list(r.Values)
			}
			fmt.Fprintf(&b, "\n    %s %s%s: %s (%s)", r.Key, r.Operator, vals, yesNo(r.Matched), r.Reason)
		}
	}
	return b.String()
}

func yesNo(ok bool) string {
	if ok {
		return "matched"
	}
	return "not matched"
}
