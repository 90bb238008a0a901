package policy

import (
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// pathTrie is the set of input paths the policies read. A node marked
// whole is read entirely (or through a dynamic key); its children are
// then irrelevant.
type pathTrie struct {
	whole bool
	kids  map[string]*pathTrie
	keys  []string // sorted keys of kids
}

func (t *pathTrie) add(path []string) {
	n := t
	for _, k := range path {
		if n.whole {
			return
		}
		if n.kids == nil {
			n.kids = map[string]*pathTrie{}
		}
		c, ok := n.kids[k]
		if !ok {
			c = &pathTrie{}
			n.kids[k] = c
			n.keys = append(n.keys, k)
			slices.Sort(n.keys)
		}
		n = c
	}
	n.whole = true
	n.kids, n.keys = nil, nil
}

// inputPaths collects the static prefix of every reference to input in
// the modules: input.store.jurisdiction.region reads that path; input,
// input[x] or a dynamic key reads the whole of what precedes it.
func inputPaths(modules map[string]*ast.Module) *pathTrie {
	root := &pathTrie{}
	for _, m := range modules {
		ast.WalkTerms(m, func(t *ast.Term) bool {
			switch v := t.Value.(type) {
			case ast.Ref:
				if !v.HasPrefix(ast.InputRootRef) {
					return false
				}
				var path []string
				for _, p := range v[1:] {
					s, ok := p.Value.(ast.String)
					if !ok {
						break
					}
					path = append(path, string(s))
				}
				root.add(path)
				// Keep walking: dynamic keys may themselves read input.
				for _, p := range v[1:] {
					ast.WalkTerms(p, func(t *ast.Term) bool { return visitBareInput(root, t) })
				}
				return true
			case ast.Var:
				if v.Equal(ast.InputRootDocument.Value) {
					root.add(nil)
				}
			}
			return false
		})
	}
	return root
}

func visitBareInput(root *pathTrie, t *ast.Term) bool {
	if r, ok := t.Value.(ast.Ref); ok && r.HasPrefix(ast.InputRootRef) {
		root.add(nil) // a reference to input inside a key: be safe
		return true
	}
	if v, ok := t.Value.(ast.Var); ok && v.Equal(ast.InputRootDocument.Value) {
		root.add(nil)
	}
	return false
}

// project keeps only the paths of t in v. Values that are not objects are
// kept whole.
func project(v ast.Value, t *pathTrie) ast.Value {
	if t.whole {
		return v
	}
	o, ok := v.(ast.Object)
	if !ok {
		return v
	}
	out := ast.NewObjectWithCapacity(len(t.keys))
	for _, k := range t.keys {
		c := o.Get(ast.StringTerm(k))
		if c == nil {
			continue
		}
		out.Insert(ast.StringTerm(k), ast.NewTerm(project(c.Value, t.kids[k])))
	}
	return out
}

// String lists the paths, one per line, for debugging and docs.
func (t *pathTrie) String() string {
	var lines []string
	var walk func(n *pathTrie, prefix string)
	walk = func(n *pathTrie, prefix string) {
		if n.whole {
			lines = append(lines, prefix)
			return
		}
		for _, k := range n.keys {
			walk(n.kids[k], prefix+"."+k)
		}
	}
	walk(t, "input")
	return strings.Join(lines, "\n")
}
