package load

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"cuelang.org/go/cue/scanner"
	"cuelang.org/go/cue/token"

	"github.com/fleetc/fleetc/compiler/internal/diag"
)

// Limits on one fleet file and on what it declares (docs/fleet-input.md).
// Each is checked before the file is evaluated where it can be, so that
// hostile or broken input fails early, at its position, in time linear in
// the file's size.
const (
	// MaxFileBytes bounds a fleet file; a larger one is not read.
	MaxFileBytes = 4 << 20
	// MaxLineBytes bounds one line: room for one string of the largest
	// size. (On one line CUE's parser reports one error and goes on, so
	// a long line of garbage costs time, not errors.)
	MaxLineBytes = MaxStringBytes + 4<<10
	// MaxStringBytes bounds one string: a literal in a file, or a string
	// in the evaluated values, names or sources.
	MaxStringBytes = 1 << 20
	// MaxValuesBytes bounds one app's values, one group override's values
	// and one store's values for one app, counted as the bytes of their
	// keys, strings and numbers (about their JSON size). A Kubernetes
	// object is at most ~1.5 MB in etcd; Flux could not apply more.
	MaxValuesBytes = 1 << 20
	// MaxDepth bounds nesting: of braces, brackets and parentheses plus
	// the fields of a label chain (a: b: c: 1) in a file, and of maps and
	// lists in the evaluated values.
	MaxDepth = 64
	// MaxExprOps bounds the operators of one expression (a & b & ...,
	// x.y.z, - - x): each is one level of the syntax tree CUE walks
	// recursively.
	MaxExprOps = 1000
	// MaxStructFields bounds the fields written in one struct (or at the
	// top of a file): CUE finds a field among its siblings by a linear
	// search, so a struct of n fields costs n² (40,000 took 27 s).
	MaxStructFields = 10000
	// MaxFileErrors diagnostics are kept per file and MaxErrors in all;
	// the rest are counted in one more diagnostic ("and N more").
	MaxFileErrors = 50
	MaxErrors     = 500
)

// Diagnostic codes of the limits.
const (
	codeTooLarge  = "too-large"   // file, string or values over their limit
	codeTooDeep   = "too-deep"    // nesting over MaxDepth
	codeBinary    = "binary"      // a NUL byte: not a text file
	codeEncoding  = "encoding"    // not UTF-8
	codeEmpty     = "empty-file"  // a fleet file that declares nothing
	codeMore      = "more-errors" // the count of diagnostics left out
	codeSyntax    = "syntax"
	fileStartLine = 1
)

// errTooLarge is a fleet file over MaxFileBytes, found before reading it
// whole.
type errTooLarge struct{ size int64 }

func (e errTooLarge) Error() string {
	return fmt.Sprintf("file of %s is over the limit of %s", byteSize(e.size), byteSize(MaxFileBytes))
}

// tooLargeFile is the result of a file over MaxFileBytes: it is neither
// read whole nor evaluated.
func tooLargeFile(rel string, size int64) fileResult {
	r := fileResult{File: rel}
	r.Diags.Errorf(diag.Pos{File: rel, Line: fileStartLine, Col: 1}, "", codeTooLarge,
		"file is %s, over the limit of %s for one fleet file: split it (e.g. one inventory file per region)", byteSize(size), byteSize(MaxFileBytes))
	return r
}

// prescan looks at a file's bytes and tokens before CUE parses it: NUL
// bytes, invalid UTF-8, nesting deeper than MaxDepth, string literals over
// MaxStringBytes, and more than MaxFileErrors scanner errors (CUE's parser
// keeps every scanner error in a list it deduplicates on each append, so
// a megabyte of random bytes took minutes). It returns the diagnostics
// that stop the file, or nil when the parser may go ahead.
func prescan(rel string, src []byte) diag.List {
	var l diag.List
	at := func(off int) diag.Pos { return offsetPos(rel, src, off) }
	if i := bytes.IndexByte(src, 0); i >= 0 {
		l.Errorf(at(i), "", codeBinary,
			"not a text file (a NUL byte here): fleet files are CUE source; remove it from inventory/, apps/ and rings/ or rename it without .cue")
		return l
	}
	if i := firstInvalidUTF8(src); i >= 0 {
		l.Errorf(at(i), "", codeEncoding,
			"not valid UTF-8 (byte 0x%02x here): fleet files must be UTF-8; save the file as UTF-8", src[i])
		return l
	}
	// CUE's scanner recurses into nested attributes (@a(@a(...))) and
	// its parser into nested brackets; either overflows the stack, a
	// fatal error, on a few megabytes: bracket depth is checked on the
	// bytes first.
	if off := longLine(src); off >= 0 {
		l.Errorf(at(off), "", codeTooLarge,
			"line longer than %s: break it up", byteSize(MaxLineBytes))
		return l
	}
	if off := bracketDepth(src); off >= 0 {
		l.Errorf(at(off), "", codeTooDeep,
			"nesting deeper than %d levels (braces, brackets, parentheses and chained fields a: b: c:): flatten the value", MaxDepth)
		return l
	}
	if len(bytes.TrimSpace(src)) == 0 {
		// A file truncated to nothing must not read as its stores leaving
		// the fleet. (A package clause alone is a deliberate placeholder.)
		l.Errorf(diag.Pos{File: rel, Line: 1, Col: 1}, "", codeEmpty,
			"the file is empty: delete it if that is meant (stores leave the fleet by removing their entries, never by emptying a file)")
		return l
	}
	file := token.NewFile(rel, -1, len(src))
	var errs diag.List
	var firstLeftOut diag.Pos
	nerr := 0
	var sc scanner.Scanner
	sc.Init(file, src, func(p token.Pos, msg string, args []any) {
		nerr++
		if len(errs) < MaxFileErrors {
			errs.Errorf(toPos(p), "", codeSyntax, msg, args...)
		} else if nerr == MaxFileErrors+1 {
			firstLeftOut = toPos(p)
		}
	}, 0)
	if stop := scanTokens(&sc, rel, &l); stop {
		return l
	}
	if nerr <= MaxFileErrors {
		return nil // the parser reports them, with its own
	}
	errs.Add(moreErrors(firstLeftOut, nerr-MaxFileErrors, "syntax errors in this file", MaxFileErrors))
	return errs
}

// scanTokens reads every token, tracking nesting, and reports the first
// limit crossed into l (stop true). A panic of the scanner on input the
// parser would drive differently (interpolations out of order) ends the
// scan without a verdict: the parser then decides.
func scanTokens(sc *scanner.Scanner, rel string, l *diag.List) (stop bool) {
	defer func() {
		if recover() != nil {
			stop = false
		}
	}()
	// Each open bracket is a frame; a frame counts the colons of the
	// label chain since its last comma. depth is the frames plus those
	// colons; ops counts operators in a row (unary chains: - - - x).
	type frame struct {
		colons, ops, fields int
		list                bool
	}
	frames := []frame{{}}
	depth := 0
	var interp []int // depth at each open interpolation
	tooDeep := func(p token.Pos) bool {
		l.Errorf(toPos(p), "", codeTooDeep,
			"nesting deeper than %d levels (braces, brackets, parentheses and chained fields a: b: c:): flatten the value", MaxDepth)
		return true
	}
	for {
		p, tok, lit := sc.Scan()
		if tok.IsOperator() && tok != token.COMMA && tok != token.COLON && !isBracket(tok) {
			f := &frames[len(frames)-1]
			if f.ops++; f.ops > MaxExprOps {
				l.Errorf(toPos(p), "", codeTooDeep,
					"an expression with more than %d operators: split it into fields", MaxExprOps)
				return true
			}
		}
		switch tok {
		case token.EOF:
			return false
		case token.STRING, token.INTERPOLATION:
			if len(lit) > MaxStringBytes {
				l.Errorf(toPos(p), "", codeTooLarge,
					"string of %s, over the limit of %s for one string", byteSize(int64(len(lit))), byteSize(MaxStringBytes))
				return true
			}
			if tok == token.INTERPOLATION {
				interp = append(interp, depth)
			}
		case token.LBRACE, token.LBRACK, token.LPAREN:
			frames = append(frames, frame{list: tok != token.LBRACE})
			depth++
			if depth > MaxDepth {
				return tooDeep(p)
			}
		case token.RBRACE, token.RBRACK, token.RPAREN:
			if len(frames) > 1 {
				depth -= 1 + frames[len(frames)-1].colons
				frames = frames[:len(frames)-1]
			}
			if tok == token.RPAREN && len(interp) > 0 && depth == interp[len(interp)-1] {
				interp = interp[:len(interp)-1]
				if seg := sc.ResumeInterpolation(); strings.HasSuffix(seg, "(") {
					interp = append(interp, depth)
				}
			}
		case token.COLON:
			frames[len(frames)-1].colons++
			depth++
			if depth > MaxDepth {
				return tooDeep(p)
			}
		case token.COMMA:
			if f := &frames[len(frames)-1]; !f.list {
				if f.fields++; f.fields > MaxStructFields {
					l.Errorf(toPos(p), "", codeTooLarge,
						"more than %d fields in one struct: split the file (e.g. inventory files of a few thousand stores)", MaxStructFields)
					return true
				}
			}
			depth -= frames[len(frames)-1].colons
			frames[len(frames)-1].colons, frames[len(frames)-1].ops = 0, 0
		}
	}
}

// longLine returns the offset where the first line over MaxLineBytes
// starts, or -1.
func longLine(src []byte) int {
	for start := 0; start < len(src); {
		n := bytes.IndexByte(src[start:], '\n')
		if n < 0 {
			n = len(src) - start
		}
		if n > MaxLineBytes {
			return start
		}
		start += n + 1
	}
	return -1
}

// bracketDepth returns the offset of the first bracket nested deeper
// than MaxDepth, or -1. It knows CUE's comments, strings (quoted with " or
// ', triple-quoted, #-raw) and interpolations well enough to skip what is
// quoted; brackets in code and in interpolations count.
func bracketDepth(src []byte) int {
	type ctx struct {
		quote  byte // 0: a bracket or an interpolation's parenthesis
		multi  bool
		hashes int
	}
	var stack []ctx
	depth := 0
	inString := func() *ctx {
		if n := len(stack); n > 0 && stack[n-1].quote != 0 {
			return &stack[n-1]
		}
		return nil
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		if s := inString(); s != nil {
			switch {
			case c == '\\':
				j := i + 1
				h := 0
				for j < len(src) && src[j] == '#' && h < s.hashes {
					j, h = j+1, h+1
				}
				if h != s.hashes || j >= len(src) {
					continue
				}
				if src[j] == '(' {
					stack = append(stack, ctx{}) // the interpolation's parenthesis
					if depth++; depth > MaxDepth {
						return j
					}
				}
				i = j
			case c == '\n' && !s.multi:
				stack = stack[:len(stack)-1] // unterminated; the scanner says so
			case c == s.quote:
				n := 1
				if s.multi {
					n = 3
				}
				j := i
				for k := 0; k < n; k++ {
					if j >= len(src) || src[j] != s.quote {
						j = -1
						break
					}
					j++
				}
				if j < 0 {
					continue
				}
				h := 0
				for j < len(src) && src[j] == '#' && h < s.hashes {
					j, h = j+1, h+1
				}
				if h == s.hashes {
					stack = stack[:len(stack)-1]
					i = j - 1
				}
			}
			continue
		}
		switch c {
		case '/':
			if i+1 < len(src) && src[i+1] == '/' {
				for i < len(src) && src[i] != '\n' {
					i++
				}
			}
		case '#', '"', '\'':
			j, h := i, 0
			for j < len(src) && src[j] == '#' {
				j, h = j+1, h+1
			}
			if j >= len(src) || src[j] != '"' && src[j] != '\'' {
				i = j - 1
				continue
			}
			q := src[j]
			multi := j+2 < len(src) && src[j+1] == q && src[j+2] == q
			if multi {
				j += 2
			}
			stack = append(stack, ctx{quote: q, multi: multi, hashes: h})
			i = j
		case '(', '[', '{':
			stack = append(stack, ctx{})
			if depth++; depth > MaxDepth {
				return i
			}
		case ')', ']', '}':
			if n := len(stack); n > 0 {
				stack = stack[:n-1]
				depth--
			}
		}
	}
	return -1
}

func isBracket(t token.Token) bool {
	switch t {
	case token.LBRACE, token.LBRACK, token.LPAREN, token.RBRACE, token.RBRACK, token.RPAREN:
		return true
	}
	return false
}

func firstInvalidUTF8(b []byte) int {
	if utf8.Valid(b) {
		return -1
	}
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}

// offsetPos is the line and column (in bytes, 1-based) of a byte offset.
func offsetPos(rel string, src []byte, off int) diag.Pos {
	line := 1 + bytes.Count(src[:off], []byte{'\n'})
	col := off - bytes.LastIndexByte(src[:off], '\n')
	return diag.Pos{File: rel, Line: line, Col: col}
}

// moreErrors is the diagnostic that counts the ones left out, at the
// first of them (so it sorts after the ones shown).
func moreErrors(at diag.Pos, n int, what string, shown int) diag.Diagnostic {
	return diag.Diagnostic{Pos: at, Severity: diag.Error, Code: codeMore,
		Message: fmt.Sprintf("and %d more %s from here on (the first %d are shown): fix those and run again", n, what, shown)}
}

// capFileDiags keeps the first MaxFileErrors diagnostics of one file, in
// position order, and counts the rest.
func capFileDiags(l diag.List) diag.List {
	if len(l) <= MaxFileErrors {
		return l
	}
	l.Sort()
	out := append(diag.List(nil), l[:MaxFileErrors]...)
	out.Add(moreErrors(l[MaxFileErrors].Pos, len(l)-MaxFileErrors, "errors in this file", MaxFileErrors))
	return out
}

// capDiags keeps the first MaxErrors diagnostics of a sorted list and
// counts the rest in a last one.
func capDiags(l diag.List) diag.List {
	if len(l) <= MaxErrors {
		return l
	}
	out := append(diag.List(nil), l[:MaxErrors]...)
	out.Add(moreErrors(l[MaxErrors].Pos, len(l)-MaxErrors, "errors", MaxErrors))
	return out
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
