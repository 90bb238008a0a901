package load

import (
	"strconv"
	"strings"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/literal"
	"cuelang.org/go/cue/token"

	"github.com/fleetc/fleetc/compiler/internal/diag"
)

// seg is one step of a field path: a field name, or a list index when
// idx >= 0.
type seg struct {
	name string
	idx  int
}

func field(name string) seg { return seg{name: name, idx: -1} }
func index(i int) seg       { return seg{idx: i} }

// formatPath writes a path in CUE syntax with list indices in brackets:
// stores."nyc-0001".values.pos, apps.pos.dependsOn[1].
func formatPath(p []seg) string {
	var b strings.Builder
	for i, s := range p {
		if s.idx >= 0 {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(s.idx))
			b.WriteByte(']')
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(quoteLabel(s.name))
	}
	return b.String()
}

// quoteLabel quotes a field name unless it is a plain CUE identifier.
func quoteLabel(s string) string {
	if isIdent(s) {
		return s
	}
	return strconv.Quote(s)
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == '$':
		case (r >= '0' && r <= '9' || r == '_') && i > 0:
		default:
			return false
		}
	}
	return true
}

// joinPath appends one field name to a formatted path.
func joinPath(parent, name string) string {
	if parent == "" {
		return quoteLabel(name)
	}
	return parent + "." + quoteLabel(name)
}

// indexPath appends a list index to a formatted path.
func indexPath(parent string, i int) string {
	return parent + "[" + strconv.Itoa(i) + "]"
}

// parseErrorPath converts the path of a CUE error (selector strings, the
// first one #File) to segments.
func parseErrorPath(p []string) []seg {
	if len(p) > 0 && strings.HasPrefix(p[0], "#") {
		p = p[1:]
	}
	out := make([]seg, 0, len(p))
	for _, s := range p {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			out = append(out, index(n))
			continue
		}
		if strings.HasPrefix(s, `"`) {
			if u, err := strconv.Unquote(s); err == nil {
				s = u
			}
		}
		out = append(out, field(strings.TrimSuffix(s, "?")))
	}
	return out
}

// labelName returns the name of a regular field's label; hidden fields,
// definitions and dynamic or pattern labels are not part of the data.
func labelName(l ast.Label) (string, bool) {
	switch l := l.(type) {
	case *ast.Ident:
		if strings.HasPrefix(l.Name, "_") || strings.HasPrefix(l.Name, "#") {
			return "", false
		}
		return l.Name, true
	case *ast.BasicLit:
		if l.Kind != token.STRING {
			return "", false
		}
		s, err := literal.Unquote(l.Value)
		if err != nil {
			return "", false
		}
		return s, true
	}
	return "", false
}

// visitFunc sees one field (label position) or list element (element
// position) and says whether to walk into its value.
type visitFunc func(path []seg, pos token.Pos, value ast.Expr) bool

// walkDecls walks the literal structure of a file: fields, nested struct
// literals, list literals and both sides of &. Comprehensions, references
// and other expressions are not followed.
func walkDecls(decls []ast.Decl, path []seg, visit visitFunc) {
	for _, d := range decls {
		switch d := d.(type) {
		case *ast.Field:
			name, ok := labelName(d.Label)
			if !ok {
				continue
			}
			p := append(path[:len(path):len(path)], field(name))
			if visit(p, d.Label.Pos(), d.Value) {
				walkExpr(d.Value, p, visit)
			}
		case *ast.EmbedDecl:
			walkExpr(d.Expr, path, visit)
		}
	}
}

func walkExpr(x ast.Expr, path []seg, visit visitFunc) {
	switch x := x.(type) {
	case *ast.StructLit:
		walkDecls(x.Elts, path, visit)
	case *ast.ListLit:
		for i, e := range x.Elts {
			if _, ok := e.(*ast.Ellipsis); ok {
				continue
			}
			p := append(path[:len(path):len(path)], index(i))
			if visit(p, e.Pos(), e) {
				walkExpr(e, p, visit)
			}
		}
	case *ast.BinaryExpr:
		if x.Op == token.AND {
			walkExpr(x.X, path, visit)
			walkExpr(x.Y, path, visit)
		}
	case *ast.ParenExpr:
		walkExpr(x.X, path, visit)
	}
}

// hasPrefix reports whether path starts with prefix.
func hasPrefix(path, prefix []seg) bool {
	if len(prefix) > len(path) {
		return false
	}
	for i := range prefix {
		if path[i] != prefix[i] {
			return false
		}
	}
	return true
}

// findPos returns the position of the deepest prefix of target written
// literally in the file, and whether the whole target was found. It walks
// the whole file, so use it for the rare lookups (errors), not per store.
func findPos(f *ast.File, target []seg) (token.Pos, bool) {
	var best token.Pos
	bestLen := 0
	walkDecls(f.Decls, nil, func(p []seg, pos token.Pos, _ ast.Expr) bool {
		if !hasPrefix(target, p) {
			return false
		}
		if len(p) > bestLen {
			best, bestLen = pos, len(p)
		}
		return len(p) < len(target)
	})
	return best, bestLen == len(target) && bestLen > 0
}

// toPos converts a CUE position; filenames are already relative.
func toPos(p token.Pos) diag.Pos {
	if !p.IsValid() {
		return diag.Pos{}
	}
	return diag.Pos{File: p.Filename(), Line: p.Line(), Col: p.Column()}
}

// findValue returns the position of the value at target when the whole
// path is written literally in the file.
func findValue(f *ast.File, target []seg) (token.Pos, bool) {
	var at token.Pos
	walkDecls(f.Decls, nil, func(p []seg, _ token.Pos, x ast.Expr) bool {
		if !hasPrefix(target, p) || at.IsValid() {
			return false
		}
		if len(p) == len(target) {
			at = x.Pos()
			return false
		}
		return true
	})
	return at, at.IsValid()
}
