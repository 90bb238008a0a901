package selector

import (
	"slices"

	"github.com/fleetc/fleetc/compiler/internal/model"
)

// setThreshold is the value count above which a requirement looks values
// up in a map rather than scanning a short slice.
const setThreshold = 8

// Matcher is a compiled selector. It is immutable and safe for concurrent
// use.
type Matcher struct {
	all        bool // nil selector: every store
	terms      []term
	usesGroups bool
}

type term struct {
	reqs []req
}

type req struct {
	k      key
	label  string // for keyLabel
	keyStr string // as written
	op     model.Operator
	values []string            // as written
	list   []string            // sorted, unique
	set    map[string]struct{} // when len(list) > setThreshold
	n      int64               // Gt/Lt operand
}

// Compile prepares sel for evaluation. A nil selector gives a matcher that
// matches every store. A selector that Check rejects returns an *Error.
func Compile(sel *model.Selector) (*Matcher, error) {
	if sel == nil {
		return &Matcher{all: true}, nil
	}
	if probs := Check(sel); len(probs) > 0 {
		return nil, &Error{Problems: probs}
	}
	m := &Matcher{terms: make([]term, len(sel.Terms))}
	for ti, t := range sel.Terms {
		reqs := make([]req, len(t.Match))
		for ri, r := range t.Match {
			k, label, _ := parseKey(r.Key)
			q := req{k: k, label: label, keyStr: r.Key, op: r.Operator, values: slices.Clone(r.Values)}
			switch r.Operator {
			case model.In, model.NotIn:
				q.list = slices.Compact(slices.Sorted(slices.Values(r.Values)))
				if len(q.list) > setThreshold {
					q.set = make(map[string]struct{}, len(q.list))
					for _, v := range q.list {
						q.set[v] = struct{}{}
					}
				}
			case model.Gt, model.Lt:
				q.n, _ = parseInt(r.Values[0])
			}
			if k == keyGroup {
				m.usesGroups = true
			}
			reqs[ri] = q
		}
		m.terms[ti] = term{reqs: reqs}
	}
	return m, nil
}

// MatchAll returns the matcher of a nil selector.
func MatchAll() *Matcher { return &Matcher{all: true} }

// UsesGroups reports whether any requirement tests group membership.
func (m *Matcher) UsesGroups() bool { return m.usesGroups }

// IsAll reports whether m matches every store (a nil selector).
func (m *Matcher) IsAll() bool { return m.all }

// Matches reports whether the store described by f matches. It does not
// allocate.
func (m *Matcher) Matches(f *Facts) bool {
	if m.all {
		return true
	}
	for i := range m.terms {
		if m.terms[i].matches(f) {
			return true
		}
	}
	return false
}

func (t *term) matches(f *Facts) bool {
	if len(t.reqs) == 0 {
		return false
	}
	for i := range t.reqs {
		if !t.reqs[i].matches(f) {
			return false
		}
	}
	return true
}

func (q *req) matches(f *Facts) bool {
	if q.k == keyLabel {
		var one [1]string
		v, ok := f.labels[q.label]
		vals := one[:0]
		if ok {
			one[0] = v
			vals = one[:1]
		}
		return q.eval(vals)
	}
	return q.eval(f.vals[q.k])
}

// eval applies the operator to a key's values.
func (q *req) eval(vals []string) bool {
	switch q.op {
	case model.In:
		return q.firstListed(vals) >= 0
	case model.NotIn:
		return q.firstListed(vals) < 0
	case model.Exists:
		return len(vals) > 0
	case model.DoesNotExist:
		return len(vals) == 0
	case model.Gt, model.Lt:
		iv := intOf(vals)
		if !iv.ok {
			return false
		}
		if q.op == model.Gt {
			return iv.n > q.n
		}
		return iv.n < q.n
	}
	return false
}

// firstListed returns the index of the first value that the requirement
// lists, or -1.
func (q *req) firstListed(vals []string) int {
	for i, v := range vals {
		if q.set != nil {
			if _, ok := q.set[v]; ok {
				return i
			}
			continue
		}
		for _, w := range q.list {
			if v == w {
				return i
			}
		}
	}
	return -1
}
