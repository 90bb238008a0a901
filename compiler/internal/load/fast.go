package load

import (
	"reflect"
	"strconv"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/cuecontext"
	"cuelang.org/go/cue/token"

	"github.com/fleetc/fleetc/compiler/internal/model"
)

// The store fast path. A store file of a large fleet declares a thousand
// stores that differ in their names and ids but repeat a few dozen distinct
// hours, jurisdictions, owners, device lists and cluster settings.
// Unifying each store with #Store costs ~400 µs of CUE; unifying each
// *distinct* field value with its field of #Store once costs a fraction.
//
// It is exact, because of a property storeShapeOf checks on the schema's
// syntax: #Store is a closed struct of plain fields none of which refers to
// another, and #File declares stores?: [ID=string]: #Store & {id: ID}.
// Then a store unifies with #Store iff each of its fields unifies
// concretely with that field of #Store, its labels are fields of #Store,
// and each absent field of #Store is concrete on its own (a default) or
// optional; and the store's value is the field-wise unification. The same
// holds one level down for a struct field whose sub-fields fall into
// independent sets (storeField.groups): attributes validates owner and
// franchisee together (a comprehension links them) and devices apart.
//
// Every value is still evaluated and checked by CUE: the distinct field
// expressions of the file go, once each, into one synthetic file next to
// the file's own hidden fields and lets (the only names they may use),
// each unified with its #Store field there.
//
// The fast path only ever says yes. A file it does not recognise (anything
// but hidden fields, lets and stores at the top), an expression using any
// other name, or any CUE error sends the file down the whole-file path,
// which reports errors with their positions as before.

// fastPart is one distinct value of one store field (or of one group of a
// split field's sub-fields) across the stores of a file.
type fastPart struct {
	key   string // list name in the synthetic file
	label string // #Store field
	group int    // -1: the field's value whole
	exprs []ast.Expr
	index map[string]int32 // source text → position in exprs
	// present[i] lists which sub-fields part i writes (split fields only).
	present []map[string]bool
}

func (p *fastPart) add(text string, e ast.Expr, present map[string]bool) int32 {
	if k, ok := p.index[text]; ok {
		return k
	}
	k := int32(len(p.exprs))
	p.index[text] = k
	p.exprs = append(p.exprs, e)
	p.present = append(p.present, present)
	return k
}

// fastStore is one store: its id and, per part, the index of its value
// (-1: absent).
type fastStore struct {
	id    string
	parts []int32
}

// fastStores validates and decodes a file that declares only stores (and
// the hidden fields and lets they use), field by distinct field. ok is
// false when it cannot: the caller then evaluates the whole file. Once
// CUE has seen f (built is true), the caller should parse it afresh.
func fastStores(s *schema, f *ast.File, src []byte) (stores map[string]*model.Store, built, ok bool) {
	sh := s.fastShape()
	if sh == nil {
		return nil, false, false
	}
	lit, keep, hidden, ok := storesOnly(f)
	if !ok {
		return nil, false, false
	}
	stores, built, ok = fastStoresOf(s, sh, f, src, lit, keep, hidden)
	return stores, built, ok
}

func fastStoresOf(s *schema, sh *storeShape, f *ast.File, src []byte, lit *ast.StructLit, keep []ast.Decl, hidden map[string]bool) (map[string]*model.Store, bool, bool) {

	// Parts: per top-level field, its values whole, and per group of a
	// split field, the group's sub-fields as a struct.
	var parts []*fastPart
	wholePart := map[string]int{}
	grouped := map[string][]int{}
	newPart := func(label string, group int) int {
		key := label
		if group >= 0 {
			key += "/" + strconv.Itoa(group)
		}
		parts = append(parts, &fastPart{key: key, label: label, group: group, index: map[string]int32{}})
		return len(parts) - 1
	}
	for _, l := range sh.order {
		if l == "id" {
			continue
		}
		wholePart[l] = newPart(l, -1)
		for g := range sh.fields[l].groups {
			grouped[l] = append(grouped[l], newPart(l, g))
		}
	}
	text := func(n ast.Node) (string, bool) {
		start, end := n.Pos().Offset(), n.End().Offset()
		if !n.Pos().IsValid() || start < 0 || end > len(src) || start >= end {
			return "", false
		}
		return string(src[start:end]), true
	}
	absent := map[string]bool{}
	seen := map[string]bool{}
	var list []fastStore
	var wholeStores []wholeStore
	for _, e := range lit.Elts {
		if _, comment := e.(*ast.CommentGroup); comment {
			continue
		}
		fd, ok := e.(*ast.Field)
		if !ok || fd.Constraint != token.ILLEGAL {
			return nil, false, false
		}
		sl, ok := fd.Value.(*ast.StructLit)
		id, _, err := ast.LabelName(fd.Label)
		if !ok || err != nil || seen[id] {
			return nil, false, false
		}
		seen[id] = true
		st := fastStore{id: id, parts: make([]int32, len(parts))}
		for i := range st.parts {
			st.parts[i] = -1
		}
		has := map[string]bool{}
		var fields []*ast.Field
		whole := false
		for _, fe := range sl.Elts {
			if _, comment := fe.(*ast.CommentGroup); comment {
				continue
			}
			if !refersOnlyTo(fe, hidden) {
				return nil, false, false
			}
			ff, ok := fe.(*ast.Field)
			if !ok {
				whole = true // an embedding, a let, a comprehension
				continue
			}
			l, ok := dataLabel(ff.Label)
			sf := sh.fields[l]
			// An optional field of #Store cannot be selected on its own
			// without losing #Store's closedness; a paused store, or one
			// with values, is unified with #Store whole, like any store
			// written in an unusual way.
			if !ok || sf == nil || sf.optional || l == "id" || has[l] || ff.Constraint != token.ILLEGAL {
				whole = true
				continue
			}
			has[l] = true
			fields = append(fields, ff)
		}
		if whole {
			wholeStores = append(wholeStores, wholeStore{id: id, lit: sl})
			continue
		}
		for _, ff := range fields {
			l, _ := dataLabel(ff.Label)
			sf := sh.fields[l]
			if subs, ok := splitValue(sf, ff.Value); ok {
				for g, members := range sf.groups {
					var b strings.Builder
					body := &ast.StructLit{}
					present := map[string]bool{}
					for _, m := range members {
						if sfd := subs[m]; sfd != nil {
							t, ok := text(sfd.Value)
							if !ok {
								return nil, false, false
							}
							b.WriteString(m + "\x00" + t + "\x00")
							body.Elts = append(body.Elts, sfd)
							present[m] = true
						}
					}
					p := grouped[l][g]
					st.parts[p] = parts[p].add(b.String(), body, present)
				}
				continue
			}
			t, ok := text(ff.Value)
			if !ok {
				return nil, false, false
			}
			p := wholePart[l]
			st.parts[p] = parts[p].add(t, ff.Value, nil)
		}
		for _, l := range sh.order {
			if !has[l] && l != "id" && !sh.fields[l].optional {
				absent[l] = true
			}
		}
		list = append(list, st)
	}

	// The synthetic file: the file's hidden fields and lets; per part, the
	// list of its distinct values unified with the #Store field; the ids;
	// and the absent required fields on their own.
	check := &ast.StructLit{}
	ids := make([]ast.Expr, len(list))
	for i, st := range list {
		ids[i] = ast.NewString(st.id)
	}
	check.Elts = append(check.Elts, &ast.Field{Label: ast.NewString("id"), Value: constrained("id", ids)})
	for _, p := range parts {
		if len(p.exprs) > 0 {
			check.Elts = append(check.Elts, &ast.Field{Label: ast.NewString(p.key), Value: constrained(p.label, p.exprs)})
		}
	}
	abs := &ast.StructLit{}
	for _, l := range sh.order {
		if absent[l] {
			abs.Elts = append(abs.Elts, &ast.Field{Label: ast.NewString(l), Value: storeSel(l)})
		}
	}
	ws := make([]ast.Expr, len(wholeStores))
	for i, w := range wholeStores {
		ws[i] = &ast.BinaryExpr{Op: token.AND,
			X: &ast.BinaryExpr{Op: token.AND, X: ast.NewIdent("#Store"),
				Y: ast.NewStruct(&ast.Field{Label: ast.NewIdent("id"), Value: ast.NewString(w.id)})},
			Y: w.lit}
	}
	syn := &ast.File{Filename: f.Filename, Decls: append(keep,
		&ast.Field{Label: ast.NewIdent("fleetcCheck"), Value: check},
		&ast.Field{Label: ast.NewIdent("fleetcAbsent"), Value: abs},
		&ast.Field{Label: ast.NewIdent("fleetcStores"), Value: ast.NewList(ws...)},
	)}
	ctx := cuecontext.New()
	v := ctx.BuildFile(syn, cue.Scope(ctx.BuildInstance(s.inst)))
	if v.Err() != nil {
		return nil, true, false
	}
	cv := v.LookupPath(cue.MakePath(cue.Str("fleetcCheck")))
	av := v.LookupPath(cue.MakePath(cue.Str("fleetcAbsent")))
	if av.Validate(cue.Concrete(true)) != nil {
		return nil, true, false
	}

	// Validate and decode each distinct value once; stores share them (the
	// model is read-only once loaded).
	st := reflect.TypeFor[model.Store]()
	idv, ok := decodeList(cv.LookupPath(cue.MakePath(cue.Str("id"))), st.Field(sh.fields["id"].goField).Type, len(list))
	if !ok {
		return nil, true, false
	}
	partVals := make([][]reflect.Value, len(parts))
	groupVals := make([][][]setField, len(parts))
	for pi, p := range parts {
		if len(p.exprs) == 0 {
			continue
		}
		lv := cv.LookupPath(cue.MakePath(cue.Str(p.key)))
		sf := sh.fields[p.label]
		if p.group < 0 {
			if partVals[pi], ok = decodeList(lv, st.Field(sf.goField).Type, len(p.exprs)); !ok {
				return nil, true, false
			}
			continue
		}
		if groupVals[pi], ok = decodeGroups(lv, sf, p, st.Field(sf.goField).Type); !ok {
			return nil, true, false
		}
	}
	wholeVals, ok := decodeList(v.LookupPath(cue.MakePath(cue.Str("fleetcStores"))), reflect.TypeFor[*model.Store](), len(wholeStores))
	if !ok {
		return nil, true, false
	}
	defaults := map[string]reflect.Value{}
	for l := range absent {
		rv := reflect.New(st.Field(sh.fields[l].goField).Type).Elem()
		if decodeValue(av.LookupPath(cue.MakePath(cue.Str(l))), rv) != nil {
			return nil, true, false
		}
		defaults[l] = rv
	}

	out := make(map[string]*model.Store, len(list))
	for i, fs := range list {
		m := &model.Store{}
		mv := reflect.ValueOf(m).Elem()
		mv.Field(sh.fields["id"].goField).Set(idv[i])
		for l, rv := range defaults {
			mv.Field(sh.fields[l].goField).Set(rv)
		}
		for pi, p := range parts {
			k := fs.parts[pi]
			if k < 0 {
				continue
			}
			fv := mv.Field(sh.fields[p.label].goField)
			if p.group < 0 {
				fv.Set(partVals[pi][k])
				continue
			}
			for _, sfv := range groupVals[pi][k] {
				fv.Field(sfv.field).Set(sfv.value)
			}
		}
		out[fs.id] = m
	}
	for i, w := range wholeStores {
		out[w.id] = wholeVals[i].Interface().(*model.Store)
	}
	return out, true, true
}

// wholeStore is a store unified with #Store as a whole.
type wholeStore struct {
	id  string
	lit *ast.StructLit
}

// storesOnly returns the stores struct of a file that declares nothing
// else but hidden fields and lets, the declarations to keep in the
// synthetic file and the names they declare.
func storesOnly(f *ast.File) (lit *ast.StructLit, keep []ast.Decl, hidden map[string]bool, ok bool) {
	hidden = map[string]bool{}
	var values []ast.Expr
	for _, d := range f.Decls {
		switch x := d.(type) {
		case *ast.Package, *ast.CommentGroup, *ast.Attribute:
			keep = append(keep, d)
		case *ast.LetClause:
			hidden[x.Ident.Name] = true
			keep = append(keep, d)
			values = append(values, x.Expr)
		case *ast.Field:
			name, isIdent, err := ast.LabelName(x.Label)
			switch {
			case err != nil || !isIdent || x.Constraint != token.ILLEGAL:
				return nil, nil, nil, false
			case strings.HasPrefix(name, "_") && name != "_" && !strings.HasPrefix(name, "_#"):
				hidden[name] = true
				keep = append(keep, d)
				values = append(values, x.Value)
			case name == "stores" && lit == nil:
				if lit, ok = x.Value.(*ast.StructLit); !ok {
					return nil, nil, nil, false
				}
			default:
				return nil, nil, nil, false
			}
		default:
			return nil, nil, nil, false
		}
	}
	// What they declare may refer only to each other: the synthetic file
	// sees the schema too, and the file on its own does not.
	for _, v := range values {
		if !refersOnlyTo(v, hidden) {
			return nil, nil, nil, false
		}
	}
	return lit, keep, hidden, lit != nil
}

// splitValue returns the sub-fields of a store's value for a split field,
// when the value is a struct literal of plain, known, distinct fields.
func splitValue(sf *storeField, e ast.Expr) (map[string]*ast.Field, bool) {
	sl, ok := e.(*ast.StructLit)
	if sf.groups == nil || !ok {
		return nil, false
	}
	subs := map[string]*ast.Field{}
	for _, el := range sl.Elts {
		if _, comment := el.(*ast.CommentGroup); comment {
			continue
		}
		fd, ok := el.(*ast.Field)
		if !ok || fd.Constraint != token.ILLEGAL {
			return nil, false
		}
		name, ok := dataLabel(fd.Label)
		if _, known := sf.sub[name]; !ok || !known || subs[name] != nil {
			return nil, false
		}
		subs[name] = fd
	}
	return subs, true
}

// setField is one decoded sub-field of a split field.
type setField struct {
	field int
	value reflect.Value
}

// decodeList validates a list of n values concretely and decodes each
// into a new value of type t.
func decodeList(lv cue.Value, t reflect.Type, n int) ([]reflect.Value, bool) {
	if lv.Validate(cue.Concrete(true)) != nil {
		return nil, false
	}
	it, err := lv.List()
	if err != nil {
		return nil, false
	}
	out := make([]reflect.Value, 0, n)
	for it.Next() {
		rv := reflect.New(t).Elem()
		if decodeValue(it.Value(), rv) != nil {
			return nil, false
		}
		out = append(out, rv)
	}
	return out, len(out) == n
}

// decodeGroups validates and decodes the values of one group of a split
// field: each sub-field of the group the value writes, and each one the
// unification makes a regular field (a default, or a field a comprehension
// requires), must be concrete. The other sub-fields of the field belong to
// other groups and are not looked at here.
func decodeGroups(lv cue.Value, sf *storeField, p *fastPart, t reflect.Type) ([][]setField, bool) {
	it, err := lv.List()
	if err != nil {
		return nil, false
	}
	members := sf.groups[p.group]
	out := make([][]setField, 0, len(p.exprs))
	for i := 0; it.Next(); i++ {
		if i >= len(p.exprs) {
			return nil, false
		}
		// The element as a whole is incomplete (the sub-fields of other
		// groups are missing); only the group's own sub-fields count.
		ev := it.Value()
		var sets []setField
		for _, m := range members {
			mv := ev.LookupPath(cue.MakePath(cue.Str(m)))
			if !mv.Exists() {
				if p.present[i][m] {
					return nil, false
				}
				continue
			}
			if mv.Validate(cue.Concrete(true)) != nil {
				return nil, false
			}
			gf := sf.sub[m].goField
			rv := reflect.New(t.Field(gf).Type).Elem()
			if decodeValue(mv, rv) != nil {
				return nil, false
			}
			sets = append(sets, setField{field: gf, value: rv})
		}
		out = append(out, sets)
	}
	return out, len(out) == len(p.exprs)
}

// constrained is [...#Store.l] & [values]: each value unified with
// #Store's field l. (Selected directly: (#Store & {l: _}).l would lose
// #Store's closedness.)
func constrained(l string, values []ast.Expr) ast.Expr {
	return &ast.BinaryExpr{Op: token.AND,
		X: ast.NewList(&ast.Ellipsis{Type: storeSel(l)}),
		Y: ast.NewList(values...)}
}

func storeSel(l string) ast.Expr {
	return &ast.SelectorExpr{X: ast.NewIdent("#Store"), Sel: ast.NewIdent(l)}
}
