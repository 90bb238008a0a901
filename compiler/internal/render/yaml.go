package render

import (
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// AppendYAML appends the block-style YAML form of the JSON document src
// to dst. Object keys keep the order they have in src (for encoding/json
// output: struct field order, map keys sorted). Strings are plain when
// that is unambiguous, literal blocks when multi-line and safe, double-
// quoted otherwise; numbers keep their JSON text, so json.Number values
// stay numbers. It exists because sigs.k8s.io/yaml costs 60–90 µs per
// object; this is a single pass over the JSON bytes.
func AppendYAML(dst, src []byte) ([]byte, error) {
	w := yamlWriter{src: src, out: dst}
	if err := w.node(0, ctxTop); err != nil {
		return dst, err
	}
	w.ws()
	if w.i != len(w.src) {
		return dst, w.errorf("trailing data")
	}
	return w.out, nil
}

// Where a node starts: at the beginning of the document, right after
// "key:" or right after "-".
const (
	ctxTop = iota
	ctxKey
	ctxDash
)

type yamlWriter struct {
	src []byte
	i   int
	out []byte
}

func (w *yamlWriter) errorf(format string, args ...any) error {
	return fmt.Errorf("json to yaml: offset %d: %s", w.i, fmt.Sprintf(format, args...))
}

func (w *yamlWriter) ws() {
	for w.i < len(w.src) {
		switch w.src[w.i] {
		case ' ', '\t', '\n', '\r':
			w.i++
		default:
			return
		}
	}
}

func (w *yamlWriter) indent(n int) {
	for range n {
		w.out = append(w.out, ' ')
	}
}

// node writes one JSON value. indent is the column of the key or dash
// the value belongs to.
func (w *yamlWriter) node(indent, ctx int) error {
	w.ws()
	if w.i >= len(w.src) {
		return w.errorf("unexpected end of input")
	}
	switch c := w.src[w.i]; c {
	case '{', '[':
		w.i++
		w.ws()
		closing := byte('}')
		if c == '[' {
			closing = ']'
		}
		if w.i < len(w.src) && w.src[w.i] == closing {
			w.i++
			if c == '{' {
				w.scalarText(ctx, "{}")
			} else {
				w.scalarText(ctx, "[]")
			}
			return nil
		}
		if c == '{' {
			switch ctx {
			case ctxTop:
				return w.mapping(0, false)
			case ctxKey:
				w.out = append(w.out, '\n')
				return w.mapping(indent+2, false)
			default:
				w.out = append(w.out, ' ')
				return w.mapping(indent+2, true)
			}
		}
		switch ctx {
		case ctxTop:
			return w.sequence(0, false)
		case ctxKey:
			// Sequences under a key sit at the key's column, as kubectl writes them.
			w.out = append(w.out, '\n')
			return w.sequence(indent, false)
		default:
			w.out = append(w.out, ' ')
			return w.sequence(indent+2, true)
		}
	case '"':
		s, err := w.str()
		if err != nil {
			return err
		}
		w.stringNode(indent, ctx, s)
		return nil
	default:
		start := w.i
		for w.i < len(w.src) {
			b := w.src[w.i]
			if b == ',' || b == '}' || b == ']' || b == ' ' || b == '\t' || b == '\n' || b == '\r' {
				break
			}
			w.i++
		}
		lit := w.src[start:w.i]
		if !validLiteral(lit) {
			w.i = start
			return w.errorf("invalid literal %q", lit)
		}
		w.scalarText(ctx, string(lit))
		return nil
	}
}

func (w *yamlWriter) scalarText(ctx int, text string) {
	if ctx != ctxTop {
		w.out = append(w.out, ' ')
	}
	w.out = append(w.out, text...)
	w.out = append(w.out, '\n')
}

// maxImplicitKey is below YAML's 1024-character limit on implicit keys.
const maxImplicitKey = 1000

func (w *yamlWriter) mapping(indent int, firstInline bool) error {
	for first := true; ; first = false {
		w.ws()
		if w.i >= len(w.src) || w.src[w.i] != '"' {
			return w.errorf("expected object key")
		}
		key, err := w.str()
		if err != nil {
			return err
		}
		w.ws()
		if w.i >= len(w.src) || w.src[w.i] != ':' {
			return w.errorf("expected ':'")
		}
		w.i++
		if !first || !firstInline {
			w.indent(indent)
		}
		start := len(w.out)
		w.out = appendInlineString(w.out, key)
		if len(w.out)-start > maxImplicitKey {
			// An explicit key: "? key" then ":" on its own line.
			w.out = append(w.out[:start], "? "...)
			w.out = appendInlineString(w.out, key)
			w.out = append(w.out, '\n')
			w.indent(indent)
		}
		w.out = append(w.out, ':')
		if err := w.node(indent, ctxKey); err != nil {
			return err
		}
		w.ws()
		if w.i >= len(w.src) {
			return w.errorf("unterminated object")
		}
		switch w.src[w.i] {
		case ',':
			w.i++
		case '}':
			w.i++
			return nil
		default:
			return w.errorf("expected ',' or '}'")
		}
	}
}

func (w *yamlWriter) sequence(indent int, firstInline bool) error {
	for first := true; ; first = false {
		if !first || !firstInline {
			w.indent(indent)
		}
		w.out = append(w.out, '-')
		if err := w.node(indent, ctxDash); err != nil {
			return err
		}
		w.ws()
		if w.i >= len(w.src) {
			return w.errorf("unterminated array")
		}
		switch w.src[w.i] {
		case ',':
			w.i++
		case ']':
			w.i++
			return nil
		default:
			return w.errorf("expected ',' or ']'")
		}
	}
}

// stringNode writes a string value, as a literal block when it is
// multi-line and safe to write that way.
func (w *yamlWriter) stringNode(indent, ctx int, s string) {
	if !literalSafe(s) {
		if ctx != ctxTop {
			w.out = append(w.out, ' ')
		}
		w.out = appendInlineString(w.out, s)
		w.out = append(w.out, '\n')
		return
	}
	body := s
	for len(body) > 0 && body[len(body)-1] == '\n' {
		body = body[:len(body)-1]
	}
	trailing := len(s) - len(body)
	if ctx != ctxTop {
		w.out = append(w.out, ' ')
	}
	switch trailing {
	case 0:
		w.out = append(w.out, "|-\n"...)
	case 1:
		w.out = append(w.out, "|\n"...)
	default:
		w.out = append(w.out, "|+\n"...)
	}
	col := indent + 2
	for line := range strings.SplitSeq(body, "\n") {
		if line != "" {
			w.indent(col)
			w.out = append(w.out, line...)
		}
		w.out = append(w.out, '\n')
	}
	for range trailing - 1 {
		w.out = append(w.out, '\n')
	}
}

// str decodes a JSON string starting at w.i. Lone surrogates and invalid
// UTF-8 become U+FFFD, as encoding/json decodes them.
func (w *yamlWriter) str() (string, error) {
	w.i++ // opening quote
	start := w.i
	for w.i < len(w.src) {
		b := w.src[w.i]
		if b == '"' {
			s := w.src[start:w.i]
			w.i++
			if utf8.Valid(s) {
				return string(s), nil
			}
			return string([]rune(string(s))), nil
		}
		if b == '\\' || b < 0x20 {
			break
		}
		w.i++
	}
	w.i = start
	var buf []byte
	for w.i < len(w.src) {
		b := w.src[w.i]
		switch {
		case b == '"':
			w.i++
			if !utf8.Valid(buf) {
				buf = []byte(string([]rune(string(buf))))
			}
			return string(buf), nil
		case b < 0x20:
			return "", w.errorf("control character in string")
		case b != '\\':
			buf = append(buf, b)
			w.i++
			continue
		}
		if w.i+1 >= len(w.src) {
			break
		}
		e := w.src[w.i+1]
		w.i += 2
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := w.hex4()
			if !ok {
				return "", w.errorf("invalid \\u escape")
			}
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if w.i+1 < len(w.src) && w.src[w.i] == '\\' && w.src[w.i+1] == 'u' {
					save := w.i
					w.i += 2
					var ok2 bool
					if r2, ok2 = w.hex4(); !ok2 {
						return "", w.errorf("invalid \\u escape")
					}
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						r = d
					} else {
						w.i = save // not a pair: decode the second escape on its own
						r = utf8.RuneError
					}
				} else {
					r = utf8.RuneError
				}
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", w.errorf("invalid escape \\%c", e)
		}
	}
	return "", w.errorf("unterminated string")
}

func (w *yamlWriter) hex4() (rune, bool) {
	if w.i+4 > len(w.src) {
		return 0, false
	}
	var r rune
	for _, c := range w.src[w.i : w.i+4] {
		switch {
		case '0' <= c && c <= '9':
			r = r<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	w.i += 4
	return r, true
}

// validLiteral accepts true, false, null and JSON numbers.
func validLiteral(b []byte) bool {
	switch string(b) {
	case "true", "false", "null":
		return true
	}
	return validNumber(b)
}

func validNumber(b []byte) bool {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(b)
}
