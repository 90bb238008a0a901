package load

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/cuecontext"
	"cuelang.org/go/cue/parser"

	"github.com/fleetc/fleetc/compiler/internal/diag"
	"github.com/fleetc/fleetc/compiler/internal/model"
)

// fileResult is everything one fleet file contributes. It depends only on
// the schema and the file's name and bytes, so it can be cached by content
// hash; entity slices are sorted by id.
type fileResult struct {
	File        string
	Settings    *model.Settings
	SettingsPos diag.Pos
	Stores      []*model.Store
	Groups      []*model.Group
	Apps        []*model.App
	Rings       []*model.Ring
	Freezes     []*model.Freeze
	Overrides   []*model.Override
	Halts       []*model.Halt
	Teams       []*model.Team
	// RingOrderPos is where each ring's order is written.
	RingOrderPos map[string]diag.Pos
	// Invalid are entities declared here that failed validation; they are
	// left out of the fleet, and references to them are not reported again
	// as unknown.
	Invalid []entityKey
	Diags   diag.List
}

type entityKey struct {
	Kind model.RefKind
	Name string
}

// fileJSON is the JSON shape of #File.
type fileJSON struct {
	Settings  *model.Settings            `json:"settings"`
	Stores    map[string]*model.Store    `json:"stores"`
	Groups    map[string]*model.Group    `json:"groups"`
	Apps      map[string]*model.App      `json:"apps"`
	Rings     map[string]*model.Ring     `json:"rings"`
	Freezes   map[string]*model.Freeze   `json:"freezes"`
	Overrides map[string]*model.Override `json:"overrides"`
	Halts     map[string]*model.Halt     `json:"halts"`
	Teams     map[string]*model.Team     `json:"teams"`
}

// kinds are the top-level keys of #File that hold entities, with the
// reference kind their ids answer to.
var kinds = []struct {
	key  string
	kind model.RefKind
}{
	{"stores", model.RefStore},
	{"groups", model.RefGroup},
	{"apps", model.RefApp},
	{"rings", model.RefRing},
	{"freezes", model.RefFreeze},
	{"overrides", "override"},
	{"halts", "halt"},
	{"teams", model.RefTeam},
}

// maxPasses bounds how often a file with errors is re-evaluated to bring
// out errors that CUE reports only once others are gone (a misspelt field
// next to a bad value, a missing field next to anything).
const maxPasses = 5

// evalFile parses, validates and decodes one fleet file.
func evalFile(s *schema, rel string, src []byte) (r fileResult) {
	evaluations.Add(1)
	r = fileResult{File: rel}
	defer func() { r.Diags = capFileDiags(r.Diags) }()
	if r.Diags = prescan(rel, src); r.Diags.HasErrors() {
		return r
	}
	f, err := parser.ParseFile(rel, src)
	if err != nil {
		r.Diags = syntaxDiags(rel, err)
		return r
	}
	stores, built, ok := fastStores(s, f, src)
	if ok {
		fastFiles.Add(1)
		r.attach(&fileJSON{Stores: stores}, f)
		r.checkFile(f)
		return r
	}
	if built {
		f, err = parser.ParseFile(rel, src)
	}
	if err != nil {
		r.Diags = syntaxDiags(rel, err) // parsed a moment ago; cannot happen
		return r
	}
	v, diags, failed := validate(s, rel, src, f)
	r.Diags = diags
	var fj fileJSON
	if len(diags) == 0 {
		if err := decodeValue(v, reflect.ValueOf(&fj).Elem()); err != nil {
			r.Diags.Errorf(diag.Pos{File: rel}, "", "decode", "decode: %v", err)
			return r
		}
	} else {
		r.Invalid = decodeEach(v, &fj, failed)
	}
	r.attach(&fj, f)
	r.checkFile(f)
	return r
}

// validate evaluates the file against #File. When CUE reports errors, the
// offending fields are neutralised (set to _ or removed) and the file is
// evaluated again, so every error of the file comes out at once. failed
// holds the paths of the fields reported.
func validate(s *schema, rel string, src []byte, f *ast.File) (v cue.Value, l diag.List, failed [][]seg) {
	edits := map[string]editKind{}
	var reported [][]seg
	for pass := 0; pass < maxPasses; pass++ {
		if pass > 0 {
			var err error
			if f, err = parser.ParseFile(rel, src); err != nil {
				return v, l, reported // parsed fine before; cannot happen
			}
			applyEdits(f, edits)
		}
		ctx := cuecontext.New()
		v = s.build(ctx).Unify(ctx.BuildFile(f))
		err := v.Validate(cue.Concrete(true))
		if err == nil {
			return v, l, reported
		}
		conv := &errorConverter{schema: s, file: rel, ast: f, value: v}
		applicable := 0
		for _, g := range groupErrors(err) {
			// An error under a reported field is that field's echo; in later
			// passes an error on an enclosing field is usually a consequence
			// of the neutralised value (a comprehension testing it, say).
			if slices.ContainsFunc(reported, func(p []seg) bool {
				return hasPrefix(g.path, p) || (pass > 0 && hasPrefix(p, g.path))
			}) {
				continue
			}
			d, edit := conv.convert(g)
			l.Add(d)
			if len(g.path) > 0 {
				reported = append(reported, g.path)
			}
			if _, found := findPos(f, g.path); found && len(g.path) > 0 {
				edits[formatPath(g.path)] = edit
				applicable++
			}
		}
		if applicable == 0 {
			break
		}
	}
	return v, l, reported
}

func decodeJSON(b []byte, into any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(into)
}

// decodeEach decodes a file with errors entity by entity, keeping the
// valid ones and naming the others: those that do not decode and those
// with a reported error (their neutralised fields may have taken a
// default in the last pass).
func decodeEach(v cue.Value, fj *fileJSON, failed [][]seg) []entityKey {
	var invalid []entityKey
	bad := map[[2]string]bool{}
	for _, p := range failed {
		if len(p) >= 2 {
			bad[[2]string{p[0].name, p[1].name}] = true
		}
	}
	if sv := v.LookupPath(cue.ParsePath("settings")); sv.Exists() && !slices.ContainsFunc(failed, func(p []seg) bool {
		return p[0].name == "settings"
	}) {
		var st model.Settings
		if decodeValue(sv, reflect.ValueOf(&st).Elem()) == nil {
			fj.Settings = &st
		}
	}
	maps := map[string]func(id string, v cue.Value) error{
		"stores":    decodeInto(&fj.Stores),
		"groups":    decodeInto(&fj.Groups),
		"apps":      decodeInto(&fj.Apps),
		"rings":     decodeInto(&fj.Rings),
		"freezes":   decodeInto(&fj.Freezes),
		"overrides": decodeInto(&fj.Overrides),
		"halts":     decodeInto(&fj.Halts),
		"teams":     decodeInto(&fj.Teams),
	}
	for _, k := range kinds {
		it, err := v.LookupPath(cue.MakePath(cue.Str(k.key))).Fields()
		if err != nil {
			continue
		}
		for it.Next() {
			id := it.Selector().Unquoted()
			if bad[[2]string{k.key, id}] {
				invalid = append(invalid, entityKey{k.kind, id})
				continue
			}
			if err := maps[k.key](id, it.Value()); err != nil {
				invalid = append(invalid, entityKey{k.kind, id})
			}
		}
	}
	return invalid
}

func decodeInto[T any](m *map[string]*T) func(string, cue.Value) error {
	return func(id string, v cue.Value) error {
		var x T
		if err := decodeValue(v, reflect.ValueOf(&x).Elem()); err != nil {
			return fmt.Errorf("decode %s: %w", id, err)
		}
		if *m == nil {
			*m = map[string]*T{}
		}
		(*m)[id] = &x
		return nil
	}
}

// applyEdits neutralises the fields at the given paths in f.
func applyEdits(f *ast.File, edits map[string]editKind) {
	prefixes := map[string]bool{}
	for key := range edits {
		for _, p := range allPrefixes(key) {
			prefixes[p] = true
		}
	}
	e := &editor{edits: edits, prefixes: prefixes}
	f.Decls = e.decls(f.Decls, "")
}

// allPrefixes lists the formatted prefixes of a formatted path by
// re-walking it; paths here are short.
func allPrefixes(key string) []string {
	var out []string
	inQuote := false
	for i := 0; i < len(key); i++ {
		switch c := key[i]; {
		case c == '\\' && inQuote:
			i++
		case c == '"':
			inQuote = !inQuote
		case !inQuote && (c == '.' || c == '['):
			out = append(out, key[:i])
		}
	}
	return append(out, key)
}

type editor struct {
	edits    map[string]editKind
	prefixes map[string]bool
}

func (e *editor) decls(decls []ast.Decl, path string) []ast.Decl {
	out := decls[:0]
	for _, d := range decls {
		switch d := d.(type) {
		case *ast.Field:
			if name, ok := labelName(d.Label); ok {
				key := joinPath(path, name)
				switch e.edits[key] {
				case editDelete:
					continue
				case editTop:
					d.Value = ast.NewIdent("_")
				default:
					if e.prefixes[key] {
						d.Value = e.expr(d.Value, key)
					}
				}
			}
		case *ast.EmbedDecl:
			d.Expr = e.expr(d.Expr, path)
		}
		out = append(out, d)
	}
	return out
}

func (e *editor) expr(x ast.Expr, path string) ast.Expr {
	switch x := x.(type) {
	case *ast.StructLit:
		x.Elts = e.decls(x.Elts, path)
	case *ast.ListLit:
		for i, el := range x.Elts {
			key := indexPath(path, i)
			if e.edits[key] != editNone {
				x.Elts[i] = ast.NewIdent("_")
			} else if e.prefixes[key] {
				x.Elts[i] = e.expr(el, key)
			}
		}
	case *ast.BinaryExpr:
		if x.Op.String() == "&" {
			x.X = e.expr(x.X, path)
			x.Y = e.expr(x.Y, path)
		}
	case *ast.ParenExpr:
		x.X = e.expr(x.X, path)
	}
	return x
}
