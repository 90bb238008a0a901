package load

import (
	"reflect"
	"slices"
	"strings"
	"sync"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/format"
	"cuelang.org/go/cue/token"

	"github.com/fleetc/fleetc/compiler/internal/model"
)

// storeShape is what the store fast path (fast.go) needs to know about
// the schema's #Store, read from its syntax. A nil shape means the schema
// lacks the property the fast path relies on.
type storeShape struct {
	fields map[string]*storeField // #Store's top-level labels
	order  []string               // in declaration order
}

// storeField is one top-level field of #Store.
type storeField struct {
	optional bool
	goField  int // index in model.Store
	// groups, when set, split a struct field's sub-fields into sets that
	// are validated apart: sub-fields that refer to each other, directly or
	// through a comprehension (attributes' "if owner == franchise"), share
	// a set. nil: the field's value is validated whole.
	groups [][]string
	sub    map[string]subField
}

type subField struct {
	group   int
	goField int // index in the Go struct of the field
}

var (
	shapeMu    sync.Mutex
	shapeCache = map[[32]byte]*storeShape{} // by schema hash
)

// fastShape returns the schema's store shape, or nil when the fast path
// does not apply to it.
func (s *schema) fastShape() *storeShape {
	shapeMu.Lock()
	defer shapeMu.Unlock()
	if sh, ok := shapeCache[s.hash]; ok {
		return sh
	}
	sh := storeShapeOf(s.inst.Files)
	shapeCache[s.hash] = sh
	return sh
}

// storeShapeOf checks the property: #Store is one struct literal of plain
// fields (no embedding, comprehension, let or pattern at its top level)
// whose values refer to none of its top-level labels, every label has a
// model.Store field of the same JSON name, id is required, and #File
// declares stores?: [ID=string]: #Store & {id: ID}.
func storeShapeOf(files []*ast.File) *storeShape {
	var store, file *ast.StructLit
	for _, f := range files {
		for _, d := range f.Decls {
			fd, ok := d.(*ast.Field)
			if !ok {
				continue
			}
			name, _, err := ast.LabelName(fd.Label)
			if err != nil || name != "#Store" && name != "#File" {
				continue
			}
			sl, isStruct := fd.Value.(*ast.StructLit)
			if !isStruct || name == "#Store" && store != nil || name == "#File" && file != nil {
				return nil
			}
			if name == "#Store" {
				store = sl
			} else {
				file = sl
			}
		}
	}
	if store == nil || file == nil || !fileDeclaresStores(file) {
		return nil
	}
	st := reflect.TypeFor[model.Store]()
	goFields := jsonFields(st)
	sh := &storeShape{fields: map[string]*storeField{}}
	for _, d := range store.Elts {
		if _, comment := d.(*ast.CommentGroup); comment {
			continue
		}
		fd, ok := d.(*ast.Field)
		if !ok {
			return nil
		}
		name, ok := plainLabel(fd.Label)
		gi, known := goFields[name]
		if !ok || !known || sh.fields[name] != nil || fd.Constraint == token.NOT {
			return nil
		}
		sf := &storeField{optional: fd.Constraint == token.OPTION, goField: gi}
		if ft := st.Field(gi).Type; ft.Kind() == reflect.Struct {
			if sl, ok := fd.Value.(*ast.StructLit); ok {
				sf.groups, sf.sub = splitStruct(sl, ft)
			}
		}
		sh.fields[name] = sf
		sh.order = append(sh.order, name)
	}
	for _, d := range store.Elts {
		if fd, ok := d.(*ast.Field); ok {
			for _, id := range identsOf(fd.Value) {
				if sh.fields[id] != nil {
					return nil
				}
			}
		}
	}
	if id := sh.fields["id"]; id == nil || id.optional {
		return nil
	}
	return sh
}

// splitStruct groups a struct schema's fields into independently
// validatable sets, or returns nil when its syntax is anything but plain
// fields and comprehensions over them, or a field has no Go counterpart.
func splitStruct(sl *ast.StructLit, goType reflect.Type) ([][]string, map[string]subField) {
	goFields := jsonFields(goType)
	var labels []string
	parent := map[string]string{}
	var find func(string) string
	find = func(x string) string {
		if parent[x] != x {
			parent[x] = find(parent[x])
		}
		return parent[x]
	}
	union := func(a, b string) { parent[find(a)] = find(b) }
	for _, d := range sl.Elts {
		fd, ok := d.(*ast.Field)
		if !ok {
			continue
		}
		name, ok := plainLabel(fd.Label)
		if _, known := goFields[name]; !ok || !known || fd.Constraint == token.NOT {
			return nil, nil
		}
		if _, dup := parent[name]; !dup {
			parent[name] = name
			labels = append(labels, name)
		}
	}
	link := func(self string, n ast.Node) {
		for _, id := range identsOf(n) {
			if _, ok := parent[id]; ok {
				union(self, id)
			}
		}
	}
	for _, d := range sl.Elts {
		switch x := d.(type) {
		case *ast.CommentGroup:
		case *ast.Field:
			name, _ := plainLabel(x.Label)
			link(name, x.Value)
		case *ast.Comprehension:
			body, ok := x.Value.(*ast.StructLit)
			if !ok || len(labels) == 0 {
				return nil, nil
			}
			anchor := labels[0]
			declared := false
			for _, e := range body.Elts {
				fd, ok := e.(*ast.Field)
				if !ok {
					return nil, nil
				}
				name, ok := plainLabel(fd.Label)
				if _, known := parent[name]; !ok || !known {
					return nil, nil // declares a field the struct does not list
				}
				if !declared {
					anchor, declared = name, true
				}
				union(anchor, name)
				link(anchor, fd.Value)
			}
			for _, c := range x.Clauses {
				link(anchor, c)
			}
		default:
			return nil, nil
		}
	}
	byRoot := map[string]int{}
	var groups [][]string
	sub := map[string]subField{}
	for _, l := range labels {
		r := find(l)
		g, ok := byRoot[r]
		if !ok {
			g = len(groups)
			byRoot[r] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], l)
		sub[l] = subField{group: g, goField: goFields[l]}
	}
	return groups, sub
}

// jsonFields maps JSON names to field indexes of a struct type.
func jsonFields(t reflect.Type) map[string]int {
	m := map[string]int{}
	for i := range t.NumField() {
		if tag, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); tag != "" && tag != "-" {
			m[tag] = i
		}
	}
	return m
}

// plainLabel is an identifier label that is neither hidden nor a
// definition.
func plainLabel(l ast.Label) (string, bool) {
	if _, isIdent, _ := ast.LabelName(l); !isIdent {
		return "", false
	}
	return dataLabel(l)
}

// dataLabel is a field label of a store: an identifier, quoted or not,
// that is neither hidden nor a definition.
func dataLabel(l ast.Label) (string, bool) {
	name, _, err := ast.LabelName(l)
	if err != nil || !ast.IsValidIdent(name) || strings.HasPrefix(name, "_") || strings.HasPrefix(name, "#") {
		return "", false
	}
	return name, true
}

// fileDeclaresStores reports whether #File has exactly
// stores?: [ID=string]: #Store & {id: ID}.
func fileDeclaresStores(file *ast.StructLit) bool {
	for _, d := range file.Elts {
		fd, ok := d.(*ast.Field)
		if !ok {
			continue
		}
		if name, _, _ := ast.LabelName(fd.Label); name != "stores" {
			continue
		}
		b, err := format.Node(fd.Value)
		return err == nil && strings.Join(strings.Fields(string(b)), " ") == "{ [ID=string]: #Store & {id: ID} }"
	}
	return false
}

// identsOf lists the identifiers an expression refers to: not labels, not
// the selected names of a.b.
func identsOf(n ast.Node) []string {
	var out []string
	ast.Walk(n, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.Ident:
			out = append(out, x.Name)
		case *ast.SelectorExpr:
			out = append(out, identsOf(x.X)...)
			return false
		case *ast.Field:
			if x.Value != nil {
				out = append(out, identsOf(x.Value)...)
			}
			return false
		}
		return true
	}, nil)
	return out
}

// predeclared are the identifiers CUE declares itself.
var predeclared = map[string]bool{
	"_": true, "null": true, "true": true, "false": true, "bool": true, "int": true,
	"float": true, "number": true, "string": true, "bytes": true, "uint": true,
	"int8": true, "int16": true, "int32": true, "int64": true, "int128": true,
	"uint8": true, "uint16": true, "uint32": true, "uint64": true, "uint128": true,
	"float32": true, "float64": true, "rune": true,
	"len": true, "close": true, "and": true, "or": true, "div": true, "mod": true, "quo": true, "rem": true,
}

// refersOnlyTo reports whether every identifier e uses is predeclared or
// one of names.
func refersOnlyTo(e ast.Node, names map[string]bool) bool {
	return !slices.ContainsFunc(identsOf(e), func(id string) bool { return !names[id] && !predeclared[id] })
}
