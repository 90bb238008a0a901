package policy

import (
	"reflect"
	"strconv"
	"sync"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/fleetc/fleetc/compiler/internal/calendar"
)

// The input document is built from sections. Each section of an input is
// reduced to the paths the policies read (project) and interned: equal
// projections get the same small id. An input's memo key is then the
// tuple of its section ids, so a memo hit costs a few map lookups and
// never builds an ast value; the document is built only on a miss.

const (
	secApp = iota
	secApprovals
	secChange
	secFreezes
	secHistory
	secNow
	secOverrides
	secRing
	secStore
	secValues
	secWindow
	numSections
)

var sectionNames = [numSections]string{"app", "approvals", "change", "freezes", "history", "now", "overrides", "ring", "store", "values", "window"}

var sectionTerms = func() (ts [numSections]*ast.Term) {
	for i, n := range sectionNames {
		ts[i] = ast.StringTerm(n)
	}
	return ts
}()

// memoKey identifies an input class; -1 marks a section no policy reads.
type memoKey [numSections]int32

// sectionCache maps a Go-side key (a pointer or a comparable value) of one
// section to the id of its projected value.
type sectionCache struct {
	trie  *pathTrie
	byKey sync.Map // any -> int32

	mu     sync.Mutex
	byHash map[int][]int32
	vals   []ast.Value
}

func newSectionCache(t *pathTrie) *sectionCache {
	return &sectionCache{trie: t, byHash: map[int][]int32{}}
}

// id returns the id of the section value for key, building it with full
// only the first time key is seen.
func (c *sectionCache) id(key any, full func() ast.Value) int32 {
	if id, ok := c.byKey.Load(key); ok {
		return id.(int32)
	}
	id := c.intern(project(full(), c.trie))
	c.byKey.Store(key, id)
	return id
}

// intern returns the id of an already projected value.
func (c *sectionCache) intern(v ast.Value) int32 {
	h := v.Hash()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cand := range c.byHash[h] {
		if c.vals[cand].Compare(v) == 0 {
			return cand
		}
	}
	id := int32(len(c.vals))
	c.vals = append(c.vals, v)
	c.byHash[h] = append(c.byHash[h], id)
	return id
}

func (c *sectionCache) value(id int32) ast.Value {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.vals[id]
}

// windowKey is a window as a map key: equal keys give equal documents
// (the document holds the bounds to the second).
type windowKey struct {
	open          bool
	opens, closes int64
	source, zone  string
}

func windowKeyOf(w calendar.Window) windowKey {
	return windowKey{w.Open, unixOrZero(w.OpensAt), unixOrZero(w.ClosesAt), w.Source, w.Zone}
}

// sectionID returns the id of section s of in.
func (r *Session) sectionID(s int, in *Input) int32 {
	c := r.caches[s]
	switch s {
	case secApp:
		return c.id(in.App, func() ast.Value { return appValue(in.App) })
	case secRing:
		return c.id(in.Ring, func() ast.Value { return ringValue(in.Ring) })
	case secStore:
		return c.id(in.Store, func() ast.Value { return storeValue(in.Store, c.trie) })
	case secValues:
		return c.id(reflect.ValueOf(in.Values).Pointer(), func() ast.Value { return valuesValue(in.Values) })
	case secApprovals:
		return c.id(0, func() ast.Value { return approvalsValue(r.opts.Approvals) })
	case secNow:
		return c.id(0, func() ast.Value { return ast.String(r.opts.Now.UTC().Format(time.RFC3339)) })
	case secChange:
		return c.id(in.Change, func() ast.Value { return changeValue(in.Change) })
	case secHistory:
		return c.id(in.History, func() ast.Value { return historyValue(in.History) })
	case secWindow:
		w := in.Window
		return c.id(windowKeyOf(w), func() ast.Value { return windowValue(w) })
	case secFreezes:
		b := make([]byte, 0, 48*len(in.Freezes))
		for _, f := range in.Freezes {
			b = strconv.AppendUint(b, uint64(reflect.ValueOf(f.Freeze).Pointer()), 36)
			b = strconv.AppendBool(b, f.Active)
			b = strconv.AppendInt(b, unixOrZero(f.Start), 36)
			b = strconv.AppendInt(b, unixOrZero(f.End), 36)
			b = append(b, ';')
		}
		return c.id(string(b), func() ast.Value { return freezesValue(in.Freezes) })
	case secOverrides:
		b := make([]byte, 0, 12*len(in.Overrides))
		for _, o := range in.Overrides {
			b = strconv.AppendUint(b, uint64(reflect.ValueOf(o).Pointer()), 36)
			b = append(b, ';')
		}
		return c.id(string(b), func() ast.Value { return overridesValue(in.Overrides) })
	}
	panic("unknown section")
}

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// key computes the memo key of in.
func (r *Session) key(in *Input) memoKey {
	var k memoKey
	for s := range numSections {
		if r.caches[s] == nil {
			k[s] = -1
			continue
		}
		k[s] = r.sectionID(s, in)
	}
	return k
}

// document builds the (projected) input document of a memo key.
func (r *Session) document(k memoKey) ast.Value {
	top := ast.NewObjectWithCapacity(numSections)
	for s := range numSections {
		if k[s] >= 0 {
			top.Insert(sectionTerms[s], ast.NewTerm(r.caches[s].value(k[s])))
		}
	}
	return top
}

func valuesValue(m map[string]any) ast.Value {
	if m == nil {
		return ast.NewObject()
	}
	v, err := ast.InterfaceToValue(m)
	if err != nil { // values come from CUE and are always JSON
		return ast.NewObject()
	}
	return v
}
