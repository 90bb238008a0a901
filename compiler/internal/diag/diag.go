package diag

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Severity says how bad a finding is. Errors make a command exit 1.
type Severity string

const (
	Error   Severity = "error"
	Warning Severity = "warning"
	Info    Severity = "info"
)

// Pos is a source position relative to the repository root with forward
// slashes. Line and Col are 1-based; zero means unknown.
type Pos struct {
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	Col  int    `json:"col,omitempty"`
}

// IsValid reports whether the position names at least a file.
func (p Pos) IsValid() bool { return p.File != "" }

// String renders file:line:col, dropping unknown parts.
func (p Pos) String() string {
	switch {
	case p.File == "":
		return ""
	case p.Line == 0:
		return p.File
	case p.Col == 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Compare orders positions by file, line and column.
func (p Pos) Compare(q Pos) int {
	if c := strings.Compare(p.File, q.File); c != 0 {
		return c
	}
	if c := cmp.Compare(p.Line, q.Line); c != 0 {
		return c
	}
	return cmp.Compare(p.Col, q.Col)
}

// Diagnostic is one finding.
type Diagnostic struct {
	Pos      Pos      `json:"pos"`
	Path     string   `json:"path,omitempty"` // field path, e.g. stores."nyc-001".timezone
	Severity Severity `json:"severity"`
	Code     string   `json:"code"` // stable, e.g. "schema", "duplicate-store"
	Message  string   `json:"message"`
	// Related positions, e.g. the first definition of a duplicate.
	Related []Pos `json:"related,omitempty"`
}

// String renders "file:line:col: path: message".
func (d Diagnostic) String() string {
	var b strings.Builder
	if s := d.Pos.String(); s != "" {
		b.WriteString(s)
		b.WriteString(": ")
	}
	if d.Path != "" {
		b.WriteString(d.Path)
		b.WriteString(": ")
	}
	b.WriteString(d.Message)
	for _, r := range d.Related {
		if r.IsValid() {
			b.WriteString(" (see ")
			b.WriteString(r.String())
			b.WriteString(")")
		}
	}
	return b.String()
}

// List collects diagnostics. The zero value is ready to use. A List is not
// safe for concurrent use; merge per-worker lists instead.
type List []Diagnostic

// Add appends a diagnostic.
func (l *List) Add(d Diagnostic) {
	if d.Severity == "" {
		d.Severity = Error
	}
	*l = append(*l, d)
}

// Errorf appends an error at pos.
func (l *List) Errorf(pos Pos, path, code, format string, args ...any) {
	l.Add(Diagnostic{Pos: pos, Path: path, Severity: Error, Code: code, Message: fmt.Sprintf(format, args...)})
}

// Warnf appends a warning at pos.
func (l *List) Warnf(pos Pos, path, code, format string, args ...any) {
	l.Add(Diagnostic{Pos: pos, Path: path, Severity: Warning, Code: code, Message: fmt.Sprintf(format, args...)})
}

// Merge appends all of other.
func (l *List) Merge(other List) { *l = append(*l, other...) }

// HasErrors reports whether any diagnostic has severity Error.
func (l List) HasErrors() bool {
	for _, d := range l {
		if d.Severity == Error {
			return true
		}
	}
	return false
}

// Errors counts diagnostics of severity Error.
func (l List) Errors() int {
	n := 0
	for _, d := range l {
		if d.Severity == Error {
			n++
		}
	}
	return n
}

// Sort orders by position, then path, then message, and drops exact
// duplicates, so output is stable whatever order workers finished in.
func (l *List) Sort() {
	slices.SortStableFunc(*l, func(a, b Diagnostic) int {
		if c := a.Pos.Compare(b.Pos); c != 0 {
			return c
		}
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(a.Message, b.Message)
	})
	*l = slices.CompactFunc(*l, func(a, b Diagnostic) bool {
		return a.Pos == b.Pos && a.Path == b.Path && a.Message == b.Message && a.Code == b.Code
	})
}

// Err returns the list as an error when it holds errors, else nil. Use it
// only where a caller wants a Go error (tests, library callers).
func (l List) Err() error {
	if !l.HasErrors() {
		return nil
	}
	return &ListError{List: l}
}

// ListError wraps a List as an error.
type ListError struct{ List List }

func (e *ListError) Error() string {
	var b strings.Builder
	for i, d := range e.List {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(d.String())
	}
	return b.String()
}
