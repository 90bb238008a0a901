package gen

import (
	"bufio"
	"strconv"
	"unicode/utf8"
)

// This file writes CUE text directly, laid out the way `cue fmt` lays it
// out: tabs, one field per line, and the values of consecutive scalar
// fields aligned (a struct or list value ends an alignment run).

// field is one label and value of an ordered struct.
type field struct {
	label string
	value any // string, int, bool, float64, ref, obj, inline, []string, selector
}

// obj is an ordered struct literal, written one field per line.
type obj []field

// inline is a struct literal written on one line: {open: "06:00", close: "22:00"}.
type inline []field

// longList is a list of strings written one element per line.
type longList []string

// ref is a CUE expression written as is (a reference like _hours.late).
type ref string

// cueWriter wraps a bufio.Writer; errors surface at Flush.
type cueWriter struct {
	*bufio.Writer
	scratch []byte
}

func (w *cueWriter) indent(n int) {
	for range n {
		w.WriteByte('\t')
	}
}

// quote writes a CUE (JSON-compatible) double-quoted string.
func (w *cueWriter) quote(s string) {
	b := w.scratch[:0]
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
			i++
		case c == '\n':
			b = append(b, '\\', 'n')
			i++
		case c == '\t':
			b = append(b, '\\', 't')
			i++
		case c < 0x20 || c == 0x7f:
			b = append(b, '\\', 'u', '0', '0', hexDigit[c>>4], hexDigit[c&0xf])
			i++
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				b = append(b, '\\', 'u', 'f', 'f', 'f', 'd')
			} else {
				b = append(b, s[i:i+n]...)
			}
			i += n
		}
	}
	b = append(b, '"')
	w.Write(b)
	w.scratch = b
}

const hexDigit = "0123456789abcdef"

// cueKeywords cannot be written as bare labels.
var cueKeywords = map[string]bool{
	"if": true, "for": true, "in": true, "let": true, "import": true, "package": true,
	"true": true, "false": true, "null": true, "div": true, "mod": true, "quo": true, "rem": true, "func": true,
}

// isIdent reports whether s can be a bare CUE label. A leading underscore
// makes the field hidden, which is what this package means by it.
func isIdent(s string) bool {
	if s == "" || cueKeywords[s] {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
		if !(letter || i > 0 && (c >= '0' && c <= '9' || c == '_')) {
			return false
		}
	}
	return true
}

// labelWidth is how many bytes the label takes, quotes included.
func labelWidth(s string) int {
	if isIdent(s) {
		return len(s)
	}
	return len(s) + 2 // ids and label keys here never need escapes
}

func (w *cueWriter) label(s string) {
	if isIdent(s) {
		w.WriteString(s)
		return
	}
	w.quote(s)
}

// isScalar reports whether a value takes part in value alignment.
func isScalar(v any) bool {
	switch v.(type) {
	case obj, inline, []string, longList, selector:
		return false
	}
	return true
}

// scalar writes a scalar value.
func (w *cueWriter) scalar(v any) {
	switch x := v.(type) {
	case string:
		w.quote(x)
	case ref:
		w.WriteString(string(x))
	case int:
		w.WriteString(strconv.Itoa(x))
	case bool:
		w.WriteString(strconv.FormatBool(x))
	case float64:
		s := strconv.FormatFloat(x, 'f', -1, 64)
		w.WriteString(s)
		if x == float64(int64(x)) {
			w.WriteString(".0")
		}
	default:
		panic("gen: unsupported CUE value")
	}
}

// list writes ["a", "b"] on one line.
func (w *cueWriter) list(xs []string) {
	w.WriteByte('[')
	for i, x := range xs {
		if i > 0 {
			w.WriteString(", ")
		}
		w.quote(x)
	}
	w.WriteByte(']')
}

// longList writes one element per line, for lists of ids.
func (w *cueWriter) longList(depth int, xs []string) {
	if len(xs) == 0 {
		w.WriteString("[]")
		return
	}
	w.WriteString("[\n")
	for _, x := range xs {
		w.indent(depth + 1)
		w.quote(x)
		w.WriteString(",\n")
	}
	w.indent(depth)
	w.WriteByte(']')
}

// inline writes a struct on one line: {a: 1, b: {c: "x"}}.
func (w *cueWriter) inline(o []field) {
	w.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			w.WriteString(", ")
		}
		w.label(f.label)
		w.WriteString(": ")
		w.value(0, f.value, true)
	}
	w.WriteByte('}')
}

func (w *cueWriter) value(depth int, v any, oneLine bool) {
	switch x := v.(type) {
	case obj:
		if oneLine {
			w.inline(x)
		} else {
			w.block(depth, x)
		}
	case inline:
		w.inline(x)
	case selector:
		w.selector(depth, x)
	case longList:
		w.longList(depth, x)
	case []string:
		w.list(x)
	default:
		w.scalar(x)
	}
}

// block writes a multi-line struct whose closing brace is at depth.
func (w *cueWriter) block(depth int, o obj) {
	w.WriteString("{\n")
	w.fields(depth+1, o)
	w.indent(depth)
	w.WriteByte('}')
}

// fields writes the fields of a struct at depth, aligning scalar runs.
func (w *cueWriter) fields(depth int, o obj) {
	for i := 0; i < len(o); {
		j, width := i, 0
		for j < len(o) && isScalar(o[j].value) {
			width = max(width, labelWidth(o[j].label))
			j++
		}
		if j > i+1 { // a run of at least two scalars is aligned
			for _, f := range o[i:j] {
				w.indent(depth)
				w.label(f.label)
				w.WriteByte(':')
				for range width - labelWidth(f.label) + 1 {
					w.WriteByte(' ')
				}
				w.scalar(f.value)
				w.WriteByte('\n')
			}
			i = j
			continue
		}
		f := o[i]
		w.indent(depth)
		w.label(f.label)
		w.WriteString(": ")
		w.value(depth, f.value, false)
		w.WriteByte('\n')
		i++
	}
}
