package selector

import (
	"fmt"
	"strings"

	"github.com/fleetc/fleetc/compiler/internal/model"
	"github.com/fleetc/fleetc/compiler/internal/suggest"
)

// Problem is one thing wrong with a selector. Path is relative to the
// selector, e.g. terms[0].match[1].key.
type Problem struct {
	Path    string
	Message string
}

func (p Problem) String() string { return p.Path + ": " + p.Message }

// Error is returned by Compile for a selector that Check rejects.
type Error struct {
	Problems []Problem
}

func (e *Error) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return "invalid selector: " + strings.Join(parts, "; ")
}

// Check reports everything wrong with sel, in order of appearance. A nil
// selector is valid (it matches every store).
func Check(sel *model.Selector) []Problem {
	if sel == nil {
		return nil
	}
	var probs []Problem
	add := func(path, format string, args ...any) {
		probs = append(probs, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	if len(sel.Terms) == 0 {
		add("terms", "selector has no terms and would match no store; leave the selector out to match every store")
	}
	for ti, t := range sel.Terms {
		if len(t.Match) == 0 {
			add(fmt.Sprintf("terms[%d].match", ti), "term has no requirements and would match no store")
		}
		for ri, r := range t.Match {
			base := fmt.Sprintf("terms[%d].match[%d]", ti, ri)
			checkKey(base+".key", r.Key, add)
			checkOperator(base, r, add)
		}
	}
	return probs
}

func checkKey(path, k string, add func(string, string, ...any)) {
	if _, _, ok := parseKey(k); ok {
		return
	}
	switch {
	case k == "":
		add(path, "key is empty")
	case k == LabelPrefix || k == strings.TrimSuffix(LabelPrefix, "."):
		add(path, "label key needs a name after %q, e.g. %q", LabelPrefix, LabelPrefix+"pilot")
	default:
		if s := closestKey(k); s != "" {
			add(path, "unknown key %q; did you mean %q?", k, s)
		} else {
			add(path, "unknown key %q; keys are %s and label.<name>", k, strings.Join(keyNames[:], ", "))
		}
	}
}

func checkOperator(base string, r model.Requirement, add func(string, string, ...any)) {
	switch r.Operator {
	case model.In, model.NotIn:
		if len(r.Values) == 0 {
			add(base+".values", "%s needs at least one value", r.Operator)
		}
	case model.Exists, model.DoesNotExist:
		if len(r.Values) > 0 {
			add(base+".values", "%s takes no values, got %v", r.Operator, r.Values)
		}
	case model.Gt, model.Lt:
		switch {
		case len(r.Values) != 1:
			add(base+".values", "%s needs exactly one integer value, got %d values", r.Operator, len(r.Values))
		default:
			if _, ok := parseInt(r.Values[0]); !ok {
				add(base+".values[0]", "%s needs an integer, got %q", r.Operator, r.Values[0])
			}
		}
	default:
		add(base+".operator", "unknown operator %q; want In, NotIn, Exists, DoesNotExist, Gt or Lt", r.Operator)
	}
}

// closestKey suggests a known key for a misspelt one: same letters in
// another case, or at most two edits away.
func closestKey(k string) string {
	best, bestD := "", 3
	for _, n := range keyNames {
		if strings.EqualFold(n, k) {
			return n
		}
		if d := suggest.Distance(strings.ToLower(k), strings.ToLower(n)); d < bestD {
			best, bestD = n, d
		}
	}
	if l, ok := strings.CutPrefix(strings.ToLower(k), "labels."); ok && l != "" {
		return LabelPrefix + k[len("labels."):]
	}
	return best
}
