package policy

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/fleetc/fleetc/compiler/internal/diag"
	"github.com/fleetc/fleetc/policies"
)

// Dir is where a monorepo keeps its policies.
const Dir = "policies"

// Options configure Load.
type Options struct {
	// Root is the repository root. Policies come from <Root>/policies;
	// when that directory does not exist, from the embedded bundle.
	Root string
}

// Engine is a compiled, prepared policy bundle. It is safe for concurrent
// use; Decide evaluates in parallel.
type Engine struct {
	rules    []Rule
	paths    *pathTrie
	query    rego.PreparedEvalQuery
	modules  map[string]*ast.Module
	embedded bool
	evals    atomic.Int64
}

// Rule is one decision rule of the bundle.
type Rule struct {
	ID      string   // package below fleetc plus name, e.g. "legal.deny_bipa"
	Verdict Verdict  // what its messages mean
	Pos     diag.Pos // first definition

	ref ast.Ref
}

// Rules lists the decision rules, sorted by ID.
func (e *Engine) Rules() []Rule { return slices.Clone(e.rules) }

// Embedded reports whether the engine runs the embedded default bundle.
func (e *Engine) Embedded() bool { return e.embedded }

// InputPaths lists the input paths the policies read, one per line.
func (e *Engine) InputPaths() string { return e.paths.String() }

// Evaluations counts the Rego evaluations actually run (memo misses).
func (e *Engine) Evaluations() int64 { return e.evals.Load() }

// Load compiles the policy bundle (tests excluded) and prepares its query.
// Problems in the policies are diagnostics at their file:line:col; the
// engine is nil whenever the list holds errors.
func Load(ctx context.Context, opts Options) (*Engine, diag.List, error) {
	src, embedded, err := source(opts.Root)
	if err != nil {
		return nil, nil, err
	}
	modules, diags, err := parseDir(src, false)
	if err != nil || diags.HasErrors() {
		return nil, diags, err
	}
	compiler := newCompiler()
	compiler.Compile(modules)
	if compiler.Failed() {
		diags.Merge(astDiags(compiler.Errors))
		diags.Sort()
		return nil, diags, nil
	}
	rules, rdiags := discover(compiler)
	diags.Merge(rdiags)
	if diags.HasErrors() {
		diags.Sort()
		return nil, diags, nil
	}
	body := make(ast.Body, 0, len(rules))
	for i, r := range rules {
		body = append(body, ast.Equality.Expr(ast.VarTerm(bindVar(i)), ast.NewTerm(r.ref)))
	}
	if len(body) == 0 {
		body = append(body, ast.NewExpr(ast.BooleanTerm(true)))
	}
	pq, err := rego.New(
		rego.Compiler(compiler),
		rego.ParsedQuery(body),
		rego.Capabilities(capabilities()),
		rego.StrictBuiltinErrors(true),
	).PrepareForEval(ctx)
	if err != nil {
		var astErrs ast.Errors
		if errors.As(err, &astErrs) {
			diags.Merge(astDiags(astErrs))
			return nil, diags, nil
		}
		return nil, diags, fmt.Errorf("prepare policies: %w", err)
	}
	return &Engine{
		rules:    rules,
		paths:    inputPaths(compiler.Modules),
		query:    pq,
		modules:  compiler.Modules,
		embedded: embedded,
	}, diags, nil
}

func bindVar(i int) string { return fmt.Sprintf("r%d", i) }

func newCompiler() *ast.Compiler {
	boundBuiltins()
	return ast.NewCompiler().
		WithCapabilities(capabilities()).
		WithStrict(true).
		WithDefaultRegoVersion(ast.RegoV1)
}

// source returns the policy files as an FS rooted at the policies
// directory: the repository's own, else the embedded bundle.
func source(root string) (fs.FS, bool, error) {
	if root != "" {
		dir := filepath.Join(root, Dir)
		st, err := os.Stat(dir)
		switch {
		case err == nil && st.IsDir():
			return os.DirFS(dir), false, nil
		case err == nil:
			return nil, false, fmt.Errorf("load policies: %s is not a directory", dir)
		case !errors.Is(err, fs.ErrNotExist):
			return nil, false, fmt.Errorf("load policies: %w", err)
		}
	}
	return policies.FS, true, nil
}

// parseDir parses every regular .rego file below the FS root. Names are
// policies/<path> so positions read relative to the repository root.
// Test files are included only when tests is set.
func parseDir(src fs.FS, tests bool) (map[string]*ast.Module, diag.List, error) {
	var diags diag.List
	modules := map[string]*ast.Module{}
	err := fs.WalkDir(src, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ".rego") {
			return nil
		}
		name := path.Join(Dir, p)
		if !d.Type().IsRegular() {
			diags.Warnf(diag.Pos{File: name}, "", "policy-file", "not a regular file; ignored")
			return nil
		}
		if !tests && strings.HasSuffix(p, "_test.rego") {
			return nil
		}
		b, err := fs.ReadFile(src, p)
		if err != nil {
			return err
		}
		m, err := ast.ParseModuleWithOpts(name, string(b), ast.ParserOptions{RegoVersion: ast.RegoV1, ProcessAnnotation: true})
		if err != nil {
			var astErrs ast.Errors
			if errors.As(err, &astErrs) {
				diags.Merge(astDiags(astErrs))
				return nil
			}
			return fmt.Errorf("parse %s: %w", name, err)
		}
		modules[name] = m
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("load policies: %w", err)
	}
	diags.Sort()
	return modules, diags, nil
}

// astDiags turns OPA compile errors into diagnostics.
func astDiags(errs ast.Errors) diag.List {
	var l diag.List
	for _, e := range errs {
		code, msg := "policy-compile", e.Message
		if s := sandboxMessage(e); s != "" {
			code, msg = "policy-sandbox", s
		}
		l.Add(diag.Diagnostic{Pos: locPos(e.Location), Severity: diag.Error, Code: code, Message: msg})
	}
	return l
}

func locPos(loc *ast.Location) diag.Pos {
	if loc == nil {
		return diag.Pos{}
	}
	return diag.Pos{File: filepath.ToSlash(loc.File), Line: loc.Row, Col: loc.Col}
}

// discover finds the decision rules of every fleetc.* package.
func discover(c *ast.Compiler) ([]Rule, diag.List) {
	var diags diag.List
	byID := map[string]*Rule{}
	for _, m := range c.Modules {
		pkg := m.Package.Path
		if len(pkg) < 3 || !pkg[1].Equal(ast.StringTerm("fleetc")) {
			continue
		}
		pkgName := strings.TrimPrefix(pkg.String(), "data.fleetc.")
		for _, r := range m.Rules {
			ref := r.Head.Ref()
			if len(ref) != 1 {
				continue
			}
			name := ref[0].Value.(ast.Var).String()
			v, ok := verdictOf(name)
			if !ok {
				continue
			}
			pos := locPos(r.Location)
			if r.Head.RuleKind() != ast.MultiValue || len(r.Head.Args) > 0 {
				diags.Errorf(pos, "", "policy-rule", "%s must be a partial set rule (%s contains msg if { ... })", name, name)
				continue
			}
			id := pkgName + "." + name
			if prev, ok := byID[id]; ok {
				if pos.Compare(prev.Pos) < 0 {
					prev.Pos = pos
				}
				continue
			}
			byID[id] = &Rule{ID: id, Verdict: v, Pos: pos, ref: pkg.Copy().Append(ast.StringTerm(name))}
		}
	}
	rules := make([]Rule, 0, len(byID))
	for _, r := range byID {
		rules = append(rules, *r)
	}
	slices.SortFunc(rules, func(a, b Rule) int { return strings.Compare(a.ID, b.ID) })
	return rules, diags
}

func verdictOf(name string) (Verdict, bool) {
	for _, p := range []struct {
		prefix string
		v      Verdict
	}{{"deny_", Deny}, {"defer_", Defer}, {"signoff_", NeedsSignoff}, {"warn_", Warn}} {
		if strings.HasPrefix(name, p.prefix) && len(name) > len(p.prefix) {
			return p.v, true
		}
	}
	return "", false
}
