package load

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/build"
	"cuelang.org/go/cue/cuecontext"
	cueerrors "cuelang.org/go/cue/errors"
	cueload "cuelang.org/go/cue/load"
	"cuelang.org/go/cue/token"

	"github.com/fleetc/fleetc/compiler/internal/diag"
	"github.com/fleetc/fleetc/compiler/internal/model"
	"github.com/fleetc/fleetc/schemas"
)

// schema is the loaded schema module: its build instance (built into each
// file's fresh cue.Context), the descriptions of its constraints taken
// from doc comments (for human error messages) and the #Settings defaults.
type schema struct {
	inst     *build.Instance
	source   string // "schemas" or "embedded defaults"
	spans    []descSpan
	settings model.Settings
	// hash covers every file of the schema module; it is part of each
	// cache key.
	hash [32]byte
}

// descSpan is a schema field with a comment, used to describe what a
// value in that field must look like.
type descSpan struct {
	file       string
	start, end int // byte offsets
	desc       string
}

// loadSchema loads <root>/schemas when it exists, else the embedded copy.
// Problems in a repository's own schemas are diagnostics; problems in the
// embedded copy are bugs.
func loadSchema(root string) (*schema, diag.List, error) {
	dir := filepath.Join(root, "schemas")
	var cfg *cueload.Config
	source := "schemas"
	var tree fs.FS = schemas.FS
	if fi, err := os.Stat(filepath.Join(dir, "cue.mod")); err == nil && fi.IsDir() {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return nil, nil, fmt.Errorf("load schemas: %w", err)
		}
		cfg = &cueload.Config{Dir: abs}
		tree = os.DirFS(abs)
	} else {
		source = "embedded defaults"
		cfg = &cueload.Config{
			FS:         schemas.FS,
			Dir:        "/",
			FromFSPath: func(p string) string { return "schemas/" + strings.TrimPrefix(p, "/") },
		}
	}
	insts := cueload.Instances([]string{"."}, cfg)
	if len(insts) != 1 {
		return nil, nil, fmt.Errorf("load schemas (%s): %d instances", source, len(insts))
	}
	inst := insts[0]
	if inst.Err != nil {
		return nil, schemaDiags(root, inst.Err), nil
	}
	ctx := cuecontext.New()
	v := ctx.BuildInstance(inst)
	if err := v.Err(); err != nil {
		return nil, schemaDiags(root, err), nil
	}
	s := &schema{inst: inst, source: source}
	hash, err := hashTree(tree, source)
	if err != nil {
		return nil, nil, fmt.Errorf("load schemas: %w", err)
	}
	s.hash = hash
	if !v.LookupPath(cue.ParsePath("#File")).Exists() {
		var l diag.List
		l.Errorf(diag.Pos{File: "schemas"}, "", "schema-invalid", "schemas (%s) define no #File", source)
		return nil, l, nil
	}
	settings := v.LookupPath(cue.ParsePath("#Settings"))
	b, err := settings.MarshalJSON()
	if err != nil {
		return nil, schemaDiags(root, err), nil
	}
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(&s.settings); err != nil {
		return nil, nil, fmt.Errorf("decode #Settings defaults: %w", err)
	}
	for _, f := range inst.Files {
		s.spans = append(s.spans, describeFields(f)...)
	}
	return s, nil, nil
}

// hashTree hashes the name and content of every regular file under fsys
// (the schema module: its .cue files and cue.mod) in walk order, which is
// lexical.
func hashTree(fsys fs.FS, source string) ([32]byte, error) {
	h := sha256.New()
	writeLenPrefixed(h, []byte(source))
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		writeLenPrefixed(h, []byte(p))
		writeLenPrefixed(h, b)
		return nil
	})
	var sum [32]byte
	h.Sum(sum[:0])
	return sum, err
}

// build evaluates the schema in ctx and returns #File.
func (s *schema) build(ctx *cue.Context) cue.Value {
	return ctx.BuildInstance(s.inst).LookupPath(cue.ParsePath("#File"))
}

// schemaDiags reports errors in the schemas themselves at their own
// positions (the one case where a schema line is the right place).
func schemaDiags(root string, err error) diag.List {
	var l diag.List
	for _, e := range cueerrors.Errors(err) {
		p := toPos(e.Position())
		if rel, rerr := filepath.Rel(root, p.File); rerr == nil && filepath.IsAbs(p.File) {
			p.File = filepath.ToSlash(rel)
		}
		format, args := e.Msg()
		l.Errorf(p, strings.Join(e.Path(), "."), "schema-invalid", "schemas: %s", fmt.Sprintf(format, args...))
	}
	return l
}

// describeFields collects every field of a schema file with its comment.
func describeFields(f *ast.File) []descSpan {
	var out []descSpan
	ast.Walk(f, func(n ast.Node) bool {
		fd, ok := n.(*ast.Field)
		if !ok {
			return true
		}
		out = append(out, descSpan{
			file:  fd.Pos().Filename(),
			start: fd.Pos().Offset(),
			end:   fd.End().Offset(),
			desc:  commentText(fd),
		})
		return true
	}, nil)
	return out
}

// commentText turns a field's doc or line comment into a phrase that
// completes "want ...": "#Clock is a local wall-clock time, HH:MM." gives
// "a local wall-clock time, HH:MM".
func commentText(fd *ast.Field) string {
	var text string
	for _, cg := range ast.Comments(fd) {
		if t := strings.TrimSpace(cg.Text()); t != "" {
			text = t
			if cg.Doc {
				break
			}
		}
	}
	if text == "" {
		return ""
	}
	text = strings.Join(strings.Fields(text), " ")
	if name, ok := labelIdent(fd.Label); ok {
		text = strings.TrimPrefix(text, name+" is ")
		text = strings.TrimPrefix(text, name+": ")
	}
	if i := strings.IndexAny(text, ";"); i > 0 {
		text = text[:i]
	}
	if i := strings.Index(text, ". "); i > 0 {
		text = text[:i]
	}
	return strings.TrimSuffix(text, ".")
}

func labelIdent(l ast.Label) (string, bool) {
	id, ok := l.(*ast.Ident)
	if !ok {
		return "", false
	}
	return id.Name, true
}

// describe returns the comment of the innermost schema field enclosing p,
// or "" when that field has none (a comment on #Store does not describe
// its owner field).
func (s *schema) describe(p token.Pos) string {
	if !p.IsValid() {
		return ""
	}
	best := -1
	for i, sp := range s.spans {
		if sp.file != p.Filename() || p.Offset() < sp.start || p.Offset() >= sp.end {
			continue
		}
		if best < 0 || sp.end-sp.start < s.spans[best].end-s.spans[best].start {
			best = i
		}
	}
	if best < 0 {
		return ""
	}
	return s.spans[best].desc
}
