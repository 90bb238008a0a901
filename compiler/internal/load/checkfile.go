package load

import (
	"slices"
	"time"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/literal"
	"cuelang.org/go/cue/token"

	"github.com/fleetc/fleetc/compiler/internal/diag"
	"github.com/fleetc/fleetc/compiler/internal/model"
)

// checkFile runs the checks that need one entity at a time: known
// timezones, one app source, non-empty groups and freeze periods.
func (r *fileResult) checkFile(f *ast.File) {
	// pos finds a field's position by walking the file; used only when a
	// check fails.
	pos := func(fallback diag.Pos, path ...seg) diag.Pos {
		if p, ok := findPos(f, path); ok {
			return toPos(p)
		}
		return fallback
	}
	valuePos := func(fallback diag.Pos, path ...seg) diag.Pos {
		if p, ok := findValue(f, path); ok {
			return toPos(p)
		}
		return fallback
	}
	zones := map[string]bool{}
	knownZone := func(tz string) bool {
		ok, seen := zones[tz]
		if !seen {
			_, err := time.LoadLocation(tz)
			ok = err == nil && tz != "Local"
			zones[tz] = ok
		}
		return ok
	}
	for _, s := range r.Stores {
		if !knownZone(s.Timezone) {
			path := []seg{field("stores"), field(s.ID), field("timezone")}
			r.Diags.Errorf(valuePos(s.Pos, path...), formatPath(path), "unknown-timezone",
				"unknown timezone %q: want an IANA zone name such as America/New_York", s.Timezone)
		}
	}
	// Stores with schema errors are left out of r.Stores; check their
	// timezone from the file's literal, unless the schema error is the
	// timezone itself, so both problems come out in one run.
	for _, k := range r.Invalid {
		if k.Kind != model.RefStore {
			continue
		}
		path := []seg{field("stores"), field(k.Name), field("timezone")}
		p := formatPath(path)
		if slices.ContainsFunc(r.Diags, func(d diag.Diagnostic) bool { return d.Path == p }) {
			continue
		}
		tz, at, ok := literalString(f, path)
		if ok && !knownZone(tz) {
			r.Diags.Errorf(toPos(at), p, "unknown-timezone",
				"unknown timezone %q: want an IANA zone name such as America/New_York", tz)
		}
	}
	for _, a := range r.Apps {
		n := 0
		if a.Source.Helm != nil {
			n++
		}
		if a.Source.Kustomize != nil {
			n++
		}
		if a.Source.Agent != nil {
			n++
		}
		if n != 1 {
			path := []seg{field("apps"), field(a.ID), field("source")}
			what := "none"
			if n > 1 {
				what = "more than one"
			}
			r.Diags.Errorf(pos(a.Pos, path...), formatPath(path), "app-source",
				"app source must be exactly one of helm, kustomize or agent, found %s", what)
		}
	}
	for _, g := range r.Groups {
		if len(g.Stores) == 0 && len(g.Geo) == 0 && g.Selector == nil {
			r.Diags.Errorf(g.Pos, formatPath([]seg{field("groups"), field(g.Name)}), "group-empty",
				"group %q has no members: set at least one of stores, geo or selector", g.Name)
		}
	}
	for _, fr := range r.Freezes {
		start, serr := parseFreezeTime(fr.Start, fr.Local)
		end, eerr := parseFreezeTime(fr.End, fr.Local)
		for _, bad := range []struct {
			name string
			err  error
		}{{"start", serr}, {"end", eerr}} {
			if bad.err != nil {
				path := []seg{field("freezes"), field(fr.Name), field(bad.name)}
				r.Diags.Errorf(valuePos(fr.Pos, path...), formatPath(path), "freeze-time", "invalid %s time: %v", bad.name, bad.err)
			}
		}
		if serr == nil && eerr == nil && !end.After(start) {
			path := []seg{field("freezes"), field(fr.Name), field("end")}
			r.Diags.Errorf(valuePos(fr.Pos, path...), formatPath(path), "freeze-order",
				"freeze ends (%s) at or before it starts (%s)", fr.End, fr.Start)
		}
	}
	for _, h := range r.Halts {
		if _, err := time.Parse(time.RFC3339, h.Since); err != nil {
			path := []seg{field("halts"), field(h.ID), field("since")}
			r.Diags.Errorf(valuePos(h.Pos, path...), formatPath(path), "halt-time", "invalid since time %q: want RFC 3339, e.g. 2026-12-03T14:05:00Z", h.Since)
		}
	}
	r.checkInput(f)
}

// literalString returns the string literal written at path and its
// position; false when the value is not a plain string literal (a
// reference, a comprehension's result, a number).
func literalString(f *ast.File, path []seg) (string, token.Pos, bool) {
	var lit *ast.BasicLit
	walkDecls(f.Decls, nil, func(p []seg, _ token.Pos, x ast.Expr) bool {
		if lit != nil || !hasPrefix(path, p) {
			return false
		}
		if len(p) == len(path) {
			if b, ok := x.(*ast.BasicLit); ok && b.Kind == token.STRING {
				lit = b
			}
			return false
		}
		return true
	})
	if lit == nil {
		return "", token.NoPos, false
	}
	s, err := literal.Unquote(lit.Value)
	if err != nil {
		return "", token.NoPos, false
	}
	return s, lit.Pos(), true
}

// parseFreezeTime reads a freeze boundary: store-local wall-clock time
// when local, else RFC 3339 (seconds optional). Local times are compared
// as if in UTC, which orders them correctly within one store.
func parseFreezeTime(s string, local bool) (time.Time, error) {
	if local {
		return time.Parse("2006-01-02T15:04", s)
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		if t2, err2 := time.Parse("2006-01-02T15:04Z07:00", s); err2 == nil {
			return t2, nil
		}
	}
	return t, err
}
