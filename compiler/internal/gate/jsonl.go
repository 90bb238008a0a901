package gate

import (
	"cmp"
	"encoding/json"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/fleetc/fleetc/compiler/internal/policy"
)

// The .fleetc/decisions.jsonl format. A first compile records a decision
// for every (store, app) pair, 1.2 million at 60,000 stores × 20 apps, and
// the decisions of one class differ only in their store. So a line is a
// group: the stores, sorted, whose decisions are otherwise equal.
//
//	{"stores":["s-0001","s-0002"],"app":"pos","ring":"main","kind":"install","to":"1.0.0","verdict":"allow","runs":"1.0.0"}
//
// The fields come in this order: stores, app, ring, kind, from, to,
// verdict, rules, reasons, teams, until, runs. From, to, rules, reasons,
// teams, until and runs are left out when empty, and each field after
// stores is what encoding/json writes for the Decision field of that name.
// Lines are ordered by app, ring, first store, then the bytes of the rest
// of the line (which tell any two groups apart), so the same decisions in
// any order give the same file. fleetc before the grouping wrote one line
// per decision with "store" in place of "stores"; DecodeJSONL reads both.

// AppendJSONL appends decisions in the decisions.jsonl format: one line
// per group of stores whose decisions are otherwise equal. dst grows once,
// to the exact size.
func AppendJSONL(dst []byte, ds []Decision) []byte {
	groups := groupDecisions(ds)
	size := 0
	for i := range groups {
		size += groups[i].size
	}
	dst = slices.Grow(dst, size)
	for i := range groups {
		g := &groups[i]
		dst = append(dst, `{"stores":[`...)
		for j, s := range g.stores {
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, s)
		}
		dst = append(dst, ']')
		dst = append(dst, g.rest...)
	}
	return dst
}

// jsonlGroup is one line of decisions.jsonl.
type jsonlGroup struct {
	app, ring string
	stores    []string // sorted
	rest      []byte   // the line after the stores: `,"app":…}` and "\n"
	size      int      // bytes of the whole line
}

// sliceKey is a slice or pointer by identity.
type sliceKey struct {
	p unsafe.Pointer
	n int
}

// shapeKey is a decision without its store, its slices by identity: the
// decisions of one class share their slices, so a map on shapeKey groups a
// million decisions at the cost of hashing a few words and short strings.
// Equal content in different slices gives two shapes; their encodings are
// equal and merge them.
type shapeKey struct {
	app, ring, from, to, runs string
	kind                      policy.ChangeKind
	verdict                   policy.Verdict
	rules, reasons, teams     sliceKey
	until                     *time.Time
}

func sliceOf[T any](s []T) sliceKey {
	return sliceKey{unsafe.Pointer(unsafe.SliceData(s)), len(s)}
}

// groupDecisions groups ds by everything but the store and orders the
// groups as the file lists them.
func groupDecisions(ds []Decision) []jsonlGroup {
	if len(ds) == 0 {
		return nil
	}
	// Shapes by identity, each with its first decision.
	shapes := map[shapeKey]int32{}
	shapeOf := make([]int32, len(ds))
	var first []int32
	for i := range ds {
		d := &ds[i]
		k := shapeKey{app: d.App, ring: d.Ring, from: d.From, to: d.To, runs: d.Runs, kind: d.Kind, verdict: d.Verdict,
			rules: sliceOf(d.Rules), reasons: sliceOf(d.Reasons), teams: sliceOf(d.Teams), until: d.Until}
		s, ok := shapes[k]
		if !ok {
			s = int32(len(first))
			shapes[k] = s
			first = append(first, int32(i))
		}
		shapeOf[i] = s
	}

	// Shapes by content: equal encodings are one group.
	enc := newRestEncoder()
	byRest := map[string]int32{}
	groupOf := make([]int32, len(first))
	var groups []jsonlGroup
	for s, i := range first {
		rest := enc.rest(&ds[i])
		g, ok := byRest[string(rest)]
		if !ok {
			g = int32(len(groups))
			byRest[string(rest)] = g
			groups = append(groups, jsonlGroup{app: ds[i].App, ring: ds[i].Ring, rest: rest})
		}
		groupOf[s] = g
	}

	// Each group's stores, in one array.
	count := make([]int, len(groups))
	for _, s := range shapeOf {
		count[groupOf[s]]++
	}
	stores := make([]string, len(ds))
	next := make([]int, len(groups))
	off := 0
	for g, n := range count {
		next[g] = off
		groups[g].stores = stores[off : off+n]
		off += n
	}
	for i, s := range shapeOf {
		g := groupOf[s]
		stores[next[g]] = ds[i].Store
		next[g]++
	}
	for g := range groups {
		gr := &groups[g]
		if !slices.IsSorted(gr.stores) {
			slices.Sort(gr.stores)
		}
		gr.size = len(`{"stores":[]`) + len(gr.stores) - 1 + len(gr.rest)
		for _, st := range gr.stores {
			gr.size += quotedLen(st)
		}
	}
	slices.SortFunc(groups, func(a, b jsonlGroup) int {
		return cmp.Or(strings.Compare(a.app, b.app), strings.Compare(a.ring, b.ring),
			strings.Compare(a.stores[0], b.stores[0]), strings.Compare(string(a.rest), string(b.rest)))
	})
	return groups
}

// restEncoder encodes the part of a line after the stores. Slices shared
// by several shapes are encoded once.
type restEncoder struct {
	shared map[sliceKey][]byte
}

func newRestEncoder() *restEncoder { return &restEncoder{shared: map[sliceKey][]byte{}} }

func (e *restEncoder) encoded(k sliceKey, v any) []byte {
	if b, ok := e.shared[k]; ok {
		return b
	}
	b, err := json.Marshal(v)
	if err != nil { // only a time outside years 0-9999 fails
		b = []byte("null")
	}
	e.shared[k] = b
	return b
}

// rest is `,"app":…,"runs":…}` and a newline: what encoding/json writes
// for d after its store.
func (e *restEncoder) rest(d *Decision) []byte {
	var dst []byte
	dst = append(dst, `,"app":`...)
	dst = appendString(dst, d.App)
	dst = append(dst, `,"ring":`...)
	dst = appendString(dst, d.Ring)
	dst = append(dst, `,"kind":`...)
	dst = appendString(dst, string(d.Kind))
	if d.From != "" {
		dst = append(dst, `,"from":`...)
		dst = appendString(dst, d.From)
	}
	if d.To != "" {
		dst = append(dst, `,"to":`...)
		dst = appendString(dst, d.To)
	}
	dst = append(dst, `,"verdict":`...)
	dst = appendString(dst, string(d.Verdict))
	if len(d.Rules) > 0 {
		dst = append(dst, `,"rules":`...)
		dst = append(dst, e.encoded(sliceOf(d.Rules), d.Rules)...)
	}
	if len(d.Reasons) > 0 {
		dst = append(dst, `,"reasons":`...)
		dst = append(dst, e.encoded(sliceOf(d.Reasons), d.Reasons)...)
	}
	if len(d.Teams) > 0 {
		dst = append(dst, `,"teams":`...)
		dst = append(dst, e.encoded(sliceOf(d.Teams), d.Teams)...)
	}
	if d.Until != nil {
		dst = append(dst, `,"until":`...)
		dst = append(dst, e.encoded(sliceKey{unsafe.Pointer(d.Until), -1}, d.Until)...)
	}
	if d.Runs != "" {
		dst = append(dst, `,"runs":`...)
		dst = appendString(dst, d.Runs)
	}
	return append(dst, "}\n"...)
}

// plainString reports whether encoding/json writes s as is between quotes.
func plainString(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// appendString quotes s as encoding/json does (HTML-safe): plain printable
// ASCII directly, anything else through encoding/json.
func appendString(dst []byte, s string) []byte {
	if !plainString(s) {
		b, _ := json.Marshal(s) // a string always encodes
		return append(dst, b...)
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// quotedLen is len(appendString(nil, s)).
func quotedLen(s string) int {
	if plainString(s) {
		return len(s) + 2
	}
	return len(appendString(nil, s))
}
