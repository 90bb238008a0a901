package policy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/tester"
	"github.com/open-policy-agent/opa/v1/topdown"

	"github.com/fleetc/fleetc/compiler/internal/diag"
)

// TestReport is the outcome of a policy test run.
type TestReport struct {
	Passed, Failed, Errored, Skipped int
	Results                          []TestResult // sorted by position
	Embedded                         bool         // the embedded bundle was tested
}

// TestResult is one Rego test.
type TestResult struct {
	Package string // e.g. data.fleetc.legal_test
	Name    string // e.g. test_bipa_denies_install_in_illinois
	Outcome string // pass | fail | error | skip
	Pos     diag.Pos
	Msg     string // why it failed or errored
}

// RunTests compiles the policies with their *_test.rego files (in the same
// sandbox as Load) and runs the tests whose name matches the regular
// expression filter ("" runs all). Failing and erroring tests come back as
// diagnostics at the test, or at the expression that failed; compile
// errors come back as diagnostics with a nil report.
func RunTests(ctx context.Context, root string, filter string) (*TestReport, diag.List, error) {
	src, embedded, err := source(root)
	if err != nil {
		return nil, nil, err
	}
	modules, diags, err := parseDir(src, true)
	if err != nil || diags.HasErrors() {
		return nil, diags, err
	}
	runner := tester.NewRunner().
		SetCompiler(newCompiler()).
		SetModules(modules).
		Filter(filter).
		RaiseBuiltinErrors(true).
		EnableTracing(true) // to find the expression a failing test stopped at
	ch, err := runner.RunTests(ctx, nil)
	if err != nil {
		var astErrs ast.Errors
		if errors.As(err, &astErrs) {
			diags.Merge(astDiags(astErrs))
			diags.Sort()
			return nil, diags, nil
		}
		return nil, diags, fmt.Errorf("run policy tests: %w", err)
	}
	rep := &TestReport{Embedded: embedded}
	for r := range ch {
		tr := TestResult{Package: r.Package, Name: r.Name, Pos: locPos(r.Location)}
		switch {
		case r.Skip:
			tr.Outcome = "skip"
			rep.Skipped++
		case r.Error != nil:
			tr.Outcome, tr.Msg = "error", r.Error.Error()
			rep.Errored++
			pos := tr.Pos
			var te *topdown.Error
			if errors.As(r.Error, &te) && te.Location != nil {
				pos = locPos(te.Location)
			}
			diags.Errorf(pos, tr.Package+"."+tr.Name, "policy-test", "%s errored: %s", tr.Name, tr.Msg)
		case r.Fail:
			tr.Outcome = "fail"
			rep.Failed++
			pos := tr.Pos
			tr.Msg = "test failed"
			if loc := failedAt(r); loc != nil {
				pos = locPos(loc)
				tr.Msg = "failed at " + oneLine(string(loc.Text))
			}
			diags.Errorf(pos, tr.Package+"."+tr.Name, "policy-test", "%s %s", tr.Name, tr.Msg)
		default:
			tr.Outcome = "pass"
			rep.Passed++
		}
		r.Trace = nil
		rep.Results = append(rep.Results, tr)
	}
	if err := ctx.Err(); err != nil {
		return nil, diags, fmt.Errorf("run policy tests: %w", err)
	}
	slices.SortFunc(rep.Results, func(a, b TestResult) int {
		if c := a.Pos.Compare(b.Pos); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	diags.Sort()
	return rep, diags, nil
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return s
}

// failedAt finds the last expression of the test's own body that failed.
func failedAt(r *tester.Result) *ast.Location {
	if r.Location == nil {
		return nil
	}
	first := r.Location.Row
	last := first + strings.Count(string(r.Location.Text), "\n")
	var loc *ast.Location
	for _, ev := range r.Trace {
		if ev.Op != topdown.FailOp {
			continue
		}
		expr, ok := ev.Node.(*ast.Expr)
		if !ok || expr.Location == nil || expr.Location.File != r.Location.File {
			continue
		}
		if expr.Location.Row > first && expr.Location.Row <= last {
			loc = expr.Location
		}
	}
	return loc
}
