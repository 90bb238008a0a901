package render

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// appendInlineString appends s as a one-line YAML scalar: plain when no
// YAML reader can take it for anything but this string, double-quoted
// otherwise.
//
// A whole store variable, "${FLEETC_STORE_NAME}", is written plain: Flux
// substitutes in the text kustomize writes, and the ConfigMap holds the
// value double-quoted, so the quotes must come from the value alone (a
// quoted "${...}" would become ""Austin"" if kustomize kept its quotes).
func appendInlineString(dst []byte, s string) []byte {
	if plainSafe(s) || wholeStoreVar(s) {
		return append(dst, s...)
	}
	if singleQuotable(s) {
		return append(append(append(dst, '\''), s...), '\'')
	}
	return appendQuoted(dst, s)
}

// singleQuotable reports printable ASCII text with a double quote and no
// single quote: '"debug"' reads better than "\"debug\"".
func singleQuotable(s string) bool {
	if !strings.Contains(s, `"`) || strings.Contains(s, "'") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// plainSafe is deliberately narrow: it starts with a letter, '_', '/' or
// "./" (or a digit, when a letter shows it cannot be a number or date),
// holds only letters, digits and " -_./:@+=~()", has no ": " and no
// trailing ':' or space, and is not a word YAML 1.1 or 1.2 reads as a
// boolean or null (yes, on, y, null, ...). So 1.0, 0x1F, 0o17, 1e3, .inf,
// 1:20, 2024-01-01T10:00:00Z, -1 and 1.2.3 are quoted, and so are "${...}",
// '#', any flow indicator and any non-ASCII text.
func plainSafe(s string) bool {
	if s == "" {
		return false
	}
	switch c := s[0]; {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', c == '_', c == '/':
	case c == '.' && len(s) > 1 && s[1] == '/': // ./path, never .inf or .5
	case '0' <= c && c <= '9' && hasNonNumericLetter(s): // 10m0s, 3rd
	default:
		return false
	}
	letters := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
			continue
		case '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '/', c == '@', c == '+', c == '=', c == '~', c == '(', c == ')':
		case c == ':':
			if i == len(s)-1 || s[i+1] == ' ' {
				return false
			}
		case c == ' ':
			if i == len(s)-1 {
				return false
			}
		default:
			return false
		}
		letters = false
	}
	return !(letters && reservedWord(s))
}

// reservedWord reports YAML 1.1/1.2 booleans and nulls, any case.
func reservedWord(s string) bool {
	if len(s) > 5 {
		return false
	}
	var b [5]byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	switch string(b[:len(s)]) {
	case "y", "n", "yes", "no", "true", "false", "on", "off", "null":
		return true
	}
	return false
}

// appendQuoted appends s double-quoted with YAML escapes.
func appendQuoted(dst []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c < 0x20 || c == 0x7f:
				dst = append(dst, '\\', 'x', hex[c>>4], hex[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, `\uFFFD`...)
		case r == 0x85:
			dst = append(dst, `\N`...)
		case r == 0x2028:
			dst = append(dst, `\L`...)
		case r == 0x2029:
			dst = append(dst, `\P`...)
		case r == 0xFEFF || (r >= 0x80 && r < 0xA0):
			dst = append(dst, '\\', 'u', hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
		default:
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}

// literalSafe reports whether s can be a literal block (|): several lines
// of printable text, not starting with a space or a line break (which would
// need an indentation indicator), without carriage returns, tabs or
// Unicode line separators, and without lines of only spaces.
func literalSafe(s string) bool {
	if len(s) < 2 || s[0] == ' ' || s[0] == '\n' {
		return false
	}
	hasNewline := false
	lineStart := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '\n':
				if blankLine(s[lineStart:i]) {
					return false
				}
				hasNewline = true
				lineStart = i + 1
			case c < 0x20 || c == 0x7f:
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || r == 0x85 || r == 0x2028 || r == 0x2029 || r == 0xFEFF || (r >= 0x80 && r < 0xA0) {
			return false
		}
		i += size
	}
	return hasNewline && !blankLine(s[lineStart:])
}

// blankLine: non-empty and only spaces.
func blankLine(l string) bool {
	if l == "" {
		return false
	}
	for i := 0; i < len(l); i++ {
		if l[i] != ' ' {
			return false
		}
	}
	return true
}

// hasNonNumericLetter reports a letter that appears in no YAML number,
// boolean-free numeric or timestamp form: not a hex digit, not the
// b/o/x of 0b/0o/0x, not the t/z of timestamps, not e of exponents.
func hasNonNumericLetter(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20 // lower-case letters; other bytes do not matter here
		if 'g' <= c && c <= 'y' && c != 'o' && c != 't' && c != 'x' && s[i] >= 'A' {
			return true
		}
	}
	return false
}

// wholeStoreVar reports "${FLEETC_X}" for one of the quoted store variables.
func wholeStoreVar(s string) bool {
	name, ok := strings.CutPrefix(s, "${")
	if !ok {
		return false
	}
	name, ok = strings.CutSuffix(name, "}")
	return ok && slices.Contains(storeVarNames[:], name)
}
