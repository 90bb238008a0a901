package load

import (
	"fmt"
	"slices"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/token"

	"github.com/fleetc/fleetc/compiler/internal/diag"
	"github.com/fleetc/fleetc/compiler/internal/suggest"
)

// errGroup is every CUE error reported for one field path. CUE reports a
// failed disjunction as a summary plus one error per alternative; they
// become one diagnostic.
type errGroup struct {
	path []seg
	errs []cueerrors.Error
}

// groupErrors splits err by field path, in the order CUE reported them.
// A failed import is reported once, at the import, not again at each use.
func groupErrors(err error) []errGroup {
	var groups []errGroup
	at := map[string]int{}
	errs := cueerrors.Errors(err)
	badImport := slices.ContainsFunc(errs, func(e cueerrors.Error) bool {
		format, _ := e.Msg()
		return strings.Contains(format, "imported but not defined")
	})
	for _, e := range errs {
		if format, _ := e.Msg(); badImport && strings.HasPrefix(format, "import %q not found") {
			continue
		}
		p := parseErrorPath(e.Path())
		key := formatPath(p)
		i, ok := at[key]
		if !ok {
			i = len(groups)
			at[key] = i
			groups = append(groups, errGroup{path: p})
		}
		groups[i].errs = append(groups[i].errs, e)
	}
	return groups
}

// editKind says how a later pass neutralises a reported field so that
// errors CUE masked behind it come out.
type editKind int

const (
	editNone   editKind = iota
	editTop             // replace the value with _
	editDelete          // remove the field (it is not allowed at all)
)

// errorConverter turns CUE errors of one file into diagnostics.
type errorConverter struct {
	schema *schema
	file   string    // relative name of the user's file
	ast    *ast.File // the user's file, for fallback positions
	value  cue.Value // the evaluated file, for field-name suggestions
}

// convert makes one diagnostic of a group and says how to neutralise it.
func (c *errorConverter) convert(g errGroup) (diag.Diagnostic, editKind) {
	d := diag.Diagnostic{
		Pos:      c.userPos(g),
		Path:     formatPath(g.path),
		Severity: diag.Error,
		Code:     "schema",
	}
	edit := editTop
	first := g.errs[0]
	format, args := first.Msg()
	switch {
	case format == "field not allowed":
		edit = editDelete
		d.Message = c.unknownField(g.path)
	case strings.Contains(format, "imported but not defined") && len(args) > 0:
		d.Code = "import"
		d.Message = fmt.Sprintf("cannot import %q: fleet files may import only CUE's standard library", fmt.Sprint(args[0]))
	case isDisjunction(g):
		d.Message = c.disjunction(g)
	case strings.HasPrefix(format, "invalid value %v (out of bound %s)") && len(args) == 2:
		d.Message = c.outOfBound(first.Position(), fmt.Sprint(args[0]), fmt.Sprint(args[1]))
	case strings.HasPrefix(format, "incomplete value") || strings.Contains(format, "required but not present"):
		d.Message = c.incomplete(g)
	case strings.HasPrefix(format, "unresolved disjunction") && len(args) > 0:
		var at []seg
		at, d.Message = c.unresolved(g.path, fmt.Sprint(args[0]))
		if len(at) != len(g.path) {
			d.Path, d.Pos = formatPath(at), c.userPos(errGroup{path: at})
		}
	default:
		d.Message = fmt.Sprintf(format, args...)
	}
	return d, edit
}

// userPos is the first position of the group inside the user's file, else
// the deepest enclosing field written in the file, else the file itself.
func (c *errorConverter) userPos(g errGroup) diag.Pos {
	if p, ok := c.firstUserPos(g); ok {
		return toPos(p)
	}
	if p, _ := findPos(c.ast, g.path); p.IsValid() {
		return toPos(p)
	}
	return diag.Pos{File: c.file}
}

func (c *errorConverter) firstUserPos(g errGroup) (token.Pos, bool) {
	for _, e := range g.errs {
		for _, p := range append([]token.Pos{e.Position()}, e.InputPositions()...) {
			if p.IsValid() && p.Filename() == c.file {
				return p, true
			}
		}
	}
	return token.NoPos, false
}

// schemaDesc is the first description found at a schema position of the
// group, preferring the positions CUE names as the errors' own.
func (c *errorConverter) schemaDesc(g errGroup) string {
	for _, e := range g.errs {
		if d := c.schema.describe(e.Position()); d != "" && e.Position().Filename() != c.file {
			return d
		}
	}
	for _, e := range g.errs {
		for _, p := range e.InputPositions() {
			if p.Filename() == c.file {
				continue
			}
			if d := c.schema.describe(p); d != "" {
				return d
			}
		}
	}
	return ""
}

func isDisjunction(g errGroup) bool {
	for _, e := range g.errs {
		if format, _ := e.Msg(); strings.Contains(format, "empty disjunction") {
			return true
		}
	}
	return false
}

func (c *errorConverter) outOfBound(schemaPos token.Pos, value, bound string) string {
	return fmt.Sprintf("invalid value %s: want %s", value, c.boundText(schemaPos, bound))
}

// boundText describes a bound by the schema's comment on it, else by the
// bound itself.
func (c *errorConverter) boundText(schemaPos token.Pos, bound string) string {
	if d := c.schema.describe(schemaPos); d != "" {
		return d
	}
	if bound == `!=""` {
		return "a non-empty string"
	}
	if re, ok := strings.CutPrefix(bound, "=~"); ok {
		return "a string matching " + re
	}
	return bound
}

// disjunction describes a value that matched none of the alternatives:
// by the schema's comment when there is one, else by listing them.
func (c *errorConverter) disjunction(g errGroup) string {
	var value string
	var conflicts [][2]string
	var alts []string
	for _, e := range g.errs {
		format, args := e.Msg()
		switch {
		case strings.Contains(format, "empty disjunction"):
		case strings.HasPrefix(format, "conflicting values %s and %s") && len(args) == 2:
			conflicts = append(conflicts, [2]string{fmt.Sprint(args[0]), fmt.Sprint(args[1])})
		case strings.HasPrefix(format, "invalid value %v (out of bound %s)") && len(args) == 2:
			value = fmt.Sprint(args[0])
			alts = append(alts, c.boundText(e.Position(), fmt.Sprint(args[1])))
		default:
			alts = append(alts, fmt.Sprintf(format, args...))
		}
	}
	if value == "" && len(conflicts) > 0 {
		value = conflicts[0][1]
		if len(conflicts) > 1 && (conflicts[1][0] == conflicts[0][0] || conflicts[1][1] == conflicts[0][0]) {
			value = conflicts[0][0]
		}
	}
	for _, cf := range conflicts {
		if cf[0] != value {
			alts = append(alts, cf[0])
		} else {
			alts = append(alts, cf[1])
		}
	}
	if d := c.schemaDesc(g); d != "" {
		return fmt.Sprintf("invalid value %s: want %s", value, d)
	}
	var uniq []string
	for _, a := range alts {
		if !slices.Contains(uniq, a) {
			uniq = append(uniq, a)
		}
	}
	if value == "" {
		return "no alternative matches: want one of " + strings.Join(uniq, ", ")
	}
	return fmt.Sprintf("invalid value %s: want one of %s", value, strings.Join(uniq, ", "))
}

func (c *errorConverter) incomplete(g errGroup) string {
	name := "value"
	if n := len(g.path); n > 0 && g.path[n-1].idx < 0 {
		name = fmt.Sprintf("field %q", g.path[n-1].name)
	}
	if _, written := c.firstUserPos(g); written {
		format, args := g.errs[0].Msg()
		return fmt.Sprintf(format, args...) + ": want a concrete value"
	}
	if d := c.schemaDesc(g); d != "" {
		return fmt.Sprintf("missing %s: want %s", name, d)
	}
	return "missing " + name
}

// unknownField names the field and suggests the closest allowed one.
func (c *errorConverter) unknownField(path []seg) string {
	if len(path) == 0 {
		return "field not allowed"
	}
	name := path[len(path)-1].name
	msg := fmt.Sprintf("unknown field %q", name)
	parent := c.value.LookupPath(cuePath(path[:len(path)-1]))
	it, err := parent.Fields(cue.Optional(true))
	if err != nil {
		return msg
	}
	best, bestDist := "", 3
	for it.Next() {
		cand := it.Selector().Unquoted()
		if cand == name {
			continue
		}
		if d := suggest.Distance(name, cand); d < bestDist {
			best, bestDist = cand, d
		}
	}
	if best != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", best)
	}
	return msg
}

func cuePath(p []seg) cue.Path {
	sels := make([]cue.Selector, 0, len(p))
	for _, s := range p {
		if s.idx >= 0 {
			sels = append(sels, cue.Index(s.idx))
		} else {
			sels = append(sels, cue.Str(s.name))
		}
	}
	return cue.MakePath(sels...)
}

// syntaxDiags reports parse and compile errors at their positions.
func syntaxDiags(file string, err error) diag.List {
	var l diag.List
	for _, e := range cueerrors.Errors(err) {
		p := toPos(e.Position())
		if !p.IsValid() {
			p = diag.Pos{File: file}
		}
		format, args := e.Msg()
		l.Add(diag.Diagnostic{
			Pos:     p,
			Path:    formatPath(parseErrorPath(e.Path())),
			Code:    "syntax",
			Message: fmt.Sprintf(format, args...),
		})
	}
	return l
}

// unresolved explains a disjunction CUE could not decide. On a struct it
// comes from a field the struct's comprehensions test (attributes.owner
// guarding franchisee), so it names the first field of the struct that is
// not concrete.
func (c *errorConverter) unresolved(path []seg, disj string) ([]seg, string) {
	v := c.value.LookupPath(cuePath(path))
	if it, err := v.Fields(); err == nil {
		for it.Next() {
			if it.Value().Validate(cue.Concrete(true)) != nil {
				child := append(path[:len(path):len(path)], field(it.Selector().Unquoted()))
				return child, fmt.Sprintf("missing field %q: want %s", child[len(child)-1].name, strings.ReplaceAll(disj, " | ", " or "))
			}
		}
	}
	return path, fmt.Sprintf("undecided value %s: pick one", disj)
}
